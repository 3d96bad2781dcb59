/* Helper program (not a policy hook) of a policy that uses marks: a thread other than the
 * leader that executes a program becomes the leader, and the old leader's marks would go with
 * it; it takes a copy first (bw_marks.h). Attached directly, never chained. */
#include "../bw_lib.h"

SEC("lsm/bprm_check_security")
int BPF_PROG(bw_marks_thread_exec, struct linux_binprm *bprm, int ret) {
  if (ret)
    return ret; /* an earlier program's denial stands */
  return bw_marks_before_exec();
}
