#include "Identity.h"

#include "Error.h"
#include "bw_match.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cerrno>
#include <sys/stat.h>
#include <sys/sysmacros.h>

namespace bulwark::rt {

namespace {

// The kernel's dev_t encoding (MKDEV: 20 bits of minor), as inode->i_sb->s_dev holds it.
uint32_t kernelDev(dev_t d) { return uint32_t(major(d)) << 20 | uint32_t(minor(d)); }

int mapFd(bpf_object *obj, const char *name) {
  bpf_map *m = bpf_object__find_map_by_name(obj, name);
  return m ? bpf_map__fd(m) : -1;
}

} // namespace

IdentitySeed seedIdentity(bpf_object *obj, const Bundle &b) {
  IdentitySeed res;
  if (b.identity.empty())
    return res;
  int ident = mapFd(obj, "bw_m_ident");
  int exact = mapFd(obj, "bw_m_exact");
  if (ident < 0)
    throw Error(Exit::BadBundle, "the bundle lists identity groups but its object has no map bw_m_ident");
  for (const auto &g : b.identity) {
    if (g.kind != "exact")
      continue;  // prefix groups are learned by the helper programs only
    for (const auto &p : g.paths) {
      ++res.paths;
      // lstat: the identity of the object at this very path. A symlink is skipped: the kernel
      // resolves paths, so its inode is never what a hook sees, and following it would lend
      // the rule's meaning to whatever it points at (on busybox systems, /usr/bin/passwd ->
      // busybox would make every busybox applet a "shadow reader").
      struct stat st{};
      if (exact < 0 || ::lstat(p.c_str(), &st) != 0 || S_ISLNK(st.st_mode))
        continue;  // not there (yet): the path itself still matches
      bw_exact_key ek{g.group, uint32_t(p.size()), bw_fnv1a64(p.data(), p.size())};
      bw_match_val val{};
      if (bpf_map_lookup_elem(exact, &ek, &val) != 0)
        continue;
      bw_ident_key ik{g.group, kernelDev(st.st_dev), uint64_t(st.st_ino)};
      bw_match_val old{};
      if (bpf_map_lookup_elem(ident, &ik, &old) == 0)  // two listed paths, one file
        bw_match_val_merge(&val, &old);
      if (bpf_map_update_elem(ident, &ik, &val, BPF_ANY) != 0)
        throw Error(Exit::Failed, "cannot record the identity of " + p + ": " + errnoText(errno));
      ++res.seeded;
    }
  }
  return res;
}

} // namespace bulwark::rt
