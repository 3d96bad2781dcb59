// The daemon's event log: every event it reads, as a JSON line (docs/events.md), appended to a
// size-capped file with one rotated predecessor (<path>.1), so history outlives the ring
// buffer and the daemon. While a daemon writes a log it holds an exclusive lock on
// <path>.lock, which names its pin root: `bulwark events` then reads history from the log
// instead of taking records from the daemon's ring buffer (EventLogReader).
#pragma once

#include "Bpf.h"
#include "Events.h"

#include <cstdint>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace bulwark::rt {

inline constexpr const char *kEventLogDefault = "/var/log/bulwark/events.jsonl";
inline constexpr uint64_t kEventLogMaxBytesDefault = 64ull << 20;

std::string defaultEventLog();  // $BULWARK_EVENT_LOG or kEventLogDefault

class EventLog {
public:
  // Opens `path` for appending (creating its directory), and takes its lock for `pinRoot`.
  // Throws Error: Failed when it cannot be opened, Conflict when another daemon writes it.
  EventLog(std::string path, uint64_t maxBytes, const std::string &pinRoot);
  EventLog(const EventLog &) = delete;
  EventLog &operator=(const EventLog &) = delete;
  ~EventLog();
  // Buffers one line (without its newline); written by flush, or when the buffer is large.
  void append(std::string_view line);
  // Writes what is buffered, rotating first when the file would pass its cap. A write error
  // is counted (writeErrors) and reported once, never fatal: enforcement goes on.
  void flush();
  uint64_t writeErrors() const { return writeErrors_; }
  uint64_t rotations() const { return rotations_; }

private:
  void openFile();
  void rotate();

  std::string path_;
  uint64_t maxBytes_;
  Fd fd_, lock_;
  uint64_t size_ = 0;
  std::string buf_;
  uint64_t writeErrors_ = 0, rotations_ = 0;
};

// The log a running daemon writes for `pinRoot` at `path`: true when <path>.lock is held and
// names that pin root.
bool daemonWritesLog(const std::string &path, const std::string &pinRoot);

// An event from its JSON line (formatJson's members); nullopt if the line is not one.
std::optional<Event> parseEventLine(const std::string &line);

// Reads a log's history (<path>.1, then <path>) line by line; with follow, keeps reading what
// the daemon appends (across rotations) until `stop` says so. `onLine` returns false to stop.
void readEventLog(const std::string &path, bool follow, const std::function<bool()> &stop,
                  const std::function<bool(const std::string &)> &onLine);

} // namespace bulwark::rt
