// File identities of a policy's protected paths (bw_match.h, bw_m_ident): at load, every
// path of an exact identity group that exists (and is not a symlink) is lstat'ed and its (device, inode) stored
// with what the path means, so a hard link or bind mount of the file matches the rule.
#pragma once

#include "BundleView.h"

#include <cstdint>

struct bpf_object;

namespace bulwark::rt {

struct IdentitySeed {
  uint32_t paths = 0;    // exact paths in identity groups
  uint32_t seeded = 0;   // of which exist and were recorded
};

// Fills the loaded object's bw_m_ident from `b.identity`; throws Error on a map failure.
IdentitySeed seedIdentity(bpf_object *obj, const Bundle &b);

} // namespace bulwark::rt
