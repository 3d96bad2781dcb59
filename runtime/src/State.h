// The per-policy state record, kept in the kernel (a pinned ARRAY map <policy>/state) so
// that any later bulwark process, or a restarted daemon, adopts what is loaded without a
// file on disk. Entry 0 is the policy header, entries 1 and 2 describe generations 0 and 1.
// The rule table of a generation is the pinned ARRAY map gen<G>/bw_rules.
#pragma once

#include <cstdint>
#include <string>

namespace bulwark::rt {

inline constexpr char kStateMagic[8] = {'B', 'W', 'S', 'T', 'A', 'T', 'E', '1'};

// A generation entry's `valid`: the generation holds a loaded version (enforcing, or one a
// load is about to switch to or has just replaced), or a staged one: loaded, pinned and
// wired by `load --stage`, waiting for `switch` (until then it decides nothing, and no
// count, label or instance of it is taken for a loaded version's).
inline constexpr uint32_t kGenLoaded = 1;
inline constexpr uint32_t kGenStaged = 2;

struct StateRecord {
  char magic[8];
  uint32_t version;     // 1
  uint32_t valid;       // generation entries: kGenLoaded, kGenStaged, or 0 (empty)
  // header (entry 0)
  uint32_t slot;
  uint32_t lane;
  uint64_t createdNs;   // CLOCK_REALTIME
  char name[64];
  // generation entries (1, 2)
  uint32_t mode;        // enum bw_mode
  uint32_t abi;
  uint32_t ruleCount;
  uint32_t instance;    // policy instance of this generation (Instances.h); 0 before ABI 2
  uint64_t hooksMask;   // bit = hook index
  uint64_t loadedNs;    // CLOCK_REALTIME
  uint64_t loadDurationNs;
  char compiler[32];
  char digest[80];
  char bundle[256];
  uint64_t contentHash; // FNV-1a of the bundle's files (Bundle::contentHash): unchanged bundles are adopted
};
static_assert(sizeof(StateRecord) == 512);

// One cgroup of a policy's scope as loaded: <policy>/gen<G>/bw_scope, ARRAY[8]. The id is
// what the programs compare (bw_cfg_cgroup_id); 0 when the cgroup did not exist at load.
struct ScopeRecord {
  uint64_t id;
  uint32_t level;
  uint32_t used;    // 1 for an entry of the scope
  char path[240];   // as written in the policy
};
static_assert(sizeof(ScopeRecord) == 256);

struct RuleRecord {
  uint32_t hook;   // hook index
  uint32_t action; // enum bw_action
  char name[64];
  char message[184];
};
static_assert(sizeof(RuleRecord) == 256);

template <size_t N> void copyField(char (&dst)[N], const std::string &src) {
  size_t n = src.size() < N - 1 ? src.size() : N - 1;
  src.copy(dst, n);
  dst[n] = 0;
}
template <size_t N> std::string fieldString(const char (&src)[N]) {
  size_t n = 0;
  while (n < N && src[n])
    n++;
  return std::string(src, n);
}

} // namespace bulwark::rt
