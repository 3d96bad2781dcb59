// Integrity: the kernel wiring of a policy against what was loaded.
#pragma once

#include "Pins.h"
#include "PolicyState.h"
#include "Runtime.h"
#include "SharedMaps.h"

#include <string>
#include <vector>

namespace bulwark::rt {

// What a process other than the runtime changed (or an interrupted command left): each entry
// says what differs. Reads only.
std::vector<std::string> checkWiring(const PinLayout &pins, SharedMaps &shared, const PolicySummary &s);

// What keeps the version staged in the generation beside `cur` from being switched to: its
// pins, its programs (or pass-throughs) at slot*2+next, chain links and dispatchers of every
// hook it or the enforcing version uses. Empty when `switch` may go ahead. Reads only.
std::vector<std::string> checkStaged(const PinLayout &pins, SharedMaps &shared, const PolicyState &st, uint32_t cur);

} // namespace bulwark::rt
