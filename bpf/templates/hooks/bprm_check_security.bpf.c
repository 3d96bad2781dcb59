/* Template for hook process.exec (LSM bprm_check_security). */
#include "../bw_lib.h"

BW_SHARED_HOOK_MAPS(PROCESS_EXEC)

static __always_inline void extract(struct bw_event *ev, __u64 need, struct linux_binprm *bprm) {
  struct file *f = bprm->file; /* a BTF pointer: bpf_d_path and plain loads */
  if (BW_WANT(need, PROCESS_EXEC, exec_path))
    bw_file_d_path(f, BW_STR(ev, PROCESS_EXEC, exec_path));
  if (BW_WANT(need, PROCESS_EXEC, exec_filename))
    bw_str_kernel(bprm->filename, BW_STR(ev, PROCESS_EXEC, exec_filename));
  /* no name in any filesystem: memfd_create, O_TMPFILE, or unlinked while open */
  if (BW_WANT(need, PROCESS_EXEC, exec_fileless))
    BW_INT(ev, PROCESS_EXEC, exec_fileless) = f->f_inode->i_nlink == 0;
}

SEC("lsm/bprm_check_security")
int BPF_PROG(bw_bprm_check_security, struct linux_binprm *bprm, int ret) {
  int verdict = 0;
  struct bw_event *ev = bw_event_begin(BW_HOOK_PROCESS_EXEC);
  if (ev && bw_in_scope(ev))
    verdict = BW_DECIDE(PROCESS_EXEC, ev, extract, bprm);
  if (!bw_chained() && ret) /* standalone: an earlier BPF LSM program's denial stands */
    verdict = ret;
  return BW_FINISH(ctx, PROCESS_EXEC, verdict);
}
