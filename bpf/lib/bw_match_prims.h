/* Matching primitives the generated decision code calls, one per map kind: exact (hash),
 * prefix and suffix (LPM on the string or its reverse), glob (DFA), cidr (LPM), int (hash). Each
 * ORs the entry's atoms into the caller's set and returns its best decision word. */
#ifndef BULWARK_BW_MATCH_PRIMS_H
#define BULWARK_BW_MATCH_PRIMS_H

static __always_inline void or_atoms(__u64 *atoms, struct bw_match_val *v) {
#pragma unroll
  for (int i = 0; i < BW_ATOM_WORDS; i++)
    atoms[i] |= v->atoms[i];
}

static struct bw_match_val *exact_val(struct bw_str *s, __u32 group) {
  struct bw_tmp *t = tmp();
  if (!t)
    return 0;
  __u32 len = s->len & (BW_PATH_MAX - 1);
  t->ekey.group = group;
  t->ekey.len = len;
  t->ekey.hash = str_hash(s->data, len);
  return bpf_map_lookup_elem(&bw_m_exact, &t->ekey);
}

static __u32 lookup_exact(struct bw_str *s, __u32 group, __u64 *atoms) {
  struct bw_match_val *v = exact_val(s, group);
  if (!v)
    return BW_NO_RULE;
  or_atoms(atoms, v);
  return v->best;
}

BW_API __u32 bw_match_exact(struct bw_event *ev, __u32 slot, __u32 group, __u64 *atoms) {
  struct bw_str *s = str_of(ev, slot);
  if (s->object_only)
    return BW_NO_RULE;
  return lookup_exact(s, group, atoms);
}

static __always_inline void put_group(__u8 *g, __u32 group) {
  g[0] = group >> 24;
  g[1] = group >> 16;
  g[2] = group >> 8;
  g[3] = group;
}

static struct bw_match_val *prefix_val(struct bw_str *s, __u32 group) {
  struct bw_tmp *t = tmp();
  if (!t)
    return 0;
  __u32 n = s->len;
  if (n > BW_LPM_STR_MAX)
    n = BW_LPM_STR_MAX;
  barrier_var(n);
  n &= 0xff;
  if (n > BW_LPM_STR_MAX)
    return 0;
  bpf_probe_read_kernel(t->skey.data, n, s->data);
  put_group(t->skey.group, group);
  t->skey.prefixlen = 32 + 8 * n;
  return bpf_map_lookup_elem(&bw_m_prefix, &t->skey);
}

BW_API __u32 bw_match_prefix(struct bw_event *ev, __u32 slot, __u32 group, __u64 *atoms) {
  struct bw_str *s = str_of(ev, slot);
  if (s->object_only)
    return BW_NO_RULE;
  struct bw_match_val *v = prefix_val(s, group);
  if (!v)
    return BW_NO_RULE;
  or_atoms(atoms, v);
  return v->best;
}

struct rev_ctx {
  const char *src; /* points at the string's data */
  __u8 *dst;
  __u32 len;       /* string length */
  __u32 from;      /* the byte bpf_loop's first step writes */
};

static long rev_step(__u32 i, void *arg) {
  struct rev_ctx *c = arg;
  __u32 at = c->from + i;
  __u32 from = c->len - 1 - at;
  c->dst[at & 0xff] = c->src[from & (BW_PATH_MAX - 1)];
  return 0;
}

/* Suffixes are looked up over the string's last bytes reversed. Only as many as the longest
 * suffix of the policy matter (the trie holds no longer key to match), and most suffixes are
 * short (BW_INFO_SUFFIX_KEY): their BW_SUFFIX_SHORT bytes are reversed by a plain loop, any
 * more by bpf_loop. */
/* A bounded loop (not unrolled: LLVM cannot unroll this one; the verifier walks it as is). */
static __always_inline void rev_inline(struct rev_ctx *c, __u32 n) {
  for (__u32 i = 0; i < BW_SUFFIX_SHORT && i < n; i++)
    c->dst[i] = c->src[(c->len - 1 - i) & (BW_PATH_MAX - 1)];
}
BW_API __u32 bw_match_suffix(struct bw_event *ev, __u32 slot, __u32 group, __u64 *atoms) {
  struct bw_tmp *t = tmp();
  if (!t)
    return BW_NO_RULE;
  struct bw_str *s = str_of(ev, slot);
  __u32 n = s->len, most = bw_policy_info(BW_INFO_SUFFIX_KEY);
  if (n > most)
    n = most;
  if (n > BW_LPM_STR_MAX)
    n = BW_LPM_STR_MAX;
  struct rev_ctx c = {.src = s->data, .dst = t->skey.data, .len = s->len & (BW_PATH_MAX - 1), .from = BW_SUFFIX_SHORT};
  rev_inline(&c, n);
  if (n > BW_SUFFIX_SHORT)
    bpf_loop(n - BW_SUFFIX_SHORT, rev_step, &c, 0);
  put_group(t->skey.group, group);
  t->skey.prefixlen = 32 + 8 * n;
  struct bw_match_val *v = bpf_map_lookup_elem(&bw_m_suffix, &t->skey);
  if (!v)
    return BW_NO_RULE;
  or_atoms(atoms, v);
  return v->best;
}

