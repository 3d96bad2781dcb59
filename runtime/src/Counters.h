// Per-rule counters that continue across hot swaps (bw_counters of each generation, and
// bw_counters_base: the counts of the versions it replaced).
#pragma once

#include "Abi.h"
#include "Pins.h"
#include "PolicyState.h"
#include "State.h"

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bulwark::rt {

// Each generation's bw_counters starts at zero. When a swap has switched to generation N and
// the replaced generation O can no longer run (out of the prog arrays, and running programs
// finished: waitForRunningPrograms), O's totals (its own counters plus what O carried) are
// written, matched by rule name, into a new map that is then pinned as N's
// bw_counters_base. The pin is the commit point: N with a pinned base has O folded in; N
// without one while O's directory is still there (a command that died between the switch
// and the fold) has not, and status adds O's totals itself until the next load folds them.
// So no count is ever lost or counted twice. A rule that no longer exists takes its count
// with it; the policy default continues as "(default)".
constexpr std::string_view kDefaultRuleName = "(default)";

void addCounter(bw_counter &to, const bw_counter &v);

// Rule names of a generation by rule id; the policy default is id ruleCount.
std::vector<std::string> ruleNames(const PinLayout &pins, const std::string &policy, uint32_t gen,
                                   uint32_t ruleCount);

// A generation's counters by rule id: its own (summed over CPUs) plus its base.
std::vector<bw_counter> generationCounters(const PinLayout &pins, const std::string &policy, uint32_t gen);
// The counts of the marks machinery (shared bw_mark_stats, summed over CPUs); nullopt before
// a policy with marks created the map.
std::optional<bw_mark_stats> markStats(const PinLayout &pins);
// Opens that skipped a file_open lane because it decided nothing for the same key before
// (bw_quiet's hits, summed over entries and CPUs); nullopt before a dispatcher created it.
// Such an open is counted by no policy's default.
std::optional<uint64_t> quietHits(const PinLayout &pins);
// Connects that skipped a socket_connect lane likewise (bw_net_quiet's hits).
std::optional<uint64_t> quietConnectHits(const PinLayout &pins);

// A generation's totals by rule name (rec: its state record).
std::map<std::string, bw_counter> totalsByName(const PinLayout &pins, const std::string &policy, uint32_t gen,
                                               const StateRecord &rec);

// True when the generation beside `active` is one a swap replaced (or one an interrupted
// load left unswitched, whose counters are zero) and its counts are not yet folded into
// `active`. Never for a first load that died before its switch: nothing enforces then.
bool countersPending(const PinLayout &pins, const PolicyState &st, uint32_t active);

// Folds generation `from`'s totals, and its aggregates (Aggregates.h), into `into` (see above). Call only when `from` can no
// longer run. Throws Error; nothing is committed unless the base is pinned.
void foldCounters(const PinLayout &pins, const PolicyState &st, uint32_t from, uint32_t into);

} // namespace bulwark::rt
