/* Template for hook file.open (LSM file_open). */
#include "../bw_lib.h"

BW_SHARED_HOOK_MAPS(FILE_OPEN)

static __always_inline void extract(struct bw_event *ev, __u64 need, struct file *file) {
  if (BW_WANT(need, FILE_OPEN, file_path))
    bw_file_d_path(file, BW_STR(ev, FILE_OPEN, file_path));
  if (BW_WANT(need, FILE_OPEN, file_flags) || BW_WANT(need, FILE_OPEN, file_write) ||
      BW_WANT(need, FILE_OPEN, file_read)) {
    __u32 fmode = file->f_mode; /* plain loads: `file` is the hook's BTF pointer */
    BW_INT(ev, FILE_OPEN, file_flags) = file->f_flags;
    BW_INT(ev, FILE_OPEN, file_write) = (fmode & 0x2 /* FMODE_WRITE */) != 0;
    BW_INT(ev, FILE_OPEN, file_read) = (fmode & 0x1 /* FMODE_READ */) != 0;
  }
}

/* The lane ends here: a quiet open is kept for the dispatcher (bw_quiet.bpf.h). */
static __always_inline void keep_quiet(struct file *file, int verdict) {
  bw_quiet_keep(file, bw_quiet_bit(0, bw_lane()), verdict);
}

SEC("lsm/file_open")
int BPF_PROG(bw_file_open, struct file *file, int ret) {
  struct bw_event *ev = bw_event_begin(BW_HOOK_FILE_OPEN);
  int verdict = BW_DECIDE_KEEPING(FILE_OPEN, ev, extract, file);
  if (!bw_chained() && ret) /* standalone: an earlier BPF LSM program's denial stands */
    verdict = ret;
  return BW_FINISH_THEN(ctx, FILE_OPEN, verdict, keep_quiet, file);
}
