// Decision records from the shared ring buffer bw_events (struct bw_record, bw_abi.h):
// decoding and one-line formatting (text or JSON), and the reader loop.
#pragma once

#include "Json.h"  // jsonEscape, shared with bulwarkc (compiler/diag)

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace bulwark::rt {

struct Event {
  uint64_t timeNs = 0;   // CLOCK_REALTIME
  std::string policy;    // "slot:<n>" when the slot is not (or no longer) loaded
  std::string rule;      // rule name, "(default)", or "#<id>"
  std::string action;    // allow, deny, audit, kill, would-deny (audit mode)
  std::string hook;      // file.open
  uint32_t pid = 0, tgid = 0, ppid = 0, uid = 0, gid = 0, euid = 0;
  std::string comm;
  std::string exe;
  uint64_t cgroupId = 0;
  std::string cgroup;    // path relative to the cgroup2 root if resolvable
  std::string object;    // the hook's primary field (file.path, net.daddr:dport, ...)
  uint32_t flags = 0;
};

struct SlotInfo {
  std::string policy;
  std::vector<std::string> rules;
};

// Decodes one ring buffer sample. Returns false (and *why) for a record that is too
// short or of another ABI. `monoToReal` converts bpf_ktime_get_ns to wall-clock time.
bool decodeRecord(const void *data, size_t size, const std::map<uint32_t, SlotInfo> &slots,
                  int64_t monoToReal, Event *out, std::string *why = nullptr);

std::string formatText(const Event &e);
std::string formatJson(const Event &e);

} // namespace bulwark::rt
