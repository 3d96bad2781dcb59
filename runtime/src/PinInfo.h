// What is pinned: each pin's kind, id, details and kernel memory; the kprobe links of a
// generation.
#pragma once

#include "Pins.h"
#include "Runtime.h"

#include <string>
#include <vector>

namespace bulwark::rt {

// Every pin under `dir` (recursively): what it is and the kernel memory it holds.
std::vector<PinnedObject> describePins(const std::string &dir);

// Kernel functions with a kprobe link pinned in a generation of a policy, sorted.
std::vector<std::string> kprobeFunctions(const PinLayout &pins, const std::string &policy, uint32_t gen);

} // namespace bulwark::rt
