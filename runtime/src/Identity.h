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
  std::string path;     // looked up in the group's full values (BW_GROUP_IDENT_VAL)
};

struct IdentityPlan {
  std::vector<IdentityLabel> labels;
  uint32_t exactPaths = 0, exactFound = 0;    // exact paths, of which exist (a file to label)
  uint32_t prefixDirs = 0, prefixFound = 0;   // prefix directories, of which exist
  uint32_t mounts = 0, hardLinks = 0;         // found below the prefix directories
  bool scanCut = false;                       // the hard-link scan stopped at its budget
};

// Files scanned below the prefix directories of one policy for hard links.
constexpr uint32_t kHardLinkScanBudget = 200000;

IdentityPlan planIdentity(const Bundle &b);

// Writes the planned labels into the loaded object's bw_m_ident; throws Error on a map failure
// (a label the map cannot take is a failed load, never a silently unprotected file).
void seedIdentity(bpf_object *obj, const IdentityPlan &plan);

// The kernel's dev_t encoding (MKDEV: 20 bits of minor), as super_block->s_dev holds it.
uint32_t kernelDev(unsigned long dev);

} // namespace bulwark::rt
