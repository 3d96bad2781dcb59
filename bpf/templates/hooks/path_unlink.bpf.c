/* Template for hook file.unlink (LSM path_unlink). path_* hooks may not use bpf_d_path on
 * 6.1: paths come from the bounded dentry walk. Also keeps bw_m_ident current (an inode's
 * last unlink forgets it); a policy with identity groups has this program even without
 * file.unlink rules. */
#include "../bw_lib.h"

BW_SHARED_HOOK_MAPS(FILE_UNLINK)

static __always_inline void extract(struct bw_event *ev, __u64 need, const struct path *dir,
                                    struct dentry *dentry) {
  if (BW_WANT(need, FILE_UNLINK, file_path))
    bw_dentry_walk(dir, dentry, BW_STR(ev, FILE_UNLINK, file_path));
}

SEC("lsm/path_unlink")
int BPF_PROG(bw_path_unlink, const struct path *dir, struct dentry *dentry, int ret) {
  int verdict = 0;
  struct bw_event *ev = bw_has_rules_FILE_UNLINK() ? bw_event_begin(BW_HOOK_FILE_UNLINK) : 0;
  if (ev && bw_in_scope(ev))
    verdict = BW_DECIDE(FILE_UNLINK, ev, extract, dir, dentry);
  if (!verdict) /* forget only for an unlink that goes ahead */
    bw_ident_at_unlink(dentry);
  if (!bw_chained() && ret) /* standalone: an earlier BPF LSM program's denial stands */
    verdict = ret;
  return BW_FINISH(ctx, FILE_UNLINK, verdict);
}
