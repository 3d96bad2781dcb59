// Reads the shared ring buffer bw_events and writes one line per decision (text or JSON),
// resolving instances to policy and rule names (Instances.h) and cgroup ids to paths, and
// drops the names of retired instances once their records are read.
// Used by `bulwark events` and by the daemon.
#pragma once

#include "Events.h"
#include "RecordFormatter.h"
#include "System.h"

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <string_view>

struct ring_buffer;

namespace bulwark::rt {

class Runtime;
class EventLog;

// Which events are written (all of them are read and counted). Empty members match all.
struct EventFilter {
  std::string policy, rule, action;
  uint64_t sinceNs = 0;  // CLOCK_REALTIME: events at or after
  bool matches(std::string_view policy, std::string_view rule, std::string_view action, uint64_t timeNs) const;
  bool matches(const Event &e) const { return matches(e.policy, e.rule, e.action, e.timeNs); }
  bool matches(const RecordNames &n, uint64_t timeNs) const { return matches(n.policy, n.rule, n.action, timeNs); }
};

class EventReader {
public:
  // Reading in batches (poll, and the daemon's loop): a batch shorter than kBatchRecords is
  // followed by a pause of kBatchWait before the ring is read again.
  static constexpr int kBatchRecords = 256;
  static constexpr std::chrono::milliseconds kBatchWait{10};

  EventReader(Runtime &rt, std::FILE *out, bool json, uint64_t limit = 0, EventFilter filter = {});
  ~EventReader();
  EventReader(const EventReader &) = delete;
  EventReader &operator=(const EventReader &) = delete;

  // Every event read (whatever the filter) is also appended to `log` as a JSON line.
  void logTo(EventLog *log) { log_ = log; }
  // Opens <pin root>/shared/bw_events. False if it is not pinned (yet).
  bool open();
  bool isOpen() const { return rb_ != nullptr; }
  // True if the pinned bw_events is no longer the map being read (the pin root was
  // removed and recreated); the caller then closes and opens again.
  bool replaced() const;
  void close();
  int epollFd() const;  // for an outer epoll loop
  int consume();        // everything buffered now; <0 on error (-ECANCELED: limit reached)
  int poll(int timeoutMs);
  bool limitReached() const { return limit_ && seen_ >= limit_; }
  uint64_t seen() const { return seen_; }        // events written (matching the filter)
  uint64_t read() const { return read_; }        // records read
  uint64_t decodeErrors() const { return decodeErrors_; }
  uint64_t countOf(const std::string &action) const;  // records by action ("deny", ...)

private:
  static int callback(void *ctx, void *data, size_t size);
  int onSample(void *data, size_t size);
  Event textEvent(const void *data, size_t size);
  void refreshInstances();
  void pruneInstances();
  void afterBatch();  // write the lines, flush the log, prune instances
  void writePending();
  const std::string &exeOf(uint32_t tgid);
  const std::map<uint32_t, InstanceInfo> &instancesFor(uint32_t id);

  Runtime &rt_;
  std::FILE *out_;
  EventLog *log_ = nullptr;
  bool json_;
  uint64_t limit_;
  EventFilter filter_;
  uint64_t seen_ = 0, read_ = 0, decodeErrors_ = 0;
  int64_t monoToReal_;
  ring_buffer *rb_ = nullptr;
  int mapFd_ = -1;
  std::map<uint32_t, InstanceInfo> instances_;
  uint32_t newestInstance_ = 0;
  uint64_t instancesRefreshedNs_ = 0;
  std::set<uint32_t> gone_;  // instances looked up and not found
  uint64_t pruneAtRead_ = 0, prunedNs_ = 0;
  CgroupNames cgroups_;
  std::map<uint32_t, std::string> exeByTgid_;  // this batch's /proc/<tgid>/exe
  RecordFormatter lines_;                      // JSON lines, straight from the records
  std::string pending_;                        // lines not yet written
  static constexpr size_t kWriteAt = 64 << 10;
  std::map<std::string, uint64_t> byAction_;
};

} // namespace bulwark::rt
