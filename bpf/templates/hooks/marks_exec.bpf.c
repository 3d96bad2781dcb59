/* Helper program (not a policy hook) of a policy that uses marks: once an exec has committed
 * the new program, the process's `until exec` marks go (bw_marks.h). Attached directly. */
#include "../bw_lib.h"

SEC("lsm/bprm_committed_creds")
int BPF_PROG(bw_marks_exec, struct linux_binprm *bprm) {
  bw_marks_at_exec();
  return 0;
}
