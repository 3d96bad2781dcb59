#include "Catalogue.h"

namespace bulwark {

namespace {
HookKind kindOf(std::string_view k) { return k == "LSM" ? HookKind::Lsm : HookKind::Kprobe; }
SlotKind slotOf(std::string_view k) {
  return k == "INT" ? SlotKind::Int : k == "ADDR" ? SlotKind::Addr : SlotKind::Str;
}
} // namespace

Catalogue::Catalogue() {
  std::vector<FieldInfo> common;
#define BW_COMMON_FIELD(cid, name, type, slot_kind, slot, summary)                                 \
  common.push_back({name, #cid, FieldType::type, slotOf(#slot_kind), slot, summary, true});
#include "hooks.def"

#define BW_HOOK(id, name, kind, attach, summary)                                                   \
  hooks_.push_back({HookId::id, #id, name, kindOf(#kind), attach, summary, common});
#include "hooks.def"

#define BW_FIELD(hook, cid, name, type, slot_kind, slot, summary)                                  \
  hooks_[static_cast<size_t>(HookId::hook)].fields.push_back(                                      \
      {name, #cid, FieldType::type, slotOf(#slot_kind), slot, summary, false});
#include "hooks.def"

#define BW_ENUM(etype, name, is_flags) enums_.push_back({FieldType::etype, name, is_flags != 0, {}});
#include "enums.def"
#define BW_ENUMERATOR(etype, name, value)                                                          \
  for (auto &e : enums_)                                                                           \
    if (e.type == FieldType::etype)                                                                \
      e.values.push_back({#name, value});
#include "enums.def"
}

const Catalogue &Catalogue::get() {
  static const Catalogue instance;
  return instance;
}

const HookInfo *Catalogue::findHook(std::string_view name) const {
  for (const auto &h : hooks_)
    if (h.name == name)
      return &h;
  return nullptr;
}

std::vector<const HookInfo *> Catalogue::companions(HookId primary) const {
  std::vector<const HookInfo *> out;
  for (const auto &h : hooks_)
    if (h.id != primary && h.name == hook(primary).name && findHook(h.name)->id == primary) out.push_back(&h);
  return out;
}

const FieldInfo *Catalogue::findField(HookId id, std::string_view name) const {
  for (const auto &f : hook(id).fields)
    if (f.name == name)
      return &f;
  return nullptr;
}

const EnumInfo *Catalogue::findEnum(FieldType type) const {
  for (const auto &e : enums_)
    if (e.type == type)
      return &e;
  return nullptr;
}

const EnumInfo *Catalogue::findEnumerator(std::string_view name, int64_t *value) const {
  for (const auto &e : enums_)
    for (const auto &v : e.values)
      if (v.name == name) {
        if (value)
          *value = v.value;
        return &e;
      }
  return nullptr;
}

std::string_view Catalogue::typeName(FieldType t) {
  switch (t) {
  case FieldType::BOOL: return "bool";
  case FieldType::INT: return "int";
  case FieldType::STRING: return "string";
  case FieldType::PATH: return "path";
  case FieldType::UID: return "uid";
  case FieldType::GID: return "gid";
  case FieldType::PORT: return "port";
  case FieldType::IP: return "ip";
#define BW_ENUM(type, name, is_flags)                                                              \
  case FieldType::type: return name;
#include "enums.def"
  }
  return "?";
}

} // namespace bulwark
