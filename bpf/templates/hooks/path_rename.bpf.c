/* Template for hook file.rename (LSM path_rename; 6.1 passes rename flags too). Also keeps
 * bw_m_ident current (a file renamed onto a protected path takes its protection); a policy
 * with identity groups has this program even without file.rename rules (it then only learns). */
#include "../bw_lib.h"

BW_SHARED_HOOK_MAPS(FILE_RENAME)

SEC("lsm/path_rename")
int BPF_PROG(bw_path_rename, const struct path *old_dir, struct dentry *old_dentry,
             const struct path *new_dir, struct dentry *new_dentry, unsigned int flags, int ret) {
  bw_ident_at_rename(old_dir, old_dentry, new_dir, new_dentry, flags);
  return BW_HOOK_BODY(ctx, FILE_RENAME, ret, bw_has_rules_FILE_RENAME(), ({
    if (BW_WANT(need, FILE_RENAME, file_path))
      bw_dentry_walk(old_dir, old_dentry, BW_STR(ev, FILE_RENAME, file_path));
    if (BW_WANT(need, FILE_RENAME, file_newpath))
      bw_dentry_walk(new_dir, new_dentry, BW_STR(ev, FILE_RENAME, file_newpath));
  }));
}
