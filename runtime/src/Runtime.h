// Loading, hot-swapping and unloading policies (docs/architecture.md, "Kernel ABI";
// docs/operations.md). All state lives in bpffs pins under the pin root, so every command
// is a fresh process that adopts what is pinned.
#pragma once

#include "Abi.h"
#include "Bpf.h"
#include "BundleDir.h"
#include "Identity.h"
#include "LiveMarks.h"
#include "Memory.h"
#include "Pins.h"
#include "State.h"

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace bulwark::rt {

struct Swap;  // Switch.h

struct LoadOptions {
  std::optional<bundle::Mode> mode;  // override the manifest's mode
  std::optional<uint32_t> topEntries;  // bw_agg's size instead of the manifest's
  std::chrono::milliseconds grace{50};  // wait before freeing the previous generation
  bool stage = false;  // stop before the switch: `switch` enforces it later (`load --stage`)
};

struct LoadResult {
  std::string policy;
  uint32_t slot = 0, lane = 0, gen = 0;
  bool replaced = false;       // hot swap of a loaded version
  bool staged = false;         // staged, not switched to (`load --stage`)
  bool droppedStaged = false;  // a previously staged version was dropped to make room
  double loadMs = 0;           // open + verify + load + fill maps
  double switchUs = 0;         // the bw_gen write that switches every hook
  double untilSwitchMs = 0;    // `switch`: its checks before that write (lock to write)
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
  StateRecord staged{};     // record of the other generation when it is staged (valid kGenStaged)
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

// One bw_agg entry of `bulwark top`: decisions of a rule by one executable in one cgroup.
struct TopEntry {
  std::string rule, hook, action;
  std::string exe;              // the program's, or a running process's; empty if unknown
  std::string cgroup;           // path; empty when the cgroup is gone
  uint32_t exeDev = 0;          // kernel dev_t encoding (major << 20 | minor)
  uint64_t exeIno = 0, cgroupId = 0;
  uint64_t count = 0;
  uint64_t firstNs = 0, lastNs = 0;  // CLOCK_REALTIME
};

std::string devText(uint32_t kernelDev);  // "8:1"
// The entry's executable: its path, "(dev 8:1 inode 1234)" when no path is known, "(kernel)".
std::string exeText(const TopEntry &e);

// What `bulwark top` shows of one policy: its entries (most decisions first) and, per rule, the
// decisions the full map had no room for (the entries of a rule plus these equal its hits).
struct PolicyTop {
  std::string policy;
  bool present = false;          // the policy object has bw_agg (older bundles have not)
  uint32_t used = 0, max = 0;    // entries of the enforcing generation's bw_agg, and its size
  std::vector<TopEntry> entries;
  std::map<std::string, uint64_t> unaggregated;  // by rule name
};

struct PinnedObject {
  std::string path;
  std::string kind;  // prog, map, link
  uint32_t id = 0;
  std::string detail;
  uint64_t memlock = 0;  // as the kernel reports it (fdinfo)
  KernelMemory memory;   // by kind, with what the kernel holds beyond memlock (BTF not included)
  uint32_t progId = 0;   // the program pinned, or the one a link holds
  uint32_t btfId = 0;    // that program's BTF object
};

struct PolicyStatus {
  PolicySummary summary;
  std::vector<PinnedObject> pins;
  std::vector<RuleCounters> rules;
  uint64_t drops = 0;
  // Programs (with JIT images and debug info), maps (with what their layout adds to
  // memlock), the object's BTF, and the rule tables of its instances (instances/<N>).
  KernelMemory memory;
  uint64_t kernelMemory = 0;  // memory.total()
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
  std::optional<uint64_t> quietOpens;     // opens that skipped a lane that decided nothing (quietHits)
  std::optional<uint64_t> quietConnects;  // connects likewise (quietConnectHits)
  std::optional<LiveMarks> liveMarks;     // likewise; not when the count failed (liveMarksError)
  std::string liveMarksError;
};

// Whether a bundle can be staged (`load --stage`): not with kprobe hooks, which are attached
// directly and would act before the switch.
bool canStage(const Bundle &b);

class Runtime {
public:
  explicit Runtime(std::string pinRoot);
  const PinLayout &pins() const { return pins_; }

  LoadResult load(const Bundle &bundle, const LoadOptions &opts);
  // Switches a policy to the version `load --stage` staged, after checking it is intact;
  // Error(NotFound) if nothing is staged. The result has slot, lane, gen, switchUs, totalMs.
  LoadResult switchStaged(const std::string &policy, std::chrono::milliseconds grace = std::chrono::milliseconds(50));
  // switchStaged in two steps, for a process that switches later (the daemon on SIGUSR1):
  // armSwitch checks the staged version now and keeps what the switch needs open;
  // switchArmed then only confirms, under the lock, that the policy's records, generation and
  // prog-array entries are still the ones checked, and switches. When anything changed it
  // runs switchStaged instead.
  std::unique_ptr<Swap> armSwitch(const std::string &policy);
  LoadResult switchArmed(Swap &armed, std::chrono::milliseconds grace = std::chrono::milliseconds(50));
  // Drops the staged version (the enforcing one stays as it is; a policy that has only a
  // staged version is unloaded). Error(NotFound) if nothing is staged.
  void unstage(const std::string &policy, std::chrono::milliseconds grace = std::chrono::milliseconds(50));
  void unload(const std::string &policy, std::chrono::milliseconds grace = std::chrono::milliseconds(50));
  std::vector<PolicySummary> list();
  PolicyStatus status(const std::string &policy);
  // The same for a policy list() returned (saves a list() per policy when showing all).
  PolicyStatus status(const PolicySummary &policy);
  SharedStatus sharedStatus();
  // The in-kernel aggregates of a policy list() returned (Aggregates.h), names resolved.
  PolicyTop top(const PolicySummary &policy);
  // Loaded policies with a scope cgroup that is not the one loaded (created again, or
  // created after the load): cheap, for the daemon to check often.
  std::vector<std::string> policiesWithStaleScope();
  // Checks done before touching the kernel: privilege, bpffs at the pin root, BPF LSM
  // active (when `needLsm`: a bundle of kprobe hooks only does not need it). Throws Error
  // with the cause.
  void preflight(bool needLsm = true);

private:
  // switchStaged's checks, under the lock it leaves held; and what follows them.
  std::unique_ptr<Swap> checkedSwap(const std::string &policy, std::chrono::milliseconds grace);
  LoadResult finishSwitch(Swap &s, std::chrono::steady_clock::time_point t0);
  PinLayout pins_;
};

} // namespace bulwark::rt
