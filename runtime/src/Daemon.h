// `bulwark run --config FILE`: keeps the policies of a bundle directory loaded.
//
// It watches the directory with inotify (including the Kubernetes ConfigMap/Secret volume
// layout, where entries are symlinks into `..data`, which is swapped atomically by a
// rename), loads new and changed bundles (hot swap), unloads policies whose bundle is gone,
// keeps the previous version when a new one fails, writes every decision from the ring
// buffer as a line (JSON by default), and serves Prometheus metrics. Stopping it (SIGTERM)
// leaves every policy enforcing; a restarted daemon adopts unchanged policies as they are.
#pragma once

#include "Runtime.h"
#include "Switch.h"

#include <array>
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace bulwark::rt {

struct DaemonConfig {
  std::string bundleDir;                // required
  std::string pinRoot;                  // default: defaultPinRoot()
  std::optional<bundle::Mode> mode;     // overrides every bundle's mode
  std::string metrics;                  // "host:port" or ":port"; empty = no metrics endpoint
  std::string events = "stdout";        // stdout | none | <file> (appended)
  std::string eventsFormat = "json";    // json | text
  std::string eventLog;                 // every event as JSON lines, rotated; "" = none (default: defaultEventLog())
  uint64_t eventLogMaxBytes = 64ull << 20;  // size of the log before it becomes <log>.1
  bool unloadRemoved = true;            // unload policies whose bundle left the directory
  double debounceSeconds = 0.3;         // quiet time after a change before reconciling
  double resyncSeconds = 60;            // reconcile this often even without inotify events
  double scopeCheckSeconds = 1;         // check scope cgroups this often (0: never)
  // on_signal: a changed bundle is staged and switched to on SIGUSR1 (all staged policies at
  // once), not at once; immediate (default) switches as soon as it is staged.
  bool switchOnSignal = false;
};

// Parses the YAML config (keys: bundle_dir, pin_root, mode, metrics, events, events_format,
// event_log, event_log_max_bytes, unload_removed, debounce_seconds, resync_seconds, scope_check_seconds,
// switch). Relative paths are relative to
// `baseDir`. Throws Error(Usage) naming the problem.
DaemonConfig parseDaemonConfig(const std::string &yaml, const std::filesystem::path &baseDir);

// The metrics listen address: "host:port", ":port" (all IPv4 addresses), "[v6addr]:port"
// or "[::]:port"; host is an IPv4 or IPv6 literal, "*" or "localhost"; port 1..65535.
// nullopt with the reason in *why otherwise.
struct ListenAddress {
  int family = 0;                    // AF_INET or AF_INET6
  std::array<uint8_t, 16> addr{};    // network order; IPv4 in the first 4 bytes
  uint16_t port = 0;
};
std::optional<ListenAddress> parseListenAddress(const std::string &spec, std::string *why);

// Bundle directories in `dir`: entries (directories or symlinks to them) that hold a
// manifest.yaml; names starting with '.' (`..data`, `..2024_...`) are skipped. Paths are
// `dir/<entry>`, not resolved, so they stay the same across `..data` swaps. Sorted.
std::vector<std::filesystem::path> scanBundleDir(const std::filesystem::path &dir);

struct ReconcileAction {
  // Stage: load a changed version staged, switched to on SIGUSR1 (switch: on_signal); Hold:
  // that version is staged already; Unstage: the bundle is back to the enforcing version.
  enum class Kind { Load, Adopt, Unload, Keep, Stage, Hold, Unstage } kind;
  std::string policy;
  std::filesystem::path bundle;  // Load/Adopt/Keep
  std::string reason;
};

// What to do, given the bundles found (valid ones with their content hash and name; paths
// of invalid ones) and the loaded policies. Pure: unit-tested.
struct FoundBundle {
  std::filesystem::path path;
  std::string policy;         // empty if the bundle is invalid
  uint64_t contentHash = 0;
  std::string mode;           // effective mode (config override or the bundle's)
};
struct LoadedPolicy {
  std::string name;
  std::string bundle;         // recorded bundle path
  uint64_t contentHash = 0;
  std::string mode;
  bool healthy = true;
  bool tampered = false;  // kernel wiring differs from what was loaded (Runtime::list)
  bool enforcing = true;     // false: only a staged version (a first `load --stage` by hand)
  uint64_t stagedHash = 0;  // the staged version's, 0 if none
  std::string stagedMode = "";  // its mode word
};
std::vector<ReconcileAction> planReconcile(const std::vector<FoundBundle> &found,
                                           const std::vector<LoadedPolicy> &loaded,
                                           const std::filesystem::path &bundleDir, bool unloadRemoved,
                                           bool holdSwitches = false);

// Prometheus text exposition helpers.
std::string promLabel(const std::string &value);  // escaped and quoted
// The families of live processes per mark (LiveMarks.h): bulwark_mark_processes per mark and
// bulwark_marked_processes; no samples before a policy with marks was loaded or when the
// count failed (nullopt).
void markMetrics(std::ostream &o, const std::optional<LiveMarks> &lm);

class Daemon {
public:
  explicit Daemon(DaemonConfig cfg);
  // Runs until SIGTERM/SIGINT; returns the exit code.
  int run();
  // One reconcile pass (also used at start); returns the number of failures.
  int reconcile(bool startup);
  std::string metricsText();

private:
  struct Loop;  // run's event loop (Daemon.cpp)
  void log(const std::string &msg);
  void rebuildWatches();
  void loadMetrics(std::ostream &o) const;
  void loadAction(const ReconcileAction &a, const Bundle &b);
  // SIGUSR1 with switch: on_signal: every policy staged for it switches to its staged version;
  // one whose staged version cannot be switched to is unstaged. Returns those failures.
  int switchHeld();
  void arm(const std::string &policy);
  void armHeld();

  DaemonConfig cfg_;
  Runtime rt_;
  int inotify_ = -1;
  std::map<int, std::string> watches_;
  std::set<std::string> held_;  // policies staged and waiting for SIGUSR1
  // Their switches, checked ahead when staged (Runtime::armSwitch), so SIGUSR1 only confirms
  // and switches.
  std::map<std::string, std::unique_ptr<Swap>> armed_;
  // metrics
  std::map<std::string, uint64_t> loadsOk_, loadsFailed_, unloads_;
  std::map<std::string, double> lastLoadSeconds_, lastSwitchMicros_;
  std::map<std::string, std::string> lastError_;  // by bundle path
  uint64_t reconciles_ = 0, inotifyEvents_ = 0, integrityFailures_ = 0;
  double startedAt_ = 0;
  class EventReader *events_ = nullptr;
  class EventLog *eventLog_ = nullptr;
};

} // namespace bulwark::rt
