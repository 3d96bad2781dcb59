// The end of a load, shared by `load` and `switch` (a staged load is finished by a later
// process): the switch to generation `next` and the retiring of generation `cur`, and
// dropping a staged generation that is never switched to (Load.cpp, Switch.cpp).
#pragma once

#include "Instances.h"
#include "Lock.h"
#include "Pins.h"
#include "PolicyState.h"
#include "SharedMaps.h"
#include "Undo.h"

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace bulwark::rt {

// What switchOver and retire need. Members are destroyed in reverse order of declaration:
// the undo log runs while the shared maps and the instance table are open, and the lock is
// released last.
struct Swap {
  explicit Swap(const PinLayout &pins) : pins(pins) {}
  const PinLayout &pins;
  std::optional<Lock> lock;
  std::string policy;
  std::chrono::milliseconds grace{50};
  std::optional<SharedMaps> shared;
  std::optional<Instances> instances;
  std::optional<PolicyState> st;
  uint32_t mode = 0, slot = 0, lane = 0, instance = 0;
  // The generation that enforces now and the one switched to.
  uint32_t cur = 0, next = 0;
  uint64_t hooksMask = 0;  // hooks of gen<next> (LSM and kprobe bits)
  uint64_t oldMask = 0;    // hooks of the enforcing version
  double switchUs = 0;
  std::vector<std::string> warnings;
  // Armed ahead of its switch (Runtime::armSwitch): the records and the prog-array entries of
  // gen<next> as checked, and the maps the label carry uses, opened.
  StateRecord armedHeader{}, armedCur{}, armedNext{};
  std::vector<std::pair<const Hook *, uint32_t>> armedProgs;
  std::optional<Fd> oldIdent, oldExact, oldPrefix, newIdent, newExact, newPrefix, newHint, oldLearned, newLearned;
  Undo undo;
};

// The slot's mode, then the bw_gen write that switches every hook to gen<next>; commits the
// undo log.
void switchOver(Swap &s);

// Frees gen<cur> once no event can be in it (a failure is a warning: gen<next> enforces).
void retire(Swap &s);

// Takes generation `gen` of a policy out of the prog arrays and lane chains, retires its
// instance, clears its record and removes its directory, leaving the enforcing generation
// (the other one, hooks `keepMask`) as it is. For a staged version, or what a load or stage
// that died before its switch left behind. Waits a grace period if it unlinked a hook.
void dropGeneration(const PinLayout &pins, SharedMaps &shared, PolicyState &st, uint32_t gen, uint64_t keepMask,
                    std::chrono::milliseconds grace);

} // namespace bulwark::rt
