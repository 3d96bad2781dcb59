#include "Runtime.h"

#include "Abi.h"
#include "Dispatchers.h"
#include "Error.h"
#include "FaultPoint.h"
#include "Guard.h"
#include "Instances.h"
#include "Lock.h"
#include "PolicyState.h"
#include "SharedMaps.h"

#include <thread>

namespace bulwark::rt {

void Runtime::unload(const std::string &policy, std::chrono::milliseconds grace) {
  if (!exists(pins_.policyDir(policy)))
    throw Error(Exit::NotFound, "policy " + policy + " is not loaded (nothing pinned at " +
                                    pins_.policyDir(policy) + ")");
  preflight(false);  // unpinning needs no BPF LSM (and a kprobe-only policy never needed it)
  Lock lock(pins_.root, true);
  checkGuardTrust(pins_);
  auto st = readPolicy(pins_, policy);
  if (!st)
    throw Error(Exit::NotFound, "policy " + policy + " is not loaded");
  uint32_t slot = st->header.slot;
  uint32_t lane = laneOf(slot);
  SharedMaps shared(pins_);
  if (shared.present()) {
    // Out of every chain first (one write each), then wait until no event can still be
    // running its programs, then free them.
    std::vector<const Hook *> used;
    for (const auto &h : hooks()) {
      if (!h.lsm || !shared.hasHook(h))
        continue;
      auto chain = shared.chain(h);
      if (unlinkSlot(chain, slot))
        used.push_back(&h);
    }
    // No chain reaches the slot any more: a walk still at it must not fail closed once its
    // programs are gone.
    shared.setSlotMode(slot, BW_SLOT_EMPTY);
    faultPoint("unload-after-unlink");
    std::this_thread::sleep_for(grace);
    scrubSlot(shared, slot);
    for (const auto &h : hooks())
      if (h.lsm && shared.hasHook(h))
        dropDispatcherIfIdle(pins_, shared, h, lane);
  }
  removeTree(pins_.policyDir(policy));
  // Nothing of the policy can run now: its instances keep their names until read.
  waitForRunningPrograms();
  Instances instances(pins_);
  for (const auto &g : st->gens)
    if (g.valid == kGenLoaded || g.valid == kGenStaged)
      instances.retire(g.instance);
  instances.prune();
  if (policyNames(pins_).empty())
    dropGuard(pins_);  // the last policy is gone: nothing left to protect
}

} // namespace bulwark::rt
