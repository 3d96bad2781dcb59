// Decision records as JSON lines (docs/events.md) straight from the ring buffer's bytes: the
// line appendJson(Event) writes, without decoding an Event of strings per record first (the
// reader's CPU per record is what lets it keep up with a flood on the same CPU).
// What a record's instance, rule, hook and action determine (names, the message template, the
// reader's host and boot) is formatted once per such combination, a RecordHead, and copied.
#pragma once

#include "Events.h"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace bulwark::rt {

class RecordFormatter;
struct RecordView;

// A record's names and the JSON it shares with every record of its instance, rule, hook and
// action.
struct RecordHead {
  RecordNames names;
  const Hook *hook = nullptr;
  std::vector<MessagePart> message;  // Text parts JSON-escaped
  struct Step {                      // literal JSON, then a member written per record
    std::string text;
    void (*write)(std::string &out, const RecordView &v);
  };
  std::vector<Step> steps;
  std::string tail;  // the literal JSON after the last step
};

// One record, read in place (valid while the sample and its RecordView are).
struct RecordView {
  bw_record r;
  RecordSlots slots;
  const RecordHead *head = nullptr;
  uint64_t timeNs = 0;  // CLOCK_REALTIME
  RecordFormatter *formatter = nullptr;
  // What names the earlier steps of a sequence (`after`): the instance that set a mark may
  // be another than the record's.
  const std::map<uint32_t, InstanceInfo> *instances = nullptr;
  int64_t monoToReal = 0;
};

class RecordFormatter {
public:
  // What the reader fills in: the cgroup's path ("" when unknown), and process.exe of a
  // record without one. The references must stay valid until the next call.
  struct Lookups {
    std::function<const std::string &(uint64_t cgroupId)> cgroupPath;
    std::function<const std::string &(uint32_t tgid)> exeOf;
  };
  RecordFormatter(std::string hostname, std::string bootId, Lookups lookups);
  RecordFormatter(const RecordFormatter &) = delete;
  RecordFormatter &operator=(const RecordFormatter &) = delete;

  // Checks a sample and ties it to its names; false (and *why) as decodeRecord.
  bool read(const void *data, size_t size, const std::map<uint32_t, InstanceInfo> &instances, int64_t monoToReal,
            RecordView *out, std::string *why);
  // Appends the record's JSON line (without its newline).
  void appendJson(std::string &out, const RecordView &v);
  // The instances changed: heads named from the old ones are made again when needed.
  void forgetNames();

  // Per record, for the members (RecordFormatter.cpp).
  std::string_view exe(const RecordView &v);
  const std::string &cgroupJson(uint64_t id);  // the path, escaped
  const std::string &hostname() const { return hostname_; }
  const std::string &bootId() const { return bootId_; }

private:
  struct HeadKey {
    uint32_t instance, rule, hook, action, flags;
    bool operator==(const HeadKey &) const = default;
  };
  struct HeadKeyHash {
    size_t operator()(const HeadKey &k) const;
  };
  const RecordHead &head(const bw_record &r, const std::map<uint32_t, InstanceInfo> &instances);
  std::unique_ptr<RecordHead> makeHead(const bw_record &r, const std::map<uint32_t, InstanceInfo> &instances);

  std::string hostname_, bootId_;
  Lookups lookups_;
  std::unordered_map<HeadKey, std::unique_ptr<RecordHead>, HeadKeyHash> heads_;
  HeadKey lastKey_{};
  const RecordHead *last_ = nullptr;  // a burst of records shares one head
  uint64_t cgroupId_ = 0;  // the last cgroup looked up: a burst comes from few
  bool cgroupKnown_ = false;
  std::string cgroupJson_;
};

} // namespace bulwark::rt
