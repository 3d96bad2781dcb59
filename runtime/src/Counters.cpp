#include "Counters.h"

#include "Aggregates.h"
#include "Bpf.h"
#include "Error.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>

namespace bulwark::rt {

void addCounter(bw_counter &to, const bw_counter &v) {
  to.hits += v.hits;
  to.emitted += v.emitted;
  to.dropped += v.dropped;
  to.limited += v.limited;
}

// Rule names of a generation by rule id; the policy default is id ruleCount.
std::vector<std::string> ruleNames(const PinLayout &pins, const std::string &policy, uint32_t gen,
                                   uint32_t ruleCount) {
  std::vector<std::string> out(size_t(ruleCount) + 1);
  if (auto fd = openMapPin(pins.rules(policy, gen)))
    for (uint32_t i = 0; i < ruleCount; i++) {
      RuleRecord rr{};
      if (bpf_map_lookup_elem(fd->get(), &i, &rr) == 0)
        out[i] = fieldString(rr.name);
    }
  out[ruleCount] = kDefaultRuleName;
  return out;
}

// A generation's counters by rule id: its own (summed over CPUs) plus its base.
std::vector<bw_counter> generationCounters(const PinLayout &pins, const std::string &policy, uint32_t gen) {
  std::vector<bw_counter> out;
  if (auto fd = openMapPin(pins.map(policy, gen, std::string(kCountersMap)))) {
    auto info = mapInfo(fd->get());
    std::vector<bw_counter> perCpu(size_t(std::max(libbpf_num_possible_cpus(), 1)));
    out.resize(info ? info->maxEntries : 0);
    for (uint32_t i = 0; i < out.size(); i++)
      if (bpf_map_lookup_elem(fd->get(), &i, perCpu.data()) == 0)
        for (const auto &v : perCpu)
          addCounter(out[i], v);
  }
  if (auto fd = openMapPin(pins.counterBase(policy, gen))) {
    auto info = mapInfo(fd->get());
    uint32_t n = info ? info->maxEntries : 0;
    if (out.size() < n)
      out.resize(n);
    for (uint32_t i = 0; i < n; i++) {
      bw_counter v{};
      if (bpf_map_lookup_elem(fd->get(), &i, &v) == 0)
        addCounter(out[i], v);
    }
  }
  return out;
}

std::optional<bw_mark_stats> markStats(const PinLayout &pins) {
  auto fd = openMapPin(pins.sharedMap("bw_mark_stats"));
  if (!fd)
    return std::nullopt;
  std::vector<bw_mark_stats> perCpu(size_t(std::max(libbpf_num_possible_cpus(), 1)));
  uint32_t key = 0;
  bw_mark_stats total{};
  if (bpf_map_lookup_elem(fd->get(), &key, perCpu.data()) == 0)
    for (const auto &v : perCpu) {
      total.set += v.set;
      total.full += v.full;
      total.inherited += v.inherited;
      total.no_storage += v.no_storage;
    }
  return total;
}

namespace {
// The hits of the first `entries` entries of per-CPU map `name` of Entry, summed over CPUs.
template <class Entry>
std::optional<uint64_t> keptHits(const PinLayout &pins, const char *name, uint32_t entries) {
  auto fd = openMapPin(pins.sharedMap(name));
  if (!fd)
    return std::nullopt;
  std::vector<Entry> perCpu(size_t(std::max(libbpf_num_possible_cpus(), 1)));
  uint64_t total = 0;
  for (uint32_t i = 0; i < entries; i++)
    if (bpf_map_lookup_elem(fd->get(), &i, perCpu.data()) == 0)
      for (const auto &e : perCpu)
        total += e.hits;
  return total;
}
} // namespace

std::optional<uint64_t> quietHits(const PinLayout &pins) {
  return keptHits<bw_quiet_entry>(pins, "bw_quiet", BW_QUIET_ENTRIES);
}

std::optional<uint64_t> quietConnectHits(const PinLayout &pins) {
  return keptHits<bw_net_quiet_entry>(pins, "bw_net_quiet", BW_NET_QUIET_ENTRIES);
}

// A generation's totals by rule name (rec: its state record).
std::map<std::string, bw_counter> totalsByName(const PinLayout &pins, const std::string &policy, uint32_t gen,
                                               const StateRecord &rec) {
  std::map<std::string, bw_counter> out;
  auto names = ruleNames(pins, policy, gen, rec.ruleCount);
  auto counts = generationCounters(pins, policy, gen);
  for (size_t i = 0; i < std::min(names.size(), counts.size()); i++)
    if (!names[i].empty())
      addCounter(out[names[i]], counts[i]);
  return out;
}

// True when the generation beside `active` is one a swap replaced (or one an interrupted
// load left unswitched, whose counters are zero) and its counts are not yet folded into
// `active`. Never for a first load that died before its switch: nothing enforces then.
bool countersPending(const PinLayout &pins, const PolicyState &st, uint32_t active) {
  uint32_t old = active ^ 1;
  return st.gens[active].valid == 1 && st.gens[old].valid == 1 && exists(pins.genDir(st.name, active)) &&
         exists(pins.genDir(st.name, old)) && !exists(pins.counterBase(st.name, active));
}

// Folds generation `from`'s totals into `into` (see above). Call only when `from` can no
// longer run. Throws Error; nothing is committed unless the base is pinned.
void foldCounters(const PinLayout &pins, const PolicyState &st, uint32_t from, uint32_t into) {
  waitForRunningPrograms();
  foldAggregates(pins, st, from, into);
  auto totals = totalsByName(pins, st.name, from, st.gens[from]);
  if (totals.empty())
    return;  // `from` counted nothing (no bw_counters): no base, and nothing is pending once it is gone
  auto names = ruleNames(pins, st.name, into, st.gens[into].ruleCount);
  Fd fd(bpf_map_create(BPF_MAP_TYPE_ARRAY, "bw_cnt_base", 4, sizeof(bw_counter), uint32_t(names.size()), nullptr));
  if (!fd)
    throw Error(Exit::Failed, "cannot create the counter base map: " + errnoText(errno));
  for (uint32_t i = 0; i < names.size(); i++) {
    auto it = totals.find(names[i]);
    if (it != totals.end() && bpf_map_update_elem(fd.get(), &i, &it->second, BPF_ANY) != 0)
      throw Error(Exit::Failed, "cannot fill the counter base map: " + errnoText(errno));
  }
  pinFd(fd.get(), pins.counterBase(st.name, into));
}

} // namespace bulwark::rt
