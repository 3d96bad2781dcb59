#include "Hooks.h"

#include <algorithm>
#include <vector>

namespace bulwark::rt {
namespace {

// The field shown as an event's "object": the hook's first string field, else its first
// address field, else its first own integer field (common fields never).
const FieldInfo *pickObject(const HookInfo &info) {
  auto rank = [](SlotKind k) { return k == SlotKind::Str ? 3 : k == SlotKind::Addr ? 2 : 1; };
  const FieldInfo *best = nullptr;
  for (const auto &f : info.fields)
    if (!f.common && (!best || rank(f.slotKind) > rank(best->slotKind)))
      best = &f;
  return best;
}

struct Table {
  std::vector<Hook> hooks;
  Table() {
    for (const auto &info : Catalogue::get().hooks())
      hooks.push_back({static_cast<uint32_t>(info.id), info.key, info.name, info.kind == HookKind::Lsm, info.attach,
                       pickObject(info)});
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
