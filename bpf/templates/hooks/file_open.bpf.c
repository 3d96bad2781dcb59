/* Template for hook file.open (LSM file_open). */
#include "../bw_lib.h"

BW_SHARED_HOOK_MAPS(FILE_OPEN)

static __always_inline void extract(struct bw_event *ev, __u64 need, struct file *file) {
  if (need & BW_NEED_STR(5))
    bw_path_d_path((struct path *)&file->f_path, &ev->strs[5]);
  if (need & (BW_NEED_INT(6) | BW_NEED_INT(7) | BW_NEED_INT(8))) {
    __u32 flags = BPF_CORE_READ(file, f_flags);
    __u32 fmode = BPF_CORE_READ(file, f_mode);
    ev->ints[6] = flags;
    ev->ints[7] = (fmode & 0x2 /* FMODE_WRITE */) != 0;
    ev->ints[8] = (fmode & 0x1 /* FMODE_READ */) != 0;
  }
}

SEC("lsm/file_open")
int BPF_PROG(bw_file_open, struct file *file, int ret) {
  return BW_HOOK_BODY(ctx, FILE_OPEN, ret, extract(ev, need, file));
}
