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

/* The 16 bytes of the comm of task `t`, a BTF pointer, into `to`: two plain loads, where a
 * string probe read costs several instructions a byte. The kernel keeps comm padded with zeros
 * after its end, so its last byte is 0 however a rename races with the loads. */
static __always_inline void comm_copy(char *to, struct task_struct *t) {
  const __u64 *from = (const __u64 *)t->comm;
  ((__u64 *)to)[0] = from[0];
  ((__u64 *)to)[1] = from[1];
  to[15] = 0;
}

BW_API void bw_task_comm(struct task_struct *t, struct bw_str *out) {
  comm_copy(out->data, t);
  __u32 len = 0;
#pragma unroll
  for (int i = 0; i < 15; i++) {
    if (!out->data[i])
      break;
    len = i + 1;
  }
  out->len = len;
  out->truncated = 0;
}

struct hash_ctx {
  const char *p;
  __u32 from; /* the byte bpf_loop's first step hashes */
  __u32 len;
  __u64 h;
};

static long hash_step(__u32 i, void *arg) {
  struct hash_ctx *c = arg;
  __u32 at = c->from + i;
  if (at >= c->len)
    return 1;
  c->h = bw_fnv1a_step(c->h, (__u8)c->p[at & (BW_PATH_MAX - 1)]);
  return 0;
}

/* FNV-1a 64 of the `len` bytes at `p` (a buffer of BW_PATH_MAX bytes). Most strings hashed
 * are short: their first BW_HASH_INLINE bytes are hashed by a plain loop, and only a longer
 * string's rest by bpf_loop (a callback per byte costs several times the byte's hash). */
#define BW_HASH_INLINE 48
static __attribute__((noinline)) __u64 str_hash(const char *p, __u32 len) {
  struct hash_ctx c = {.p = p, .from = BW_HASH_INLINE, .len = len & (BW_PATH_MAX - 1), .h = BW_FNV_OFFSET};
#pragma unroll
  for (__u32 i = 0; i < BW_HASH_INLINE; i++) {
    if (i >= c.len)
      return c.h;
    c.h = bw_fnv1a_step(c.h, (__u8)p[i]);
  }
  bpf_loop(c.len - BW_HASH_INLINE, hash_step, &c, 0);
  return c.h;
}

#endif
