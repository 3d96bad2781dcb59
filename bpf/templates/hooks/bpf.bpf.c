/* Template for hook kernel.bpf (LSM bpf). */
#include "../bw_lib.h"

BW_SHARED_HOOK_MAPS(KERNEL_BPF)

static __always_inline void extract(struct bw_event *ev, __u64 need, int cmd) {
  BW_INT(ev, KERNEL_BPF, bpf_cmd) = cmd;
}

SEC("lsm/bpf")
int BPF_PROG(bw_bpf, int cmd, union bpf_attr *attr, unsigned int size, int ret) {
  int verdict = 0;
  struct bw_event *ev = bw_event_begin(BW_HOOK_KERNEL_BPF);
  if (ev && bw_in_scope(ev))
    verdict = BW_DECIDE(KERNEL_BPF, ev, extract, cmd);
  if (!bw_chained() && ret) /* standalone: an earlier BPF LSM program's denial stands */
    verdict = ret;
  return BW_FINISH(ctx, KERNEL_BPF, verdict);
}