struct dfa_ctx {
  const char *p;
  __u32 len;
  __u32 state;
  __u32 base;
  __u32 ncls;
  __u32 from; /* the byte bpf_loop's first step reads */
};

/* One DFA step on byte `i`; 1 when the walk ends (the string's end, or the dead state). */
static __always_inline int dfa_advance(struct dfa_ctx *c, __u32 i) {
  if (i >= c->len)
    return 1;
  __u32 k = c->base + (__u8)c->p[i & (BW_PATH_MAX - 1)];
  __u32 *cls = bpf_map_lookup_elem(&bw_m_dfa, &k);
  if (!cls) {
    c->state = BW_DFA_DEAD;
    return 1;
  }
  k = c->base + BW_DFA_CLASSES + c->state * c->ncls + *cls;
  __u32 *next = bpf_map_lookup_elem(&bw_m_dfa, &k);
  c->state = next ? *next : BW_DFA_DEAD;
  return c->state == BW_DFA_DEAD;
}

static long dfa_step(__u32 i, void *arg) {
  struct dfa_ctx *c = arg;
  return dfa_advance(c, c->from + i);
}

/* Most paths leave every pattern within their first bytes ("/tmp" against "/home/..."): those
 * steps run inline, and bpf_loop's per-step callback only for a string still alive after them. */
#define BW_DFA_INLINE_STEPS 4

BW_API __u32 bw_match_glob(struct bw_event *ev, __u32 slot, __u32 base, __u64 *atoms) {
  struct bw_str *s = str_of(ev, slot);
  __u32 k0 = base, k1 = base + 1;
  __u32 *ncls = bpf_map_lookup_elem(&bw_m_dfa, &k0);
  __u32 *acc = bpf_map_lookup_elem(&bw_m_dfa, &k1);
  if (!ncls || !acc)
    return BW_NO_RULE;
  __u32 acc_base = *acc;
  struct dfa_ctx c = {.p = s->data, .len = s->len & (BW_PATH_MAX - 1), .state = BW_DFA_START,
                      .base = base + BW_DFA_HEADER, .ncls = *ncls, .from = BW_DFA_INLINE_STEPS};
  int ended = 0;
#pragma unroll
  for (int i = 0; i < BW_DFA_INLINE_STEPS; i++) {
    if (dfa_advance(&c, i)) {
      ended = 1;
      break;
    }
  }
  if (!ended)
    bpf_loop(c.len - BW_DFA_INLINE_STEPS, dfa_step, &c, 0);
  if (c.state == BW_DFA_DEAD)
    return BW_NO_RULE;
  __u32 k = acc_base + c.state;
  struct bw_match_val *v = bpf_map_lookup_elem(&bw_m_dfa_acc, &k);
  if (!v)
    return BW_NO_RULE;
  or_atoms(atoms, v);
  return v->best;
}

BW_API __u32 bw_match_cidr(struct bw_event *ev, __u32 slot, __u32 group, __u64 *atoms) {
  struct bw_tmp *t = tmp();
  if (!t)
    return BW_NO_RULE;
  struct bw_addr *a = &ev->addrs[slot & (BW_ADDR_SLOTS - 1)];
  if (!a->family)
    return BW_NO_RULE;
  __builtin_memcpy(t->akey.addr, a->bytes, 16);
  put_group(t->akey.group, group);
  t->akey.prefixlen = 32 + 128;
  struct bw_match_val *v = bpf_map_lookup_elem(&bw_m_cidr, &t->akey);
  if (!v)
    return BW_NO_RULE;
  or_atoms(atoms, v);
  return v->best;
}

BW_API __u32 bw_match_int(struct bw_event *ev, __u32 slot, __u32 group, __u64 *atoms) {
  struct bw_tmp *t = tmp();
  if (!t)
    return BW_NO_RULE;
  t->ikey.group = group;
  t->ikey.pad = 0;
  t->ikey.value = *int_of(ev, slot);
  struct bw_match_val *v = bpf_map_lookup_elem(&bw_m_int, &t->ikey);
  if (!v)
    return BW_NO_RULE;
  or_atoms(atoms, v);
  return v->best;
}

#endif
