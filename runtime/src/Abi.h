// Runtime-side constants of the kernel ABI (bpf/include/bw_abi.h) and of the pin layout.
#pragma once

extern "C" {
#include "bw_abi.h"
}
#include "hooks.def"  // BW_COMMON_INT_SLOTS, BW_COMMON_STR_SLOTS (the X-macros expand to nothing)

#include <array>
#include <cstdint>
#include <string_view>

namespace bulwark::rt {

// Read-only data a policy object declares and the runtime sets at load (const volatile
// globals in .rodata; names as in bpf/templates/bw_lib.bpf.c). Slot and lane are required.
inline constexpr std::string_view kRodataSlot = "bw_cfg_slot";
inline constexpr std::string_view kRodataInstance = "bw_cfg_instance";  // optional: records then say 0
inline constexpr std::string_view kRodataLane = "bw_cfg_lane";  // default BW_LANE_NONE: standalone
inline constexpr std::string_view kRodataViewGroups = "bw_cfg_view_groups";  // identity groups reading paths
inline constexpr std::string_view kRodataViewHead = "bw_cfg_view_head";  // __u64[16][4]: their first bytes
inline constexpr std::string_view kRodataViewMask = "bw_cfg_view_mask";  // __u64[16][4]: bytes compared
inline constexpr std::string_view kRodataModeOverride = "bw_cfg_mode_override";  // 0xffffffff: none
inline constexpr std::string_view kRodataCgroupCount = "bw_cfg_cgroup_count";
inline constexpr std::string_view kRodataCgroupId = "bw_cfg_cgroup_id";       // __u64[8]
inline constexpr std::string_view kRodataCgroupLevel = "bw_cfg_cgroup_level"; // __u32[8]
inline constexpr unsigned kScopeCgroups = 8;
inline constexpr uint32_t kModeNone = 0xffffffffu;

// Per-rule counters of a policy object: PERCPU_ARRAY of struct bw_counter sized
// rule_count + 1 by the runtime.
inline constexpr std::string_view kCountersMap = "bw_counters";

// Maps shared by all policies (pinned by name under <pin root>/shared).
inline constexpr std::array<std::string_view, 4> kSharedMaps = {"bw_state", "bw_gen", "bw_slot_mode", "bw_events"};
bool isSharedMapName(std::string_view name);  // also bw_progs_<ID> / bw_next_<ID>

inline constexpr unsigned kMaxPolicies = BW_MAX_POLICIES;
inline constexpr unsigned kLanePolicies = BW_LANE_POLICIES;
inline constexpr unsigned kMaxLanes = BW_MAX_LANES;

} // namespace bulwark::rt
