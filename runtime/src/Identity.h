// The objects behind a policy's protected paths (bw_match.h, bw_m_ident). Before the policy
// object is loaded, every path of an identity group is looked at (planIdentity): an exact
// path's file (lstat) and its name in its directory (the directory's inode), a prefix's
// directory, the mounts below it and the files hard-linked from under it. After the load
// their labels are written with what the path means (seedIdentity), so rules hold for the
// object wherever a process sees it: another root, a bind mount, a renamed parent directory.
#pragma once

#include "BundleView.h"
#include "bw_match.h"

#include <cstdint>
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
};

// Files scanned below the prefix directories of one policy for hard links.
constexpr uint32_t kHardLinkScanBudget = 200000;

IdentityPlan planIdentity(const Bundle &b);

// Writes the planned labels into the loaded object's bw_m_ident; throws Error on a map failure
// (a label the map cannot take is a failed load, never a silently unprotected file).
void seedIdentity(bpf_object *obj, const IdentityPlan &plan);

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

// The kernel's dev_t encoding (MKDEV: 20 bits of minor), as super_block->s_dev holds it.
uint32_t kernelDev(unsigned long dev);

} // namespace bulwark::rt
