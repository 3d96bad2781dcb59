/* Template for hook file.chmod (LSM path_chmod). */
#include "../bw_lib.h"

BW_SHARED_HOOK_MAPS(FILE_CHMOD)

static __always_inline void extract(struct bw_event *ev, __u64 need, const struct path *path,
                                    umode_t mode) {
  if (BW_WANT(need, FILE_CHMOD, file_path))
    bw_path_walk(path, BW_STR(ev, FILE_CHMOD, file_path));
  BW_INT(ev, FILE_CHMOD, file_mode) = mode;
}

SEC("lsm/path_chmod")
int BPF_PROG(bw_path_chmod, const struct path *path, umode_t mode, int ret) {
  int verdict = 0;
  struct bw_event *ev = bw_event_begin(BW_HOOK_FILE_CHMOD);
  if (ev && bw_in_scope(ev))
    verdict = BW_DECIDE(FILE_CHMOD, ev, extract, path, mode);
  if (!bw_chained() && ret) /* standalone: an earlier BPF LSM program's denial stands */
    verdict = ret;
  return BW_FINISH(ctx, FILE_CHMOD, verdict);
}
