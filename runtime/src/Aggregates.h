// In-kernel aggregation (`bulwark top`, metrics): each generation's bw_agg counts the decisions
// that are not allow by rule, executable and cgroup, and bw_agg_lost per rule those bw_agg had
// no room for. Like the per-rule counters (Counters.h) they continue across hot swaps by rule
// name: when a swap folds the replaced generation's counters, its aggregates (own plus carried)
// are written into a map pinned as the new generation's bw_agg_base.
#pragma once

#include "Abi.h"
#include "Pins.h"
#include "PolicyState.h"

#include <compare>
#include <cstdint>
#include <map>
#include <string>

namespace bulwark::rt {

struct AggregateKey {
  std::string rule;       // rule name, "(default)" for the policy default
  uint32_t exeDev = 0;    // kernel dev_t encoding (major << 20 | minor)
  uint64_t exeIno = 0;    // 0: no executable (kernel thread)
  uint64_t cgroupId = 0;
  auto operator<=>(const AggregateKey &) const = default;
};

struct AggregateValue {
  uint64_t count = 0;
  uint64_t firstNs = 0, lastNs = 0;  // CLOCK_MONOTONIC (bpf_ktime_get_ns)
  std::string exe;                   // empty when the program did not know it
  void add(const AggregateValue &v);
};

struct Aggregates {
  std::map<AggregateKey, AggregateValue> entries;
  std::map<std::string, uint64_t> lost;  // by rule name: decisions bw_agg had no room for
  uint32_t used = 0, max = 0;            // entries of the generation's own bw_agg, and its size
  bool present = false;                  // the object has bw_agg (a bundle of an older bulwarkc has not)
  void add(const Aggregates &a);         // entries and lost only
};

// A generation's aggregates by rule name: its own bw_agg and bw_agg_lost plus its bw_agg_base.
Aggregates generationAggregates(const PinLayout &pins, const std::string &policy, uint32_t gen, uint32_t ruleCount);

// Writes generation `from`'s aggregates, re-keyed to `into`'s rule ids (rules `into` lacks
// are dropped, as their counters are), into a new map pinned as into's bw_agg_base (replacing
// one an interrupted fold left). Call only when `from` can no longer run, before the counter
// base is pinned (the commit point of the fold). Throws Error.
void foldAggregates(const PinLayout &pins, const PolicyState &st, uint32_t from, uint32_t into);

} // namespace bulwark::rt
