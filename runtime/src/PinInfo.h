// What is pinned: each pin's kind, id, details and kernel memory; the kprobe links of a
// generation.
#pragma once

#include "Pins.h"
#include "Runtime.h"

#include <optional>
#include <string>
#include <vector>

namespace bulwark::rt {

// A pin: what it is and the kernel memory it holds; nullopt if nothing is pinned there.
std::optional<PinnedObject> describePin(const std::string &path);
// Every pin under `dir` (recursively), sorted by path.
std::vector<PinnedObject> describePins(const std::string &dir);
// The memory of pins together, each BTF object their programs use counted once.
KernelMemory pinsMemory(const std::vector<PinnedObject> &pins);

// Kernel functions with a kprobe link pinned in a generation of a policy, sorted.
std::vector<std::string> kprobeFunctions(const PinLayout &pins, const std::string &policy, uint32_t gen);

} // namespace bulwark::rt
