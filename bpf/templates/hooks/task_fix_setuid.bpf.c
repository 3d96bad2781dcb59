/* Template for hook process.setuid (LSM task_fix_setuid). */
#include "../bw_lib.h"

BW_SHARED_HOOK_MAPS(PROCESS_SETUID)

static __always_inline void extract(struct bw_event *ev, __u64 need, struct cred *new) {
  BW_INT(ev, PROCESS_SETUID, setuid_uid) = new->uid.val;
  BW_INT(ev, PROCESS_SETUID, setuid_euid) = new->euid.val;
}

SEC("lsm/task_fix_setuid")
int BPF_PROG(bw_task_fix_setuid, struct cred *new, const struct cred *old, int flags, int ret) {
  int verdict = 0;
  struct bw_event *ev = bw_event_begin(BW_HOOK_PROCESS_SETUID);
  if (ev && bw_in_scope(ev))
    verdict = BW_DECIDE(PROCESS_SETUID, ev, extract, new);
  if (!bw_chained() && ret) /* standalone: an earlier BPF LSM program's denial stands */
    verdict = ret;
  return BW_FINISH(ctx, PROCESS_SETUID, verdict);
}
