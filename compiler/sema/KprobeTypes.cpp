#include "KprobeTypes.h"

#include <bpf/btf.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <map>
#include <memory>

namespace bulwark {

namespace {

struct BtfDeleter {
  void operator()(struct btf *b) const { btf__free(b); }
};

// Parsed once per path per process: vmlinux BTF is several MiB.
struct btf *loadBtf(const std::string &path, std::string *error) {
  static std::map<std::string, std::unique_ptr<struct btf, BtfDeleter>> cache;
  if (auto it = cache.find(path); it != cache.end()) return it->second.get();
  struct btf *b = btf__parse(path.c_str(), nullptr);
  if (!b) {
    *error = "cannot read kernel BTF from '" + path + "': " + std::strerror(errno) + " (set --btf FILE)";
    return nullptr;
  }
  cache[path].reset(b);
  return b;
}

const struct btf_type *skipModifiers(const struct btf *b, uint32_t *id) {
  const struct btf_type *t = btf__type_by_id(b, *id);
  while (t && (btf_is_typedef(t) || btf_is_const(t) || btf_is_volatile(t) || btf_is_restrict(t))) {
    *id = t->type;
    t = btf__type_by_id(b, *id);
  }
  return t;
}

// Names must outlive the FieldInfo string_views: keep them in stable storage.
std::string_view intern(const std::string &s) {
  static std::deque<std::string> pool;
  for (const auto &p : pool)
    if (p == s) return p;
  pool.push_back(s);
  return pool.back();
}

} // namespace

std::optional<std::vector<ir::KprobeArg>> kprobeArgs(const std::string &btfPath, const std::string &function,
                                                     std::string *error) {
  struct btf *b = loadBtf(btfPath, error);
  if (!b) return std::nullopt;
  int id = btf__find_by_name_kind(b, function.c_str(), BTF_KIND_FUNC);
  if (id < 0) {
    *error = "kernel function '" + function + "' is not in the BTF of '" + btfPath + "'";
    return std::nullopt;
  }
  const struct btf_type *fn = btf__type_by_id(b, id);
  const struct btf_type *proto = btf__type_by_id(b, fn->type);
  if (!proto || !btf_is_func_proto(proto)) {
    *error = "'" + function + "' has no prototype in BTF";
    return std::nullopt;
  }
  std::vector<ir::KprobeArg> out;
  const struct btf_param *params = btf_params(proto);
  uint32_t intSlot = 6, strSlot = 5;
  for (uint16_t i = 0; i < btf_vlen(proto) && i < 5; ++i) {
    uint32_t tid = params[i].type;
    const struct btf_type *t = skipModifiers(b, &tid);
    if (!t) continue;
    std::string name = "arg" + std::to_string(i);
    if ((btf_is_int(t) || btf_is_enum(t) || btf_is_enum64(t)) && intSlot < 10) {
      bool isBool = btf_is_int(t) && (btf_int_encoding(t) & BTF_INT_BOOL);
      bool isSigned = btf_is_int(t) ? (btf_int_encoding(t) & BTF_INT_SIGNED) != 0 : btf_kflag(t);
      FieldType ft = isBool ? FieldType::BOOL : FieldType::INT;
      ir::KprobeArg a;
      a.index = i;
      a.field = {intern(name), intern(name), ft, SlotKind::Int, intSlot++, "kernel function argument", false};
      a.size = t->size;
      a.isSigned = isSigned;
      out.push_back(a);
    } else if (btf_is_ptr(t) && strSlot < 8) {
      uint32_t pid = t->type;
      const struct btf_type *pt = skipModifiers(b, &pid);
      if (pt && btf_is_int(pt) && t->type && btf__resolve_size(b, pid) == 1) {
        ir::KprobeArg a;
        a.index = i;
        a.field = {intern(name), intern(name), FieldType::STRING, SlotKind::Str, strSlot++,
                   "kernel function argument (string)", false};
        out.push_back(a);
      }
    }
  }
  return out;
}

} // namespace bulwark
