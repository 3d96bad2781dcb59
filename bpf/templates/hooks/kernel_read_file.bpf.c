/* Template for hook kernel.module_load (LSM kernel_read_file, id READING_MODULE). */
#include "../bw_lib.h"

BW_SHARED_HOOK_MAPS(KERNEL_MODULE_LOAD)

static __always_inline void extract(struct bw_event *ev, __u64 need, struct file *file) {
  if (BW_WANT(need, KERNEL_MODULE_LOAD, module_path) && file)
    bw_file_d_path(file, BW_STR(ev, KERNEL_MODULE_LOAD, module_path));
}

SEC("lsm/kernel_read_file")
int BPF_PROG(bw_kernel_read_file, struct file *file, enum kernel_read_file_id id, bool contents,
             int ret) {
  int module = id == bpf_core_enum_value(enum kernel_read_file_id, READING_MODULE);
  int verdict = 0;
  struct bw_event *ev = module ? bw_event_begin(BW_HOOK_KERNEL_MODULE_LOAD) : 0;
  if (ev && bw_in_scope(ev))
    verdict = BW_DECIDE(KERNEL_MODULE_LOAD, ev, extract, file);
  if (!bw_chained() && ret) /* standalone: an earlier BPF LSM program's denial stands */
    verdict = ret;
  return BW_FINISH(ctx, KERNEL_MODULE_LOAD, verdict);
}
