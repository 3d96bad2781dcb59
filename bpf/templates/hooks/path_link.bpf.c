/* Template for hook file.link (LSM path_link). Hard links never cross mounts, so the
 * existing file is walked within new_dir's mount. Also keeps bw_m_ident current (a hard
 * link of a protected file elsewhere is protected); a policy with identity groups has this
 * program even without file.link rules (it then only learns). */
#include "../bw_lib.h"

BW_SHARED_HOOK_MAPS(FILE_LINK)

SEC("lsm/path_link")
int BPF_PROG(bw_path_link, struct dentry *old_dentry, const struct path *new_dir,
             struct dentry *new_dentry, int ret) {
  return BW_HOOK_BODY_AS(ctx, FILE_LINK, FILE_LINK, ret, bw_has_rules_FILE_LINK(), ({
    if (BW_WANT(need, FILE_LINK, file_path))
      bw_dentry_walk(new_dir, old_dentry, BW_STR(ev, FILE_LINK, file_path));
    if (BW_WANT(need, FILE_LINK, file_newpath))
      bw_dentry_walk(new_dir, new_dentry, BW_STR(ev, FILE_LINK, file_newpath));
  }), bw_ident_at_link(old_dentry, new_dentry));
}
