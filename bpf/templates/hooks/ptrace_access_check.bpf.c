/* Template for hook process.ptrace (LSM ptrace_access_check). */
#include "../bw_lib.h"

BW_SHARED_HOOK_MAPS(PROCESS_PTRACE)

static __always_inline void extract(struct bw_event *ev, __u64 need, struct task_struct *child,
                                    unsigned int mode) {
  BW_INT(ev, PROCESS_PTRACE, target_pid) = child->tgid;
  BW_INT(ev, PROCESS_PTRACE, target_uid) = child->real_cred->uid.val;
  BW_INT(ev, PROCESS_PTRACE, ptrace_mode) = mode;
  if (BW_WANT(need, PROCESS_PTRACE, target_comm))
    bw_task_comm(child, BW_STR(ev, PROCESS_PTRACE, target_comm));
  if (BW_WANT(need, PROCESS_PTRACE, target_exe))
    bw_task_exe(child, BW_STR(ev, PROCESS_PTRACE, target_exe));
}

SEC("lsm/ptrace_access_check")
int BPF_PROG(bw_ptrace_access_check, struct task_struct *child, unsigned int mode, int ret) {
  int verdict = 0;
  struct bw_event *ev = bw_event_begin(BW_HOOK_PROCESS_PTRACE);
  if (ev && bw_in_scope(ev))
    verdict = BW_DECIDE(PROCESS_PTRACE, ev, extract, child, mode);
  if (!bw_chained() && ret) /* standalone: an earlier BPF LSM program's denial stands */
    verdict = ret;
  return BW_FINISH(ctx, PROCESS_PTRACE, verdict);
}
