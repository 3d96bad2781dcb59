#include "EventYaml.h"

#include "Evaluator.h"

#include <cctype>

namespace bulwark {

namespace {

int64_t enumValue(FieldType type, const YAML::Node &n) {
  const EnumInfo *e = Catalogue::get().findEnum(type);
  auto one = [&](const std::string &name) -> int64_t {
    if (e)
      for (const auto &v : e->values)
        if (v.name == name) return v.value;
    throw EventValueError(n, "'" + name + "' is not a value of " + std::string(Catalogue::typeName(type)));
  };
  if (n.IsSequence()) {
    int64_t v = 0;
    for (const auto &x : n) v |= one(x.as<std::string>());
    return v;
  }
  std::string s = n.as<std::string>();
  if (!s.empty() && (std::isdigit(static_cast<unsigned char>(s[0])) || s[0] == '-')) return n.as<int64_t>();
  int64_t v = 0;
  size_t pos = 0;
  while (pos <= s.size()) {  // "O_WRONLY|O_CREAT"
    size_t bar = s.find('|', pos);
    v |= one(s.substr(pos, bar == std::string::npos ? std::string::npos : bar - pos));
    if (bar == std::string::npos) break;
    pos = bar + 1;
  }
  return v;
}

} // namespace

ir::Value eventFieldValue(const FieldInfo &f, const YAML::Node &n) {
  try {
    switch (f.type) {
    case FieldType::BOOL: return int64_t{n.as<bool>() ? 1 : 0};
    case FieldType::INT:
    case FieldType::UID:
    case FieldType::GID:
    case FieldType::PORT: return n.as<int64_t>();
    case FieldType::STRING:
    case FieldType::PATH: return n.as<std::string>();
    case FieldType::IP: {
      auto a = ir::parseAddress(n.as<std::string>());
      if (!a) throw EventValueError(n, "'" + n.as<std::string>() + "' is not an IPv4 or IPv6 address");
      return *a;
    }
    default: return enumValue(f.type, n);
    }
  } catch (const YAML::BadConversion &) {
    throw EventValueError(n, "value for '" + std::string(f.name) + "' is not a " + std::string(Catalogue::typeName(f.type)));
  }
}

} // namespace bulwark
