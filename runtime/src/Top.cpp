// `bulwark top`: a policy's in-kernel aggregates (Aggregates.h) with rule, executable and
// cgroup names, for the command and the daemon's metrics.
#include "Runtime.h"

#include "Aggregates.h"
#include "Bpf.h"
#include "Counters.h"
#include "Lock.h"
#include "PolicyState.h"
#include "System.h"

#include <bpf/bpf.h>

#include <algorithm>

namespace bulwark::rt {

namespace {
// Hook and action words of the enforcing generation's rules, by rule name.
std::map<std::string, std::pair<std::string, std::string>> ruleWords(const PinLayout &pins, const PolicySummary &p) {
  std::map<std::string, std::pair<std::string, std::string>> out;
  if (auto fd = openMapPin(pins.rules(p.name, p.gen)))
    for (uint32_t i = 0; i < p.active.ruleCount; i++) {
      RuleRecord rr{};
      if (bpf_map_lookup_elem(fd->get(), &i, &rr) != 0)
        continue;
      const Hook *h = hookByIndex(rr.hook);
      out[fieldString(rr.name)] = {h ? std::string(h->name) : "?",
                                   std::string(bundle::word(bundle::Action(rr.action)))};
    }
  out[std::string(kDefaultRuleName)] = {"*", "deny"};  // a default is allow or deny, and allow is not counted
  return out;
}
} // namespace

std::string devText(uint32_t dev) { return std::to_string(dev >> 20) + ":" + std::to_string(dev & 0xfffff); }

std::string exeText(const TopEntry &e) {
  if (!e.exe.empty())
    return e.exe;
  return e.exeIno ? "(dev " + devText(e.exeDev) + " inode " + std::to_string(e.exeIno) + ")" : "(kernel)";
}

PolicyTop Runtime::top(const PolicySummary &p) {
  PolicyTop out;
  out.policy = p.name;
  Aggregates agg;
  {
    Lock lock(pins_.root, false);
    agg = generationAggregates(pins_, p.name, p.gen, p.active.ruleCount);
    // A replaced generation not yet folded in (a command died after its switch) counts too,
    // as its counters do in status.
    if (auto st = readPolicy(pins_, p.name); st && countersPending(pins_, *st, p.gen))
      agg.add(generationAggregates(pins_, p.name, p.gen ^ 1, st->gens[p.gen ^ 1].ruleCount));
  }
  out.present = agg.present;
  out.used = agg.used;
  out.max = agg.max;
  out.unaggregated = agg.lost;
  auto words = ruleWords(pins_, p);
  bool needExe = std::any_of(agg.entries.begin(), agg.entries.end(), [](const auto &e) { return e.second.exe.empty(); });
  auto running = needExe ? runningExecutables() : decltype(runningExecutables()){};
  CgroupNames cgroups;
  int64_t monoToReal = int64_t(realtimeNs()) - int64_t(monotonicNs());
  for (const auto &[k, v] : agg.entries) {
    TopEntry e;
    e.rule = k.rule;
    if (auto w = words.find(k.rule); w != words.end())
      std::tie(e.hook, e.action) = w->second;
    e.exeDev = k.exeDev;
    e.exeIno = k.exeIno;
    e.exe = v.exe;
    if (e.exe.empty())
      if (auto r = running.find({k.exeDev, k.exeIno}); r != running.end())
        e.exe = r->second;
    e.cgroupId = k.cgroupId;
    e.cgroup = cgroups.path(k.cgroupId);
    e.count = v.count;
    e.firstNs = uint64_t(int64_t(v.firstNs) + monoToReal);
    e.lastNs = uint64_t(int64_t(v.lastNs) + monoToReal);
    out.entries.push_back(std::move(e));
  }
  std::stable_sort(out.entries.begin(), out.entries.end(),
                   [](const TopEntry &a, const TopEntry &b) { return a.count > b.count; });
  return out;
}

} // namespace bulwark::rt
