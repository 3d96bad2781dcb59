// bulwark: loads, pins, hot-swaps and unloads Bulwark policy bundles; reads their
// decisions; checks what the kernel supports. See docs/operations.md.
#include "Abi.h"
#include "Bpf.h"
#include "BundleDir.h"
#include "Daemon.h"
#include "Doctor.h"
#include "Error.h"
#include "EventLog.h"
#include "EventReader.h"
#include "Events.h"
#include "Runtime.h"
#include "System.h"
#include "PolicyState.h"

#include <CLI/CLI.hpp>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <cstdio>
#include <iostream>
#include <map>

using namespace bulwark::rt;
using bulwark::JsonWriter;
namespace bundle = bulwark::bundle;

namespace {

volatile sig_atomic_t gStop = 0;
void onSignal(int) { gStop = 1; }

std::string human(uint64_t bytes) {
  char b[32];
  if (bytes >= (1ull << 20))
    std::snprintf(b, sizeof b, "%.1f MiB", double(bytes) / (1 << 20));
  else if (bytes >= 1024)
    std::snprintf(b, sizeof b, "%.1f KiB", double(bytes) / 1024);
  else
    std::snprintf(b, sizeof b, "%" PRIu64 " B", bytes);
  return b;
}

std::string timeString(uint64_t ns) {
  time_t s = time_t(ns / 1000000000ull);
  struct tm tm {};
  gmtime_r(&s, &tm);
  char b[32];
  std::strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return b;
}

std::string hashString(uint64_t h) {
  char b[20];
  std::snprintf(b, sizeof b, "%016" PRIx64, h);
  return b;
}

std::string joined(const std::vector<std::string> &v, const char *sep = ",") {
  std::string o;
  for (const auto &s : v)
    o += (o.empty() ? "" : sep) + s;
  return o;
}

// The members of a policy's object in `list` and `status --format json`.
void policyMembers(JsonWriter &w, const PolicySummary &p) {
  w.key("policy").value(p.name).key("slot").value(p.slot).key("lane").value(p.lane);
  w.key("mode").value(modeWord(p.active.mode)).key("generation").value(p.gen);
  w.key("instance").value(p.active.instance).key("loaded").value(timeString(p.active.loadedNs));
  w.key("hooks").strings(hookNames(p.hooks)).key("healthy").value(p.healthy);
  w.key("problems").strings(p.problems).key("tampering").strings(p.tampering);
  w.key("scope").beginArray();
  for (const auto &c : p.scope)
    w.beginObject().key("cgroup").value(c.path).key("loaded_id").value(c.loadedId).key("current_id")
        .value(c.currentId).key("state").value(c.state()).endObject();
  w.endArray().key("staged");
  if (p.staged.valid != kGenStaged) {
    w.null();
    return;
  }
  w.beginObject().key("generation").value(p.gen ^ 1).key("instance").value(p.staged.instance);
  w.key("mode").value(modeWord(p.staged.mode)).key("staged").value(timeString(p.staged.loadedNs));
  w.key("bundle").value(fieldString(p.staged.bundle)).key("content_hash").value(hashString(p.staged.contentHash));
  w.key("hooks").strings(hookNames(groupByHook(hooksOfMask(p.staged.hooksMask)))).endObject();
}

// " (staged: ...)" for a policy with a version waiting for `switch`.
std::string stagedNote(const PolicySummary &p, const char *sep) {
  if (p.staged.valid != kGenStaged)
    return "";
  return std::string(sep) + "(staged " + timeString(p.staged.loadedNs) + ": " + fieldString(p.staged.bundle) +
         ", content hash " + hashString(p.staged.contentHash) + "; 'bulwark switch " + p.name + "' enforces it" +
         (p.active.valid == kGenLoaded ? "" : ", nothing enforces before") + ")";
}

// ---- commands -----------------------------------------------------------------------------
int cmdLoad(const std::string &root, const std::string &bundleDir, const std::string &mode, uint32_t topEntries,
            bool stage) {
  Bundle b = readBundle(bundleDir);
  Runtime rt(root);
  LoadOptions opts;
  if (topEntries)
    opts.topEntries = topEntries;
  if (!mode.empty())
    opts.mode = bundle::parseWord<bundle::Mode>(mode);  // CLI11 allows only the words
  opts.stage = stage;
  LoadResult r = rt.load(b, opts);
  std::printf("%s policy %s (slot %u, lane %u, generation %u, mode %s, hooks %s)\n",
              r.staged ? "staged" : r.replaced ? "replaced" : "loaded", r.policy.c_str(), r.slot, r.lane, r.gen,
              std::string(bundle::word(opts.mode.value_or(b.policy.mode))).c_str(), joined(r.hooks).c_str());
  if (r.droppedStaged)
    std::printf("dropped the version staged before\n");
  if (r.staged)
    std::printf("timing: load+verify %.2f ms, total %.2f ms; not enforcing until 'bulwark switch %s'\n", r.loadMs,
                r.totalMs, r.policy.c_str());
  else
    std::printf("timing: load+verify %.2f ms, switch %.1f us, total %.2f ms\n", r.loadMs, r.switchUs, r.totalMs);
  const IdentityPlan &id = r.identity;
  if (id.exactPaths)
    std::printf("identity: %u of %u protected paths exist, matched by (device, inode) as well\n",
                id.exactFound, id.exactPaths);
  if (id.prefixDirs)
    std::printf("identity: %u of %u protected directories exist, with %u mounts and %u hard-linked files below%s\n",
                id.prefixFound, id.prefixDirs, id.mounts, id.hardLinks,
                id.scanCut ? " (hard-link scan stopped at its budget)" : "");
  if (id.viewGroups)
    std::printf("identity: paths without an object at load are also matched by name (denials only)\n");
  if (id.carried)
    std::printf("identity: %u labels learned by the replaced version kept\n", id.carried);
  for (const auto &w : r.warnings)
    std::fprintf(stderr, "bulwark: warning: %s\n", w.c_str());
  return 0;
}

int cmdSwitch(const std::string &root, const std::string &policy) {
  Runtime rt(root);
  LoadResult r = rt.switchStaged(policy);
  std::printf("switched policy %s to its staged version (slot %u, lane %u, generation %u, hooks %s)\n",
              r.policy.c_str(), r.slot, r.lane, r.gen, joined(r.hooks).c_str());
  std::printf("timing: checks %.2f ms, switch %.1f us, total %.2f ms\n", r.untilSwitchMs, r.switchUs, r.totalMs);
  if (r.identity.carried)
    std::printf("identity: %u labels learned by the replaced version kept\n", r.identity.carried);
  for (const auto &w : r.warnings)
    std::fprintf(stderr, "bulwark: warning: %s\n", w.c_str());
  return 0;
}

int cmdUnstage(const std::string &root, const std::string &policy) {
  Runtime rt(root);
  rt.unstage(policy);
  std::printf("dropped the staged version of policy %s\n", policy.c_str());
  return 0;
}

int cmdUnload(const std::string &root, const std::string &policy) {
  Runtime rt(root);
  rt.unload(policy);
  std::printf("unloaded policy %s\n", policy.c_str());
  return 0;
}

// " (BROKEN: ...)" and " (TAMPERED: ...)" for a policy that does not enforce as loaded, and
// " (scope X matches no cgroup)".
std::string integrityNote(const PolicySummary &p, const char *sep) {
  std::string out;
  for (const auto &c : p.scope)
    if (!c.currentId)
      out += sep + ("(scope " + c.path + " matches no cgroup)");
  if (!p.problems.empty())
    out += sep + ("(BROKEN: " + joined(p.problems, "; ") + "; load it again or unload it)");
  if (!p.tampering.empty())
    out += sep + ("(TAMPERED: " + joined(p.tampering, "; ") +
                  "; something other than bulwark changed its kernel state: load it again to repair)");
  return out;
}

int cmdList(const std::string &root, bool json) {
  Runtime rt(root);
  auto ps = rt.list();
  if (json) {
    JsonWriter w(false);
    w.beginObject().key("pin_root").value(root).key("policies").beginArray();
    for (const auto &p : ps) {
      w.beginObject();
      policyMembers(w, p);
      w.endObject();
    }
    w.endArray().endObject();
    std::printf("%s\n", w.str().c_str());
    return 0;
  }
  if (ps.empty()) {
    std::printf("no policies loaded (pin root %s)\n", root.c_str());
    return 0;
  }
  std::printf("%-24s %4s %4s %-7s %3s %-20s %s\n", "POLICY", "SLOT", "LANE", "MODE", "GEN", "LOADED", "HOOKS");
  for (const auto &p : ps)
    std::printf("%-24s %4u %4u %-7s %3u %-20s %s%s\n", p.name.c_str(), p.slot, p.lane,
                modeWord(p.active.mode), p.gen,
                timeString(p.active.loadedNs).c_str(), joined(hookNames(p.hooks)).c_str(),
                (integrityNote(p, "  ") + stagedNote(p, "  ")).c_str());
  return 0;
}

void statusMembers(JsonWriter &w, const PolicyStatus &st) {
  policyMembers(w, st.summary);
  w.key("rules").beginArray();
  for (const auto &r : st.rules)
    w.beginObject().key("id").value(r.id).key("rule").value(r.name).key("hook").value(r.hook)
        .key("action").value(r.action).key("hits").value(r.hits).key("emitted").value(r.emitted)
        .key("dropped").value(r.dropped).key("limited").value(r.limited).endObject();
  w.endArray().key("drops").value(st.drops).key("kernel_memory").value(st.kernelMemory);
  const KernelMemory &m = st.memory;
  w.key("kernel_memory_parts").beginObject().key("maps").value(m.maps).key("map_layout").value(m.mapLayout);
  w.key("programs").value(m.programs).key("jit").value(m.jit).key("debug_info").value(m.debugInfo);
  w.key("btf").value(m.btf).endObject();
  w.key("object_labels").value(st.objectLabels).key("object_labels_max").value(st.objectLabelsMax);
}

// "live_marks": live processes per mark now (LiveMarks.h), or why they could not be counted.
void liveMarksJson(JsonWriter &w, const SharedStatus &shared) {
  if (!shared.liveMarksError.empty()) {
    w.key("live_marks").beginObject().key("error").value(shared.liveMarksError).endObject();
    return;
  }
  if (!shared.liveMarks)
    return;
  const LiveMarks &lm = *shared.liveMarks;
  w.key("live_marks").beginObject().key("processes").value(lm.processes).key("no_room").value(lm.full);
  w.key("marks").beginArray();
  for (const auto &m : lm.marks) {
    w.beginObject();
    if (!m.mark.empty())
      w.key("policy").value(m.policy).key("mark").value(m.mark);
    else
      w.key("id").value(liveMarkName(m));
    w.key("processes").value(m.processes).endObject();
  }
  w.endArray().endObject();
}

// The text of the same.
void printLiveMarks(const SharedStatus &shared) {
  if (!shared.liveMarksError.empty()) {
    std::printf("live processes per mark: not counted (%s)\n", shared.liveMarksError.c_str());
    return;
  }
  if (!shared.liveMarks)
    return;
  const LiveMarks &lm = *shared.liveMarks;
  std::printf("live processes per mark: %" PRIu64 " processes hold marks, %" PRIu64 " of them found no room\n",
              lm.processes, lm.full);
  for (const auto &m : lm.marks)
    std::printf("  %-48s %" PRIu64 "\n", liveMarkName(m).c_str(), m.processes);
}

// `status --format json`: every policy (or one) and the shared state, as one object.
int printStatusJson(Runtime &rt, const std::string &root, const std::string &policy) {
  JsonWriter w(false);
  w.beginObject().key("pin_root").value(root).key("policies").beginArray();
  auto one = [&](const PolicyStatus &st) {
    w.beginObject();
    statusMembers(w, st);
    w.endObject();
  };
  if (policy.empty())
    for (const auto &p : rt.list())
      one(rt.status(p));
  else
    one(rt.status(policy));
  auto shared = rt.sharedStatus();
  w.endArray().key("dispatchers").value(uint64_t(shared.dispatchers.size()));
  w.key("shared_kernel_memory").value(shared.kernelMemory);
  w.key("self_protection").value(shared.guardTrusts.empty() ? "off" : shared.guardMissing.empty() ? "on" : "tampered");
  if (shared.marks)
    w.key("marks").beginObject().key("set").value(shared.marks->set).key("no_room").value(shared.marks->full)
        .key("inherited").value(shared.marks->inherited).key("no_storage").value(shared.marks->no_storage).endObject();
  if (shared.quietOpens)
    w.key("quiet_opens").value(*shared.quietOpens);
  if (shared.quietConnects)
    w.key("quiet_connects").value(*shared.quietConnects);
  liveMarksJson(w, shared);
  w.endObject();
  std::printf("%s\n", w.str().c_str());
  return 0;
}

// `status` without a policy: one line per policy, then the dispatchers, shared maps and
// self-protection.
int printStatusAll(Runtime &rt, const std::string &root) {
  auto ps = rt.list();
  std::printf("pin root: %s\n", root.c_str());
  std::printf("policies: %zu\n", ps.size());
  uint64_t total = 0;
  for (const auto &p : ps) {
    auto st = rt.status(p);
    total += st.kernelMemory;
    std::printf("  %-24s slot %u lane %u %s gen %u hooks %s, kernel memory %s, drops %" PRIu64 "%s%s\n",
                p.name.c_str(), p.slot, p.lane, modeWord(p.active.mode),
                p.gen, joined(hookNames(p.hooks)).c_str(), human(st.kernelMemory).c_str(), st.drops,
                p.tampering.empty() ? (p.healthy ? "" : " BROKEN") : " TAMPERED",
                p.staged.valid == kGenStaged ? " STAGED" : "");
  }
  std::printf("kernel memory (policies): %s\n", human(total).c_str());
  auto shared = rt.sharedStatus();
  std::printf("dispatchers: %zu attached\n", shared.dispatchers.size());
  for (const auto &d : shared.dispatchers)
    std::printf("  %-56s link id %-6u %s\n", d.path.c_str(), d.id, d.detail.c_str());
  std::printf("shared maps: %zu, kernel memory %s (with the dispatchers' and guard's programs)\n", shared.maps.size(),
              human(shared.kernelMemory).c_str());
  if (shared.marks)
    std::printf("marks: %" PRIu64 " set, %" PRIu64 " found no room (those processes fail closed), %" PRIu64
                " forks inherited marks, %" PRIu64 " storage failures\n",
                shared.marks->set, shared.marks->full, shared.marks->inherited, shared.marks->no_storage);
  printLiveMarks(shared);
  if (shared.quietOpens)
    std::printf("quiet opens: %" PRIu64 " skipped a file.open lane that had decided nothing for the same file,"
                " view, mode and cgroup (counted by no policy)\n",
                *shared.quietOpens);
  if (shared.quietConnects)
    std::printf("quiet connects: %" PRIu64 " skipped a net.connect lane that had decided nothing for the same"
                " destination, process, marks and cgroup (counted by no policy)\n",
                *shared.quietConnects);
  if (shared.guardTrusts.empty())
    std::printf("self-protection: off%s\n", ps.empty() ? "" : " (not attached: other processes can change Bulwark's state)");
  else if (!shared.guardMissing.empty())
    std::printf("self-protection: TAMPERED (not attached: %s; load a policy again to repair)\n",
                joined(shared.guardMissing, ", ").c_str());
  else
    std::printf("self-protection: on (%zu programs and the file_open and path_unlink dispatchers; trusts the executable on "
                "device %s)\n",
                shared.guard.size(), shared.guardTrusts.substr(7).c_str());
  return 0;
}

// The kernel memory of a policy by kind, and what is not counted (docs/operations.md).
void printKernelMemory(const KernelMemory &m) {
  std::printf("kernel memory: %s\n", human(m.total()).c_str());
  const std::pair<const char *, uint64_t> parts[] = {
      {"maps (memlock as the kernel reports it; per-CPU copies included)", m.maps},
      {"map layout (hash elements and buckets, trie nodes beyond memlock; estimated)", m.mapLayout},
      {"programs (memlock: the programs and their instructions)", m.programs},
      {"JIT images", m.jit},
      {"func and line info", m.debugInfo},
      {"BTF of the object", m.btf}};
  for (const auto &[what, bytes] : parts)
    std::printf("  %10s  %s\n", human(bytes).c_str(), what);
  std::printf("  not counted: per-process task storage (process.exe cache), the kernel's tables of the BTF, "
              "the shared 2 MiB JIT packs, trampolines, dispatchers and shared maps (status without a policy)\n");
}

// `status POLICY`: everything about one policy: its record, hooks, scope, pins and counters.
int printStatusOne(Runtime &rt, const std::string &policy) {
  auto st = rt.status(policy);
  const auto &s = st.summary;
  std::printf("policy:     %s%s\n", s.name.c_str(),
              integrityNote(s, " ").c_str());
  std::printf("slot:       %u (lane %u), generation %u\n", s.slot, s.lane, s.gen);
  std::printf("mode:       %s\n", modeWord(s.active.mode));
  std::printf("loaded:     %s (load took %.2f ms)\n", timeString(s.active.loadedNs).c_str(),
              double(s.active.loadDurationNs) / 1e6);
  std::printf("bundle:     %s\n", fieldString(s.active.bundle).c_str());
  if (s.staged.valid == kGenStaged)
    std::printf("staged:     generation %u, %s, mode %s, bundle %s, content hash %s: not enforcing until 'bulwark "
                "switch %s'\n",
                s.gen ^ 1, timeString(s.staged.loadedNs).c_str(), modeWord(s.staged.mode),
                fieldString(s.staged.bundle).c_str(), hashString(s.staged.contentHash).c_str(), s.name.c_str());
  std::printf("compiler:   %s, ABI %u, source digest %s\n", fieldString(s.active.compiler).c_str(),
              s.active.abi, fieldString(s.active.digest).c_str());
  std::vector<std::string> hooks;  // "kernel.module_load (kernel_read_file, kernel_load_data)"
  for (const auto &h : s.hooks)
    hooks.push_back(h.attach.empty() ? h.name : h.name + " (" + joined(h.attach, ", ") + ")");
  std::printf("hooks:      %s\n", joined(hooks, ", ").c_str());
  if (!s.scope.empty()) {
    std::vector<std::string> scope;
    for (const auto &c : s.scope)
      scope.push_back(c.path + (c.currentId == 0            ? " (matches no cgroup)"
                                : c.stale()                 ? " (STALE: created again since the load)"
                                                            : " (cgroup id " + std::to_string(c.currentId) + ")"));
    std::printf("scope:      %s\n", joined(scope, ", ").c_str());
  }
  std::printf("dispatchers:\n");
  for (const auto &d : st.dispatchers)
    std::printf("  %s\n", d.c_str());
  std::printf("pins:\n");
  for (const auto &p : st.pins)
    std::printf("  %-56s %-4s id %-6u %-10s %s\n", p.path.c_str(), p.kind.c_str(), p.id,
                human(p.memory.total()).c_str(), p.detail.c_str());
  std::printf("rules (counters summed over CPUs):\n");
  std::printf("  %4s %-28s %-14s %-6s %10s %10s %8s %8s\n", "ID", "RULE", "HOOK", "ACTION", "HITS", "EMITTED",
              "DROPPED", "LIMITED");
  for (const auto &r : st.rules)
    std::printf("  %4u %-28s %-14s %-6s %10" PRIu64 " %10" PRIu64 " %8" PRIu64 " %8" PRIu64 "\n", r.id,
                r.name.c_str(), r.hook.c_str(), r.action.c_str(), r.hits, r.emitted, r.dropped, r.limited);
  std::printf("drops:      %" PRIu64 " records lost (ring buffer full)\n", st.drops);
  printKernelMemory(st.memory);
  if (st.objectLabelsMax)
    std::printf("object labels: %u of %u%s\n", st.objectLabels, st.objectLabelsMax,
                st.objectLabels >= st.objectLabelsMax ? " FULL: links and renames that need a label are denied" : "");
  return 0;
}


int cmdStatus(const std::string &root, const std::string &policy, bool json) {
  Runtime rt(root);
  if (json)
    return printStatusJson(rt, root, policy);
  if (policy.empty())
    return printStatusAll(rt, root);
  return printStatusOne(rt, policy);
}

// ---- events ---------------------------------------------------------------------------------
// --since: an RFC 3339 UTC time (2026-12-02T06:00:00Z) or an age (90s, 10m, 2h, 1d).
uint64_t parseSince(const std::string &v) {
  if (v.empty())
    return 0;
  size_t used = 0;
  double n = -1;
  try {
    n = std::stod(v, &used);
  } catch (const std::exception &) {
  }
  static const std::map<std::string, double> units = {{"s", 1}, {"m", 60}, {"h", 3600}, {"d", 86400}};
  if (n >= 0 && used < v.size() && units.count(v.substr(used)))
    return realtimeNs() - std::min<uint64_t>(realtimeNs(), uint64_t(n * units.at(v.substr(used)) * 1e9));
  struct tm tm {};
  const char *end = strptime(v.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!end || (*end && std::string(end) != "Z"))
    throw Error(Exit::Usage, "--since " + v + ": give a UTC time (2026-12-02T06:00:00Z) or an age (90s, 10m, 2h, 1d)");
  return uint64_t(timegm(&tm)) * 1000000000ull;
}

// `events` while a daemon reads the ring buffer: its event log's history (and, with --follow,
// what it appends), filtered alike. JSON lines are printed as the daemon wrote them.
int printEventLog(const std::string &log, bool follow, bool json, uint64_t count, double timeout,
                  const EventFilter &filter) {
  signal(SIGINT, onSignal);
  signal(SIGTERM, onSignal);
  uint64_t deadline = timeout > 0 ? monotonicNs() + uint64_t(timeout * 1e9) : 0;
  uint64_t printed = 0, unreadable = 0;
  auto stop = [&] { return gStop || (deadline && monotonicNs() > deadline); };
  readEventLog(log, follow, stop, [&](const std::string &line) {
    auto e = parseEventLine(line);
    if (!e) {
      unreadable++;
      return true;
    }
    if (!filter.matches(*e))
      return true;
    std::string out = json ? line : formatText(*e);
    std::fputs(out.c_str(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
    return !(count && ++printed >= count);
  });
  if (unreadable)
    std::fprintf(stderr, "bulwark: warning: %" PRIu64 " lines of %s are not events\n", unreadable, log.c_str());
  return 0;
}

int cmdEvents(const std::string &root, bool follow, const std::string &format, uint64_t count, double timeout,
              const EventFilter &filter, const std::string &log) {
  if (!log.empty() && daemonWritesLog(log, root))
    return printEventLog(log, follow, format == "json", count, timeout, filter);
  Runtime rt(root);
  EventReader rd(rt, stdout, format == "json", count, filter);
  if (!rd.open())
    throw Error(Exit::NotFound, "no event ring buffer pinned at " + rt.pins().sharedMap("bw_events"),
                "load a policy first");
  signal(SIGINT, onSignal);
  signal(SIGTERM, onSignal);
  uint64_t deadline = timeout > 0 ? monotonicNs() + uint64_t(timeout * 1e9) : 0;
  int rc = 0;
  if (!follow) {
    rc = rd.consume();
  } else {
    while (!gStop && !rd.limitReached() && !(deadline && monotonicNs() > deadline)) {
      rc = rd.poll(200);
      if (rc < 0 && rc != -EINTR && rc != -ECANCELED)
        break;
      rc = 0;
    }
  }
  if (rc < 0 && rc != -EINTR && rc != -ECANCELED)
    throw Error(Exit::Failed, "reading events failed: " + errnoText(-rc));
  return 0;
}

// ---- top ------------------------------------------------------------------------------------
// Which aggregates `top` shows; empty members match all, limit 0 shows every entry.
struct TopFilter {
  std::string policy, rule;
  uint64_t limit = 0;
};

// The live processes per mark `top` shows beside the aggregates (as `status` counts them), or
// why they were not counted.
struct TopMarks {
  std::optional<LiveMarks> marks;
  std::string error;
};

void printTopText(const std::vector<std::pair<const PolicyTop *, const TopEntry *>> &rows,
                  const std::vector<PolicyTop> &tops, const TopFilter &f, const TopMarks &lm) {
  std::printf("%10s %-24s %-24s %-6s %-32s %-28s %-27s %s\n", "COUNT", "POLICY", "RULE", "ACTION", "EXE", "CGROUP",
              "FIRST", "LAST");
  for (const auto &[p, e] : rows)
    std::printf("%10" PRIu64 " %-24s %-24s %-6s %-32s %-28s %-27s %s\n", e->count, p->policy.c_str(), e->rule.c_str(),
                e->action.c_str(), exeText(*e).c_str(),
                (e->cgroup.empty() ? std::to_string(e->cgroupId) : e->cgroup).c_str(), isoTime(e->firstNs).c_str(),
                isoTime(e->lastNs).c_str());
  for (const auto &t : tops) {
    if (lm.marks)
      if (std::string line = topMarksLine(*lm.marks, t.policy); !line.empty())
        std::printf("%s\n", line.c_str());
    if (!t.present) {
      std::printf("%s: no aggregates (bundle compiled by an older bulwarkc)\n", t.policy.c_str());
      continue;
    }
    std::printf("%s: %u of %u entries%s\n", t.policy.c_str(), t.used, t.max,
                t.used >= t.max ? " FULL: new rule, executable and cgroup combinations are counted per rule only" : "");
    for (const auto &[rule, n] : t.unaggregated)
      if (f.rule.empty() || f.rule == rule)
        std::printf("%s: %" PRIu64 " decisions of rule %s not in an entry (map full)\n", t.policy.c_str(), n,
                    rule.c_str());
  }
  if (!lm.error.empty())
    std::printf("live processes per mark: not counted (%s)\n", lm.error.c_str());
}

void printTopJson(const std::string &root, const std::vector<std::pair<const PolicyTop *, const TopEntry *>> &rows,
                  const std::vector<PolicyTop> &tops, const TopFilter &f, const TopMarks &lm) {
  JsonWriter w(false);
  w.beginObject().key("pin_root").value(root).key("entries").beginArray();
  for (const auto &[p, e] : rows)
    w.beginObject().key("policy").value(p->policy).key("rule").value(e->rule).key("hook").value(e->hook)
        .key("action").value(e->action).key("exe").value(e->exe)
        .key("exe_dev").value(devText(e->exeDev))
        .key("exe_ino").value(e->exeIno).key("cgroup_id").value(e->cgroupId).key("cgroup").value(e->cgroup)
        .key("count").value(e->count).key("first").value(isoTime(e->firstNs)).key("last").value(isoTime(e->lastNs))
        .endObject();
  w.endArray().key("policies").beginArray();
  for (const auto &t : tops) {
    w.beginObject().key("policy").value(t.policy).key("aggregated").value(t.present);
    w.key("entries").value(uint64_t(t.used)).key("max_entries").value(uint64_t(t.max)).key("unaggregated").beginArray();
    for (const auto &[rule, n] : t.unaggregated)
      if (f.rule.empty() || f.rule == rule)
        w.beginObject().key("rule").value(rule).key("count").value(n).endObject();
    w.endArray();
    if (lm.marks)
      topMarksJson(w, *lm.marks, t.policy);
    w.endObject();
  }
  w.endArray();
  if (!lm.error.empty())
    w.key("live_marks_error").value(lm.error);
  w.endObject();
  std::printf("%s\n", w.str().c_str());
}

// `top`: the in-kernel aggregates of every policy (or one), most decisions first.
int cmdTop(const std::string &root, bool json, const TopFilter &f) {
  Runtime rt(root);
  std::vector<PolicyTop> tops;
  for (const auto &p : rt.list())
    if (f.policy.empty() || p.name == f.policy)
      tops.push_back(rt.top(p));
  if (!f.policy.empty() && tops.empty())
    throw Error(Exit::NotFound, "policy " + f.policy + " is not loaded");
  std::vector<std::pair<const PolicyTop *, const TopEntry *>> rows;
  for (const auto &t : tops)
    for (const auto &e : t.entries)
      if (f.rule.empty() || e.rule == f.rule)
        rows.push_back({&t, &e});
  std::stable_sort(rows.begin(), rows.end(), [](const auto &a, const auto &b) { return a.second->count > b.second->count; });
  if (f.limit && rows.size() > f.limit)
    rows.resize(f.limit);
  TopMarks lm;
  lm.marks = liveMarks(rt.pins(), &lm.error);
  if (json)
    printTopJson(root, rows, tops, f, lm);
  else
    printTopText(rows, tops, f, lm);
  return 0;
}

int cmdRun(const std::string &configPath, const std::string &rootOverride) {
  std::ifstream in(configPath);
  if (!in)
    throw Error(Exit::Usage, "cannot read the config file " + configPath + ": " + errnoText(errno));
  std::ostringstream text;
  text << in.rdbuf();
  DaemonConfig cfg = parseDaemonConfig(text.str(), std::filesystem::absolute(configPath).parent_path());
  if (!rootOverride.empty())
    cfg.pinRoot = rootOverride;
  Daemon d(cfg);
  return d.run();
}

int cmdDoctor(const std::string &root, bool json) {
  auto r = runDoctor(root);
  std::fputs((json ? formatDoctorJson(r) + "\n" : formatDoctor(r)).c_str(), stdout);
  return r.canEnforce ? 0 : int(Exit::Unsupported);
}

// The command line: every option's value, and the subcommand chosen.
struct CommandLine {
  bool verbose = false;
  std::string root = defaultPinRoot();
  std::string bundle, mode, policy, format = "text";
  bool follow = false, json = false, stage = false;
  uint64_t count = 0;
  double timeout = 0;
  EventFilter filter;
  TopFilter topFilter;
  uint32_t topEntries = 0;
  std::string eventLog = defaultEventLog();
  std::string since, config, runRoot;
  CLI::App *load = nullptr, *switchTo = nullptr, *unstage = nullptr, *unload = nullptr, *list = nullptr,
           *status = nullptr, *events = nullptr, *top = nullptr, *run = nullptr, *doctor = nullptr;
};

// addCommands: the subcommands and their options, writing into `c`.
void addCommands(CLI::App &app, CommandLine &c) {
  auto common = [&](CLI::App *s) {
    s->add_option("--pin-root", c.root, "bpffs directory holding Bulwark's pins")->capture_default_str();
    s->add_flag("-v,--verbose", c.verbose, "show libbpf's messages");
  };
  c.load = app.add_subcommand("load", "load a bundle, or atomically replace the loaded version");
  c.load->add_option("BUNDLE", c.bundle, "bundle directory (<policy>.bwb)")->required();
  c.load->add_option("--mode", c.mode, "override the policy's mode")->check(CLI::IsMember({"audit", "enforce"}));
  c.load->add_option("--top-entries", c.topEntries, "entries of the in-kernel aggregation map (default 4096)")
      ->check(CLI::Range(1u, 1u << 20));
  c.load->add_flag("--stage", c.stage, "load, verify and wire it, but leave the loaded version enforcing until 'switch'");
  common(c.load);

  c.switchTo = app.add_subcommand("switch", "switch a policy to its staged version (one write)");
  c.switchTo->add_option("POLICY", c.policy, "policy name")->required();
  common(c.switchTo);

  c.unstage = app.add_subcommand("unstage", "drop a policy's staged version (the loaded one keeps enforcing)");
  c.unstage->add_option("POLICY", c.policy, "policy name")->required();
  common(c.unstage);

  c.unload = app.add_subcommand("unload", "detach and remove a policy");
  c.unload->add_option("POLICY", c.policy, "policy name")->required();
  common(c.unload);

  // One --format option, the same on every command that prints state or events.
  auto formatOption = [&](CLI::App *s) {
    s->add_option("--format", c.format, "output format")->check(CLI::IsMember({"text", "json"}))->capture_default_str();
  };
  c.list = app.add_subcommand("list", "list loaded policies");
  formatOption(c.list);
  common(c.list);

  c.status = app.add_subcommand("status", "hooks, programs, pins, counters and memory of policies");
  c.status->add_option("POLICY", c.policy, "policy name (default: all)");
  formatOption(c.status);
  common(c.status);

  auto *events = c.events = app.add_subcommand("events", "print decisions from the event ring buffer, one per line");
  events->add_flag("-f,--follow", c.follow, "keep reading until interrupted");
  formatOption(events);
  events->add_option("--count", c.count, "stop after this many events (that pass the filters)");
  events->add_option("--timeout", c.timeout, "with --follow: stop after this many seconds");
  events->add_option("--policy", c.filter.policy, "only events of this policy");
  events->add_option("--rule", c.filter.rule, "only events of this rule (a name, or (default))");
  events->add_option("--action", c.filter.action, "only events with this action")
      ->check(CLI::IsMember({"allow", "deny", "audit", "kill", "would-deny"}));
  events->add_option("--since", c.since, "only events at or after a UTC time (2026-12-02T06:00:00Z) or an age (10m)");
  events->add_option("--log", c.eventLog, "the daemon's event log: read from it while a daemon writes it")
      ->capture_default_str();
  common(events);

  c.top = app.add_subcommand("top", "decisions counted in the kernel per rule, executable and cgroup");
  formatOption(c.top);
  c.top->add_option("--policy", c.topFilter.policy, "only this policy");
  c.top->add_option("--rule", c.topFilter.rule, "only this rule (a name, or (default))");
  c.top->add_option("--limit", c.topFilter.limit, "show at most this many entries (default: all)");
  common(c.top);

  c.run = app.add_subcommand("run", "daemon: keep the bundles of a directory loaded, serve metrics, log events");
  c.run->add_option("--config", c.config, "YAML config file (see docs/operations.md)")->required();
  c.run->add_option("--pin-root", c.runRoot, "overrides the config's pin_root");
  c.run->add_flag("-v,--verbose", c.verbose, "show libbpf's messages");

  c.doctor = app.add_subcommand("doctor", "check what this kernel supports (test-loads programs)");
  formatOption(c.doctor);
  c.doctor->add_flag("--json", c.json, "the same as --format json");
  common(c.doctor);
}

// runCommand: the chosen subcommand; its Error becomes its message and exit code.
int runCommand(CommandLine &c) {
  try {
    if (*c.load)
      return cmdLoad(c.root, c.bundle, c.mode, c.topEntries, c.stage);
    if (*c.switchTo)
      return cmdSwitch(c.root, c.policy);
    if (*c.unstage)
      return cmdUnstage(c.root, c.policy);
    if (*c.unload)
      return cmdUnload(c.root, c.policy);
    if (*c.list)
      return cmdList(c.root, c.format == "json");
    if (*c.status)
      return cmdStatus(c.root, c.policy, c.format == "json");
    if (*c.events) {
      c.filter.sinceNs = parseSince(c.since);
      return cmdEvents(c.root, c.follow, c.format, c.count, c.timeout, c.filter, c.eventLog);
    }
    if (*c.top)
      return cmdTop(c.root, c.format == "json", c.topFilter);
    if (*c.doctor)
      return cmdDoctor(c.root, c.json || c.format == "json");
    if (*c.run)
      return cmdRun(c.config, c.runRoot);
  } catch (const Error &e) {
    std::cerr << "bulwark: error: " << e.what() << "\n";
    if (!e.hint().empty())
      std::cerr << "bulwark: hint: " << e.hint() << "\n";
    return int(e.code());
  } catch (const std::exception &e) {
    std::cerr << "bulwark: internal error: " << e.what() << "\n";
    return int(Exit::Internal);
  }
  return int(Exit::Internal);
}

} // namespace

int main(int argc, char **argv) {
  CLI::App app{"bulwark: load, hot-swap and inspect Bulwark policy bundles (BPF LSM)"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "bulwark " BULWARK_VERSION " (kernel ABI " + std::to_string(BW_ABI_VERSION) + ")");
  app.footer("Exit codes: 0 ok, 1 operation failed, 2 usage, 3 internal error, 4 bad bundle,\n"
             "5 unsupported kernel/system, 6 missing privilege, 7 not found, 8 pin conflict.\n"
             "See docs/operations.md.");
  CommandLine c;
  addCommands(app, c);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp &e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp &e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion &e) {
    return app.exit(e);
  } catch (const CLI::ParseError &e) {
    std::cerr << "bulwark: " << e.what() << "\n";
    std::cerr << "Run 'bulwark --help' (or 'bulwark <command> --help') for usage.\n";
    return int(Exit::Usage);
  }
  setupLibbpf(c.verbose);
  return runCommand(c);
}
