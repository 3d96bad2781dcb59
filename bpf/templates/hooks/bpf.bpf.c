/* Template for hook kernel.bpf (LSM bpf). */
#include "../bw_lib.h"

BW_SHARED_HOOK_MAPS(KERNEL_BPF)

SEC("lsm/bpf")
int BPF_PROG(bw_bpf, int cmd, union bpf_attr *attr, unsigned int size, int ret) {
  return BW_HOOK_BODY(ctx, KERNEL_BPF, ret, 1, ({ BW_INT(ev, KERNEL_BPF, bpf_cmd) = cmd; }));
}
