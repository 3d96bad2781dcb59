// Self-protection: the guard programs (bpf/runtime/guard.bpf.c) that keep every process but
// the Bulwark runtime away from Bulwark's kernel objects and pins (docs/security.md,
// "Self-protection"). Attached on the first load into a pin root, detached with the last unload.
#pragma once

#include "Hooks.h"
#include "Pins.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace bulwark::rt {

struct FileIdentity {
  uint64_t dev = 0;  // kernel dev_t: MAJOR << 20 | MINOR
  uint64_t ino = 0;
  bool operator==(const FileIdentity &) const = default;
};

// The executable of this process, as the kernel sees it (/proc/self/exe).
FileIdentity selfExecutable();

// The pin root directory (its bpffs instance and inode): what the guard, and the dispatchers
// making its checks, keep other processes out of.
FileIdentity pinRootIdentity(const PinLayout &pins);

// Test hook: BULWARK_TEST_UNGUARDED=1 loads without attaching the guard (the VM tests that
// tamper with the wiring themselves, and the fail-closed tests).
bool guardDisabledForTest();

// The executable the attached guard trusts (from its marker pin), or nullopt when no guard
// is attached at this pin root.
std::optional<FileIdentity> guardTrusts(const PinLayout &pins);

// Throws Error when the attached guard trusts another executable than this process's
// (every change this process tried would fail with EPERM).
void checkGuardTrust(const PinLayout &pins);

// Attaches the guard for this pin root, trusting this process's executable, unless it is
// attached already, and the dispatchers of lane 0 that make its checks (guardKeepsDispatcher). Throws
// Error when attaching fails, or when the attached guard trusts another executable (nothing
// this process would do could succeed).
void ensureGuard(const PinLayout &pins);

// Detaches the guard (removes its pins, and the dispatchers of lane 0 it keeps). Call once no
// policy is loaded.
void dropGuard(const PinLayout &pins);

// True for a dispatcher the guard keeps attached while it is on, chain or none: lane 0's of
// file_open and path_unlink, which make its checks of write opens and unlinks (dispatcher.bpf.c).
bool guardKeepsDispatcher(const PinLayout &pins, const Hook &h, uint32_t lane);

// The names of those dispatchers whose pins are missing (status).
std::vector<std::string> guardDispatchersMissing(const PinLayout &pins);

// Names of the guard's programs, each attached once (status, integrity check).
const char *const *guardPrograms(size_t *count);

} // namespace bulwark::rt
