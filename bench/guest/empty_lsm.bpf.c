/* Floors for bench/: BPF LSM programs that decide nothing. bwbench attaches one, on the hook
 * under test, as a configuration of its own.
 *   empty_<hook>            returns 0: what any BPF LSM program pays (trampoline + call)
 *   empty_dpath_file_open   also resolves the opened file's path with bpf_d_path into a
 *                           per-CPU buffer: the floor of any path-based decision on file.open */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

#define EMPTY(hook)                                                                                \
  SEC("lsm/" #hook)                                                                                \
  int empty_##hook(void *ctx) { return 0; }

EMPTY(file_open)
EMPTY(bprm_check_security)
EMPTY(path_unlink)
EMPTY(socket_connect)
EMPTY(mmap_file)

struct path_buf {
  char b[4096];
};
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct path_buf);
} bench_path_buf SEC(".maps");

SEC("lsm/file_open")
int BPF_PROG(empty_dpath_file_open, struct file *file) {
  __u32 zero = 0;
  struct path_buf *pb = bpf_map_lookup_elem(&bench_path_buf, &zero);
  if (pb)
    bpf_d_path((struct path *)&file->f_path, pb->b, sizeof(pb->b));
  return 0;
}
