#include "Hooks.h"

#include <algorithm>
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

std::vector<HookUse> groupByHook(const std::vector<const Hook *> &entries) {
  std::vector<const Hook *> sorted = entries;
  std::sort(sorted.begin(), sorted.end(), [](const Hook *a, const Hook *b) { return a->index < b->index; });
  std::vector<HookUse> out;
  for (const Hook *h : sorted) {
    auto it = std::find_if(out.begin(), out.end(), [&](const HookUse &u) { return u.name == h->name; });
    if (it == out.end())
      it = out.insert(out.end(), HookUse{std::string(h->name), {}});
    if (!h->attach.empty() &&
        std::find(it->attach.begin(), it->attach.end(), h->attach) == it->attach.end())
      it->attach.push_back(std::string(h->attach));
  }
  return out;
}

std::vector<std::string> hookNames(const std::vector<HookUse> &uses) {
  std::vector<std::string> out;
  for (const auto &u : uses)
    out.push_back(u.name);
  return out;
}

const Hook *hookById(std::string_view id) {
  for (const auto &h : table().hooks)
    if (h.id == id)
      return &h;
  return nullptr;
}

} // namespace bulwark::rt
