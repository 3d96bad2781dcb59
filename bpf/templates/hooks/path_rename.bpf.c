/* Template for hook file.rename (LSM path_rename; 6.1 passes rename flags too). Also keeps
 * bw_m_ident current (a protected file or directory moved elsewhere stays protected); a
 * policy with identity groups has this program even without file.rename rules (it then
 * only learns). */
#include "../bw_lib.h"

BW_SHARED_HOOK_MAPS(FILE_RENAME)

static __always_inline void extract(struct bw_event *ev, __u64 need, const struct path *old_dir,
                                    struct dentry *old_dentry, const struct path *new_dir,
                                    struct dentry *new_dentry) {
  if (BW_WANT(need, FILE_RENAME, file_path))
    bw_dentry_walk(old_dir, old_dentry, BW_STR(ev, FILE_RENAME, file_path));
  if (BW_WANT(need, FILE_RENAME, file_newpath))
    bw_dentry_walk(new_dir, new_dentry, BW_STR(ev, FILE_RENAME, file_newpath));
}

SEC("lsm/path_rename")
int BPF_PROG(bw_path_rename, const struct path *old_dir, struct dentry *old_dentry,
             const struct path *new_dir, struct dentry *new_dentry, unsigned int flags, int ret) {
  int verdict = 0;
  struct bw_event *ev = bw_has_rules_FILE_RENAME() ? bw_event_begin(BW_HOOK_FILE_RENAME) : 0;
  if (ev && bw_in_scope(ev))
    verdict = BW_DECIDE(FILE_RENAME, ev, extract, old_dir, old_dentry, new_dir, new_dentry);
  /* Learn only for a rename that goes ahead (the decision saw the labels from before it); a
   * label the map cannot take denies the rename. */
  if (!verdict)
    verdict = bw_ident_at_rename(old_dentry, new_dentry, flags);
  if (!bw_chained() && ret) /* standalone: an earlier BPF LSM program's denial stands */
    verdict = ret;
  return BW_FINISH(ctx, FILE_RENAME, verdict);
}
