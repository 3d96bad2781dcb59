#include "Daemon.h"

#include "Abi.h"
#include "Error.h"
#include "EventReader.h"
#include "System.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

namespace bulwark::rt {
namespace fs = std::filesystem;

// ---- config --------------------------------------------------------------------------------
DaemonConfig parseDaemonConfig(const std::string &yaml, const fs::path &baseDir) {
  DaemonConfig c;
  c.pinRoot = defaultPinRoot();
  auto bad = [](const std::string &w) { throw Error(Exit::Usage, "config: " + w); };
  YAML::Node n;
  try {
    n = YAML::Load(yaml);
  } catch (const YAML::Exception &e) {
    bad(std::string("does not parse: ") + e.what());
  }
  if (!n.IsMap())
    bad("the top level must be a mapping");
  static const std::set<std::string> known = {"bundle_dir",     "pin_root",      "mode",
                                              "metrics",        "events",        "events_format",
                                              "unload_removed", "debounce_seconds", "resync_seconds",
                                              "scope_check_seconds"};
  for (const auto &kv : n) {
    std::string k = kv.first.as<std::string>();
    if (!known.count(k))
      bad("unknown key '" + k + "'");
  }
  auto path = [&](const std::string &p) { return fs::path(p).is_absolute() ? p : (baseDir / p).string(); };
  try {
    if (!n["bundle_dir"])
      bad("'bundle_dir' is required");
    c.bundleDir = path(n["bundle_dir"].as<std::string>());
    if (n["pin_root"])
      c.pinRoot = n["pin_root"].as<std::string>();
    if (n["mode"]) {
      c.mode = n["mode"].as<std::string>();
      if (*c.mode != "enforce" && *c.mode != "audit")
        bad("mode must be enforce or audit, not '" + *c.mode + "'");
    }
    if (n["metrics"])
      c.metrics = n["metrics"].as<std::string>();
    if (n["events"]) {
      c.events = n["events"].as<std::string>();
      if (c.events != "stdout" && c.events != "none")
        c.events = path(c.events);
    }
    if (n["events_format"]) {
      c.eventsFormat = n["events_format"].as<std::string>();
      if (c.eventsFormat != "json" && c.eventsFormat != "text")
        bad("events_format must be json or text");
    }
    if (n["unload_removed"])
      c.unloadRemoved = n["unload_removed"].as<bool>();
    if (n["debounce_seconds"])
      c.debounceSeconds = n["debounce_seconds"].as<double>();
    if (n["resync_seconds"])
      c.resyncSeconds = n["resync_seconds"].as<double>();
    if (n["scope_check_seconds"])
      c.scopeCheckSeconds = n["scope_check_seconds"].as<double>();
  } catch (const YAML::Exception &e) {
    bad(std::string("bad value: ") + e.what());
  }
  if (c.debounceSeconds < 0 || c.resyncSeconds <= 0 || c.scopeCheckSeconds < 0)
    bad("debounce_seconds and scope_check_seconds must be >= 0 and resync_seconds > 0");
  std::string why;
  if (!c.metrics.empty() && !parseListenAddress(c.metrics, &why))
    bad("metrics: " + why);
  return c;
}

// ---- scanning and planning ----------------------------------------------------------------------
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

std::vector<ReconcileAction> planReconcile(const std::vector<FoundBundle> &found,
                                           const std::vector<LoadedPolicy> &loaded, const fs::path &bundleDir,
                                           bool unloadRemoved) {
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
      else if (l.contentHash != f.contentHash)
        out.push_back({K::Load, f.policy, f.path, "changed"});
      else if (l.mode != f.mode)
        out.push_back({K::Load, f.policy, f.path, "mode " + l.mode + " -> " + f.mode});
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

// ---- daemon --------------------------------------------------------------------------------------
std::optional<ListenAddress> parseListenAddress(const std::string &spec, std::string *why) {
  auto fail = [&](const std::string &w) -> std::optional<ListenAddress> {
    *why = "'" + spec + "' is not a listen address: " + w + " (host:port, :port or [ipv6]:port)";
    return std::nullopt;
  };
  auto colon = spec.rfind(':');
  if (colon == std::string::npos)
    return fail("no port");
  std::string host = spec.substr(0, colon), port = spec.substr(colon + 1);
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoul(port) == 0 || std::stoul(port) > 65535)
    return fail("the port must be a number from 1 to 65535");
  ListenAddress a;
  a.port = uint16_t(std::stoul(port));
  bool bracketed = host.size() >= 2 && host.front() == '[' && host.back() == ']';
  if (bracketed)
    host = host.substr(1, host.size() - 2);
  if (host.empty() || host == "*")
    host = "0.0.0.0";
  if (host == "localhost")
    host = "127.0.0.1";
  if (!bracketed && inet_pton(AF_INET, host.c_str(), a.addr.data()) == 1)
    a.family = AF_INET;
  else if (bracketed && inet_pton(AF_INET6, host.c_str(), a.addr.data()) == 1)
    a.family = AF_INET6;
  else
    return fail(host.find(':') != std::string::npos && !bracketed ? "write an IPv6 address in brackets"
                                                                   : "'" + host + "' is not an IPv4 or IPv6 address");
  return a;
}

namespace {
double nowSeconds() { return double(monotonicNs()) / 1e9; }

std::string isoNow() {
  uint64_t ns = realtimeNs();
  time_t s = time_t(ns / 1000000000ull);
  struct tm tm {};
  gmtime_r(&s, &tm);
  char b[96];
  std::snprintf(b, sizeof b, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, unsigned(ns % 1000000000ull / 1000000));
  return b;
}

Fd listenOn(const std::string &spec) {
  std::string why;
  auto a = parseListenAddress(spec, &why);
  if (!a)
    throw Error(Exit::Usage, "metrics: " + why);
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (a->family == AF_INET) {
    auto *sa = reinterpret_cast<sockaddr_in *>(&ss);
    sa->sin_family = AF_INET;
    sa->sin_port = htons(a->port);
    std::memcpy(&sa->sin_addr, a->addr.data(), 4);
    len = sizeof *sa;
  } else {
    auto *sa = reinterpret_cast<sockaddr_in6 *>(&ss);
    sa->sin6_family = AF_INET6;
    sa->sin6_port = htons(a->port);
    std::memcpy(&sa->sin6_addr, a->addr.data(), 16);
    len = sizeof *sa;
  }
  Fd fd(::socket(a->family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd.get(), reinterpret_cast<sockaddr *>(&ss), len) != 0 || ::listen(fd.get(), 16) != 0)
    throw Error(Exit::Failed, "metrics: cannot listen on " + spec + ": " + errnoText(errno));
  return fd;
}

// Answers one HTTP request on a connected socket (GET /metrics, else 404).
void serveHttp(int client, const std::function<std::string()> &metrics) {
  timeval tv{1, 0};
  ::setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  std::string req;
  char buf[2048];
  while (req.find("\r\n\r\n") == std::string::npos && req.find("\n\n") == std::string::npos && req.size() < 8192) {
    ssize_t n = ::recv(client, buf, sizeof buf, 0);
    if (n <= 0)
      break;
    req.append(buf, size_t(n));
  }
  std::string status = "404 Not Found", body = "try /metrics\n", type = "text/plain";
  if (req.rfind("GET /metrics", 0) == 0) {
    status = "200 OK";
    body = metrics();
    type = "text/plain; version=0.0.4";
  }
  std::string resp = "HTTP/1.0 " + status + "\r\nContent-Type: " + type + "\r\nContent-Length: " +
                     std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
  size_t off = 0;
  while (off < resp.size()) {
    ssize_t n = ::send(client, resp.data() + off, resp.size() - off, MSG_NOSIGNAL);
    if (n <= 0)
      break;
    off += size_t(n);
  }
}
} // namespace

Daemon::Daemon(DaemonConfig cfg) : cfg_(std::move(cfg)), rt_(cfg_.pinRoot) {}

void Daemon::log(const std::string &msg) {
  std::fprintf(stderr, "%s bulwark run: %s\n", isoNow().c_str(), msg.c_str());
  std::fflush(stderr);
}

void Daemon::rebuildWatches() {
  for (auto &[wd, path] : watches_)
    inotify_rm_watch(inotify_, wd);
  watches_.clear();
  constexpr uint32_t kDirMask = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_CLOSE_WRITE |
                                IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF;
  auto add = [&](const fs::path &p) {
    int wd = inotify_add_watch(inotify_, p.c_str(), kDirMask);
    if (wd >= 0)
      watches_[wd] = p.string();
  };
  add(cfg_.bundleDir);
  // Inside every bundle (through symlinks: the real directory), so in-place edits count.
  for (const auto &b : scanBundleDir(cfg_.bundleDir)) {
    std::error_code ec;
    fs::path real = fs::canonical(b, ec);
    if (ec)
      continue;
    add(real);
    if (fs::is_directory(real / "maps", ec))
      add(real / "maps");
  }
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
      f.policy = b.name;
      f.contentHash = b.contentHash;
      f.mode = cfg_.mode.value_or(b.mode);
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
    loaded.push_back({s.name, fieldString(s.active.bundle), s.active.contentHash,
                      s.active.mode == BW_MODE_AUDIT ? "audit" : "enforce", s.healthy, !s.tampering.empty()});
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
  for (const auto &a : planReconcile(found, loaded, cfg_.bundleDir, cfg_.unloadRemoved)) {
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
      case K::Load: {
        LoadOptions o;
        o.mode = cfg_.mode;
        auto r = rt_.load(bundles.at(a.bundle.string()), o);
        loadsOk_[a.policy]++;
        lastLoadSeconds_[a.policy] = r.totalMs / 1000;
        lastSwitchMicros_[a.policy] = r.switchUs;
        log(std::string(r.replaced ? "replaced" : "loaded") + " policy " + a.policy + " (" + a.reason +
            ", slot " + std::to_string(r.slot) + ", generation " + std::to_string(r.gen) + ", " +
            std::to_string(int(r.totalMs)) + " ms)");
        for (const auto &w : r.warnings)
          log("warning: " + w);
        break;
      }
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
  return failures;
}

std::string Daemon::metricsText() {
  std::ostringstream o;
  auto help = [&](const char *name, const char *type, const char *text) {
    o << "# HELP " << name << " " << text << "\n# TYPE " << name << " " << type << "\n";
  };
  help("bulwark_up", "gauge", "1 while the daemon runs");
  o << "bulwark_up 1\n";
  help("bulwark_daemon_uptime_seconds", "gauge", "seconds since the daemon started");
  o << "bulwark_daemon_uptime_seconds " << nowSeconds() - startedAt_ << "\n";
  help("bulwark_reconciles_total", "counter", "passes over the bundle directory");
  o << "bulwark_reconciles_total " << reconciles_ << "\n";
  std::vector<PolicySummary> policies;
  try {
    policies = rt_.list();
  } catch (const Error &) {
  }
  help("bulwark_policy_info", "gauge", "a loaded policy (value 1) and its properties");
  for (const auto &p : policies)
    o << "bulwark_policy_info{policy=" << promLabel(p.name) << ",slot=\"" << p.slot << "\",lane=\"" << p.lane
      << "\",generation=\"" << p.gen << "\",mode=\"" << (p.active.mode == BW_MODE_AUDIT ? "audit" : "enforce")
      << "\",compiler=" << promLabel(fieldString(p.active.compiler))
      << ",source_digest=" << promLabel(fieldString(p.active.digest)) << "} 1\n";
  help("bulwark_integrity_failures_total", "counter",
       "policies found TAMPERED (kernel wiring not as loaded), counted at every reconcile that finds one");
  o << "bulwark_integrity_failures_total " << integrityFailures_ << "\n";
  help("bulwark_policy_healthy", "gauge", "1 if the policy enforces as recorded, 0 if BROKEN or TAMPERED");
  for (const auto &p : policies)
    o << "bulwark_policy_healthy{policy=" << promLabel(p.name) << "} " << (p.healthy ? 1 : 0) << "\n";
  help("bulwark_policy_scope_cgroup", "gauge",
       "per scope cgroup of a policy: 1 if the programs match the cgroup at that path, 0 if none exists (state "
       "missing) or it was created again since the load (stale)");
  for (const auto &p : policies)
    for (const auto &c : p.scope)
      o << "bulwark_policy_scope_cgroup{policy=" << promLabel(p.name) << ",cgroup=" << promLabel(c.path)
        << ",state=\"" << c.state() << "\"} " << (std::string(c.state()) == "ok" ? 1 : 0) << "\n";
  std::ostringstream hits, emitted, dropped, limited, mem, labels, labelsMax;
  for (const auto &p : policies) {
    PolicyStatus st;
    try {
      st = rt_.status(p);
    } catch (const Error &) {
      continue;
    }
    for (const auto &r : st.rules) {
      std::string l = "{policy=" + promLabel(p.name) + ",rule=" + promLabel(r.name) + ",hook=" + promLabel(r.hook) +
                      ",action=" + promLabel(r.action) + "}";
      hits << "bulwark_rule_hits_total" << l << " " << r.hits << "\n";
      emitted << "bulwark_rule_records_total" << l << " " << r.emitted << "\n";
      dropped << "bulwark_rule_records_dropped_total" << l << " " << r.dropped << "\n";
      limited << "bulwark_rule_records_limited_total" << l << " " << r.limited << "\n";
    }
    mem << "bulwark_policy_kernel_memory_bytes{policy=" << promLabel(p.name) << "} " << st.kernelMemory << "\n";
    if (st.objectLabelsMax) {
      labels << "bulwark_policy_object_labels{policy=" << promLabel(p.name) << "} " << st.objectLabels << "\n";
      labelsMax << "bulwark_policy_object_labels_max{policy=" << promLabel(p.name) << "} " << st.objectLabelsMax
                << "\n";
    }
  }
  help("bulwark_rule_hits_total", "counter", "decisions made by a rule (continues across hot swaps, by rule name)");
  o << hits.str();
  help("bulwark_rule_records_total", "counter", "decision records sent to the ring buffer");
  o << emitted.str();
  help("bulwark_rule_records_dropped_total", "counter", "records lost because the ring buffer was full");
  o << dropped.str();
  help("bulwark_rule_records_limited_total", "counter", "records suppressed by the per-rule rate limit");
  o << limited.str();
  help("bulwark_policy_kernel_memory_bytes", "gauge", "memlock of the policy's programs and maps");
  o << mem.str();
  help("bulwark_policy_object_labels", "gauge", "object labels of path rules (bw_m_ident) in use");
  o << labels.str();
  help("bulwark_policy_object_labels_max", "gauge", "object labels the policy holds; when full, links and renames that need one are denied");
  o << labelsMax.str();
  help("bulwark_loads_total", "counter", "loads and hot swaps by the daemon, by result");
  for (const auto &[p, n] : loadsOk_)
    o << "bulwark_loads_total{policy=" << promLabel(p) << ",result=\"ok\"} " << n << "\n";
  for (const auto &[p, n] : loadsFailed_)
    o << "bulwark_loads_total{policy=" << promLabel(p) << ",result=\"error\"} " << n << "\n";
  help("bulwark_unloads_total", "counter", "policies unloaded because their bundle left the directory");
  for (const auto &[p, n] : unloads_)
    o << "bulwark_unloads_total{policy=" << promLabel(p) << "} " << n << "\n";
  help("bulwark_last_load_duration_seconds", "gauge", "duration of the policy's last load by the daemon");
  for (const auto &[p, s] : lastLoadSeconds_)
    o << "bulwark_last_load_duration_seconds{policy=" << promLabel(p) << "} " << s << "\n";
  help("bulwark_last_switch_duration_seconds", "gauge", "duration of the bw_gen write of the last load");
  for (const auto &[p, us] : lastSwitchMicros_)
    o << "bulwark_last_switch_duration_seconds{policy=" << promLabel(p) << "} " << us / 1e6 << "\n";
  help("bulwark_bundle_errors", "gauge", "1 for a bundle in the directory that cannot be loaded");
  for (const auto &[path, err] : lastError_)
    o << "bulwark_bundle_errors{bundle=" << promLabel(path) << "} 1\n";
  help("bulwark_events_total", "counter", "decision records read from the ring buffer, by action");
  if (events_)
    for (const char *a : {"allow", "deny", "audit", "kill", "would-deny"})
      o << "bulwark_events_total{action=\"" << a << "\"} " << events_->countOf(a) << "\n";
  help("bulwark_event_decode_errors_total", "counter", "ring buffer records that could not be decoded");
  o << "bulwark_event_decode_errors_total " << (events_ ? events_->decodeErrors() : 0) << "\n";
  return o.str();
}

int Daemon::run() {
  startedAt_ = nowSeconds();
  std::error_code ec;
  if (!fs::is_directory(cfg_.bundleDir, ec))
    throw Error(Exit::Failed, "bundle directory " + cfg_.bundleDir + " does not exist");
  rt_.preflight();

  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGHUP);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  Fd sigfd(signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
  inotify_ = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  Fd inotifyOwner(inotify_);
  if (!sigfd || inotify_ < 0)
    throw Error(Exit::Failed, "cannot set up signalfd/inotify: " + errnoText(errno));
  Fd listenFd;
  if (!cfg_.metrics.empty())
    listenFd = listenOn(cfg_.metrics);

  std::FILE *out = nullptr;
  bool ownOut = false;
  if (cfg_.events == "stdout") {
    out = stdout;
  } else if (cfg_.events != "none") {
    out = std::fopen(cfg_.events.c_str(), "a");
    if (!out)
      throw Error(Exit::Failed, "cannot open the events file " + cfg_.events + ": " + errnoText(errno));
    ownOut = true;
  }
  EventReader reader(rt_, out, cfg_.eventsFormat == "json");
  events_ = &reader;

  Fd ep(epoll_create1(EPOLL_CLOEXEC));
  auto watch = [&](int fd, uint64_t tag) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = tag;
    epoll_ctl(ep.get(), EPOLL_CTL_ADD, fd, &ev);
  };
  enum : uint64_t { kSignal = 1, kInotify, kEvents, kMetrics };
  watch(sigfd.get(), kSignal);
  watch(inotify_, kInotify);
  if (listenFd)
    watch(listenFd.get(), kMetrics);

  log("watching " + cfg_.bundleDir + " (pin root " + cfg_.pinRoot + ")" +
      (cfg_.metrics.empty() ? "" : ", metrics on http://" + cfg_.metrics + "/metrics"));
  rebuildWatches();
  reconcile(true);
  rebuildWatches();
  bool eventsWatched = false;
  auto openEvents = [&] {
    if (eventsWatched && reader.replaced()) {
      log("the event ring buffer was replaced (pin root recreated): reading the new one");
      reader.consume();
      reader.close();  // closing its epoll fd also takes it out of our epoll set
      eventsWatched = false;
    }
    if (!eventsWatched && reader.open()) {
      watch(reader.epollFd(), kEvents);
      eventsWatched = true;
    }
  };
  if (out)
    openEvents();

  double pendingAt = -1;  // reconcile when nowSeconds() passes this
  double nextResync = nowSeconds() + cfg_.resyncSeconds;
  // A scope cgroup created again (a restarted service or pod) gets a new id: check often and
  // reload the policy (its problems say so, and a broken policy is loaded again).
  // (Once per change: a policy that stays stale, say one loaded from outside the bundle
  // directory, is retried at the next resync.)
  double nextScopeCheck = cfg_.scopeCheckSeconds > 0 ? nowSeconds() + cfg_.scopeCheckSeconds : 1e300;
  std::vector<std::string> lastStale;
  int exitCode = 0;
  for (bool running = true; running;) {
    double now = nowSeconds();
    double until = std::min({nextResync, nextScopeCheck, pendingAt >= 0 ? pendingAt : nextResync});
    int timeoutMs = std::max(0, int((until - now) * 1000));
    epoll_event evs[8];
    int n = epoll_wait(ep.get(), evs, 8, timeoutMs);
    for (int i = 0; i < n; i++) {
      switch (evs[i].data.u64) {
      case kSignal: {
        signalfd_siginfo si{};
        while (::read(sigfd.get(), &si, sizeof si) == sizeof si) {
          if (si.ssi_signo == SIGHUP) {
            log("SIGHUP: reconciling");
            pendingAt = nowSeconds();
          } else {
            log(std::string("stopping on ") + strsignal(int(si.ssi_signo)) + "; loaded policies keep enforcing");
            running = false;
          }
        }
        break;
      }
      case kInotify: {
        char buf[8192];
        while (::read(inotify_, buf, sizeof buf) > 0)
          inotifyEvents_++;
        pendingAt = nowSeconds() + cfg_.debounceSeconds;
        break;
      }
      case kEvents:
        reader.consume();
        break;
      case kMetrics: {
        for (;;) {
          int c = ::accept4(listenFd.get(), nullptr, nullptr, SOCK_CLOEXEC);
          if (c < 0)
            break;
          serveHttp(c, [this] { return metricsText(); });
          ::close(c);
        }
        break;
      }
      }
    }
    now = nowSeconds();
    if (running && now >= nextScopeCheck) {
      nextScopeCheck = now + cfg_.scopeCheckSeconds;
      try {
        auto stale = rt_.policiesWithStaleScope();
        bool changed = stale != lastStale;
        lastStale = stale;
        if (!stale.empty() && changed) {
          log("scope cgroup created again for " + stale.front() + (stale.size() > 1 ? " and others" : "") +
              ": reconciling");
          pendingAt = now;  // at once, also if a change was waiting for its quiet time
        }
      } catch (const Error &e) {
        log(std::string("scope check: ") + e.what());
      }
    }
    if (running && ((pendingAt >= 0 && now >= pendingAt) || now >= nextResync)) {
      pendingAt = -1;
      nextResync = now + cfg_.resyncSeconds;
      reconcile(false);
      rebuildWatches();
      if (out)
        openEvents();
    }
  }
  if (eventsWatched)
    reader.consume();
  events_ = nullptr;
  if (ownOut)
    std::fclose(out);
  return exitCode;
}

} // namespace bulwark::rt
