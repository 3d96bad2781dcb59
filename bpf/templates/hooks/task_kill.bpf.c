/* Template for hook process.signal (LSM task_kill). */
#include "../bw_lib.h"

BW_SHARED_HOOK_MAPS(PROCESS_SIGNAL)

static __always_inline void extract(struct bw_event *ev, __u64 need, struct task_struct *p, int sig) {
  BW_INT(ev, PROCESS_SIGNAL, target_pid) = p->tgid;
  BW_INT(ev, PROCESS_SIGNAL, target_uid) = p->real_cred->uid.val;
  BW_INT(ev, PROCESS_SIGNAL, signal_sig) = sig;
  if (BW_WANT(need, PROCESS_SIGNAL, target_comm))
    bw_task_comm(p, BW_STR(ev, PROCESS_SIGNAL, target_comm));
  if (BW_WANT(need, PROCESS_SIGNAL, target_exe))
    bw_task_exe(p, BW_STR(ev, PROCESS_SIGNAL, target_exe));
}

SEC("lsm/task_kill")
int BPF_PROG(bw_task_kill, struct task_struct *p, struct kernel_siginfo *info, int sig,
             const struct cred *cred, int ret) {
  int verdict = 0;
  struct bw_event *ev = bw_event_begin(BW_HOOK_PROCESS_SIGNAL);
  if (ev && bw_in_scope(ev))
    verdict = BW_DECIDE(PROCESS_SIGNAL, ev, extract, p, sig);
  if (!bw_chained() && ret) /* standalone: an earlier BPF LSM program's denial stands */
    verdict = ret;
  return BW_FINISH(ctx, PROCESS_SIGNAL, verdict);
}
