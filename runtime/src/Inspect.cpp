// Reading what is loaded: list, status and the shared state (readers share the lock).
#include "Runtime.h"

#include "Abi.h"
#include "Counters.h"
#include "Error.h"
#include "Guard.h"
#include "Integrity.h"
#include "Lock.h"
#include "PinInfo.h"
#include "PolicyState.h"
#include "Scope.h"
#include "SharedMaps.h"

#include <bpf/bpf.h>

#include <algorithm>

namespace bulwark::rt {

std::vector<PolicySummary> Runtime::list() {
  std::vector<PolicySummary> out;
  if (!exists(pins_.root))
    return out;
  Lock lock(pins_.root, false);
  SharedMaps shared(pins_);
  bool gens = shared.present();
  for (const auto &st : ourPolicies(pins_)) {
    const std::string &n = st.name;
    PolicySummary s;
    s.name = n;
    s.slot = st.header.slot;
    s.lane = st.header.lane;
    s.gen = gens ? shared.genOf(s.slot) : 0;
    s.header = st.header;
    s.active = st.gens[s.gen];
    if (st.gens[s.gen ^ 1].valid == kGenStaged)
      s.staged = st.gens[s.gen ^ 1];
    if (s.active.valid != kGenLoaded && s.staged.valid != kGenStaged)
      s.problems.push_back("no valid record for the enforcing generation " + std::to_string(s.gen));
    auto entries = hooksOfMask(s.active.hooksMask);  // LSM hooks (kprobes are not dispatched)
    s.hooks = groupByHook(entries);
    auto kprobes = kprobeFunctions(pins_, n, s.gen);
    if (const Hook *kh = hookById("KPROBE"); kh && (s.active.hooksMask >> kh->index) & 1 && kprobes.empty())
      s.problems.push_back("no kprobe program is attached in generation " + std::to_string(s.gen));
    for (const auto &fn : kprobes)
      s.hooks.push_back(HookUse{kprobeHookName(fn), {}});
    for (const Hook *h : entries) {
      if (gens && shared.hasHook(*h) && !inChain(shared.chain(*h), s.slot))
        s.problems.push_back(std::string(h->name) + " is not linked into lane " + std::to_string(s.lane));
      if (!exists(pins_.dispatcher(*h, s.lane)))
        s.problems.push_back("no dispatcher for " + std::string(h->name) + " in lane " + std::to_string(s.lane));
    }
    s.scope = readScope(pins_, n, s.gen);
    for (const auto &c : s.scope)
      if (c.stale())
        s.problems.push_back("scope cgroup " + c.path + (c.loadedId ? " was created again" : " was created") +
                             " since the load (id " + std::to_string(c.currentId) + ", loaded " +
                             std::to_string(c.loadedId) + "): nothing is enforced in it until the policy is loaded again");
    if (gens)
      s.tampering = checkWiring(pins_, shared, s);
    s.healthy = s.problems.empty() && s.tampering.empty();
    out.push_back(s);
  }
  return out;
}

SharedStatus Runtime::sharedStatus() {
  SharedStatus ss;
  if (!exists(pins_.root))
    return ss;
  Lock lock(pins_.root, false);
  ss.maps = describePins(pins_.shared());
  ss.dispatchers = describePins(pins_.dispatchDir());
  ss.guard = describePins(pins_.guardDir());
  if (auto t = guardTrusts(pins_)) {
    ss.guardTrusts = "device " + std::to_string(t->dev) + ", inode " + std::to_string(t->ino);
    size_t n = 0;
    const char *const *progs = guardPrograms(&n);
    for (size_t i = 0; i < n; i++)
      if (!exists(pins_.guardLink(progs[i])))
        ss.guardMissing.push_back(progs[i]);
    for (auto &d : guardDispatchersMissing(pins_))
      ss.guardMissing.push_back(d);
  }
  for (const auto *group : {&ss.maps, &ss.dispatchers, &ss.guard})
    ss.kernelMemory += pinsMemory(*group).total();
  ss.marks = markStats(pins_);
  ss.quietOpens = quietHits(pins_);
  ss.quietConnects = quietConnectHits(pins_);
  ss.liveMarks = liveMarks(pins_, &ss.liveMarksError);
  return ss;
}

std::vector<std::string> Runtime::policiesWithStaleScope() {
  std::vector<std::string> out;
  if (!exists(pins_.root))
    return out;
  SharedMaps shared(pins_);
  if (!shared.present())
    return out;
  for (const auto &st : ourPolicies(pins_)) {
    auto scope = readScope(pins_, st.name, shared.genOf(st.header.slot));
    if (std::any_of(scope.begin(), scope.end(), [](const ScopeCgroup &c) { return c.stale(); }))
      out.push_back(st.name);
  }
  return out;
}

PolicyStatus Runtime::status(const std::string &policy) {
  for (auto &s : list())
    if (s.name == policy)
      return status(s);
  throw Error(Exit::NotFound, "policy " + policy + " is not loaded");
}

PolicyStatus Runtime::status(const PolicySummary &summary) {
  PolicyStatus ps;
  ps.summary = summary;
  const std::string &policy = summary.name;
  Lock lock(pins_.root, false);
  const auto &sum = ps.summary;

  // Pins of the policy (all generations present, and its instances' rule tables) and their
  // kernel memory.
  ps.pins = describePins(pins_.policyDir(policy));
  for (const StateRecord *g : {&sum.active, &sum.staged})
    if (g->valid && g->instance)
      if (auto po = describePin(pins_.instance(g->instance)))
        ps.pins.push_back(std::move(*po));
  ps.memory = pinsMemory(ps.pins);
  ps.kernelMemory = ps.memory.total();
  if (auto fd = openMapPin(pins_.map(policy, sum.gen, mapName(abi::MapId::m_ident)))) {
    bpf_map_info info{};
    uint32_t len = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd->get(), &info, &len) == 0)
      ps.objectLabelsMax = info.max_entries;
    bw_ident_key k{}, next{};
    for (void *cur = nullptr; bpf_map_get_next_key(fd->get(), cur, &next) == 0; cur = &k, k = next)
      ++ps.objectLabels;
  }

  // Per-rule counters of the enforcing generation, summed over CPUs, continuing the counts
  // of the versions it replaced (see foldCounters); while a replaced generation is not yet
  // folded in, its totals are added here by rule name.
  std::vector<RuleRecord> rules;
  if (auto fd = openMapPin(pins_.rules(policy, sum.gen)))
    for (uint32_t i = 0; i < sum.active.ruleCount; i++) {
      RuleRecord rr{};
      bpf_map_lookup_elem(fd->get(), &i, &rr);
      rules.push_back(rr);
    }
  std::map<std::string, bw_counter> pending;
  if (auto st = readPolicy(pins_, policy); st && countersPending(pins_, *st, sum.gen))
    pending = totalsByName(pins_, policy, sum.gen ^ 1, st->gens[sum.gen ^ 1]);
  auto counts = generationCounters(pins_, policy, sum.gen);
  for (uint32_t i = 0; i < counts.size(); i++) {
    RuleCounters rc;
    rc.id = i;
    if (i < rules.size()) {
      rc.name = fieldString(rules[i].name);
      const Hook *h = hookByIndex(rules[i].hook);
      rc.hook = h ? std::string(h->name) : "?";
      rc.action = std::string(bundle::word(bundle::Action(rules[i].action)));
    } else {
      rc.name = kDefaultRuleName;
      rc.hook = "*";
      rc.action = "-";
    }
    bw_counter total = counts[i];
    if (i <= rules.size())  // rows past the default are unused entries of a larger map
      if (auto it = pending.find(rc.name); it != pending.end())
        addCounter(total, it->second);
    rc.hits = total.hits;
    rc.emitted = total.emitted;
    rc.dropped = total.dropped;
    rc.limited = total.limited;
    ps.drops += rc.dropped;
    ps.rules.push_back(rc);
  }
  for (const Hook *h : hooksOfMask(sum.active.hooksMask))
    if (exists(pins_.dispatcher(*h, sum.lane)))
      ps.dispatchers.push_back(pins_.dispatcher(*h, sum.lane));
  return ps;
}

} // namespace bulwark::rt
