// Quiet decisions: which opens (and executable mappings) and connects a policy can tell "no
// rule of mine holds" for from the quiet key alone (bw_abi.h, bw_quiet: the file, the
// process's view of it, file.write and file.read, the cgroup; bw_net_quiet: net.family,
// net.daddr, net.dport, the process's own marks, the cgroup), so the dispatcher may skip the
// lane for the next event with the same key.
//
// A hook can tell it (LoweredHook::quiet) when:
//   - the decision no rule makes allows (default allow, or a hook whose rules only set marks),
//     and no rule holds always;
//   - every rule that decides on a lookup alone looks up a key field, and no key field's group
//     waits for another group's atoms (so each is looked up on every event);
//   - every other rule (compound or mark) implies a condition on key fields alone (its *key
//     part*: `file.path in S and not process.exe in R` implies `file.path in S`).
// Then the decision is quiet when it is that word and no rule's key part holds: whatever the
// fields outside the key, no rule could hold. A failed precheck is quiet when the precheck
// reads key fields alone (`file.write` of `file.write and not file.path startswith S`); one
// that tests a mark the key does not hold (`process.marks has M` of `process.marks has M and
// file.path in S`) is not, as the process may gain the mark with the key unchanged: there the
// full decision, run while the lane is quiet so far, tells (BW_PRECHECK_DECIDE).
#pragma once

#include "Lowering.h"

#include <set>

namespace bulwark::backend {

// Fills lh.quiet, quietWord, quietParts and precheckQuiet (after gates and the precheck).
// `direct`: the groups some rule decides on alone; `noRuleAllows`: the policy's default is
// allow; `markOnlyWord`: the word of a hook whose rules only set marks.
void quietHook(LoweredHook &lh, const std::vector<Group> &groups, const std::set<uint32_t> &direct,
               bool noRuleAllows, uint32_t markOnlyWord);

// Fills lh.quietView and quietAncestors of a quiet hook (after the groups' identity is known,
// Lowered::groups).
void quietKeyParts(LoweredHook &lh, const std::vector<Group> &groups);

} // namespace bulwark::backend
