// Cgroup scope: the cgroup v2 paths of a policy's scope, set in its object's rodata at
// load, and the cgroups at those paths now (docs/architecture.md).
#pragma once

#include "BundleDir.h"
#include "Pins.h"
#include "Runtime.h"
#include "State.h"

#include <bpf/libbpf.h>

#include <string>
#include <vector>

namespace bulwark::rt {

// Cgroup scope: cgroup v2 paths → (id, level) in rodata. A cgroup that does not exist gets id
// 0, which matches no process (a cgroup that does not exist holds none); list and status show
// it, and loading again (the daemon does, as soon as it exists) takes its id.
// Returns the records for the generation's bw_scope map (empty without a cgroup scope).
std::vector<ScopeRecord> setCgroupScope(bpf_object *obj, const Bundle &b, std::vector<std::string> *warnings);

// The scope of a generation as loaded, and the cgroups at its paths now.
std::vector<ScopeCgroup> readScope(const PinLayout &pins, const std::string &policy, uint32_t gen);
// Its records as pinned (gen<G>/bw_scope; none without a cgroup scope).
std::vector<ScopeRecord> readScopeRecords(const PinLayout &pins, const std::string &policy, uint32_t gen);

// The bw_slot_scope entry of a version whose scope records are `records` (setCgroupScope's,
// or readScopeRecords'): its cgroups, or kind 0 (none: the programs test their own scope).
bw_slot_scope slotScopeOf(const std::vector<ScopeRecord> &records);

} // namespace bulwark::rt
