/* Strings read from kernel or user memory into an event slot, the task's comm, and the FNV-1a
 * hash step over a string (exact-match keys and the names of identity facts hash alike). */
#ifndef BULWARK_BW_STR_H
#define BULWARK_BW_STR_H

static __always_inline void set_len(struct bw_str *out, long n) {
  out->len = n > 0 ? (__u32)(n - 1) : 0;
  out->truncated = n >= BW_PATH_MAX;
}

BW_API void bw_str_kernel(const char *src, struct bw_str *out) {
  if (!src) {
    out->len = 0;
    out->data[0] = 0;
    return;
  }
  set_len(out, bpf_probe_read_kernel_str(out->data, BW_PATH_MAX, src));
}

BW_API void bw_str_user(const char *src, struct bw_str *out) {
  if (!src) {
    out->len = 0;
    out->data[0] = 0;
    return;
  }
  set_len(out, bpf_probe_read_user_str(out->data, BW_PATH_MAX, src));
}

BW_API void bw_task_comm(struct task_struct *t, struct bw_str *out) {
  set_len(out, bpf_probe_read_kernel_str(out->data, 16, BPF_CORE_READ(t, comm)));
  out->truncated = 0;
}

struct hash_ctx {
  const char *p;
  __u32 len;
  __u64 h;
};

static long hash_step(__u32 i, void *arg) {
  struct hash_ctx *c = arg;
  if (i >= c->len)
    return 1;
  c->h = bw_fnv1a_step(c->h, (__u8)c->p[i & (BW_PATH_MAX - 1)]);
  return 0;
}

#endif
