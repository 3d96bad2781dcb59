/* Entries kept per CPU between events (bw_dirpath, bw_dirfacts, bw_quiet): programs on one CPU may
 * preempt each other, so an entry carries `writes`, odd while a program rewrites it. A writer
 * claims it by a compare-and-swap from even to odd and leaves it even again; a reader copies
 * what it needs between two reads of `writes` and drops the copy when they differ or were odd. */
#ifndef BULWARK_BW_KEPT_BPF_H
#define BULWARK_BW_KEPT_BPF_H

/* A read begins: the count, to give kept_read_end; odd means "being rewritten, do not read". */
static __always_inline __u64 kept_read_begin(__u64 *writes) {
  __u64 w = *writes;
  barrier();
  return w;
}

/* 1 when nothing rewrote the entry since kept_read_begin returned `was` (even). */
static __always_inline int kept_read_end(__u64 *writes, __u64 was) {
  barrier();
  return *writes == was;
}

/* Claims the entry for a rewrite: 1 with the count before it in `was`, 0 when another program
 * on this CPU is rewriting it. */
static __always_inline int kept_write_begin(__u64 *writes, __u64 *was) {
  __u64 w = *writes;
  if ((w & 1) || __sync_val_compare_and_swap(writes, w, w + 1) != w)
    return 0;
  *was = w;
  return 1;
}

static __always_inline void kept_write_end(__u64 *writes, __u64 was) {
  barrier();
  *writes = was + 2;
}

/* 1 when the 8-byte words [from, to) of keys `a` and `b` are the same (constant bounds: the
 * loop unrolls into one compare per word). */
static __always_inline int kept_same(const void *a, const void *b, int from, int to) {
  const __u64 *x = a, *y = b;
#pragma unroll
  for (int i = from; i < to; i++)
    if (x[i] != y[i])
      return 0;
  return 1;
}

/* Keeps lane `lane`'s bit in entry `e` for the pending entry `p`'s key (`words` 8-byte words):
 * added to the bits when the entry holds the same key, else the key and the bit replace
 * what it held. Nothing when another program on this CPU is rewriting it. A macro: the
 * entries of bw_quiet and bw_net_quiet differ in type and share these fields. */
#define KEPT_KEEP(e, p, words, lane)                                                               \
  ({                                                                                               \
    __u64 __was;                                                                                   \
    if (kept_write_begin(&(e)->writes, &__was)) {                                                  \
      if (kept_same(&(e)->key, &(p)->key, 0, (words))) {                                           \
        (e)->lanes |= 1ull << (lane);                                                              \
      } else {                                                                                     \
        (e)->key = (p)->key;                                                                       \
        (e)->lanes = 1ull << (lane);                                                               \
      }                                                                                            \
      kept_write_end(&(e)->writes, __was);                                                         \
    }                                                                                              \
  })

#endif
