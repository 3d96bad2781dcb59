// Policy instances. Every load (a first load or a hot swap) gets a number never given before
// under the pin root (the sequence in <pin root>/instances/seq). The runtime writes it into
// the programs' rodata (bw_cfg_instance) and into bw_slot_mode, so every record names the
// instance that made it, not the slot, which a later policy may take.
//
// <pin root>/instances/<N> is an ARRAY map: entry 0 the header (policy, slot, retired, drain
// position), entries 1.. the rule table, then the marks its rules set (InstanceMark). It is created before the instance's programs can
// run, and kept after the instance is replaced or unloaded ("retired") until every record it
// can have sent was read: the ring buffer's consumer position passed the producer position
// seen when it retired. At most kMaxRetired retired instances are kept (the oldest go first);
// a record of one that is gone decodes as "unknown instance N", never as another policy.
#pragma once

#include "Pins.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace bulwark::rt {

inline constexpr char kInstanceMagic[8] = {'B', 'W', 'I', 'N', 'S', 'T', '0', '1'};
inline constexpr uint32_t kMaxRetired = 256;

struct InstanceHeader {
  char magic[8];
  uint32_t ruleCount;
  uint32_t retired;    // 1 once no program of the instance can run any more
  uint64_t loadedNs;   // CLOCK_REALTIME
  uint64_t retiredNs;
  uint64_t drainPos;   // bw_events producer position when it retired
  uint32_t slot;
  uint32_t pad;
  char policy[64];
  uint32_t markCount;  // InstanceMark entries after the rules (0 in instances of older runtimes)
  uint32_t pad2;
  char reserved[392];
};
static_assert(sizeof(InstanceHeader) == 512);

struct InstanceRule {
  uint32_t hook;      // hook index
  uint32_t action;    // enum bw_action
  char name[64];
  char function[64];  // kprobe rules: the kernel function
  char message[376];  // the rule's message template
};
static_assert(sizeof(InstanceRule) == 512);

// A mark a rule of the instance sets, as records name it (bw_found_mark.id).
struct InstanceMark {
  uint64_t id;
  uint32_t rule;      // the rule that sets it
  uint32_t pad;
  char name[64];
  char reserved[432];
};
static_assert(sizeof(InstanceMark) == 512);

struct MarkName {
  uint64_t id = 0;
  std::string name;
};

struct RuleInfo {
  std::string name, message, function;
  uint32_t hook = 0, action = 0;
  std::vector<MarkName> marks;  // the marks the rule sets
};

struct InstanceInfo {
  uint32_t id = 0;
  std::string policy;
  uint32_t slot = 0;
  bool retired = false;
  uint64_t drainPos = 0;
  std::vector<RuleInfo> rules;
  std::map<uint64_t, std::string> marks;  // mark id -> name, of every rule's marks
};

class Instances {
public:
  explicit Instances(const PinLayout &pins) : pins_(pins) {}
  // The next instance number (the caller holds the pin root's exclusive lock).
  uint32_t allocate();
  // Pins instances/<id> (before any program of the instance can run).
  void create(uint32_t id, const std::string &policy, uint32_t slot, const std::vector<RuleInfo> &rules);
  // Marks the instance retired: call once none of its programs can run any more.
  void retire(uint32_t id);
  // Drops retired instances whose records were all read, and the oldest beyond kMaxRetired.
  // Returns how many it dropped. Best effort (never throws).
  unsigned prune();

private:
  const PinLayout &pins_;
};

// Every instance pinned now, by number.
std::map<uint32_t, InstanceInfo> readInstances(const PinLayout &pins);

// bw_events' consumer and producer positions (bytes ever read / written), nullopt if the ring
// is not pinned.
struct RingPositions {
  uint64_t consumer = 0, producer = 0;
};
std::optional<RingPositions> ringPositions(const PinLayout &pins);
std::optional<RingPositions> ringPositions(int ringFd);

} // namespace bulwark::rt
