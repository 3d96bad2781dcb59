// Integrity: the kernel wiring of a policy against what was loaded.
#pragma once

#include "Pins.h"
#include "Runtime.h"
#include "SharedMaps.h"

#include <string>
#include <vector>

namespace bulwark::rt {

// What a process other than the runtime changed (or an interrupted command left): each entry
// says what differs. Reads only.
std::vector<std::string> checkWiring(const PinLayout &pins, SharedMaps &shared, const PolicySummary &s);

} // namespace bulwark::rt
