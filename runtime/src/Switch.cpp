// The switch to a new generation and the retiring of the old one (shared by `load` and
// `switch`), `switch` of a staged version, and dropping a staged version (`unstage`, or a
// load that replaces it). docs/operations.md, "bulwark load --stage".
#include "Switch.h"

#include "Abi.h"
#include "Counters.h"
#include "Dispatchers.h"
#include "Error.h"
#include "FaultPoint.h"
#include "Guard.h"
#include "Identity.h"
#include "Integrity.h"
#include "Runtime.h"
#include "Slots.h"

#include <bpf/bpf.h>

#include <algorithm>
#include <cstring>
#include <thread>

namespace bulwark::rt {
namespace {
using Clock = std::chrono::steady_clock;

bool uses(uint64_t mask, const Hook &h) { return (mask >> h.index) & 1; }

// The maps the label carry reads (the enforcing version's) and writes (the staged one's).
void openLabelMaps(Swap &s) {
  auto open = [&](uint32_t gen, abi::MapId id) { return openMapPin(s.pins.map(s.policy, gen, mapName(id))); };
  s.oldIdent = open(s.cur, abi::MapId::m_ident), s.oldExact = open(s.cur, abi::MapId::m_exact);
  s.oldPrefix = open(s.cur, abi::MapId::m_prefix);
  s.newIdent = open(s.next, abi::MapId::m_ident), s.newExact = open(s.next, abi::MapId::m_exact);
  s.newPrefix = open(s.next, abi::MapId::m_prefix), s.newHint = open(s.next, abi::MapId::m_hint);
  s.oldLearned = open(s.cur, abi::MapId::learned), s.newLearned = open(s.next, abi::MapId::learned);
}

// Labels the enforcing version learned since the stage (links, renames of protected files)
// are carried into the staged one just before it takes over; when it wrote none since
// (bw_learned), its labels are not read again.
uint32_t carryLabelsSinceStage(Swap &s) {
  if (!s.oldIdent)
    openLabelMaps(s);
  auto fd = [](const std::optional<Fd> &f) { return f ? f->get() : -1; };
  if (!s.oldIdent || !s.newIdent || noLabelsSinceStage(fd(s.oldLearned), fd(s.newLearned)))
    return 0;
  uint32_t n = carryLearnedLabels(IdentityMaps{fd(s.oldIdent), fd(s.oldExact), fd(s.oldPrefix)},
                                  IdentityMaps{fd(s.newIdent), fd(s.newExact), fd(s.newPrefix)});
  if (n)
    writeHints(fd(s.newIdent), fd(s.newHint), s.shared->hint());
  return n;
}

bool sameRecord(const StateRecord &a, const StateRecord &b) { return std::memcmp(&a, &b, sizeof a) == 0; }

// What switchArmed confirms under the lock: the policy's records, its generation word and the
// prog-array entries of gen<next> are the ones armSwitch checked. A policy unloaded and
// loaded again since has other programs (ids are not reused), so its entries differ too.
bool stillAsArmed(Swap &s) {
  if (s.armedProgs.empty() || s.shared->genOf(s.slot) != s.cur)
    return false;
  int fd = s.st->fd.get();
  try {
    if (!sameRecord(readRecord(fd, 0), s.armedHeader) || !sameRecord(readRecord(fd, 1 + s.cur), s.armedCur) ||
        !sameRecord(readRecord(fd, 1 + s.next), s.armedNext))
      return false;
  } catch (const Error &) {
    return false;
  }
  for (const auto &[h, id] : s.armedProgs) {
    uint32_t now = 0;
    if (!mapLookupU32(s.shared->progs(*h), progIndex(s.slot, s.next), &now) || now != id)
      return false;
  }
  return true;
}

} // namespace

bool canStage(const Bundle &b) {
  return std::none_of(b.programs.begin(), b.programs.end(),
                      [](const BundleProgram &p) { return !kprobeFunction(p.attach).empty(); });
}

void switchOver(Swap &s) {
  SharedMaps &shared = *s.shared;
  uint32_t slot = s.slot;
  // Fail closed: a linked slot whose program goes missing decides by its mode. Set before the
  // switch, so the switch is the last bpf() call of the load: a policy that denies bpf() to
  // this process cannot stop the load half-way once its own programs decide.
  uint32_t oldSlotMode = shared.slotModeOf(slot);
  shared.setSlotMode(slot, (s.mode == BW_MODE_AUDIT ? BW_SLOT_AUDIT : BW_SLOT_ENFORCE) |
                               s.instance << BW_SLOT_MODE_BITS);
  s.undo.add([&shared, slot, oldSlotMode] { shared.setSlotMode(slot, oldSlotMode); });
  faultPoint("before-switch");
  auto tSwitch = Clock::now();
  shared.setGen(slot, s.next);
  s.switchUs = std::chrono::duration<double, std::micro>(Clock::now() - tSwitch).count();
  s.undo.commit();
  faultPoint("after-switch");
}

// retire: frees the previous generation once no event can be in it: out of the chains and
// prog arrays, idle dispatchers dropped, its counters folded, its record cleared and
// directory removed, its instance retired.
void retire(Swap &s) {
  SharedMaps &shared = *s.shared;
  uint32_t slot = s.slot, cur = s.cur, next = s.next;
  try {
    for (const Hook *h : hooksOfMask(s.oldMask & ~s.hooksMask)) {  // hooks only the old version used
      auto chain = shared.chain(*h);
      unlinkSlot(chain, slot);
    }
    std::this_thread::sleep_for(s.grace);
    for (const auto &h : hooks()) {
      if (!h.lsm || !shared.hasHook(h))
        continue;
      bool nowUsed = uses(s.hooksMask, h), wasUsed = uses(s.oldMask, h);
      if (!nowUsed && !wasUsed)
        continue;
      shared.dropProgram(h, progIndex(slot, cur));
      if (!nowUsed) {
        shared.dropProgram(h, progIndex(slot, next));
        auto chain = shared.chain(h);
        clearSlot(chain, slot);
        dropDispatcherIfIdle(s.pins, shared, h, s.lane);
      }
    }
    // The previous generation is out of every prog array: carry its counts over.
    if (countersPending(s.pins, *s.st, next))
      foldCounters(s.pins, *s.st, cur, next);
    faultPoint("after-counter-fold");
    uint32_t oldInstance = s.st->gens[cur].valid == kGenLoaded ? s.st->gens[cur].instance : 0;
    StateRecord old{};
    writeRecord(s.st->fd.get(), 1 + cur, old);
    removeTree(s.pins.genDir(s.policy, cur));
    // Its kprobe links are gone with the directory: once running programs finish, nothing
    // of the replaced instance can send a record any more.
    if (oldInstance) {
      waitForRunningPrograms();
      s.instances->retire(oldInstance);
    }
  } catch (const Error &e) {
    s.warnings.push_back(std::string("cleaning up the previous version: ") + e.what());
  }
}

void dropGeneration(const PinLayout &pins, SharedMaps &shared, PolicyState &st, uint32_t gen, uint64_t keepMask,
                    std::chrono::milliseconds grace) {
  uint32_t slot = st.header.slot, keep = gen ^ 1;
  std::vector<const Hook *> unlinked;  // hooks only `gen` was linked for
  for (const auto &h : hooks()) {
    if (!h.lsm || !shared.hasHook(h))
      continue;
    if (uses(keepMask, h)) {  // gen<gen>'s entry is invisible while bw_gen points at `keep`
      shared.dropProgram(h, progIndex(slot, gen));
      continue;
    }
    auto chain = shared.chain(h);
    if (unlinkSlot(chain, slot))
      unlinked.push_back(&h);
  }
  if (!unlinked.empty())
    std::this_thread::sleep_for(grace);  // a walk at the slot's pass-through finishes first
  for (const Hook *h : unlinked) {
    auto chain = shared.chain(*h);
    clearSlot(chain, slot);
    shared.dropProgram(*h, progIndex(slot, gen));
    shared.dropProgram(*h, progIndex(slot, keep));
    dropDispatcherIfIdle(pins, shared, *h, laneOf(slot));
  }
  uint32_t instance = st.gens[gen].valid ? st.gens[gen].instance : 0;
  st.gens[gen] = StateRecord{};
  writeRecord(st.fd.get(), 1 + gen, st.gens[gen]);
  removeTree(pins.genDir(st.name, gen));  // detaches its helpers
  if (instance) {
    waitForRunningPrograms();
    Instances(pins).retire(instance);
  }
}

std::unique_ptr<Swap> Runtime::checkedSwap(const std::string &policy, std::chrono::milliseconds grace) {
  auto s = std::make_unique<Swap>(pins_);
  s->policy = policy;
  s->grace = grace;
  if (!exists(pins_.policyDir(policy)))
    throw Error(Exit::NotFound, "policy " + policy + " is not loaded or staged", "stage it: bulwark load --stage BUNDLE");
  preflight(false);  // what needs the BPF LSM was checked and attached by the stage
  s->lock.emplace(pins_.root, true);
  checkGuardTrust(pins_);
  s->st = readPolicy(pins_, policy);
  s->shared.emplace(pins_);
  if (!s->st || !s->shared->present())
    throw Error(Exit::NotFound, "policy " + policy + " is not loaded or staged");
  s->slot = s->st->header.slot;
  s->lane = laneOf(s->slot);
  s->cur = s->shared->genOf(s->slot);
  s->next = s->cur ^ 1;
  const StateRecord &staged = s->st->gens[s->next];
  if (staged.valid != kGenStaged)
    throw Error(Exit::NotFound, "policy " + policy + " has no staged version", "stage one: bulwark load --stage BUNDLE");
  s->mode = staged.mode;
  s->instance = staged.instance;
  s->hooksMask = staged.hooksMask;
  s->oldMask = s->st->gens[s->cur].valid == kGenLoaded ? s->st->gens[s->cur].hooksMask : 0;
  if (auto problems = checkStaged(pins_, *s->shared, *s->st, s->cur); !problems.empty()) {
    std::string why;
    for (const auto &p : problems)
      why += (why.empty() ? "" : "; ") + p;
    throw Error(Exit::Failed, "the staged version of " + policy + " is not intact (" + why + "): nothing was switched",
                "stage it again (bulwark load --stage BUNDLE), or drop it (bulwark unstage " + policy + ")");
  }
  return s;
}

LoadResult Runtime::finishSwitch(Swap &s, Clock::time_point t0) {
  LoadResult r;
  if (s.oldMask)
    r.identity.carried = carryLabelsSinceStage(s);
  // From here the state is the one a load has just before its switch (tested for crashes).
  s.st->gens[s.next].valid = kGenLoaded;
  writeRecord(s.st->fd.get(), 1 + s.next, s.st->gens[s.next]);
  if (!s.instances)
    s.instances.emplace(pins_);
  r.untilSwitchMs = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  switchOver(s);
  retire(s);
  s.instances->prune();
  r.policy = s.policy;
  r.replaced = s.oldMask != 0;
  r.slot = s.slot;
  r.lane = s.lane;
  r.gen = s.next;
  r.switchUs = s.switchUs;
  r.hooks = hookNames(groupByHook(hooksOfMask(s.hooksMask)));
  r.warnings = std::move(s.warnings);
  r.totalMs = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  return r;
}

LoadResult Runtime::switchStaged(const std::string &policy, std::chrono::milliseconds grace) {
  auto t0 = Clock::now();
  auto s = checkedSwap(policy, grace);
  return finishSwitch(*s, t0);
}

std::unique_ptr<Swap> Runtime::armSwitch(const std::string &policy) {
  auto s = checkedSwap(policy, std::chrono::milliseconds(50));
  s->armedHeader = s->st->header;
  s->armedCur = s->st->gens[s->cur];
  s->armedNext = s->st->gens[s->next];
  for (const Hook *h : hooksOfMask(s->hooksMask | s->oldMask)) {
    uint32_t id = 0;
    if (mapLookupU32(s->shared->progs(*h), progIndex(s->slot, s->next), &id))
      s->armedProgs.emplace_back(h, id);
  }
  if (s->oldMask)
    openLabelMaps(*s);
  s->instances.emplace(pins_);
  s->lock.reset();
  return s;
}

LoadResult Runtime::switchArmed(Swap &armed, std::chrono::milliseconds grace) {
  auto t0 = Clock::now();
  armed.grace = grace;
  armed.lock.emplace(pins_.root, true);
  if (!stillAsArmed(armed)) {
    armed.lock.reset();
    return switchStaged(armed.policy, grace);
  }
  return finishSwitch(armed, t0);
}

void Runtime::unstage(const std::string &policy, std::chrono::milliseconds grace) {
  if (!exists(pins_.policyDir(policy)))
    throw Error(Exit::NotFound, "policy " + policy + " is not loaded or staged");
  preflight(false);
  std::optional<PolicyState> st;
  uint64_t keepMask = 0;
  uint32_t gen = 0;
  bool onlyStaged = false;
  {
    Lock lock(pins_.root, true);
    checkGuardTrust(pins_);
    st = readPolicy(pins_, policy);
    SharedMaps shared(pins_);
    if (!st || !shared.present())
      throw Error(Exit::NotFound, "policy " + policy + " is not loaded or staged");
    uint32_t cur = shared.genOf(st->header.slot);
    gen = cur ^ 1;
    if (st->gens[gen].valid != kGenStaged)
      throw Error(Exit::NotFound, "policy " + policy + " has no staged version");
    onlyStaged = st->gens[cur].valid != kGenLoaded;
    keepMask = st->gens[cur].hooksMask;
    if (!onlyStaged)
      dropGeneration(pins_, shared, *st, gen, keepMask, grace);
  }
  if (onlyStaged)  // nothing enforces: the policy goes with its staged version
    unload(policy, grace);
}

} // namespace bulwark::rt
