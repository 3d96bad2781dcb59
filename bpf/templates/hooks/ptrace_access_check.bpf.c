/* Template for hook process.ptrace (LSM ptrace_access_check). */
#include "../bw_lib.h"

BW_SHARED_HOOK_MAPS(PROCESS_PTRACE)

SEC("lsm/ptrace_access_check")
int BPF_PROG(bw_ptrace_access_check, struct task_struct *child, unsigned int mode, int ret) {
  return BW_HOOK_BODY(ctx, PROCESS_PTRACE, ret, 1, ({
    BW_INT(ev, PROCESS_PTRACE, target_pid) = BPF_CORE_READ(child, tgid);
    BW_INT(ev, PROCESS_PTRACE, target_uid) = BPF_CORE_READ(child, real_cred, uid.val);
    BW_INT(ev, PROCESS_PTRACE, ptrace_mode) = mode;
    if (BW_WANT(need, PROCESS_PTRACE, target_comm))
      bw_task_comm(child, BW_STR(ev, PROCESS_PTRACE, target_comm));
    if (BW_WANT(need, PROCESS_PTRACE, target_exe))
      bw_task_exe(child, BW_STR(ev, PROCESS_PTRACE, target_exe));
  }));
}
