/* Template for hook kernel.module_load, second attach point: LSM kernel_load_data with id
 * LOADING_MODULE (init_module: the image comes from memory, so module.path is empty). It
 * decides and records as kernel.module_load, and chains through its own prog array and lanes. */
#include "../bw_lib.h"

BW_SHARED_HOOK_MAPS(KERNEL_MODULE_LOAD_DATA)

/* No field of the hook's own: module.path stays empty. */
static __always_inline void extract(struct bw_event *ev, __u64 need) {}

SEC("lsm/kernel_load_data")
int BPF_PROG(bw_kernel_load_data, enum kernel_load_data_id id, bool contents, int ret) {
  int module = id == bpf_core_enum_value(enum kernel_load_data_id, LOADING_MODULE);
  int verdict = 0;
  struct bw_event *ev = module ? bw_event_begin(BW_HOOK_KERNEL_MODULE_LOAD) : 0;
  if (ev && bw_in_scope(ev))
    verdict = BW_DECIDE(KERNEL_MODULE_LOAD, ev, extract);
  if (!bw_chained() && ret) /* standalone: an earlier BPF LSM program's denial stands */
    verdict = ret;
  return BW_FINISH(ctx, KERNEL_MODULE_LOAD_DATA, verdict);
}
