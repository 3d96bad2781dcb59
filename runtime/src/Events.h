// Decision records from the shared ring buffer bw_events (struct bw_record, bw_abi.h):
// decoding, the hook's fields by name (enum values by their names), the rule's rendered
// message, and one-line formatting (text, or JSON as docs/events.md and
// docs/events.schema.json describe).
#pragma once

#include "Abi.h"
#include "Instances.h"
#include "Catalogue.h"  // abi/: FieldType
#include "Json.h"  // jsonEscape, shared with bulwarkc (compiler/diag)

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace bulwark::rt {

// Version of the event JSON (the "schema" member); bump on any incompatible change.
inline constexpr int kEventSchemaVersion = 1;

// An earlier step of a sequence: a mark the deciding rule tested and found set.
struct EarlierStep {
  std::string mark;    // its name; "#<id>" when the setting instance is gone
  std::string policy;  // the setting rule's policy; "unknown instance N" when gone
  std::string rule;    // the rule that set it; "#<id>" when its instance is gone
  uint32_t instance = 0;
  uint64_t setNs = 0;  // CLOCK_REALTIME
  std::string on;      // "process" or "parent": whose marks held it
};

struct Event {
  uint64_t timeNs = 0;   // CLOCK_REALTIME
  uint32_t instance = 0; // policy instance that decided (Instances.h); 0 = unknown
  uint32_t slot = 0;
  std::string policy;    // "unknown instance <n>" when its names are gone
  std::string rule;      // rule name, "(default)", "(missing program)" or "#<id>"
  std::string action;    // allow, deny, audit, kill, would-deny (audit mode)
  std::string hook;      // file.open
  std::string function;  // kprobe hooks: the kernel function (from the rule)
  std::string message;   // the rule's message with its fields filled in (renderMessage)
  std::string messageTemplate;
  uint32_t pid = 0, tgid = 0, ppid = 0, uid = 0, gid = 0, euid = 0;
  std::string comm;
  std::string exe;
  uint64_t cgroupId = 0;
  std::string cgroup;    // path relative to the cgroup2 root if resolvable
  std::string object;    // the hook's primary field (file.path, net.daddr:dport, AF_PACKET, ...)
  std::vector<std::pair<std::string, std::string>> fields;  // the hook's own fields, by name
  std::vector<EarlierStep> after;  // the marks the deciding rule found set (bw_record.after)
  uint32_t flags = 0;
  std::string hostname, bootId;  // set by the reader
  struct Raw {  // the record's slots (bw_event.h), for fields and messages
    uint64_t ints[BW_INT_SLOTS] = {};
    bw_addr addrs[BW_ADDR_SLOTS] = {};
    std::string strs[BW_STR_SLOTS];
  } raw;
};

// Decodes one ring buffer sample. Returns false (and *why) for a record that is too
// short or of another ABI. `monoToReal` converts bpf_ktime_get_ns to wall-clock time.
// A record's names come from its instance in `instances`, never from its slot.
bool decodeRecord(const void *data, size_t size, const std::map<uint32_t, InstanceInfo> &instances,
                  int64_t monoToReal, Event *out, std::string *why = nullptr);

// "{field.name}" placeholders of a rule message filled from the event (the cgroup path is
// filled by the reader, so render after it). Unknown placeholders stay as written.
std::string renderMessage(const std::string &tmpl, const Event &e);

// The name of an enum value of a catalogue type (SOCK_FAMILY, 17 → "AF_PACKET"; flag sets
// "O_WRONLY|O_CREAT"); the number when it has none.
std::string enumText(FieldType type, uint64_t value);

std::string isoTime(uint64_t realtimeNs);  // UTC, microseconds: 2026-12-02T06:31:02.114210Z
std::string formatText(const Event &e);
std::string formatJson(const Event &e);
void appendJson(std::string &out, const Event &e);  // formatJson, appended to `out`

} // namespace bulwark::rt
