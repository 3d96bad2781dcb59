#include "Hooks.h"

#include <vector>

namespace bulwark::rt {
namespace {

struct Table {
  std::vector<Hook> hooks;
  Table() {
    uint32_t index = 0;
#define BW_HOOK(id, name, kind, attach, summary)                                                   \
  hooks.push_back({index++, #id, name, std::string_view(#kind) == "LSM", attach, 0, 0, {}});
#include "hooks.def"
    // The event object: the first STR field, else the first ADDR field, else the first
    // hook-specific INT field.
    auto pick = [&](std::string_view hookId, char kind, uint32_t slot, std::string_view name) {
      for (auto &h : hooks) {
        if (h.id != hookId)
          continue;
        auto rank = [](char k) { return k == 'S' ? 3 : k == 'A' ? 2 : k == 'I' ? 1 : 0; };
        if (rank(kind) > rank(h.objectKind)) {
          h.objectKind = kind;
          h.objectSlot = slot;
          h.objectName = name;
        }
      }
    };
#define BW_FIELD(hook, cid, name, type, slot_kind, slot, summary)                                  \
  pick(#hook, std::string_view(#slot_kind) == "STR" ? 'S' : std::string_view(#slot_kind) == "ADDR" ? 'A' : 'I', \
       slot, name);
#include "hooks.def"
  }
};

const Table &table() {
  static const Table t;
  return t;
}

} // namespace

std::span<const Hook> hooks() { return table().hooks; }

const Hook *hookByIndex(uint32_t index) {
  const auto &h = table().hooks;
  return index < h.size() ? &h[index] : nullptr;
}

const Hook *hookByName(std::string_view name) {
  for (const auto &h : table().hooks)
    if (h.name == name)
      return &h;
  return nullptr;
}

const Hook *hookByAttach(std::string_view attach) {
  for (const auto &h : table().hooks)
    if (h.lsm && h.attach == attach)
      return &h;
  return nullptr;
}

const Hook *hookById(std::string_view id) {
  for (const auto &h : table().hooks)
    if (h.id == id)
      return &h;
  return nullptr;
}

} // namespace bulwark::rt
