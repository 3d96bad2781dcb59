/* Live processes per mark (`bulwark status`): a task iterator the runtime loads and runs on
 * demand, never attached to a hook. For every live process (thread group leader whose group
 * has a thread that has not exited) it writes one struct bw_live_mark per unexpired mark in
 * the process's slots of the shared task storage bw_marks, and one with id 0 when the process
 * overflowed its slots (`full`). The runtime counts them per mark; it gives this object the
 * pinned bw_marks (bpf_map__reuse_fd), so the iterator never creates or pins a map.
 * Read without the lock, as a mark test reads. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "bw_abi.h"

char LICENSE[] SEC("license") = "GPL";

/* As shared_maps.def declares bw_marks, without pinning by name. */
struct {
  __uint(type, BPF_MAP_TYPE_TASK_STORAGE);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, int);
  __type(value, struct bw_marks);
} bw_marks SEC(".maps");

static __always_inline void put(struct seq_file *seq, __u64 id, __u32 tgid) {
  struct bw_live_mark out = {.id = id, .tgid = tgid};
  bpf_seq_write(seq, &out, sizeof(out));
}

SEC("iter/task")
int bw_live_marks(struct bpf_iter__task *ctx) {
  struct task_struct *t = ctx->task;
  /* Threads share their leader's marks; a group whose threads all exited is not live (a
   * zombie leader whose other threads run still is). */
  if (!t || t->pid != t->tgid || t->signal->live.counter <= 0)
    return 0;
  struct bw_marks *m = bpf_task_storage_get(&bw_marks, t, 0, 0);
  if (!m)
    return 0;
  __u64 now = bpf_ktime_get_boot_ns();
  for (int i = 0; i < BW_MARK_SLOTS; i++)
    if (bw_mark_live(&m->slot[i], now))
      put(ctx->meta->seq, m->slot[i].id, t->tgid);
  if (m->full)
    put(ctx->meta->seq, 0, t->tgid);
  return 0;
}
