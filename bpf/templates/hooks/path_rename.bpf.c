/* Template for hook file.rename (LSM path_rename; 6.1 passes rename flags too). Also keeps
 * bw_m_ident current (a protected file or directory moved elsewhere stays protected); a
 * policy with identity groups has this program even without file.rename rules (it then
 * only learns). */
#include "../bw_lib.h"

BW_SHARED_HOOK_MAPS(FILE_RENAME)

SEC("lsm/path_rename")
int BPF_PROG(bw_path_rename, const struct path *old_dir, struct dentry *old_dentry,
             const struct path *new_dir, struct dentry *new_dentry, unsigned int flags, int ret) {
  return BW_HOOK_BODY_AS(ctx, FILE_RENAME, FILE_RENAME, ret, bw_has_rules_FILE_RENAME(), ({
    if (BW_WANT(need, FILE_RENAME, file_path))
      bw_dentry_walk(old_dir, old_dentry, BW_STR(ev, FILE_RENAME, file_path));
    if (BW_WANT(need, FILE_RENAME, file_newpath))
      bw_dentry_walk(new_dir, new_dentry, BW_STR(ev, FILE_RENAME, file_newpath));
  }), bw_ident_at_rename(old_dentry, new_dentry, flags));
}
