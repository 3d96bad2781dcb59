/* Template for hook file.link (LSM path_link). Hard links never cross mounts, so the
 * existing file is walked within new_dir's mount. Also keeps bw_m_ident current (a hard
 * link of a protected file elsewhere is protected); a policy with identity groups has this
 * program even without file.link rules (it then only learns). */
#include "../bw_lib.h"

BW_SHARED_HOOK_MAPS(FILE_LINK)

static __always_inline void extract(struct bw_event *ev, __u64 need, struct dentry *old_dentry,
                                    const struct path *new_dir, struct dentry *new_dentry) {
  if (BW_WANT(need, FILE_LINK, file_path))
    bw_dentry_walk(new_dir, old_dentry, BW_STR(ev, FILE_LINK, file_path));
  if (BW_WANT(need, FILE_LINK, file_newpath))
    bw_dentry_walk(new_dir, new_dentry, BW_STR(ev, FILE_LINK, file_newpath));
}

SEC("lsm/path_link")
int BPF_PROG(bw_path_link, struct dentry *old_dentry, const struct path *new_dir,
             struct dentry *new_dentry, int ret) {
  int verdict = 0;
  struct bw_event *ev = bw_has_rules_FILE_LINK() ? bw_event_begin(BW_HOOK_FILE_LINK) : 0;
  if (ev && bw_in_scope(ev))
    verdict = BW_DECIDE(FILE_LINK, ev, extract, old_dentry, new_dir, new_dentry);
  /* Learn only for a link that goes ahead (the decision saw the labels from before it); a
   * label the map cannot take denies the link. */
  if (!verdict)
    verdict = bw_ident_at_link(old_dentry, new_dentry);
  if (!bw_chained() && ret) /* standalone: an earlier BPF LSM program's denial stands */
    verdict = ret;
  return BW_FINISH(ctx, FILE_LINK, verdict);
}
