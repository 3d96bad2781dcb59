/* Template for hook file.chmod (LSM path_chmod). */
#include "../bw_lib.h"

BW_SHARED_HOOK_MAPS(FILE_CHMOD)

SEC("lsm/path_chmod")
int BPF_PROG(bw_path_chmod, const struct path *path, umode_t mode, int ret) {
  return BW_HOOK_BODY(ctx, FILE_CHMOD, ret, 1, ({
    if (BW_WANT(need, FILE_CHMOD, file_path))
      bw_path_walk(path, BW_STR(ev, FILE_CHMOD, file_path));
    BW_INT(ev, FILE_CHMOD, file_mode) = mode;
  }));
}
