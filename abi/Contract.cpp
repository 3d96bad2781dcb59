#include "Contract.h"

#include <linux/bpf.h>

#include <array>

namespace bulwark::abi {
namespace {

constexpr char lower(char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; }

// "LPM_TRIE" -> "lpm_trie", at compile time, kept in static storage per type.
template <size_t N> struct Lower {
  std::array<char, N> s{};
  constexpr Lower(const char (&in)[N]) {
    for (size_t i = 0; i < N; i++)
      s[i] = lower(in[i]);
  }
  constexpr std::string_view view() const { return {s.data(), N - 1}; }
};

#define BW_MAP(id, type, flags, key, value, size, meaning) constexpr Lower type_##id(#type);
#include "maps.def"

const MapSpec kMaps[] = {
#define BW_MAP(id, type, flags, key, value, size, meaning)                                         \
  {MapId::id, "bw_" #id, type_##id.view(), BPF_MAP_TYPE_##type, flags, #key, #value, sizeof(key), sizeof(value), MapSize::size, meaning},
#include "maps.def"
};

const RodataSpec kRodata[] = {
#define BW_RODATA(id, type, dims, init, set_by, meaning)                                           \
  {RodataId::id, "bw_cfg_" #id, #type #dims, sizeof(type dims), #init, SetBy::set_by, meaning},
#include "rodata.def"
};

#define BW_SHARED_MAP(id, type, key, value, max_entries, meaning) constexpr Lower shared_type_##id(#type);
#define BW_SHARED_RINGBUF(id, bytes, meaning) constexpr Lower shared_type_##id("RINGBUF");
#define BW_SHARED_TASK_STORAGE(id, value, meaning) constexpr Lower shared_type_##id("TASK_STORAGE");
#define BW_SHARED_BITS(id, words, meaning) constexpr Lower shared_type_##id("ARRAY");
#include "shared_maps.def"
#define BW_SHARED_HOOK_TYPE(id, type, max_entries, meaning, hook) constexpr Lower hook_type_##id(#type);
BW_SHARED_HOOK_MAPS_OF(BW_SHARED_HOOK_TYPE, any)
#undef BW_SHARED_HOOK_TYPE

const SharedMapSpec kSharedMaps[] = {
#define BW_SHARED_MAP(id, type, key, value, max_entries, meaning)                                  \
  {"bw_" #id, shared_type_##id.view(), BPF_MAP_TYPE_##type, sizeof(key), sizeof(value), max_entries, 0, false, meaning},
#define BW_SHARED_RINGBUF(id, bytes, meaning)                                                      \
  {"bw_" #id, shared_type_##id.view(), BPF_MAP_TYPE_RINGBUF, 0, 0, bytes, 0, false, meaning},
#define BW_SHARED_TASK_STORAGE(id, value, meaning)                                                 \
  {"bw_" #id, shared_type_##id.view(), BPF_MAP_TYPE_TASK_STORAGE, sizeof(int), sizeof(value), 0, BPF_F_NO_PREALLOC, false, meaning},
#define BW_SHARED_BITS(id, words, meaning)                                                         \
  {"bw_" #id, shared_type_##id.view(), BPF_MAP_TYPE_ARRAY, 4, 8, words, BPF_F_MMAPABLE, false, meaning},
#include "shared_maps.def"
#define BW_SHARED_HOOK_ROW(id, type, max_entries, meaning, hook)                                   \
  {"bw_" #id, hook_type_##id.view(), BPF_MAP_TYPE_##type, 4, 4, max_entries, 0, true, meaning},
    BW_SHARED_HOOK_MAPS_OF(BW_SHARED_HOOK_ROW, any)
#undef BW_SHARED_HOOK_ROW
};

} // namespace

std::span<const MapSpec> maps() { return kMaps; }
std::span<const SharedMapSpec> sharedMaps() { return kSharedMaps; }
std::span<const RodataSpec> rodata() { return kRodata; }
const MapSpec &map(MapId id) { return kMaps[static_cast<size_t>(id)]; }
const RodataSpec &rodata(RodataId id) { return kRodata[static_cast<size_t>(id)]; }

const MapSpec *findMap(std::string_view name) {
  for (const auto &m : kMaps)
    if (m.name == name)
      return &m;
  return nullptr;
}

const RodataSpec *findRodata(std::string_view name) {
  for (const auto &r : kRodata)
    if (r.name == name)
      return &r;
  return nullptr;
}

bool sharedByPolicies(std::string_view name) {
  const MapSpec *m = findMap(name);
  return m && m->size == MapSize::CPUS_SHARED;
}

std::string_view sizeName(MapSize s) {
  static constexpr std::string_view names[] = {"CPUS", "CPUS_SHARED", "RULES", "DATA", "LABELS", "HINTS", "ONE", "OBJECT", "AGG"};
  return names[static_cast<size_t>(s)];
}

} // namespace bulwark::abi
