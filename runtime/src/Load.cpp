// Runtime::load as a sequence of named steps (docs/architecture.md, "Kernel ABI"):
//
//   admit          the kernel can run the bundle; writer lock; self-protection on
//   chooseSlot     mode, and the slot (the loaded version's, or a free one)
//   stage          open the object, set rodata, size maps, load, fill maps (in this process only)
//   openState      the state record; the enforcing generation `cur` and the free one `next`
//                  (a staged version there is dropped)
//   pinGeneration  gen<next>/: programs, maps, rule table, scope; the instance's names
//   attachHelpers, attachKprobes   programs that are not dispatched, pinned in gen<next>/
//   wire           prog arrays at slot*2+next, pass-throughs, lane chains (still invisible)
//   recordGeneration  the state record of gen<next>: loaded, or staged (`load --stage`)
//   switchOver     slot mode, then one bw_gen write switches every hook at once
//   retire         detach and unpin the previous generation, fold its counters
//
// Each step from openState to wire adds what takes it back to the job's undo log; the log
// runs in reverse if any step throws, so a failed load leaves the previous version
// enforcing. switchOver commits it; after that, retire's failures are warnings only.
// `load --stage` stops after recordGeneration and commits: `switch` (Switch.cpp) re-checks
// the staged generation later and runs switchOver and retire (Switch.h).
#include "Runtime.h"

#include "Abi.h"
#include "Counters.h"
#include "Dispatchers.h"
#include "Error.h"
#include "FaultPoint.h"
#include "Guard.h"
#include "Instances.h"
#include "KernelLocks.h"
#include "LoadError.h"
#include "Lock.h"
#include "MapFill.h"
#include "PolicyState.h"
#include "Rodata.h"
#include "Scope.h"
#include "SharedMaps.h"
#include "Slots.h"
#include "System.h"
#include "Switch.h"
#include "Undo.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <cstring>
#include <set>
#include <thread>

