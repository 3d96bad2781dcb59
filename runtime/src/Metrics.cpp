// The daemon's Prometheus text exposition (GET /metrics): the policies loaded, their rules'
// counters, and the daemon's own loads, errors and events.
#include "Daemon.h"

#include "Abi.h"
#include "Error.h"
#include "EventLog.h"
#include "EventReader.h"
#include "LiveMarks.h"
#include "System.h"
#include "PolicyState.h"

#include <initializer_list>
#include <sstream>

namespace bulwark::rt {

std::string promLabel(const std::string &v) {
  std::string o = "\"";
  for (char c : v) {
    if (c == '\\' || c == '"')
      o += '\\', o += c;
    else if (c == '\n')
      o += "\\n";
    else
      o += c;
  }
  return o + "\"";
}

namespace {

void help(std::ostream &o, const char *name, const char *type, const char *text) {
  o << "# HELP " << name << " " << text << "\n# TYPE " << name << " " << type << "\n";
}

// policyMetrics: each loaded policy's properties, health and scope cgroups (with the
// daemon's integrity failure count between them, where it always was).
void policyMetrics(std::ostream &o, const std::vector<PolicySummary> &policies, uint64_t integrityFailures) {
  help(o, "bulwark_policy_info", "gauge", "a loaded policy (value 1) and its properties");
  for (const auto &p : policies)
    o << "bulwark_policy_info{policy=" << promLabel(p.name) << ",slot=\"" << p.slot << "\",lane=\"" << p.lane
      << "\",generation=\"" << p.gen << "\",mode=\"" << modeWord(p.active.mode)
      << "\",compiler=" << promLabel(fieldString(p.active.compiler))
      << ",source_digest=" << promLabel(fieldString(p.active.digest)) << "} 1\n";
  help(o, "bulwark_integrity_failures_total", "counter",
       "policies found TAMPERED (kernel wiring not as loaded), counted at every reconcile that finds one");
  o << "bulwark_integrity_failures_total " << integrityFailures << "\n";
  help(o, "bulwark_policy_healthy", "gauge", "1 if the policy enforces as recorded, 0 if BROKEN or TAMPERED");
  for (const auto &p : policies)
    o << "bulwark_policy_healthy{policy=" << promLabel(p.name) << "} " << (p.healthy ? 1 : 0) << "\n";
  help(o, "bulwark_policy_scope_cgroup", "gauge",
       "per scope cgroup of a policy: 1 if the programs match the cgroup at that path, 0 if none exists (state "
       "missing) or it was created again since the load (stale)");
  for (const auto &p : policies)
    for (const auto &c : p.scope)
      o << "bulwark_policy_scope_cgroup{policy=" << promLabel(p.name) << ",cgroup=" << promLabel(c.path)
        << ",state=\"" << c.state() << "\"} " << (std::string(c.state()) == "ok" ? 1 : 0) << "\n";
}

// A metric family written after its samples are gathered: its HELP and TYPE lines, then one
// line per sample, in the order added.
struct Family {
  Family(const char *name, const char *type, const char *text) : name(name), type(type), text(text) {}
  const char *name, *type, *text;
  std::ostringstream samples;
  template <class V> void add(const std::string &labels, const V &value) {
    samples << name << labels << " " << value << "\n";
  }
};

void writeFamilies(std::ostream &o, std::initializer_list<Family *> families) {
  for (Family *f : families) {
    help(o, f->name, f->type, f->text);
    o << f->samples.str();
  }
}

// statusMetrics: per rule counters, kernel memory and object labels of each policy (its
// status; a policy whose status cannot be read is left out).
void statusMetrics(std::ostream &o, Runtime &rt, const std::vector<PolicySummary> &policies) {
  Family hits{"bulwark_rule_hits_total", "counter", "decisions made by a rule (continues across hot swaps, by rule name)"};
  Family emitted{"bulwark_rule_records_total", "counter", "decision records sent to the ring buffer"};
  Family dropped{"bulwark_rule_records_dropped_total", "counter", "records lost because the ring buffer was full"};
  Family limited{"bulwark_rule_records_limited_total", "counter", "records suppressed by the per-rule rate limit"};
  Family mem{"bulwark_policy_kernel_memory_bytes", "gauge",
             "kernel memory of the policy: programs, JIT images, maps and their layout, BTF (bulwark status POLICY)"};
  Family labels{"bulwark_policy_object_labels", "gauge", "object labels of path rules (bw_m_ident) in use"};
  Family labelsMax{"bulwark_policy_object_labels_max", "gauge",
                   "object labels the policy holds; when full, links and renames that need one are denied"};
  for (const auto &p : policies) {
    PolicyStatus st;
    try {
      st = rt.status(p);
    } catch (const Error &) {
      continue;
    }
    std::string pl = "{policy=" + promLabel(p.name) + "}";
    for (const auto &r : st.rules) {
      std::string l = "{policy=" + promLabel(p.name) + ",rule=" + promLabel(r.name) + ",hook=" + promLabel(r.hook) +
                      ",action=" + promLabel(r.action) + "}";
      hits.add(l, r.hits);
      emitted.add(l, r.emitted);
      dropped.add(l, r.dropped);
      limited.add(l, r.limited);
    }
    mem.add(pl, st.kernelMemory);
    if (st.objectLabelsMax) {
      labels.add(pl, st.objectLabels);
      labelsMax.add(pl, st.objectLabelsMax);
    }
  }
  writeFamilies(o, {&hits, &emitted, &dropped, &limited, &mem, &labels, &labelsMax});
}

// topMetrics: the in-kernel aggregates of each policy (bulwark top), one series per rule,
// executable and cgroup, and what the full map could not hold.
void topMetrics(std::ostream &o, Runtime &rt, const std::vector<PolicySummary> &policies) {
  Family counts{"bulwark_top_decisions_total", "counter",
                "decisions that are not allow, counted in the kernel per rule, executable and cgroup (bulwark top)"};
  Family lost{"bulwark_top_unaggregated_total", "counter", "decisions of a rule the full aggregation map had no entry for"};
  Family used{"bulwark_top_entries", "gauge", "entries of the policy's aggregation map in use"};
  Family max{"bulwark_top_entries_max", "gauge", "entries the policy's aggregation map holds"};
  for (const auto &p : policies) {
    PolicyTop t;
    try {
      t = rt.top(p);
    } catch (const Error &) {
      continue;
    }
    if (!t.present)
      continue;
    std::string pl = "{policy=" + promLabel(p.name);
    for (const auto &e : t.entries)
      counts.add(pl + ",rule=" + promLabel(e.rule) + ",action=" + promLabel(e.action) + ",exe=" + promLabel(exeText(e)) +
                     ",cgroup=" + promLabel(e.cgroup.empty() ? std::to_string(e.cgroupId) : e.cgroup) + "}",
                 e.count);
    for (const auto &[rule, n] : t.unaggregated)
      lost.add(pl + ",rule=" + promLabel(rule) + "}", n);
    used.add(pl + "}", t.used);
    max.add(pl + "}", t.max);
  }
  writeFamilies(o, {&counts, &lost, &used, &max});
}

// eventMetrics: decision records read from the ring buffer (none before the reader exists).
void eventMetrics(std::ostream &o, const EventReader *events, const EventLog *log) {
  help(o, "bulwark_events_total", "counter", "decision records read from the ring buffer, by action");
  if (events)
    for (const char *a : {"allow", "deny", "audit", "kill", "would-deny"})
      o << "bulwark_events_total{action=\"" << a << "\"} " << events->countOf(a) << "\n";
  help(o, "bulwark_event_decode_errors_total", "counter", "ring buffer records that could not be decoded");
  o << "bulwark_event_decode_errors_total " << (events ? events->decodeErrors() : 0) << "\n";
  help(o, "bulwark_event_log_write_errors_total", "counter", "writes to the event log that failed (events lost from it)");
  o << "bulwark_event_log_write_errors_total " << (log ? log->writeErrors() : 0) << "\n";
  help(o, "bulwark_event_log_rotations_total", "counter", "times the event log reached its cap and became <log>.1");
  o << "bulwark_event_log_rotations_total " << (log ? log->rotations() : 0) << "\n";
}

} // namespace

void markMetrics(std::ostream &o, const std::optional<LiveMarks> &lm) {
  Family live{"bulwark_mark_processes", "gauge", "live processes that hold the mark now (unexpired)"};
  Family any{"bulwark_marked_processes", "gauge", "live processes that hold at least one mark"};
  if (lm) {
    for (const auto &m : lm->marks)
      live.add(m.mark.empty() ? "{id=" + promLabel(liveMarkName(m)) + "}"
                              : "{policy=" + promLabel(m.policy) + ",mark=" + promLabel(m.mark) + "}",
               m.processes);
    any.add("", lm->processes);
  }
  writeFamilies(o, {&live, &any});
}

// The daemon's own loads, unloads and their durations, and the bundles it cannot load.
void Daemon::loadMetrics(std::ostream &o) const {
  help(o, "bulwark_loads_total", "counter", "loads and hot swaps by the daemon, by result");
  for (const auto &[p, n] : loadsOk_)
    o << "bulwark_loads_total{policy=" << promLabel(p) << ",result=\"ok\"} " << n << "\n";
  for (const auto &[p, n] : loadsFailed_)
    o << "bulwark_loads_total{policy=" << promLabel(p) << ",result=\"error\"} " << n << "\n";
  help(o, "bulwark_unloads_total", "counter", "policies unloaded because their bundle left the directory");
  for (const auto &[p, n] : unloads_)
    o << "bulwark_unloads_total{policy=" << promLabel(p) << "} " << n << "\n";
  help(o, "bulwark_last_load_duration_seconds", "gauge", "duration of the policy's last load by the daemon");
  for (const auto &[p, s] : lastLoadSeconds_)
    o << "bulwark_last_load_duration_seconds{policy=" << promLabel(p) << "} " << s << "\n";
  help(o, "bulwark_last_switch_duration_seconds", "gauge", "duration of the bw_gen write of the last load");
  for (const auto &[p, us] : lastSwitchMicros_)
    o << "bulwark_last_switch_duration_seconds{policy=" << promLabel(p) << "} " << us / 1e6 << "\n";
  help(o, "bulwark_policy_staged_for_signal", "gauge",
       "1 for a policy whose new version is staged and switched on SIGUSR1 (switch: on_signal)");
  for (const auto &p : held_)
    o << "bulwark_policy_staged_for_signal{policy=" << promLabel(p) << "} 1\n";
  help(o, "bulwark_bundle_errors", "gauge", "1 for a bundle in the directory that cannot be loaded");
  for (const auto &[path, err] : lastError_)
    o << "bulwark_bundle_errors{bundle=" << promLabel(path) << "} 1\n";
}

std::string Daemon::metricsText() {
  std::ostringstream o;
  help(o, "bulwark_up", "gauge", "1 while the daemon runs");
  o << "bulwark_up 1\n";
  help(o, "bulwark_daemon_uptime_seconds", "gauge", "seconds since the daemon started");
  o << "bulwark_daemon_uptime_seconds " << monotonicSeconds() - startedAt_ << "\n";
  help(o, "bulwark_reconciles_total", "counter", "passes over the bundle directory");
  o << "bulwark_reconciles_total " << reconciles_ << "\n";
  std::vector<PolicySummary> policies;
  try {
    policies = rt_.list();
  } catch (const Error &) {
  }
  policyMetrics(o, policies, integrityFailures_);
  statusMetrics(o, rt_, policies);
  topMetrics(o, rt_, policies);
  markMetrics(o, liveMarks(rt_.pins(), nullptr));
  loadMetrics(o);
  eventMetrics(o, events_, eventLog_);
  return o.str();
}

} // namespace bulwark::rt
