/* Template for hook kernel.module_load, second attach point: LSM kernel_load_data with id
 * LOADING_MODULE (init_module: the image comes from memory, so module.path is empty). */
#include "../bw_lib.h"

BW_SHARED_HOOK_MAPS(KERNEL_MODULE_LOAD_DATA)

SEC("lsm/kernel_load_data")
int BPF_PROG(bw_kernel_load_data, enum kernel_load_data_id id, bool contents, int ret) {
  int module = id == bpf_core_enum_value(enum kernel_load_data_id, LOADING_MODULE);
  return BW_HOOK_BODY_AS(ctx, KERNEL_MODULE_LOAD, KERNEL_MODULE_LOAD_DATA, ret, module, ({}), 0);
}
