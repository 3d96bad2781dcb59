// A policy's state record map (<policy>/state, State.h): reading and writing its records,
// finding the policies under the pin root, and the codes its records hold (hook masks,
// rule actions).
#pragma once

#include "Bpf.h"
#include "Hooks.h"
#include "Pins.h"
#include "State.h"
#include "Words.h"  // abi/bundle: Mode

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace bulwark::rt {

struct PolicyState {
  std::string name;
  Fd fd;
  StateRecord header{};
  StateRecord gens[2]{};
};

// Throw Error when the record cannot be read or written.
StateRecord readRecord(int fd, uint32_t key);
void writeRecord(int fd, uint32_t key, const StateRecord &r);

// The state of policy `name`; nullopt if its directory does not exist. Throws Error(Conflict)
// for a directory that holds no Bulwark state.
std::optional<PolicyState> readPolicy(const PinLayout &pins, const std::string &name);

// Directory names under the pin root that may be policies (not shared, dispatch, ...), sorted.
std::vector<std::string> policyNames(const PinLayout &pins);

// The policies under the pin root that Bulwark made (a directory that is not one is skipped).
std::vector<PolicyState> ourPolicies(const PinLayout &pins);

// The LSM hooks of a hooks mask (kprobes are not dispatched).
std::vector<const Hook *> hooksOfMask(uint64_t mask);

// A policy's mode as stored (BW_MODE_*), as a word: "enforce", "audit".
inline const char *modeWord(uint32_t mode) { return bundle::word(bundle::Mode(mode)).data(); }

} // namespace bulwark::rt
