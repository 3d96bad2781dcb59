// Reconciling: the bundles found in the directory against the policies loaded (planReconcile,
// pure), and carrying the plan out (Daemon::reconcile).
#include "Daemon.h"

#include "Abi.h"
#include "Error.h"
#include "PolicyState.h"

#include <algorithm>
#include <cstdio>
#include <set>

namespace bulwark::rt {
namespace fs = std::filesystem;

std::vector<fs::path> scanBundleDir(const fs::path &dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.empty() || name[0] == '.')
      continue;
    std::error_code e2;
    if (fs::is_directory(it->path(), e2) && fs::exists(it->path() / "manifest.yaml", e2))
      out.push_back(it->path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

static bool under(const std::string &path, const fs::path &dir) {
  std::string d = dir.lexically_normal().string();
  while (d.size() > 1 && d.back() == '/')
    d.pop_back();
  return path.size() > d.size() && path.compare(0, d.size(), d) == 0 && path[d.size()] == '/';
}

// A loaded, healthy policy whose bundle changed: load it, or with held switches stage it
// (unless that very version is staged already).
static ReconcileAction changedAction(const LoadedPolicy &l, const FoundBundle &f, bool holdSwitches) {
  using K = ReconcileAction::Kind;
  std::string why = l.contentHash != f.contentHash ? "changed" : "mode " + l.mode + " -> " + f.mode;
  if (!holdSwitches || !l.enforcing)  // nothing enforces: waiting gains nothing
    return {K::Load, f.policy, f.path, why};
  if (l.stagedHash == f.contentHash && l.stagedMode == f.mode)
    return {K::Hold, f.policy, f.path, why + ", staged: switched on SIGUSR1"};
  return {K::Stage, f.policy, f.path, why};
}

std::vector<ReconcileAction> planReconcile(const std::vector<FoundBundle> &found,
                                           const std::vector<LoadedPolicy> &loaded, const fs::path &bundleDir,
                                           bool unloadRemoved, bool holdSwitches) {
  using K = ReconcileAction::Kind;
  std::vector<ReconcileAction> out;
  std::map<std::string, const LoadedPolicy *> byName;
  for (const auto &l : loaded)
    byName[l.name] = &l;
  std::set<std::string> wanted, foundPaths;
  for (const auto &f : found) {
    foundPaths.insert(f.path.string());
    if (f.policy.empty())
      continue;  // invalid: reported by the caller; whatever is loaded from it stays
    if (!wanted.insert(f.policy).second) {
      out.push_back({K::Keep, f.policy, f.path, "another bundle in the directory has the same policy name"});
      continue;
    }
    auto it = byName.find(f.policy);
    if (it == byName.end()) {
      out.push_back({K::Load, f.policy, f.path, "new"});
    } else {
      const LoadedPolicy &l = *it->second;
      if (l.tampered)
        out.push_back({K::Load, f.policy, f.path, "tampered: repairing from the bundle"});
      else if (!l.healthy)
        out.push_back({K::Load, f.policy, f.path, "loaded but broken"});
      else if (l.contentHash != f.contentHash || l.mode != f.mode)
        out.push_back(changedAction(l, f, holdSwitches));
      else if (holdSwitches && l.stagedHash)
        out.push_back({K::Unstage, f.policy, f.path, "unchanged: dropping the version staged for the signal"});
      else
        out.push_back({K::Adopt, f.policy, f.path, "unchanged"});
    }
  }
  if (unloadRemoved)
    for (const auto &l : loaded) {
      if (wanted.count(l.name) || !under(l.bundle, bundleDir))
        continue;
      if (foundPaths.count(l.bundle)) {
        out.push_back({K::Keep, l.name, l.bundle, "its bundle is present but invalid: the loaded version stays"});
        continue;
      }
      out.push_back({K::Unload, l.name, {}, "its bundle left " + bundleDir.string()});
    }
  return out;
}

// The daemon stages a new version, then switches to it (`load --stage` + `switch` in one
// process); a bundle with kprobe hooks cannot be staged and is loaded as `load` does.
static LoadResult stageAndSwitch(Runtime &rt, const Bundle &b, LoadOptions o) {
  o.stage = canStage(b);
  LoadResult r = rt.load(b, o);
  if (!o.stage)
    return r;
  LoadResult sw = rt.switchStaged(r.policy, o.grace);
  r.staged = false;
  r.gen = sw.gen;
  r.switchUs = sw.switchUs;
  r.totalMs += sw.totalMs;
  r.warnings.insert(r.warnings.end(), sw.warnings.begin(), sw.warnings.end());
  return r;
}

// Loads (stage and switch) or, for a Stage action, stages and leaves the switch to SIGUSR1;
// a bundle that cannot be staged (kprobe hooks) is loaded either way.
void Daemon::loadAction(const ReconcileAction &a, const Bundle &b) {
  LoadOptions o;
  o.mode = cfg_.mode;
  bool hold = a.kind == ReconcileAction::Kind::Stage && canStage(b);
  o.stage = hold;
  LoadResult r = hold ? rt_.load(b, o) : stageAndSwitch(rt_, b, o);
  loadsOk_[a.policy]++;
  lastLoadSeconds_[a.policy] = r.totalMs / 1000;
  std::string what = " policy " + a.policy + " (" + a.reason + ", slot " + std::to_string(r.slot) + ", generation " +
                     std::to_string(r.gen) + ", " + std::to_string(int(r.totalMs)) + " ms)";
  if (hold) {
    held_.insert(a.policy);
    arm(a.policy);
    log("staged" + what + ": switched on SIGUSR1");
  } else {
    lastSwitchMicros_[a.policy] = r.switchUs;
    log((r.replaced ? "replaced" : "loaded") + what);
  }
  for (const auto &w : r.warnings)
    log("warning: " + w);
}

int Daemon::switchHeld() {
  std::set<std::string> held = std::move(held_);
  held_.clear();
  int failures = 0;
  if (held.empty())
    log("SIGUSR1: no staged version to switch to");
  for (const auto &policy : held) {
    auto armed = armed_.extract(policy);
    try {
      LoadResult r = armed ? rt_.switchArmed(*armed.mapped()) : rt_.switchStaged(policy);
      lastSwitchMicros_[policy] = r.switchUs;
      char timing[64];  // as `bulwark switch` prints them
      std::snprintf(timing, sizeof timing, "checks %.2f ms, switch %.1f us", r.untilSwitchMs, r.switchUs);
      log("switched policy " + policy + " to its staged version (SIGUSR1, generation " + std::to_string(r.gen) +
          ", " + timing + ")");
      for (const auto &w : r.warnings)
        log("warning: " + w);
    } catch (const Error &e) {
      failures++;
      loadsFailed_[policy]++;
      log("policy " + policy + ": switching on SIGUSR1 failed: " + e.what() +
          " (the loaded version keeps enforcing; staging it again)");
      try {
        rt_.unstage(policy);
      } catch (const Error &) {  // nothing staged any more: the next reconcile stages anew either way
      }
    }
  }
  return failures;
}

// A policy held for SIGUSR1 is checked when it is staged (or found staged), with the checks a
// switch makes, so that the switch on the signal is one confirmation and the generation write.
// One that fails its checks is not armed: the signal then runs the full switch, which says why.
void Daemon::arm(const std::string &policy) {
  armed_.erase(policy);
  try {
    armed_[policy] = rt_.armSwitch(policy);
  } catch (const Error &e) {
    log("policy " + policy + ": its staged version is not armed for SIGUSR1 (" + e.what() + ")");
  }
}

// After a reconcile: what is no longer held is disarmed, what is held and not armed is armed.
// An armed switch that went stale is found by the switch itself (Runtime::switchArmed).
void Daemon::armHeld() {
  for (auto it = armed_.begin(); it != armed_.end();)
    it = held_.count(it->first) ? std::next(it) : armed_.erase(it);
  for (const auto &policy : held_)
    if (!armed_.count(policy))
      arm(policy);
}

// What planReconcile needs of a policy `list` found: its enforcing and its staged version.
static LoadedPolicy loadedPolicy(const PolicySummary &s) {
  LoadedPolicy l{s.name, fieldString(s.active.bundle), s.active.contentHash, modeWord(s.active.mode), s.healthy,
                 !s.tampering.empty()};
  l.enforcing = s.active.valid == kGenLoaded;
  if (s.staged.valid == kGenStaged) {
    l.stagedHash = s.staged.contentHash;
    l.stagedMode = modeWord(s.staged.mode);
    if (!l.enforcing)
      l.bundle = fieldString(s.staged.bundle);
  }
  return l;
}

int Daemon::reconcile(bool startup) {
  reconciles_++;
  std::vector<FoundBundle> found;
  std::map<std::string, Bundle> bundles;
  for (const auto &p : scanBundleDir(cfg_.bundleDir)) {
    FoundBundle f;
    f.path = p;
    try {
      Bundle b = readBundle(p);
      f.policy = b.policy.name;
      f.contentHash = b.contentHash;
      f.mode = std::string(bundle::word(cfg_.mode.value_or(b.policy.mode)));
      bundles.emplace(p.string(), std::move(b));
      lastError_.erase(p.string());
    } catch (const Error &e) {
      if (lastError_[p.string()] != e.what()) {
        log("bundle " + p.string() + " is not loadable: " + e.what());
        loadsFailed_[p.filename().string()]++;
      }
      lastError_[p.string()] = e.what();
    }
    found.push_back(f);
  }
  std::vector<LoadedPolicy> loaded;
  for (const auto &s : rt_.list()) {
    loaded.push_back(loadedPolicy(s));
    // Integrity: wiring that differs from what was loaded. A policy whose bundle is in the
    // directory is loaded again below (the repair); the log says which.
    if (!s.tampering.empty()) {
      integrityFailures_++;
      std::string what;
      for (const auto &t : s.tampering)
        what += (what.empty() ? "" : "; ") + t;
      log("integrity: policy " + s.name + " TAMPERED: " + what);
    }
  }
  int failures = 0;
  held_.clear();
  for (const auto &a : planReconcile(found, loaded, cfg_.bundleDir, cfg_.unloadRemoved, cfg_.switchOnSignal)) {
    using K = ReconcileAction::Kind;
    try {
      switch (a.kind) {
      case K::Adopt:
        if (startup)
          log("adopted policy " + a.policy + " (" + a.reason + ", from " + a.bundle.string() + ")");
        break;
      case K::Keep:
        if (startup)
          log("policy " + a.policy + ": " + a.reason);
        break;
      case K::Load:
      case K::Stage:
        loadAction(a, bundles.at(a.bundle.string()));
        break;
      case K::Hold:
        held_.insert(a.policy);
        if (startup)
          log("policy " + a.policy + ": " + a.reason);
        break;
      case K::Unstage:
        rt_.unstage(a.policy);
        log("policy " + a.policy + ": " + a.reason);
        break;
      case K::Unload:
        rt_.unload(a.policy);
        unloads_[a.policy]++;
        log("unloaded policy " + a.policy + " (" + a.reason + ")");
        break;
      }
    } catch (const Error &e) {
      failures++;
      loadsFailed_[a.policy]++;
      lastError_[a.bundle.string()] = e.what();
      log("policy " + a.policy + ": " + e.what() + " (the loaded version, if any, keeps enforcing)");
    }
  }
  armHeld();
  return failures;
}

} // namespace bulwark::rt
