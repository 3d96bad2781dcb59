// Runtime-side names of the contract (abi/): the per-policy maps and rodata it sets, the shared
// maps it pins, and the slot and lane limits.
#pragma once

#include "Contract.h"  // abi/: bw_abi.h, bw_match.h, maps.def, rodata.def

#include <cstdint>
#include <string>
#include <string_view>

namespace bulwark::rt {

// Rodata the runtime sets at load (abi/rodata.def). Slot and lane are required; the others
// may be absent from an older object, which then keeps its defaults.
inline constexpr std::string_view kRodataSlot = abi::name(abi::RodataId::slot);
inline constexpr std::string_view kRodataInstance = abi::name(abi::RodataId::instance);
inline constexpr std::string_view kRodataLane = abi::name(abi::RodataId::lane);
inline constexpr std::string_view kRodataViewGroups = abi::name(abi::RodataId::view_groups);
inline constexpr std::string_view kRodataViewHead = abi::name(abi::RodataId::view_head);
inline constexpr std::string_view kRodataViewMask = abi::name(abi::RodataId::view_mask);
inline constexpr std::string_view kRodataRenameLock = abi::name(abi::RodataId::rename_lock);
inline constexpr std::string_view kRodataMountLock = abi::name(abi::RodataId::mount_lock);
inline constexpr std::string_view kRodataHintQuarter = abi::name(abi::RodataId::hint_quarter);
inline constexpr std::string_view kRodataModeOverride = abi::name(abi::RodataId::mode_override);
inline constexpr std::string_view kRodataCgroupCount = abi::name(abi::RodataId::cgroup_count);
inline constexpr std::string_view kRodataCgroupId = abi::name(abi::RodataId::cgroup_id);
inline constexpr std::string_view kRodataCgroupLevel = abi::name(abi::RodataId::cgroup_level);
inline constexpr unsigned kScopeCgroups = BW_SCOPE_CGROUPS;
inline constexpr uint32_t kModeNone = BW_MODE_NONE;

// Per-rule counters of a policy object (SIZE RULES in maps.def).
inline constexpr std::string_view kCountersMap = abi::name(abi::MapId::counters);
// A per-policy map's name as libbpf and the pin layout take it.
inline std::string mapName(abi::MapId id) { return std::string(abi::name(id)); }

// Maps shared by all policies (pinned by name under <pin root>/shared; abi/shared_maps.def),
// per-hook ones included (bw_progs_<ID>, bw_next_<ID>).
bool isSharedMapName(std::string_view name);

inline constexpr unsigned kMaxPolicies = BW_MAX_POLICIES;
inline constexpr unsigned kLanePolicies = BW_LANE_POLICIES;
inline constexpr unsigned kMaxLanes = BW_MAX_LANES;

} // namespace bulwark::rt
