/* Helper program (not a policy hook): after an exec has committed the new program
 * (mm->exe_file and self_exec_id are the new ones), cache its path in bw_exe so every
 * hook reads process.exe without walking the path. Attached directly, never chained. */
#include "../bw_lib.h"

SEC("lsm/bprm_committed_creds")
int BPF_PROG(bw_exe_exec, struct linux_binprm *bprm) {
  bw_exe_at_exec();
  return 0;
}
