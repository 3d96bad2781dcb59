// The objects behind a policy's protected paths (bw_match.h, bw_m_ident). Before the policy
// object is loaded, every path of an identity group is looked at (planIdentity): an exact
// path's file (lstat) and its name in its directory (the directory's inode), a prefix's
// directory, the mounts below it and the files hard-linked from under it. After the load
// their labels are written with what the path means (seedIdentity), so rules hold for the
// object wherever a process sees it: another root, a bind mount, a renamed parent directory.
#pragma once

#include "BundleDir.h"
#include "bw_match.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

struct bpf_object;

namespace bulwark::rt {

struct IdentityLabel {
  bw_ident_key key{};
  uint32_t group = 0;   // the identity group
  bool prefix = false;  // its kind
  std::string path;     // looked up in the group's full values (BW_GROUP_IDENT_VAL); for the
                        // executables of `scope executable` (BW_GROUP_SCOPE_EXE) the value is best 0
};

struct IdentityPlan {
  std::vector<IdentityLabel> labels;
  uint32_t exactPaths = 0, exactFound = 0;    // exact paths, of which exist (a file to label)
  uint32_t prefixDirs = 0, prefixFound = 0;   // prefix directories, of which exist
  uint32_t mounts = 0, hardLinks = 0;         // found below the prefix directories
  bool scanCut = false;                       // the hard-link scan stopped at its budget
  uint32_t carried = 0;                       // learned labels kept from the replaced version
  // Bit i: identity group i (manifest order) names a path with no object at load (an exact
  // path whose directory, or a prefix directory, does not exist): its rules still read the
  // path string, which may only add denials. Other groups decide on objects alone.
  uint32_t viewGroups = 0;
  uint32_t hintQuarter = BW_POLICY_HINT_QUARTER;  // bits in a quarter of bw_m_hint, by the labels (bw_match.h)
  // For each view group: the first bytes every one of its paths without an object starts with
  // (bw_cfg_view_head / _mask, little-endian words); a string that starts otherwise is not
  // looked up. Groups without a view keep zeros (never read).
  uint64_t viewHead[BW_IDENT_GROUPS][BW_VIEW_HEADS] = {};
  uint64_t viewMask[BW_IDENT_GROUPS][BW_VIEW_HEADS] = {};
};

// Files scanned below the prefix directories of one policy for hard links.
constexpr uint32_t kHardLinkScanBudget = 200000;

IdentityPlan planIdentity(const Bundle &b);

// At most BW_VIEW_HEADS leading byte strings of up to 8 bytes (value, mask: little-endian
// words), one of which starts each of `paths`: the longest that are few enough. Unused
// entries repeat the first; no paths: mask 0 (every string).
void viewHeads(const std::vector<std::string> &paths, uint64_t (&head)[BW_VIEW_HEADS],
               uint64_t (&mask)[BW_VIEW_HEADS]);

// Writes the planned labels into the loaded object's bw_m_ident, and their hints; throws Error
// on a map failure (a label the map cannot take is a failed load, never a silently
// unprotected file).
void seedIdentity(bpf_object *obj, const IdentityPlan &plan);

// Sets the bits (bw_match.h) of every label in the loaded object's bw_m_ident, in its own
// bw_m_hint and in the shared bw_hint (seedIdentity does; again after carrying learned labels,
// before the object enforces); throws Error on a map failure.
void writeObjectHints(bpf_object *obj);
// The fd of the shared bw_hint a loaded object reuses; -1 when it declares none.
int hintFd(bpf_object *obj);
// The same for the maps of a pinned generation (`switch` carries labels into a staged one).
void writeHints(int identFd, int ownHintFd, int hintFd);
// Sets the bits of `labels` in the policy's bw_m_hint (fd `ownHintFd`, not enforcing yet: its
// words are written whole) and in the shared bw_hint (fd `hintFd`) by atomic ORs on its
// mapping: the programs of every loaded policy set bits there too. An object without the
// shared map (-1) reads no hint: its only labels are its executable scope's.
void writeHintsOf(const std::vector<bw_ident_key> &labels, int ownHintFd, int hintFd);

// The maps of a loaded version that hold its labels and their meaning.
struct IdentityMaps {
  int ident = -1, exact = -1, prefix = -1;
};
IdentityMaps identityMaps(bpf_object *obj);

// Labels the replaced version learned (links, moves; BW_IDENT_SELF / _UNDER of an inode) are
// written into the new version's map for every group whose meaning is unchanged (the same
// strings with the same values). Returns how many; throws Error when the map cannot take one
// (the load then fails and the old version keeps enforcing).
uint32_t carryLearnedLabels(const IdentityMaps &old, const IdentityMaps &now);

// A version's bw_learned (fd `fd`, bw_match.h), or nullopt when there is none.
std::optional<bw_learn_count> learnCount(int fd);
// Records in the bw_learned of a loaded object (none: nothing to record) the enforcing
// version's `done` count, read before the load or stage carried its labels.
void recordLabelsSeen(bpf_object *obj, uint64_t done);
// The enforcing version (bw_learned fd `old`) began no label write since the staged one
// (fd `staged`) carried its labels: the switch need not carry them again.
bool noLabelsSinceStage(int old, int staged);

// The kernel's dev_t encoding (MKDEV: 20 bits of minor), as super_block->s_dev holds it.
uint32_t kernelDev(unsigned long dev);

} // namespace bulwark::rt
