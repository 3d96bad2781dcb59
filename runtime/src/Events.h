// Decision records from the shared ring buffer bw_events (struct bw_record, bw_abi.h):
// decoding, the hook's fields by name (enum values by their names), the rule's rendered
// message, and one-line formatting (text, or JSON as docs/events.md and
// docs/events.schema.json describe).
#pragma once

#include "Abi.h"
#include "Hooks.h"
#include "Instances.h"
#include "Catalogue.h"  // abi/: FieldType
#include "Json.h"  // jsonEscape, shared with bulwarkc (compiler/diag)

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
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

// What the reader adds to a decoded record: the cgroup's path ("" when unknown), process.exe
// when the record has none (`exeOf`: /proc/<tgid>/exe), its host and boot; the message is
// rendered again when it names what changed.
void completeEvent(Event &e, const std::string &cgroup, const std::function<const std::string &(uint32_t tgid)> &exeOf,
                   const std::string &hostname, const std::string &bootId);

// "{field.name}" placeholders of a rule message filled from the event (the cgroup path is
// filled by the reader, so render after it). Unknown placeholders stay as written.
std::string renderMessage(const std::string &tmpl, const Event &e);

// The name of an enum value of a catalogue type (SOCK_FAMILY, 17 → "AF_PACKET"; flag sets
// "O_WRONLY|O_CREAT"); the number when it has none.
std::string enumText(FieldType type, uint64_t value);
void appendEnumText(std::string &out, FieldType type, uint64_t value);

// ---- the pieces of decoding that the Event above and RecordFormatter share ----

// The header of a record of this ABI, copied out of `data`; false (and *why) as decodeRecord.
bool readRecordHeader(const void *data, size_t size, bw_record *out, std::string *why);

// The earlier steps a record of a sequence's last step tells of (bw_record.after), named.
std::vector<EarlierStep> earlierSteps(const bw_record &r, const std::map<uint32_t, InstanceInfo> &instances,
                                      int64_t monoToReal);

// What a record's instance, rule, hook, action and flags name (docs/events.md).
struct RecordNames {
  std::string policy, rule, action, hook, function, messageTemplate;
};
RecordNames recordNames(const bw_record &r, const std::map<uint32_t, InstanceInfo> &instances);

// A record's slots, read in place: the views point into the record's header and its trailing
// strings, which must outlive them.
struct RecordSlots {
  const uint64_t *ints = nullptr;  // BW_INT_SLOTS
  const bw_addr *addrs = nullptr;  // BW_ADDR_SLOTS
  std::string_view strs[BW_STR_SLOTS];
};
// `r` is the header (readRecordHeader) and [p, end) the strings after it in the sample.
RecordSlots recordSlots(const bw_record &r, const char *p, const char *end);
RecordSlots recordSlots(const Event::Raw &raw);

// A field's value as events show it (enum names, booleans, addresses); a string slot is
// JSON-escaped when `json` (the other values never need it).
void appendFieldText(std::string &out, const FieldInfo &f, const RecordSlots &s, bool json);
// The hook's own fields (and those of its companion attach points), as in `fields`.
const std::vector<const FieldInfo *> &hookFields(const Hook &h);
// The hook's primary object (`object`): its object field (an address with its port), or for
// a kprobe hook its first string argument, else its first integer argument.
void appendObjectText(std::string &out, const bw_record &r, const Hook *h, const RecordSlots &s, bool json);

// A rule message, split once: text, and the placeholders it fills.
struct MessagePart {
  enum Kind { Text, Field, Exe, Cgroup } kind = Text;
  std::string text;  // Text: as written (an unknown placeholder is text too)
  const FieldInfo *field = nullptr;
};
std::vector<MessagePart> parseMessage(std::string_view tmpl, const Hook *h);

void appendIsoTime(std::string &out, uint64_t realtimeNs);
std::string isoTime(uint64_t realtimeNs);  // UTC, microseconds: 2026-12-02T06:31:02.114210Z
std::string formatText(const Event &e);
std::string formatJson(const Event &e);
void appendJson(std::string &out, const Event &e);  // formatJson, appended to `out`

} // namespace bulwark::rt
