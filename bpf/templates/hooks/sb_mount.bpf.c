/* Template for hook kernel.mount (LSM sb_mount). */
#include "../bw_lib.h"

BW_SHARED_HOOK_MAPS(KERNEL_MOUNT)

SEC("lsm/sb_mount")
int BPF_PROG(bw_sb_mount, const char *dev_name, const struct path *path, const char *type,
             unsigned long flags, void *data, int ret) {
  return BW_HOOK_BODY(ctx, KERNEL_MOUNT, ret, 1, ({
    BW_INT(ev, KERNEL_MOUNT, mount_flags) = flags;
    if (BW_WANT(need, KERNEL_MOUNT, mount_target))
      bw_path_d_path((struct path *)path, BW_STR(ev, KERNEL_MOUNT, mount_target));
    if (BW_WANT(need, KERNEL_MOUNT, mount_source))
      bw_str_kernel(dev_name, BW_STR(ev, KERNEL_MOUNT, mount_source));
    if (BW_WANT(need, KERNEL_MOUNT, mount_fstype))
      bw_str_kernel(type, BW_STR(ev, KERNEL_MOUNT, mount_fstype));
  }));
}
