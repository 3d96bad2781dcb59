/* Template for hook kernel.module_load (LSM kernel_read_file, id READING_MODULE). */
#include "../bw_lib.h"

BW_SHARED_HOOK_MAPS(KERNEL_MODULE_LOAD)

SEC("lsm/kernel_read_file")
int BPF_PROG(bw_kernel_read_file, struct file *file, enum kernel_read_file_id id, bool contents,
             int ret) {
  int module = id == bpf_core_enum_value(enum kernel_read_file_id, READING_MODULE);
  return BW_HOOK_BODY(ctx, KERNEL_MODULE_LOAD, ret, module, ({
    if (BW_WANT(need, KERNEL_MODULE_LOAD, module_path) && file)
      bw_file_d_path(file, BW_STR(ev, KERNEL_MODULE_LOAD, module_path));
  }));
}