namespace bulwark::rt {
namespace {
using Clock = std::chrono::steady_clock;

double msSince(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// What one load carries from step to step, beside what its switch needs (Switch.h). Members
// are destroyed in reverse order of declaration, then the Swap's: the undo log runs while
// the object, the instance table and the shared maps are still open, and the lock is
// released last.
struct LoadJob : Swap {
  LoadJob(Runtime &rt, const Bundle &b, const LoadOptions &opts) : Swap(rt.pins()), rt(rt), b(b), opts(opts) {
    policy = b.policy.name;
    grace = opts.grace;
  }
  Runtime &rt;
  const Bundle &b;
  const LoadOptions &opts;
  Clock::time_point t0 = Clock::now();
  std::vector<const BundleProgram *> kprobes;  // attached directly, one per kernel function
  bool needLsm = false;
  LoadResult res;
  std::optional<PolicyState> existing;  // the loaded version's state, if any
  PolicyObject o;
  std::vector<ScopeRecord> scope;
  IdentityPlan identity;
  std::map<uint32_t, bpf_program *> progs;  // hook index → program (LSM hooks)
};

// admit: the kernel can run the bundle (preflight; kprobes for kprobe hooks), the writer lock
// is held, and self-protection is on before anything of the policy exists.
void admit(LoadJob &j) {
  j.needLsm = !j.b.helpers.empty();
  for (const auto &p : j.b.programs) {
    if (!kprobeFunction(p.attach).empty())
      j.kprobes.push_back(&p);
    else
      j.needLsm = true;
  }
  // kprobe programs are attached directly, not switched by bw_gen: staged, they would
  // observe (and kill) before the switch.
  if (j.opts.stage && !j.kprobes.empty())
    throw Error(Exit::Failed,
                "cannot stage policy " + j.b.policy.name + ": its kprobe hooks (" +
                    std::string(j.kprobes.front()->attach) + (j.kprobes.size() > 1 ? ", ..." : "") +
                    ") would act before the switch",
                "load it without --stage (its switch then follows the load at once)");
  j.rt.preflight(j.needLsm);
  // Before anything is created: a kernel without kprobes cannot run this bundle at all.
  if (std::string why; !j.kprobes.empty() && !kprobesAvailable(&why))
    throw Error(Exit::Unsupported,
                "cannot load policy " + j.b.policy.name + ": it has kprobe hooks (" + std::string(j.kprobes.front()->attach) +
                    (j.kprobes.size() > 1 ? ", ..." : "") + ") but " + why,
                "run it on a kernel with kprobes, or drop the policy's kprobe rules");
  mkdirs(j.pins.root);
  j.lock.emplace(j.pins.root, true);
  j.res.policy = j.b.policy.name;
  // (A kprobe-only policy on a kernel without the BPF LSM goes unguarded; load says so.)
  if (guardDisabledForTest())
    checkGuardTrust(j.pins);
  else if (std::string why; j.needLsm || bpfLsmActive(activeLsms(&why).value_or(std::vector<std::string>{})))
    ensureGuard(j.pins);
  else
    j.res.warnings.push_back("the BPF LSM is not active: Bulwark's own state is not protected (docs/security.md)");
}

// chooseSlot: the mode, and the slot: the loaded version's (a hot swap) or a free one.
void chooseSlot(LoadJob &j) {
  j.mode = static_cast<uint32_t>(j.opts.mode.value_or(j.b.policy.mode));
  j.existing = readPolicy(j.pins, j.b.policy.name);
  if (j.existing) {
    j.slot = j.existing->header.slot;
    j.res.replaced = true;
  } else {
    std::set<uint32_t> used;
    for (const auto &n : policyNames(j.pins)) {
      if (auto st = readPolicy(j.pins, n))
        used.insert(st->header.slot);
    }
    auto s = allocateSlot(used);
    if (!s)
      throw Error(Exit::Failed, "all " + std::to_string(kMaxPolicies) + " policy slots are in use");
    j.slot = *s;
  }
  j.lane = laneOf(j.slot);
  j.shared.emplace(j.pins);
  mkdirs(j.pins.shared());
}

// openObject: the bundle's object, opened with its shared maps pinned by name under shared/.
void openObject(LoadJob &j) {
  std::string shr = j.pins.shared();
  bpf_object_open_opts oo{};
  oo.sz = sizeof(oo);
  oo.pin_root_path = shr.c_str();
  oo.object_name = "bw_policy";
  j.o.obj = bpf_object__open_file(j.b.objectPath().c_str(), &oo);
  if (!j.o.obj)
    throw Error(Exit::BadBundle, "cannot open " + j.b.objectPath().string() + ": " + errnoText(errno));
}

// setObjectRodata: slot, lane, instance (allocated here), mode override, cgroup scope,
// identity views and the kernel locks' addresses in the object's .rodata.
void setObjectRodata(LoadJob &j) {
  bpf_object *obj = j.o.obj;
  if (!setRodataU32(obj, kRodataSlot, j.slot) || !setRodataU32(obj, kRodataLane, j.lane))
    throw Error(Exit::BadBundle, "policy object has no " + std::string(kRodataSlot) + " / " +
                                     std::string(kRodataLane) + " in .rodata");
  j.instances.emplace(j.pins);
  j.instance = j.instances->allocate();
  setRodataU32(obj, kRodataInstance, j.instance);  // an object without it sends instance 0
  if (j.opts.mode && !setRodataU32(obj, kRodataModeOverride, j.mode))
    throw Error(Exit::BadBundle, "--mode needs " + std::string(kRodataModeOverride) +
                                     " in the policy object's .rodata, which it does not have");
  j.scope = setCgroupScope(obj, j.b, &j.res.warnings);
  j.identity = planIdentity(j.b);
  setRodataU32(obj, kRodataViewGroups, j.identity.viewGroups);  // absent in older bundles: all views
  setRodata(obj, kRodataViewHead, j.identity.viewHead, sizeof j.identity.viewHead);  // absent: no gate
  setRodata(obj, kRodataViewMask, j.identity.viewMask, sizeof j.identity.viewMask);
  setRodata(obj, kRodataRenameLock, &kernelLocks().renameLock, sizeof(uint64_t));  // older bundles: ksyms
  setRodata(obj, kRodataMountLock, &kernelLocks().mountLock, sizeof(uint64_t));
  if (!setRodataU32(obj, kRodataHintQuarter, j.identity.hintQuarter))  // older bundles: the smallest map
    j.identity.hintQuarter = BW_POLICY_HINT_QUARTER;
}

// sizeMaps: per-policy maps get the bundle's sizes (shared maps keep the ABI's, but one per
// possible CPU has this machine's count, as every object declaring it gets).
void sizeMaps(LoadJob &j) {
  uint32_t ncpu = uint32_t(std::max(libbpf_num_possible_cpus(), 1));
  for (const auto &m : j.b.maps) {
    bpf_map *map = bpf_object__find_map_by_name(j.o.obj, m.name.c_str());
    if (!map)
      throw Error(Exit::BadBundle, "policy object has no map " + m.name);
    if (bpf_map__pin_path(map)) {
      if (abi::sharedByPolicies(m.name))
        bpf_map__set_max_entries(map, ncpu);
      continue;
    }
    uint32_t extra = m.name == abi::name(abi::MapId::m_ident) ? j.identity.mounts + j.identity.hardLinks : 0;  // found at load
    uint32_t size = m.maxEntries ? m.maxEntries : ncpu;
    if (m.name == abi::name(abi::MapId::agg) && j.opts.topEntries)
      size = *j.opts.topEntries;
    if (m.name == abi::name(abi::MapId::m_hint) && m.maxEntries > 1)  // sized by the labels
      size = std::max(m.maxEntries, j.identity.hintQuarter / 16);
    bpf_map__set_max_entries(map, size + extra);
  }
  if (bpf_map *c = bpf_object__find_map_by_name(j.o.obj, std::string(kCountersMap).c_str()))
    bpf_map__set_max_entries(c, std::max<uint32_t>(bpf_map__max_entries(c), uint32_t(j.b.rules.size()) + 1));
}

// loadObject: verify and load the object, fill its maps from the bundle, seed identity labels.
void loadObject(LoadJob &j) {
  checkSharedPins(j.o.obj);
  clearLibbpfLog();
  if (bpf_object__load(j.o.obj) != 0)
    throw loadError(errno, "cannot load policy " + j.b.policy.name);
  for (const auto &m : j.b.maps)
    if (!m.data.empty())
      fillMap(bpf_object__find_map_by_name(j.o.obj, m.name.c_str()), j.b, m);
  seedIdentity(j.o.obj, j.identity);
  j.res.identity = j.identity;
  j.res.identity.labels.clear();
}

// collectPrograms: the LSM program of each hook, the hooks mask, and the hooks to report.
void collectPrograms(LoadJob &j) {
  std::vector<std::string> kprobeHooks;
  for (const auto &p : j.b.programs) {
    if (std::string_view fn = kprobeFunction(p.attach); !fn.empty()) {
      j.hooksMask |= 1ull << hookByName(p.hook)->index;
      kprobeHooks.push_back(kprobeHookName(fn));
      continue;
    }
    const Hook *h = programHook(p);
    j.progs[h->index] = bpf_object__find_program_by_name(j.o.obj, p.name.c_str());
    j.hooksMask |= 1ull << h->index;
  }
  j.res.hooks = hookNames(groupByHook(hooksOfMask(j.hooksMask)));  // LSM hooks, each once
  j.res.hooks.insert(j.res.hooks.end(), kprobeHooks.begin(), kprobeHooks.end());
}

// stage: the new version loaded and filled in this process; nothing visible changes.
void stage(LoadJob &j) {
  auto tLoad = Clock::now();
  openObject(j);
  setObjectRodata(j);
  sizeMaps(j);
  loadObject(j);
  collectPrograms(j);
  j.res.loadMs = msSince(tLoad);
}

// createPolicy: the directory and pinned state record of a new policy (undo: remove them).
PolicyState createPolicy(LoadJob &j) {
  if (exists(j.pins.policyDir(j.b.policy.name)))
    throw Error(Exit::Conflict, "pin path " + j.pins.policyDir(j.b.policy.name) + " is taken");
  scrubSlot(*j.shared, j.slot);  // leftovers of an interrupted unload
  mkdirs(j.pins.policyDir(j.b.policy.name));
  j.undo.add([&pins = j.pins, name = j.b.policy.name] { removeTree(pins.policyDir(name)); });
  int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "bw_pstate", 4, sizeof(StateRecord), 3, nullptr);
  if (fd < 0)
    throw Error(Exit::Failed, "cannot create the policy state map: " + errnoText(errno));
  PolicyState ns;
  ns.name = j.b.policy.name;
  ns.fd = Fd(fd);
  std::memcpy(ns.header.magic, kStateMagic, sizeof kStateMagic);
  ns.header.version = 1;
  ns.header.slot = j.slot;
  ns.header.lane = j.lane;
  ns.header.createdNs = realtimeNs();
  copyField(ns.header.name, j.b.policy.name);
  writeRecord(fd, 0, ns.header);
  pinFd(fd, j.pins.stateMap(j.b.policy.name));
  return ns;
}

// openState: the policy's state (created for a new policy), `cur` and `next`; counts an
// interrupted swap left behind are folded, and what the enforcing version learned is kept.
void openState(LoadJob &j) {
  j.st = std::move(j.existing);
  if (!j.st)
    j.st = createPolicy(j);
  j.cur = j.shared->present() ? j.shared->genOf(j.slot) : 0;
  j.next = j.cur ^ 1;
  j.oldMask = j.res.replaced ? j.st->gens[j.cur].hooksMask : 0;
  // A staged version (or what a stage or load that died before its switch wired) makes
  // room for this one: a hook only it used must not stay wired into gen<next>.
  if (j.st->gens[j.next].valid != 1 && exists(j.pins.genDir(j.policy, j.next))) {
    j.res.droppedStaged = j.st->gens[j.next].valid == kGenStaged;
    dropGeneration(j.pins, *j.shared, *j.st, j.next, j.oldMask, j.grace);
  }
  // A command that died between its switch and folding the counters left the generation
  // it replaced behind, in `next`: fold its counts into the enforcing one before its pins go.
  if (j.res.replaced && countersPending(j.pins, *j.st, j.cur))
    foldCounters(j.pins, *j.st, j.next, j.cur);
  if (j.res.replaced) {  // what the enforcing version learned stays learned
    auto learned = openMapPin(j.pins.map(j.b.policy.name, j.cur, mapName(abi::MapId::learned)));
    auto before = learnCount(learned ? learned->get() : -1);  // read before the carry reads the labels
    auto ident = openMapPin(j.pins.map(j.b.policy.name, j.cur, mapName(abi::MapId::m_ident)));
    auto exact = openMapPin(j.pins.map(j.b.policy.name, j.cur, mapName(abi::MapId::m_exact)));
    auto prefix = openMapPin(j.pins.map(j.b.policy.name, j.cur, mapName(abi::MapId::m_prefix)));
    IdentityMaps old{ident ? ident->get() : -1, exact ? exact->get() : -1, prefix ? prefix->get() : -1};
    j.res.identity.carried = carryLearnedLabels(old, identityMaps(j.o.obj));
    if (before)
      recordLabelsSeen(j.o.obj, before->done);
  }
  if (j.res.identity.carried)  // seedIdentity hinted the labels set at load
    writeObjectHints(j.o.obj);
}

// pinRuleTable: gen<next>/bw_rules, the rule names and messages for events and status.
void pinRuleTable(LoadJob &j) {
  uint32_t n = std::max<uint32_t>(1, uint32_t(j.b.rules.size()));
  Fd rfd(bpf_map_create(BPF_MAP_TYPE_ARRAY, "bw_rules", 4, sizeof(RuleRecord), n, nullptr));
  if (!rfd)
    throw Error(Exit::Failed, "cannot create the rule table map: " + errnoText(errno));
  for (const auto &r : j.b.rules) {
    RuleRecord rr{};
    const Hook *h = hookByName(r.hook);
    rr.hook = h ? h->index : 0;
    rr.action = static_cast<uint32_t>(r.action);
    copyField(rr.name, r.name);
    copyField(rr.message, r.message);
    if (bpf_map_update_elem(rfd.get(), &r.id, &rr, BPF_ANY) != 0)
      throw Error(Exit::Failed, "cannot fill the rule table: " + errnoText(errno));
  }
  pinFd(rfd.get(), j.pins.rules(j.b.policy.name, j.next));
}

// pinScope: gen<next>/bw_scope, the scope cgroups and the ids loaded (cgroup scope only).
void pinScope(LoadJob &j) {
  if (j.scope.empty())
    return;
  Fd sfd(bpf_map_create(BPF_MAP_TYPE_ARRAY, "bw_scope", 4, sizeof(ScopeRecord), kScopeCgroups, nullptr));
  if (!sfd)
    throw Error(Exit::Failed, "cannot create the scope map: " + errnoText(errno));
  for (uint32_t i = 0; i < j.scope.size(); i++)
    if (bpf_map_update_elem(sfd.get(), &i, &j.scope[i], BPF_ANY) != 0)
      throw Error(Exit::Failed, "cannot fill the scope map: " + errnoText(errno));
  pinFd(sfd.get(), j.pins.map(j.b.policy.name, j.next, "bw_scope"));
}

// createInstance: the instance's names, before any of its programs can run (helpers and
// kprobes attach next); retired, not removed, if the load fails: a kprobe may have sent
// records already.
void createInstance(LoadJob &j) {
  std::vector<RuleInfo> rules(j.b.rules.size());
  for (const auto &r : j.b.rules) {
    if (r.id >= rules.size())
      continue;
    const Hook *h = hookByName(r.hook);
    rules[r.id] = RuleInfo{r.name, r.message, r.function, h ? h->index : 0, static_cast<uint32_t>(r.action), {}};
    for (const auto &mk : r.marks)
      rules[r.id].marks.push_back({mk.id, mk.name});
  }
  j.instances->create(j.instance, j.b.policy.name, j.slot, rules);
  j.undo.add([&instances = *j.instances, instance = j.instance] { instances.retire(instance); });
}

// pinGeneration: gen<next>/ with the new version's programs, maps, rule table and scope, and
// the instance's names (undo: remove the directory, retire the instance).
void pinGeneration(LoadJob &j) {
  std::string genDir = j.pins.genDir(j.b.policy.name, j.next);
  removeTree(genDir);  // a stale generation of an interrupted load
  mkdirs(genDir);
  j.undo.add([genDir] { removeTree(genDir); });
  for (auto &[hi, prog] : j.progs)
    pinFd(bpf_program__fd(prog), j.pins.prog(j.b.policy.name, j.next, *hookByIndex(hi)));
  bpf_map *map;
  bpf_object__for_each_map(map, j.o.obj) {
    if (bpf_map__is_internal(map) || bpf_map__pin_path(map))
      continue;
    pinFd(bpf_map__fd(map), j.pins.map(j.b.policy.name, j.next, bpf_map__name(map)));
  }
  pinRuleTable(j);
  pinScope(j);
  createInstance(j);
}

// attachHelpers: helper programs run beside the policy (not chained): attached now, pinned
// in gen<next>/, so removing that directory detaches them again (undo, or the retire step of
// the next load).
void attachHelpers(LoadJob &j) {
  for (const auto &hp : j.b.helpers) {
    bpf_program *prog = bpf_object__find_program_by_name(j.o.obj, hp.name.c_str());
    bpf_link *link = prog ? bpf_program__attach_lsm(prog) : nullptr;
    if (!link)
      throw loadError(errno, "cannot attach helper program " + hp.name + " (" + hp.attach + ")");
    int err = bpf_link__pin(link, j.pins.helper(j.b.policy.name, j.next, hp.name).c_str());
    bpf_link__destroy(link);  // closes our fd only; the pin keeps it attached
    if (err != 0)
      throw Error(Exit::Failed, "cannot pin helper link " + j.pins.helper(j.b.policy.name, j.next, hp.name) + ": " +
                                    errnoText(-err));
  }
}

// attachKprobes: kprobe programs are not dispatched: attached directly, pinned in gen<next>/
// like helpers. They observe from now on, so during a hot swap the old and the new version
// both observe until the old generation's directory is removed after the switch (harmless:
// kprobe hooks only record and kill).
void attachKprobes(LoadJob &j) {
  for (const BundleProgram *kp : j.kprobes) {
    std::string fn(kprobeFunction(kp->attach));
    bpf_program *prog = bpf_object__find_program_by_name(j.o.obj, kp->name.c_str());
    if (!prog)
      throw Error(Exit::BadBundle, "policy object has no program " + kp->name);
    clearLibbpfLog();
    bpf_link *link = bpf_program__attach_kprobe(prog, false, fn.c_str());
    if (!link) {
      int err = errno;
      throw Error(Exit::Failed,
                  "cannot attach kprobe program " + kp->name + " to kernel function " + fn + ": " + errnoText(err),
                  err == ENOENT || err == EINVAL
                      ? "the function is not in this kernel, or cannot be probed (inlined, notrace); see "
                        "/sys/kernel/tracing/available_filter_functions"
                      : "");
    }
    int err = bpf_link__pin(link, j.pins.kprobeLink(j.b.policy.name, j.next, fn).c_str());
    bpf_link__destroy(link);  // closes our fd only; the pin keeps it attached
    if (err != 0)
      throw Error(Exit::Failed, "cannot pin kprobe link " + j.pins.kprobeLink(j.b.policy.name, j.next, fn) + ": " +
                                    errnoText(-err));
    pinFd(bpf_program__fd(prog), j.pins.kprobeProg(j.b.policy.name, j.next, fn));
  }
}

// The bundle's program of hook h decides nothing: bulwarkc says so of a program that only
// keeps bw_m_ident current (manifest `decides: false`); any other program decides.
bool keepsLabelsOnly(const Bundle &b, const Hook &h) {
  return std::any_of(b.programs.begin(), b.programs.end(),
                     [&](const bundle::ProgramEntry &p) { return !p.decides && programHook(p) == &h; });
}

// bw_quiet_progs's word for the bundle's program of hook h: BW_KEYED when it can tell from the
// quiet key that it decides nothing (manifest `quiet`), and the key parts it reads (manifest
// `quiet_key`; the view also when an identity group matches the view of a path that had no
// object at this load; the cgroup when the policy is scoped to cgroups, as out of its scope
// it is quiet); 0 otherwise (abi/bw_quiet.bpf.h).
uint32_t quietWord(const LoadJob &j, const Hook &h) {
  for (const auto &p : j.b.programs)
    if (p.quiet && programHook(p) == &h)
      return BW_KEYED | (p.quietView || j.identity.viewGroups ? BW_KEY_VIEW : 0) |
             (p.quietAncestors ? BW_KEY_ANCESTORS : 0) |
             (j.b.policy.scope == bundle::Scope::Cgroup ? BW_KEY_CGROUP : 0);
  return 0;
}

// Whether hook h of the new version needs a pass-through at slot*2+cur to link its slot into
// the lane chain: the enforcing version does not use h, or h's chain link is missing (an
// interrupted unload).
bool needsLinkingPass(LoadJob &j, const Hook &h) {
  return !((j.oldMask >> h.index) & 1) || !inChain(j.shared->chain(h), j.slot);
}

// wireHook: the new program of hook h at slot*2+next, its dispatcher attached; when
// needsLinkingPass, `pass` goes to slot*2+cur and the slot is linked into the lane chain now.
void wireHook(LoadJob &j, const Hook &h, bpf_program *prog, Fd pass) {
  SharedMaps &shared = *j.shared;
  uint32_t slot = j.slot, lane = j.lane, cur = j.cur, next = j.next;
  if (ensureDispatcher(j.pins, h, lane))
    j.undo.add([&pins = j.pins, &shared, &h, lane] { dropDispatcherIfIdle(pins, shared, h, lane); });
  shared.putProgram(h, progIndex(slot, next), bpf_program__fd(prog), keepsLabelsOnly(j.b, h), quietWord(j, h));
  j.undo.add([&shared, &h, slot, next] { shared.dropProgram(h, progIndex(slot, next)); });
  if (pass) {
    shared.putProgram(h, progIndex(slot, cur), pass.get(), true);
    auto chain = shared.chain(h);
    linkSlot(chain, slot);
    j.undo.add([&shared, &h, slot, cur] {
      auto c = shared.chain(h);
      unlinkSlot(c, slot);
      clearSlot(c, slot);
      shared.dropProgram(h, progIndex(slot, cur));
    });
  }
}

// wire: the new generation in the prog arrays, still invisible: its scope at slot*2+next first
// (no program there may be passed over by another version's scope), then new programs at
// slot*2+next (wireHook); a hook only the enforcing version uses gets a pass-through at
// slot*2+next. Every pass-through this needs comes from one load (loadPasses). Then one
// bw_gen write (switchOver) switches all hooks at once.
void wire(LoadJob &j) {
  uint32_t index = progIndex(j.slot, j.next);
  bw_slot_scope before = j.shared->setSlotScope(index, slotScopeOf(j.scope));
  j.undo.add([&shared = *j.shared, index, before] { shared.setSlotScope(index, before); });
  std::vector<const Hook *> oldOnly;  // hooks only the enforcing version uses
  for (const Hook *h : hooksOfMask(j.oldMask))
    if (!j.progs.count(h->index))
      oldOnly.push_back(h);
  std::vector<const Hook *> passHooks = oldOnly;
  for (const auto &[hi, prog] : j.progs)
    if (needsLinkingPass(j, *hookByIndex(hi)))
      passHooks.push_back(hookByIndex(hi));
  std::map<uint32_t, Fd> passes = loadPasses(j.pins, passHooks, j.slot);
  auto take = [&passes](const Hook &h) {
    auto it = passes.find(h.index);
    return it == passes.end() ? Fd() : std::move(it->second);
  };
  for (const auto &[hi, prog] : j.progs)
    wireHook(j, *hookByIndex(hi), prog, take(*hookByIndex(hi)));
  for (const Hook *h : oldOnly) {
    Fd pass = take(*h);
    j.shared->putProgram(*h, progIndex(j.slot, j.next), pass.get(), true);
    j.undo.add([&shared = *j.shared, h, slot = j.slot, next = j.next] { shared.dropProgram(*h, progIndex(slot, next)); });
  }
}

// recordGeneration: the state record of gen<next> (what status and the next load read):
// loaded, or staged (ready for `switch`).
void recordGeneration(LoadJob &j) {
  StateRecord gr{};
  std::memcpy(gr.magic, kStateMagic, sizeof kStateMagic);
  gr.version = 1;
  gr.valid = j.opts.stage ? kGenStaged : kGenLoaded;
  gr.mode = j.mode;
  gr.abi = j.b.abi;
  gr.ruleCount = uint32_t(j.b.rules.size());
  gr.instance = j.instance;
  gr.hooksMask = j.hooksMask;
  gr.loadedNs = realtimeNs();
  copyField(gr.compiler, j.b.compiler);
  copyField(gr.digest, j.b.policy.sourceDigest);
  copyField(gr.bundle, j.b.dir.string());
  gr.contentHash = j.b.contentHash;
  gr.loadDurationNs = uint64_t(msSince(j.t0) * 1e6);
  writeRecord(j.st->fd.get(), 1 + j.next, gr);
  j.st->gens[j.next] = gr;
}

} // namespace

LoadResult Runtime::load(const Bundle &b, const LoadOptions &opts) {
  LoadJob j(*this, b, opts);
  admit(j);
  chooseSlot(j);
  stage(j);
  openState(j);
  faultPoint("after-load");
  pinGeneration(j);
  attachHelpers(j);
  attachKprobes(j);
  wire(j);
  recordGeneration(j);
  if (opts.stage) {  // ready: `switch` re-checks it and does the rest
    j.undo.commit();
    faultPoint("after-stage");
  } else {
    switchOver(j);
    retire(j);
  }
  j.instances->prune();
  j.res.staged = opts.stage;
  j.res.slot = j.slot;
  j.res.lane = j.lane;
  j.res.gen = j.next;
  j.res.switchUs = j.switchUs;
  j.res.warnings.insert(j.res.warnings.end(), j.warnings.begin(), j.warnings.end());
  j.res.totalMs = msSince(j.t0);
  return std::move(j.res);
}

} // namespace bulwark::rt
