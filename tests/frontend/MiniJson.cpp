#include "MiniJson.h"

#include <cstdlib>
#include <set>

namespace bulwark::test {

const JsonValue *JsonValue::get(std::string_view key) const {
  if (kind != Kind::Object) return nullptr;
  for (const auto &m : object)
    if (m.key == key) return &m;
  return nullptr;
}

const JsonValue *JsonValue::at(std::string_view path) const {
  const JsonValue *v = this;
  size_t i = 0;
  while (v && i < path.size()) {
    if (path[i] == '.') { ++i; continue; }
    if (path[i] == '[') {
      size_t close = path.find(']', i);
      if (close == std::string_view::npos || !v->isArray()) return nullptr;
      size_t n = std::strtoul(std::string(path.substr(i + 1, close - i - 1)).c_str(), nullptr, 10);
      v = n < v->array.size() ? &v->array[n] : nullptr;
      i = close + 1;
      continue;
    }
    size_t end = path.find_first_of(".[", i);
    if (end == std::string_view::npos) end = path.size();
    v = v->get(path.substr(i, end - i));
    i = end;
  }
  return v;
}

namespace {

class Reader {
public:
  explicit Reader(std::string_view t) : t_(t) {}

  std::optional<JsonValue> document(std::string *error) {
    auto v = value(0);
    if (v) {
      ws();
      if (p_ != t_.size()) v = fail("trailing characters after the value");
    }
    if (!v) *error = "offset " + std::to_string(p_) + ": " + error_;
    return v;
  }

private:
  std::nullopt_t fail(std::string why) {
    if (error_.empty()) error_ = std::move(why);
    return std::nullopt;
  }

  void ws() {
    while (p_ < t_.size() && (t_[p_] == ' ' || t_[p_] == '\t' || t_[p_] == '\n' || t_[p_] == '\r')) ++p_;
  }

  bool literal(std::string_view word) {
    if (t_.substr(p_, word.size()) != word) return false;
    p_ += word.size();
    return true;
  }

  std::optional<JsonValue> value(int depth) {
    if (depth > 200) return fail("nesting too deep");
    ws();
    if (p_ >= t_.size()) return fail("unexpected end of input");
    JsonValue v;
    char c = t_[p_];
    if (c == '{') return object(depth);
    if (c == '[') return array(depth);
    if (c == '"') {
      auto s = string();
      if (!s) return std::nullopt;
      v.kind = JsonValue::Kind::String;
      v.string = std::move(*s);
      return v;
    }
    if (literal("true")) { v.kind = JsonValue::Kind::Bool; v.boolean = true; return v; }
    if (literal("false")) { v.kind = JsonValue::Kind::Bool; return v; }
    if (literal("null")) return v;
    if (c == '-' || (c >= '0' && c <= '9')) return number();
    return fail(std::string("unexpected character '") + c + "'");
  }

  std::optional<JsonValue> number() {
    size_t start = p_;
    auto digits = [&] {
      size_t s = p_;
      while (p_ < t_.size() && t_[p_] >= '0' && t_[p_] <= '9') ++p_;
      return p_ - s;
    };
    if (t_[p_] == '-') ++p_;
    if (p_ < t_.size() && t_[p_] == '0') ++p_;
    else if (digits() == 0) return fail("bad number");
    if (p_ < t_.size() && t_[p_] == '.') {
      ++p_;
      if (digits() == 0) return fail("bad fraction");
    }
    if (p_ < t_.size() && (t_[p_] == 'e' || t_[p_] == 'E')) {
      ++p_;
      if (p_ < t_.size() && (t_[p_] == '+' || t_[p_] == '-')) ++p_;
      if (digits() == 0) return fail("bad exponent");
    }
    JsonValue v;
    v.kind = JsonValue::Kind::Number;
    v.number = std::strtod(std::string(t_.substr(start, p_ - start)).c_str(), nullptr);
    return v;
  }

  static void appendUtf8(std::string &out, uint32_t cp) {
    if (cp < 0x80) out += static_cast<char>(cp);
    else if (cp < 0x800) { out += static_cast<char>(0xC0 | (cp >> 6)); out += static_cast<char>(0x80 | (cp & 0x3F)); }
    else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  std::optional<uint32_t> hex4() {
    if (p_ + 4 > t_.size()) return fail("short \\u escape");
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      char c = t_[p_++];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= c - '0';
      else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
      else return fail("bad \\u escape");
    }
    return v;
  }

  std::optional<std::string> string() {
    ++p_;  // "
    std::string out;
    while (true) {
      if (p_ >= t_.size()) return fail("unterminated string");
      unsigned char c = static_cast<unsigned char>(t_[p_++]);
      if (c == '"') return out;
      if (c < 0x20) return fail("unescaped control character in a string");
      if (c != '\\') { out += static_cast<char>(c); continue; }
      if (p_ >= t_.size()) return fail("unterminated escape");
      char e = t_[p_++];
      switch (e) {
      case '"': out += '"'; break;
      case '\\': out += '\\'; break;
      case '/': out += '/'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'u': {
        auto cp = hex4();
        if (!cp) return std::nullopt;
        if (*cp >= 0xD800 && *cp < 0xDC00) {
          if (!literal("\\u")) return fail("lone high surrogate");
          auto lo = hex4();
          if (!lo || *lo < 0xDC00 || *lo >= 0xE000) return fail("bad low surrogate");
          *cp = 0x10000 + ((*cp - 0xD800) << 10) + (*lo - 0xDC00);
        } else if (*cp >= 0xDC00 && *cp < 0xE000) {
          return fail("lone low surrogate");
        }
        appendUtf8(out, *cp);
        break;
      }
      default: return fail(std::string("unknown escape '\\") + e + "'");
      }
    }
  }

  std::optional<JsonValue> array(int depth) {
    ++p_;
    JsonValue v;
    v.kind = JsonValue::Kind::Array;
    ws();
    if (p_ < t_.size() && t_[p_] == ']') { ++p_; return v; }
    while (true) {
      auto item = value(depth + 1);
      if (!item) return std::nullopt;
      v.array.push_back(std::move(*item));
      ws();
      if (p_ < t_.size() && t_[p_] == ',') { ++p_; continue; }
      if (p_ < t_.size() && t_[p_] == ']') { ++p_; return v; }
      return fail("expected ',' or ']'");
    }
  }

  std::optional<JsonValue> object(int depth) {
    ++p_;
    JsonValue v;
    v.kind = JsonValue::Kind::Object;
    std::set<std::string> keys;
    ws();
    if (p_ < t_.size() && t_[p_] == '}') { ++p_; return v; }
    while (true) {
      ws();
      if (p_ >= t_.size() || t_[p_] != '"') return fail("expected a string key");
      auto key = string();
      if (!key) return std::nullopt;
      if (!keys.insert(*key).second) return fail("duplicate key '" + *key + "'");
      ws();
      if (p_ >= t_.size() || t_[p_] != ':') return fail("expected ':'");
      ++p_;
      auto item = value(depth + 1);
      if (!item) return std::nullopt;
      item->key = std::move(*key);
      v.object.push_back(std::move(*item));
      ws();
      if (p_ < t_.size() && t_[p_] == ',') { ++p_; continue; }
      if (p_ < t_.size() && t_[p_] == '}') { ++p_; return v; }
      return fail("expected ',' or '}'");
    }
  }

  std::string_view t_;
  size_t p_ = 0;
  std::string error_;
};

} // namespace

std::optional<JsonValue> parseJson(std::string_view text, std::string *error) { return Reader(text).document(error); }

} // namespace bulwark::test
