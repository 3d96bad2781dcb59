#include "EventReader.h"

#include "Abi.h"
#include "Bpf.h"
#include "Error.h"
#include "EventLog.h"
#include "Runtime.h"
#include "System.h"

#include <bpf/libbpf.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <thread>

namespace bulwark::rt {

namespace {
std::string firstLine(const char *path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

std::string hostName() {
  char host[256] = {};
  return ::gethostname(host, sizeof host - 1) == 0 ? host : "";
}
} // namespace

bool EventFilter::matches(std::string_view policyName, std::string_view ruleName, std::string_view actionName,
                          uint64_t timeNs) const {
  return (policy.empty() || policyName == policy) && (rule.empty() || ruleName == rule) &&
         (action.empty() || actionName == action) && timeNs >= sinceNs;
}

EventReader::EventReader(Runtime &rt, std::FILE *out, bool json, uint64_t limit, EventFilter filter)
    : rt_(rt), out_(out), json_(json), limit_(limit), filter_(std::move(filter)),
      monoToReal_(int64_t(realtimeNs()) - int64_t(monotonicNs())),
      lines_(hostName(), firstLine("/proc/sys/kernel/random/boot_id"),
             {[this](uint64_t id) -> const std::string & { return cgroups_.path(id); },
              [this](uint32_t tgid) -> const std::string & { return exeOf(tgid); }}) {}

EventReader::~EventReader() {
  writePending();
  close();
}

void EventReader::close() {
  if (rb_)
    ring_buffer__free(rb_);
  rb_ = nullptr;
  if (mapFd_ >= 0)
    ::close(mapFd_);
  mapFd_ = -1;
}

bool EventReader::replaced() const {
  if (mapFd_ < 0)
    return false;
  std::optional<Fd> pinned;
  try {
    pinned = openMapPin(rt_.pins().sharedMap("bw_events"));
  } catch (const Error &) {
    return true;
  }
  if (!pinned)
    return false;  // nothing pinned now: keep what we have until something is
  auto a = mapInfo(mapFd_), b = mapInfo(pinned->get());
  return a && b && a->id != b->id;
}

bool EventReader::open() {
  if (rb_)
    return true;
  auto fd = openMapPin(rt_.pins().sharedMap("bw_events"));
  if (!fd)
    return false;
  refreshInstances();
  rb_ = ring_buffer__new(fd->get(), &EventReader::callback, this, nullptr);
  if (!rb_)
    throw Error(Exit::Failed, "cannot read the event ring buffer: " + errnoText(errno));
  mapFd_ = fd->release();
  return true;
}

int EventReader::epollFd() const { return rb_ ? ring_buffer__epoll_fd(rb_) : -1; }
// After reading, the names of retired instances whose records were all read can go: at most
// once a second (a prune opens every instance's map), and never while nothing was read.
void EventReader::pruneInstances() {
  if (!rb_ || read_ == pruneAtRead_ || (prunedNs_ && monotonicNs() - prunedNs_ < 1000000000ull))
    return;
  pruneAtRead_ = read_;
  prunedNs_ = monotonicNs();
  Instances(rt_.pins()).prune();
}
int EventReader::consume() {
  int rc = rb_ ? ring_buffer__consume(rb_) : 0;
  afterBatch();
  return rc;
}
// After a short batch the reader waits kBatchWait before it polls again, so the next wakeup
// finds many records: a wakeup per record (epoll, a context switch, a write) costs more than
// decoding it. The 4 MiB ring holds far more than a flood sends meanwhile.
int EventReader::poll(int timeoutMs) {
  int rc = rb_ ? ring_buffer__poll(rb_, timeoutMs) : 0;
  afterBatch();
  if (rc > 0 && rc < kBatchRecords && !limitReached())
    std::this_thread::sleep_for(kBatchWait);
  return rc;
}
void EventReader::afterBatch() {
  writePending();
  exeByTgid_.clear();
  if (log_)
    log_->flush();
  pruneInstances();
}

uint64_t EventReader::countOf(const std::string &action) const {
  auto it = byAction_.find(action);
  return it == byAction_.end() ? 0 : it->second;
}

void EventReader::refreshInstances() {
  try {
    instances_ = readInstances(rt_.pins());
  } catch (const Error &) {
    // keep what we have: records then name "unknown instance N"
  }
  lines_.forgetNames();
  if (!instances_.empty())
    newestInstance_ = std::max(newestInstance_, instances_.rbegin()->first);
  instancesRefreshedNs_ = monotonicNs();
}

// Instances are pinned before their programs run, in increasing order under the pin root's
// lock: an instance below the newest one seen and not known is gone for good; a newer one
// is looked up again (once: if it is not there either, it is gone too).
const std::map<uint32_t, InstanceInfo> &EventReader::instancesFor(uint32_t id) {
  if (id && !instances_.count(id) && id > newestInstance_ && !gone_.count(id)) {
    refreshInstances();
    if (!instances_.count(id)) {
      if (gone_.size() > 4096)
        gone_.clear();
      gone_.insert(id);
    }
  }
  return instances_;
}

int EventReader::onSample(void *data, size_t size) {
  read_++;
  uint32_t instance = size >= sizeof(bw_record) ? static_cast<bw_record *>(data)->instance : 0;
  RecordView rec;
  std::string why;
  if (!lines_.read(data, size, instancesFor(instance), monoToReal_, &rec, &why)) {
    decodeErrors_++;
    std::fprintf(stderr, "bulwark: skipping a record: %s\n", why.c_str());
    return 0;
  }
  const RecordNames &names = rec.head->names;
  byAction_[names.action]++;
  bool match = filter_.matches(names, rec.timeNs);
  bool jsonOut = match && out_ && json_;
  if (log_ || jsonOut) {
    size_t start = pending_.size();
    lines_.appendJson(pending_, rec);  // the line for the output and the log, formatted once
    if (log_)
      log_->append(std::string_view(pending_).substr(start));
    if (!jsonOut)
      pending_.resize(start);
  }
  if (!match)
    return 0;
  if (out_) {
    if (!json_)
      pending_ += formatText(textEvent(data, size));
    pending_ += '\n';
    if (pending_.size() >= kWriteAt)
      writePending();
  }
  seen_++;
  return limitReached() ? -ECANCELED : 0;  // a negative value stops libbpf's loop
}

// The record as an Event, with what the reader fills in (for the text format; lines_ has read
// it already).
Event EventReader::textEvent(const void *data, size_t size) {
  Event e;
  uint32_t instance = static_cast<const bw_record *>(data)->instance;
  decodeRecord(data, size, instancesFor(instance), monoToReal_, &e);
  completeEvent(e, cgroups_.path(e.cgroupId), [this](uint32_t tgid) -> const std::string & { return exeOf(tgid); },
                lines_.hostname(), lines_.bootId());
  return e;
}

// Lines are written once per batch of records (or when this much is waiting), not one write
// per record.
void EventReader::writePending() {
  if (pending_.empty() || !out_)
    return;
  std::fwrite(pending_.data(), 1, pending_.size(), out_);
  std::fflush(out_);
  pending_.clear();
}

// process.exe of a record that has none: /proc/<tgid>/exe while the process exists (best
// effort), read once per process and batch: a burst of records comes from few processes.
const std::string &EventReader::exeOf(uint32_t tgid) {
  auto [it, fresh] = exeByTgid_.try_emplace(tgid);
  if (fresh) {
    char buf[4096];
    ssize_t n = ::readlink(("/proc/" + std::to_string(tgid) + "/exe").c_str(), buf, sizeof buf - 1);
    if (n > 0)
      it->second.assign(buf, size_t(n));
  }
  return it->second;
}

int EventReader::callback(void *ctx, void *data, size_t size) {
  return static_cast<EventReader *>(ctx)->onSample(data, size);
}

} // namespace bulwark::rt
