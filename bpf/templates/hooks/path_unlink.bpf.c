/* Template for hook file.unlink (LSM path_unlink). path_* hooks may not use bpf_d_path on
 * 6.1: paths come from the bounded dentry walk. Also keeps bw_m_ident current (an inode's
 * last unlink forgets it); a policy with identity groups has this program even without
 * file.unlink rules. */
#include "../bw_lib.h"

BW_SHARED_HOOK_MAPS(FILE_UNLINK)

SEC("lsm/path_unlink")
int BPF_PROG(bw_path_unlink, const struct path *dir, struct dentry *dentry, int ret) {
  return BW_HOOK_BODY_AS(ctx, FILE_UNLINK, FILE_UNLINK, ret, bw_has_rules_FILE_UNLINK(), ({
    if (BW_WANT(need, FILE_UNLINK, file_path))
      bw_dentry_walk(dir, dentry, BW_STR(ev, FILE_UNLINK, file_path));
  }), ({ bw_ident_at_unlink(dentry); 0; }));
}
