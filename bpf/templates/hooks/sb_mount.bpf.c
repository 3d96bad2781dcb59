/* Template for hook kernel.mount (LSM sb_mount). */
#include "../bw_lib.h"

BW_SHARED_HOOK_MAPS(KERNEL_MOUNT)

static __always_inline void extract(struct bw_event *ev, __u64 need, const char *dev_name,
                                    const struct path *path, const char *type, unsigned long flags) {
  BW_INT(ev, KERNEL_MOUNT, mount_flags) = flags;
  if (BW_WANT(need, KERNEL_MOUNT, mount_target))
    bw_path_d_path((struct path *)path, BW_STR(ev, KERNEL_MOUNT, mount_target));
  if (BW_WANT(need, KERNEL_MOUNT, mount_source))
    bw_str_kernel(dev_name, BW_STR(ev, KERNEL_MOUNT, mount_source));
  if (BW_WANT(need, KERNEL_MOUNT, mount_fstype))
    bw_str_kernel(type, BW_STR(ev, KERNEL_MOUNT, mount_fstype));
}

SEC("lsm/sb_mount")
int BPF_PROG(bw_sb_mount, const char *dev_name, const struct path *path, const char *type,
             unsigned long flags, void *data, int ret) {
  int verdict = 0;
  struct bw_event *ev = bw_event_begin(BW_HOOK_KERNEL_MOUNT);
  if (ev && bw_in_scope(ev))
    verdict = BW_DECIDE(KERNEL_MOUNT, ev, extract, dev_name, path, type, flags);
  if (!bw_chained() && ret) /* standalone: an earlier BPF LSM program's denial stands */
    verdict = ret;
  return BW_FINISH(ctx, KERNEL_MOUNT, verdict);
}
