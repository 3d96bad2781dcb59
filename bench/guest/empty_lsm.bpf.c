/* The floor for bench/: BPF LSM programs that decide nothing, one per hook the benchmark
 * measures. bwbench attaches the one for the hook under test; its cost over "no program"
 * is what any BPF LSM program pays (trampoline + call) before doing any work. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

#define EMPTY(hook)                                                                                \
  SEC("lsm/" #hook)                                                                                \
  int empty_##hook(void *ctx) { return 0; }

EMPTY(file_open)
EMPTY(bprm_check_security)
EMPTY(path_unlink)
EMPTY(socket_connect)
