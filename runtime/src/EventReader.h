// Reads the shared ring buffer bw_events and writes one line per decision (text or JSON),
// resolving slots to policy and rule names (from the pins) and cgroup ids to paths.
// Used by `bulwark events` and by the daemon.
#pragma once

#include "Events.h"

#include <cstdint>
#include <cstdio>
#include <map>
#include <string>

struct ring_buffer;

namespace bulwark::rt {

class Runtime;

class EventReader {
public:
  EventReader(Runtime &rt, std::FILE *out, bool json, uint64_t limit = 0);
  ~EventReader();
  EventReader(const EventReader &) = delete;
  EventReader &operator=(const EventReader &) = delete;

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
  uint64_t seen() const { return seen_; }
  uint64_t decodeErrors() const { return decodeErrors_; }
  uint64_t countOf(const std::string &action) const;  // records by action ("deny", ...)

private:
  static int callback(void *ctx, void *data, size_t size);
  int onSample(void *data, size_t size);
  void refreshSlots();
  std::string cgroupPath(uint64_t id);

  Runtime &rt_;
  std::FILE *out_;
  bool json_;
  uint64_t limit_;
  uint64_t seen_ = 0, decodeErrors_ = 0;
  int64_t monoToReal_;
  ring_buffer *rb_ = nullptr;
  int mapFd_ = -1;
  std::map<uint32_t, SlotInfo> slots_;
  uint64_t slotsRefreshedNs_ = 0;
  std::map<uint64_t, std::string> cgroupCache_;
  int cgroupRoot_ = -1;
  std::map<std::string, uint64_t> byAction_;
};

} // namespace bulwark::rt
