/* Template for hook file.mmap_exec (LSM mmap_file): only mappings requesting PROT_EXEC. */
#include "../bw_lib.h"

BW_SHARED_HOOK_MAPS(FILE_MMAP_EXEC)

static __always_inline void extract(struct bw_event *ev, __u64 need, struct file *file,
                                    unsigned long prot) {
  if (BW_WANT(need, FILE_MMAP_EXEC, file_path) && file)
    bw_file_d_path(file, BW_STR(ev, FILE_MMAP_EXEC, file_path));
  BW_INT(ev, FILE_MMAP_EXEC, mmap_prot) = prot;
}

/* The lane ends here: a quiet executable mapping is kept for the dispatcher, as an open is
 * (bw_quiet.bpf.h). */
static __always_inline void keep_quiet(struct file *file, int verdict) {
  if (file)
    bw_quiet_keep(file, bw_quiet_bit(1, bw_lane()), verdict);
}

SEC("lsm/mmap_file")
int BPF_PROG(bw_mmap_file, struct file *file, unsigned long reqprot, unsigned long prot,
             unsigned long flags, int ret) {
  /* no event without PROT_EXEC: the dispatcher keyed nothing */
  struct bw_event *ev = (prot & 4 /* PROT_EXEC */) ? bw_event_begin(BW_HOOK_FILE_MMAP_EXEC) : 0;
  int verdict = BW_DECIDE_KEEPING(FILE_MMAP_EXEC, ev, extract, file, prot);
  if (!bw_chained() && ret) /* standalone: an earlier BPF LSM program's denial stands */
    verdict = ret;
  return BW_FINISH_THEN(ctx, FILE_MMAP_EXEC, verdict, keep_quiet, file);
}
