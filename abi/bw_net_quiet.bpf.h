/* Connects that decided nothing, kept per CPU (bw_net_quiet; what the key holds: bw_abi.h).
 * BPF C only, after bw_shared_maps.bpf.h, bw_kept.bpf.h and bw_quiet.bpf.h; the socket_connect
 * dispatcher and the policy library (that hook's template) share it. As bw_quiet.bpf.h for
 * opens, with no first step: a connect reads its whole key, which costs a task storage lookup
 * where the decisions it may skip cost one each.
 *
 *   dispatcher   (socket_connect: a lane whose every program can be quiet, its keyed word
 *                BW_KEYED) bw_net_key_of, then bw_net_quiet_hit: the same key with the lane's
 *                bit skips the lane; else bw_net_quiet_pend puts the key in the pending entry
 *                and bw_state.quiet says "quiet so far"
 *   each program of the lane   bw_quiet_clear unless its decision was quiet (bw_event.quiet)
 *                or it was out of its cgroup scope (the key then holds the cgroup: BW_KEY_CGROUP)
 *   the last one bw_net_quiet_keep: the lane allowed and every program was quiet, so the
 *                pending key goes into its entry with the lane's bit
 *
 * The key is read before the lane decides, so a change while it decides (a mark set, a chain
 * change) leaves an entry that no later key matches. */
#ifndef BULWARK_BW_NET_QUIET_BPF_H
#define BULWARK_BW_NET_QUIET_BPF_H

#define BW_AF_INET 2
#define BW_AF_INET6 10

/* The key of connecting socket `sock` to `sa` (BTF pointers: the hook's arguments) into `k`;
 * the cgroup only when `parts` (the lane's keyed word) has BW_KEY_CGROUP, else 0. 0 when it
 * cannot be keyed: an address of another family, no change counts. The address is read as
 * bw_sockaddr reads it for the decision. */
static __always_inline int bw_net_key_of(struct socket *sock, struct sockaddr *sa, struct bw_net_quiet_key *k,
                                         __u32 parts) {
  if (!sock || !sa || !sock->sk)
    return 0;
  const __u8 *raw = (const __u8 *)sa;
  __u16 family = *(const __u16 *)raw;
  if (family == BW_AF_INET) {
    k->addr[0] = *(const __u32 *)(raw + 4); /* sin_addr */
    k->addr[1] = 0;
  } else if (family == BW_AF_INET6) { /* sin6_addr: past struct sockaddr's BTF, so a probe read */
    if (bpf_probe_read_kernel(k->addr, sizeof(k->addr), raw + 8))
      return 0;
  } else {
    return 0;
  }
  __u64 *hints = bw_hint_count(BW_HINT_CHANGES);
  __u64 *changed = bw_hint_count(BW_HINT_DECISIONS);
  struct task_struct *leader = bpf_get_current_task_btf()->group_leader;
  if (!hints || !changed || !leader)
    return 0;
  k->hints = *hints + *changed; /* both only grow */
  struct bw_marks *m = bpf_task_storage_get(&bw_marks, leader, 0, 0);
  k->sets = m ? m->sets : 0;
  barrier(); /* the counts first, then what the lane reads (x86 keeps loads in order) */
  k->port = *(const __u16 *)(raw + 2);
  k->family = family;
  k->sock_family = sock->sk->__sk_common.skc_family;
  k->pad = 0;
  k->leader = (__u64)leader;
  k->start = leader->start_time;
  k->cgroup = (parts & BW_KEY_CGROUP) ? bpf_get_current_cgroup_id() : 0;
  return 1;
}

#define BW_NET_QUIET_KEY_WORDS ((int)(sizeof(struct bw_net_quiet_key) / 8))

/* This CPU's entry for key `k`, by its destination and process start (the verifier allows no
 * arithmetic on the leader's address). */
static __always_inline struct bw_net_quiet_entry *bw_net_quiet_entry_of(const struct bw_net_quiet_key *k) {
  __u64 h = (k->addr[0] ^ k->addr[1] ^ ((__u64)k->port << 48) ^ k->start) * 0x9E3779B97F4A7C15ull;
  __u32 index = (__u32)(h >> 56) & (BW_NET_QUIET_ENTRIES - 1);
  return bpf_map_lookup_elem(&bw_net_quiet, &index);
}

static __always_inline struct bw_net_quiet_entry *bw_net_quiet_pending(void) {
  __u32 index = BW_NET_QUIET_PENDING;
  return bpf_map_lookup_elem(&bw_net_quiet, &index);
}

/* 1 when socket_connect's lane `lane` decided nothing for key `k` before (its entry has the
 * key and the lane's bit), counted. A subprogram, as bw_quiet_hit. */
static __attribute__((noinline, unused)) int bw_net_quiet_hit(const struct bw_net_quiet_key *k, __u32 lane) {
  struct bw_net_quiet_entry *e = bw_net_quiet_entry_of(k);
  if (!e || lane >= 64)
    return 0;
  __u64 writes = kept_read_begin(&e->writes);
  if ((writes & 1) || !((e->lanes >> lane) & 1) || !kept_same(&e->key, k, 0, BW_NET_QUIET_KEY_WORDS) ||
      !kept_read_end(&e->writes, writes))
    return 0;
  e->hits++;
  return 1;
}

/* The pending entry of event `seq`: key `k`; 1 when it was written. */
static __always_inline int bw_net_quiet_pend(const struct bw_net_quiet_key *k, __u64 seq) {
  struct bw_net_quiet_entry *p = bw_net_quiet_pending();
  if (!p)
    return 0;
  p->key = *k;
  p->hits = seq;
  return 1;
}

/* At the end of the walk of socket_connect's lane `lane`, which returns `verdict`: when it
 * allowed and every program was quiet, the entry of the pending key gets it and the lane's bit. */
static __always_inline void bw_net_quiet_keep(__u32 lane, int verdict) {
  struct bw_state *st = bw_state_here();
  if (verdict || !st || st->verdict || !st->quiet || lane >= 64)
    return;
  struct bw_net_quiet_entry *p = bw_net_quiet_pending();
  if (!p || p->hits != st->seq)
    return;
  struct bw_net_quiet_entry *e = bw_net_quiet_entry_of(&p->key);
  if (e)
    KEPT_KEEP(e, p, BW_NET_QUIET_KEY_WORDS, lane);
}

#endif
