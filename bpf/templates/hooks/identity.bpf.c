/* Helper programs (not policy hooks) that keep bw_m_ident current: the identities of files
 * protected by exact or prefix path rules (bw_match.h). Attached directly beside the
 * policy, never chained; they decide nothing and return the verdict of the programs
 * before them. */
#include "../bw_lib.h"

SEC("lsm/path_link")
int BPF_PROG(bw_ident_link, struct dentry *old_dentry, const struct path *new_dir, struct dentry *new_dentry,
             int ret) {
  bw_ident_at_link(old_dentry, new_dir);
  return ret;
}

SEC("lsm/path_rename")
int BPF_PROG(bw_ident_rename, const struct path *old_dir, struct dentry *old_dentry, const struct path *new_dir,
             struct dentry *new_dentry, unsigned int flags, int ret) {
  bw_ident_at_rename(old_dir, old_dentry, new_dir, new_dentry, flags);
  return ret;
}

SEC("lsm/path_unlink")
int BPF_PROG(bw_ident_unlink, const struct path *dir, struct dentry *dentry, int ret) {
  bw_ident_at_unlink(dentry);
  return ret;
}
