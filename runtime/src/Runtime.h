// Loading, hot-swapping and unloading policies (docs/architecture.md, "Kernel ABI";
// docs/operations.md). All state lives in bpffs pins under the pin root, so every command
// is a fresh process that adopts what is pinned.
#pragma once

#include "Abi.h"
#include "Bpf.h"
#include "BundleDir.h"
#include "Identity.h"
#include "Pins.h"
#include "State.h"

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace bulwark::rt {

struct LoadOptions {
  std::optional<bundle::Mode> mode;  // override the manifest's mode
  std::chrono::milliseconds grace{50};  // wait before freeing the previous generation
};

struct LoadResult {
  std::string policy;
  uint32_t slot = 0, lane = 0, gen = 0;
  bool replaced = false;       // hot swap of a loaded version
  double loadMs = 0;           // open + verify + load + fill maps
  double switchUs = 0;         // the bw_gen write that switches every hook
  double totalMs = 0;          // the whole command, lock to unlock
  IdentityPlan identity;       // what was labelled at load (counts only)
  std::vector<std::string> hooks;     // language hooks, each once
  std::vector<std::string> warnings;  // cleanup after the switch that did not succeed
};

// A cgroup of a policy's scope: the id the programs were loaded with and the cgroup at that
// path now (0: there is none). They differ once the cgroup was removed and created again:
// the programs then match no process in it until the policy is loaded again.
struct ScopeCgroup {
  std::string path;
  uint64_t loadedId = 0, currentId = 0;
  bool stale() const { return currentId != 0 && currentId != loadedId; }  // created again since the load
  const char *state() const { return currentId == 0 ? "missing" : stale() ? "stale" : "ok"; }
};

struct PolicySummary {
  std::string name;
  uint32_t slot = 0, lane = 0, gen = 0;
  bool healthy = true;      // problems and tampering are empty
  std::vector<std::string> problems;  // why it does not enforce as recorded (interrupted commands)
  // Kernel wiring that differs from what was loaded (a prog-array entry, the generation
  // word, the slot mode, a program pin): changed by something other than the runtime.
  std::vector<std::string> tampering;
  StateRecord header{};
  StateRecord active{};     // record of generation `gen`
  std::vector<HookUse> hooks;  // each language hook once, with its attach points
  std::vector<ScopeCgroup> scope;  // cgroup scope only
};

struct RuleCounters {
  uint32_t id = 0;
  std::string name;     // "(default)" for the policy default
  std::string hook;
  std::string action;
  uint64_t hits = 0, emitted = 0, dropped = 0, limited = 0;
};

struct PinnedObject {
  std::string path;
  std::string kind;  // prog, map, link
  uint32_t id = 0;
  std::string detail;
  uint64_t memlock = 0;
};

struct PolicyStatus {
  PolicySummary summary;
  std::vector<PinnedObject> pins;
  std::vector<RuleCounters> rules;
  uint64_t drops = 0;
  uint64_t kernelMemory = 0;  // memlock of the policy's programs and maps
  std::vector<std::string> dispatchers;  // dispatcher link pins its hooks use
  // Object labels (bw_m_ident) of the enforcing generation and the most it holds: when it is
  // full, a link or rename that needs a new label is denied.
  uint32_t objectLabels = 0, objectLabelsMax = 0;
};

struct SharedStatus {
  std::vector<PinnedObject> maps;         // <pin root>/shared
  std::vector<PinnedObject> dispatchers;  // <pin root>/dispatch (links)
  std::vector<PinnedObject> guard;        // <pin root>/guard (self-protection links)
  std::string guardTrusts;                // "device D, inode I" of the trusted executable, or empty
  std::vector<std::string> guardMissing;  // guard programs whose link is not pinned
  uint64_t kernelMemory = 0;
  std::optional<bw_mark_stats> marks;     // once a policy with marks was loaded
};

class Runtime {
public:
  explicit Runtime(std::string pinRoot);
  const PinLayout &pins() const { return pins_; }

  LoadResult load(const Bundle &bundle, const LoadOptions &opts);
  void unload(const std::string &policy, std::chrono::milliseconds grace = std::chrono::milliseconds(50));
  std::vector<PolicySummary> list();
  PolicyStatus status(const std::string &policy);
  // The same for a policy list() returned (saves a list() per policy when showing all).
  PolicyStatus status(const PolicySummary &policy);
  SharedStatus sharedStatus();
  // Loaded policies with a scope cgroup that is not the one loaded (created again, or
  // created after the load): cheap, for the daemon to check often.
  std::vector<std::string> policiesWithStaleScope();
  // Checks done before touching the kernel: privilege, bpffs at the pin root, BPF LSM
  // active (when `needLsm`: a bundle of kprobe hooks only does not need it). Throws Error
  // with the cause.
  void preflight(bool needLsm = true);

private:
  PinLayout pins_;
};

} // namespace bulwark::rt
