// Dispatcher links (one per LSM hook and lane, shared by the policies of the lane) and the
// pass-through programs that stand in for a policy on a hook it does not use; both come from
// the embedded runtime object. And taking a slot out of every chain.
#pragma once

#include "Bpf.h"
#include "Hooks.h"
#include "Pins.h"
#include "SharedMaps.h"

#include <cstdint>
#include <map>
#include <vector>

namespace bulwark::rt {

// Loads the pass-through programs standing in for `slot` on `hooks`, with one load of the
// runtime object (each object opened and loaded costs about as much as its programs); returns
// their fds by hook index.
std::map<uint32_t, Fd> loadPasses(const PinLayout &pins, const std::vector<const Hook *> &hooks, uint32_t slot);

// Makes sure the dispatcher of (hook, lane) is attached and pinned. Returns true if it
// attached one now.
bool ensureDispatcher(const PinLayout &pins, const Hook &h, uint32_t lane);

// Detaches the dispatcher of (hook, lane) if its lane chain is empty and the guard does not
// keep it (guardKeepsDispatcher).
void dropDispatcherIfIdle(const PinLayout &pins, SharedMaps &shared, const Hook &h, uint32_t lane);

// Detaches the dispatcher of (hook, lane), if attached (its pin holds the only reference).
void unpinDispatcher(const PinLayout &pins, const Hook &h, uint32_t lane);

// Takes a slot out of every chain and prog array (unload, and a fresh slot that an
// interrupted unload left behind).
void scrubSlot(SharedMaps &shared, uint32_t slot);

} // namespace bulwark::rt
