// Errors and exit codes of the bulwark runtime. Every failure a user can act on is an
// Error with an exit code and a message that names the cause; anything else is a bug
// (exit code Internal).
#pragma once

#include <stdexcept>
#include <string>

namespace bulwark::rt {

// Documented in docs/operations.md ("Exit codes"). Keep the numbers stable.
enum class Exit : int {
  Ok = 0,
  Failed = 1,       // the operation failed (kernel refused, verifier rejected, I/O error)
  Usage = 2,        // bad command line
  Internal = 3,     // a bug in bulwark
  BadBundle = 4,    // corrupt bundle, or ABI / format / compiler version not supported
  Unsupported = 5,  // kernel or system cannot run Bulwark (no BPF LSM, no BTF, no bpffs)
  NoPermission = 6, // missing privilege (root or CAP_BPF+CAP_PERFMON+CAP_MAC_ADMIN)
  NotFound = 7,     // no such policy is loaded
  Conflict = 8,     // a pin path is taken by something that is not ours
};

class Error : public std::runtime_error {
public:
  Error(Exit code, std::string message, std::string hint = {})
      : std::runtime_error(std::move(message)), code_(code), hint_(std::move(hint)) {}
  Exit code() const { return code_; }
  // One line of advice ("run bulwark doctor", "mount bpffs ..."), may be empty.
  const std::string &hint() const { return hint_; }

private:
  Exit code_;
  std::string hint_;
};

// "<what>: <strerror(err)>"
std::string errnoText(int err);

} // namespace bulwark::rt
