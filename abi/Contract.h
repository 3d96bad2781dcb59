// C++ view of the per-policy maps and rodata (maps.def, rodata.def) and the shared maps
// (shared_maps.def): the back end writes the
// manifest from it, the runtime sizes and sets maps and rodata with it, the docs list it.
#pragma once

extern "C" {
#include "bw_abi.h"
#include "bw_match.h"
}

#include <cstdint>
#include <span>
#include <string_view>

namespace bulwark::abi {

// How a map's max_entries is set at load (maps.def, SIZE).
enum class MapSize { CPUS, CPUS_SHARED, RULES, DATA, LABELS, HINTS, ONE, OBJECT, AGG };

enum class MapId : uint32_t {
#define BW_MAP(id, type, flags, key, value, size, meaning) id,
#include "maps.def"
};

struct MapSpec {
  MapId id;
  std::string_view name;      // "bw_m_exact"
  std::string_view type;      // manifest spelling, BPF_MAP_TYPE_<TYPE> in lowercase: "lpm_trie"
  uint32_t bpfType;           // BPF_MAP_TYPE_<TYPE>
  uint32_t flags;             // map_flags
  std::string_view keyType, valueType;  // C types as written in maps.def
  uint32_t keySize, valueSize;
  MapSize size;
  std::string_view meaning;
};

// Who writes a rodata value (rodata.def, SET_BY): bulwarkc from the policy, or bulwark at load.
enum class SetBy { COMPILER, RUNTIME };

enum class RodataId : uint32_t {
#define BW_RODATA(id, type, dims, init, set_by, meaning) id,
#include "rodata.def"
};

struct RodataSpec {
  RodataId id;
  std::string_view name;   // "bw_cfg_slot"
  std::string_view type;   // "bw_u64[BW_SCOPE_CGROUPS]" as declared
  uint32_t size;           // bytes
  std::string_view init;   // initial value as written in rodata.def
  SetBy setBy;
  std::string_view meaning;
};

// A map shared by all policies and the dispatchers (shared_maps.def). A per-hook map is named
// by its prefix ("bw_progs"); each LSM hook has one, bw_progs_<HOOK>.
struct SharedMapSpec {
  std::string_view name;
  std::string_view type;  // "prog_array"
  uint32_t bpfType;
  uint32_t keySize, valueSize, maxEntries;  // a ring buffer: 0, 0, bytes
  uint32_t flags;                           // map_flags (BPF_F_MMAPABLE: the runtime maps it)
  bool perHook;
  std::string_view meaning;
};

std::span<const MapSpec> maps();
std::span<const SharedMapSpec> sharedMaps();
std::span<const RodataSpec> rodata();
const MapSpec &map(MapId id);
const MapSpec *findMap(std::string_view name);
// A policy map every policy object reuses, pinned by name (MapSize::CPUS_SHARED).
bool sharedByPolicies(std::string_view name);
const RodataSpec &rodata(RodataId id);
const RodataSpec *findRodata(std::string_view name);

// Names as constants, for code that names one map or value.
inline constexpr std::string_view kMapNames[] = {
#define BW_MAP(id, type, flags, key, value, size, meaning) "bw_" #id,
#include "maps.def"
};
inline constexpr std::string_view kRodataNames[] = {
#define BW_RODATA(id, type, dims, init, set_by, meaning) "bw_cfg_" #id,
#include "rodata.def"
};
constexpr std::string_view name(MapId id) { return kMapNames[static_cast<size_t>(id)]; }
constexpr std::string_view name(RodataId id) { return kRodataNames[static_cast<size_t>(id)]; }
std::string_view sizeName(MapSize s);  // "RULES"

} // namespace bulwark::abi
