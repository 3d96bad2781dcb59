/* Template for hook process.setuid (LSM task_fix_setuid). */
#include "../bw_lib.h"

BW_SHARED_HOOK_MAPS(PROCESS_SETUID)

SEC("lsm/task_fix_setuid")
int BPF_PROG(bw_task_fix_setuid, struct cred *new, const struct cred *old, int flags, int ret) {
  return BW_HOOK_BODY(ctx, PROCESS_SETUID, ret, 1, ({
    BW_INT(ev, PROCESS_SETUID, setuid_uid) = BPF_CORE_READ(new, uid.val);
    BW_INT(ev, PROCESS_SETUID, setuid_euid) = BPF_CORE_READ(new, euid.val);
  }));
}
