// `bulwark run`: the daemon's event loop (Daemon.h). Config: DaemonConfig.cpp; planning and
// loading: Reconcile.cpp; metrics: Metrics.cpp and MetricsHttp.cpp.
#include "Daemon.h"

#include "Error.h"
#include "EventLog.h"
#include "EventReader.h"
#include "MetricsHttp.h"
#include "System.h"

#include <signal.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <optional>

namespace bulwark::rt {
namespace fs = std::filesystem;

namespace {
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

// The state of Daemon::run's loop: its file descriptors, the event reader and the timers.
// Members are set up in the order below and close in reverse.
struct Daemon::Loop {
  enum : uint64_t { kSignal = 1, kInotify, kEvents, kMetrics };  // epoll tags

  explicit Loop(Daemon &d);
  void openOutput();
  void watch(int fd, uint64_t tag);
  void openEvents();
  void startTimers();
  void turn();
  void finish();
  void dispatch(uint64_t tag);
  void readSignals();
  void drainInotify();
  void serveMetrics();
  void checkScope(double now);
  void reconcileNow(double now);
  void readEvents();
  void resumeEvents();

  Daemon &d;
  Fd sigfd, inotifyOwner, listenFd;
  std::FILE *out = nullptr;  // decision records (null: events none)
  bool ownOut = false;
  std::optional<EventLog> log;  // every event, rotated (event_log)
  std::optional<EventReader> reader;
  Fd ep;
  bool eventsWatched = false, running = true;
  double pendingAt = -1;  // reconcile when monotonicSeconds() passes this
  double nextResync = 0, nextScopeCheck = 0;
  double eventsResumeAt = -1;  // the ring is read again then (batching; EventReader::kBatchWait)
  std::vector<std::string> lastStale;
};

// Signals (TERM, INT, HUP, USR1) and inotify as file descriptors, the metrics socket, the events
// output and its reader, all in one epoll set.
Daemon::Loop::Loop(Daemon &d) : d(d) {
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGHUP);
  sigaddset(&mask, SIGUSR1);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  sigfd = Fd(signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
  d.inotify_ = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  inotifyOwner = Fd(d.inotify_);
  if (!sigfd || d.inotify_ < 0)
    throw Error(Exit::Failed, "cannot set up signalfd/inotify: " + errnoText(errno));
  if (!d.cfg_.metrics.empty())
    listenFd = listenOn(d.cfg_.metrics);
  openOutput();
  if (!d.cfg_.eventLog.empty())
    log.emplace(d.cfg_.eventLog, d.cfg_.eventLogMaxBytes, d.cfg_.pinRoot);
  reader.emplace(d.rt_, out, d.cfg_.eventsFormat == "json");
  reader->logTo(log ? &*log : nullptr);
  d.eventLog_ = log ? &*log : nullptr;
  d.events_ = &*reader;
  ep = Fd(epoll_create1(EPOLL_CLOEXEC));
  watch(sigfd.get(), kSignal);
  watch(d.inotify_, kInotify);
  if (listenFd)
    watch(listenFd.get(), kMetrics);
}

// Where decision records go: stdout, a file (appended), or nowhere.
void Daemon::Loop::openOutput() {
  if (d.cfg_.events == "stdout") {
    out = stdout;
  } else if (d.cfg_.events != "none") {
    out = std::fopen(d.cfg_.events.c_str(), "a");
    if (!out)
      throw Error(Exit::Failed, "cannot open the events file " + d.cfg_.events + ": " + errnoText(errno));
    ownOut = true;
  }
}

void Daemon::Loop::watch(int fd, uint64_t tag) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = tag;
  epoll_ctl(ep.get(), EPOLL_CTL_ADD, fd, &ev);
}

// Watches the event ring buffer once it exists, and the new one when it was replaced.
void Daemon::Loop::openEvents() {
  if (eventsWatched && reader->replaced()) {
    d.log("the event ring buffer was replaced (pin root recreated): reading the new one");
    reader->consume();
    reader->close();  // closing its epoll fd also takes it out of our epoll set
    eventsWatched = false;
  }
  if (!eventsWatched && reader->open()) {
    watch(reader->epollFd(), kEvents);
    eventsWatched = true;
  }
}

void Daemon::Loop::startTimers() {
  nextResync = monotonicSeconds() + d.cfg_.resyncSeconds;
  // A scope cgroup created again (a restarted service or pod) gets a new id: check often and
  // reload the policy (its problems say so, and a broken policy is loaded again).
  // (Once per change: a policy that stays stale, say one loaded from outside the bundle
  // directory, is retried at the next resync.)
  nextScopeCheck = d.cfg_.scopeCheckSeconds > 0 ? monotonicSeconds() + d.cfg_.scopeCheckSeconds : 1e300;
}

// One turn: wait for the next event or timer, handle what came, then the timers.
void Daemon::Loop::turn() {
  double now = monotonicSeconds();
  double until = std::min({nextResync, nextScopeCheck, pendingAt >= 0 ? pendingAt : nextResync,
                           eventsResumeAt >= 0 ? eventsResumeAt : nextResync});
  int timeoutMs = std::max(0, int((until - now) * 1000));
  epoll_event evs[8];
  int n = epoll_wait(ep.get(), evs, 8, timeoutMs);
  for (int i = 0; i < n; i++)
    dispatch(evs[i].data.u64);
  now = monotonicSeconds();
  if (eventsResumeAt >= 0 && now >= eventsResumeAt)
    resumeEvents();
  if (running && now >= nextScopeCheck)
    checkScope(now);
  if (running && ((pendingAt >= 0 && now >= pendingAt) || now >= nextResync))
    reconcileNow(now);
}

void Daemon::Loop::dispatch(uint64_t tag) {
  switch (tag) {
  case kSignal:
    readSignals();
    break;
  case kInotify:
    drainInotify();
    break;
  case kEvents:
    readEvents();
    break;
  case kMetrics:
    serveMetrics();
    break;
  }
}

// Reads what the ring holds; after a short batch the ring is not watched for kBatchWait, so
// the next read finds many records instead of one wakeup per record.
void Daemon::Loop::readEvents() {
  int n = reader->consume();
  if (n <= 0 || n >= EventReader::kBatchRecords)
    return;
  epoll_event ev{};
  ev.data.u64 = kEvents;  // no events: not woken until resumeEvents
  epoll_ctl(ep.get(), EPOLL_CTL_MOD, reader->epollFd(), &ev);
  eventsResumeAt = monotonicSeconds() + std::chrono::duration<double>(EventReader::kBatchWait).count();
}

void Daemon::Loop::resumeEvents() {
  eventsResumeAt = -1;
  if (!eventsWatched)
    return;
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kEvents;
  epoll_ctl(ep.get(), EPOLL_CTL_MOD, reader->epollFd(), &ev);
  readEvents();
}

// SIGUSR1 switches to the staged versions at once (switch: on_signal); SIGHUP reconciles now;
// SIGTERM and SIGINT stop the loop (the policies stay loaded).
void Daemon::Loop::readSignals() {
  signalfd_siginfo si{};
  while (::read(sigfd.get(), &si, sizeof si) == sizeof si) {
    if (si.ssi_signo == SIGUSR1) {
      if (d.switchHeld())
        pendingAt = monotonicSeconds();  // stage the failed ones again
    } else if (si.ssi_signo == SIGHUP) {
      d.log("SIGHUP: reconciling");
      pendingAt = monotonicSeconds();
    } else {
      d.log(std::string("stopping on ") + strsignal(int(si.ssi_signo)) + "; loaded policies keep enforcing");
      running = false;
    }
  }
}

// A change in the bundle directory: reconcile once it has been quiet for debounce_seconds.
// IN_IGNORED only says a watch went away, which rebuildWatches does after every reconcile: it
// must not start the next one.
void Daemon::Loop::drainInotify() {
  alignas(inotify_event) char buf[8192];
  bool changed = false;
  for (ssize_t n; (n = ::read(d.inotify_, buf, sizeof buf)) > 0;)
    for (ssize_t off = 0; off + ssize_t(sizeof(inotify_event)) <= n;) {
      const auto *e = reinterpret_cast<const inotify_event *>(buf + off);
      if (!(e->mask & IN_IGNORED)) {
        changed = true;
        d.inotifyEvents_++;
      }
      off += ssize_t(sizeof(inotify_event)) + e->len;
    }
  if (changed)
    pendingAt = monotonicSeconds() + d.cfg_.debounceSeconds;
}

void Daemon::Loop::serveMetrics() {
  for (;;) {
    int c = ::accept4(listenFd.get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0)
      break;
    serveHttp(c, [this] { return d.metricsText(); });
    ::close(c);
  }
}

// A policy whose scope cgroup was created again since its load: reconcile at once.
void Daemon::Loop::checkScope(double now) {
  nextScopeCheck = now + d.cfg_.scopeCheckSeconds;
  try {
    auto stale = d.rt_.policiesWithStaleScope();
    bool changed = stale != lastStale;
    lastStale = stale;
    if (!stale.empty() && changed) {
      d.log("scope cgroup created again for " + stale.front() + (stale.size() > 1 ? " and others" : "") +
            ": reconciling");
      pendingAt = now;  // at once, also if a change was waiting for its quiet time
    }
  } catch (const Error &e) {
    d.log(std::string("scope check: ") + e.what());
  }
}

void Daemon::Loop::reconcileNow(double now) {
  pendingAt = -1;
  nextResync = now + d.cfg_.resyncSeconds;
  d.reconcile(false);
  d.rebuildWatches();
  if (out || log)
    openEvents();
}

// Records still buffered are written before the output closes.
void Daemon::Loop::finish() {
  if (eventsWatched)
    reader->consume();
  d.events_ = nullptr;
  d.eventLog_ = nullptr;
  reader.reset();
  log.reset();  // writes what is buffered
  if (ownOut)
    std::fclose(out);
}

int Daemon::run() {
  startedAt_ = monotonicSeconds();
  std::error_code ec;
  if (!fs::is_directory(cfg_.bundleDir, ec))
    throw Error(Exit::Failed, "bundle directory " + cfg_.bundleDir + " does not exist");
  rt_.preflight();
  Loop loop(*this);
  log("watching " + cfg_.bundleDir + " (pin root " + cfg_.pinRoot + ")" +
      (cfg_.metrics.empty() ? "" : ", metrics on http://" + cfg_.metrics + "/metrics") +
      (cfg_.eventLog.empty() ? "" : ", event log " + cfg_.eventLog));
  rebuildWatches();
  reconcile(true);
  rebuildWatches();
  if (loop.out || loop.log)
    loop.openEvents();
  loop.startTimers();
  while (loop.running)
    loop.turn();
  loop.finish();
  return 0;
}

} // namespace bulwark::rt
