/* What a decision word does: the rule's counters, its count per executable and cgroup
 * (bw_agg), its rate-limited record on the ring buffer, SIGKILL for kill, and the verdict
 * (0 or -EPERM; audit mode never denies). */
#ifndef BULWARK_BW_RECORD_H
#define BULWARK_BW_RECORD_H

static __always_inline __u32 policy_mode(void) {
  __u32 o = bw_cfg_mode_override;
  return o <= BW_MODE_AUDIT ? o : bw_policy_info(BW_INFO_MODE);
}

static __always_inline __u32 word_action(__u32 w) {
  return w == BW_NO_RULE ? bw_policy_info(BW_INFO_DEFAULT) : (w & 3);
}

static __always_inline __u32 rule_index(__u32 rule) {
  return rule == BW_NO_RULE ? bw_policy_info(BW_INFO_RULE_COUNT) : rule;
}

static __always_inline struct bw_counter *counter(__u32 rule) {
  __u32 idx = rule_index(rule);
  return bpf_map_lookup_elem(&bw_counters, &idx);
}

/* The rule's token bucket on this CPU: 1 when a record may be sent now. */
static __always_inline int rate_ok(__u32 rule) {
  __u32 rate = bw_cfg_rec_rate;
  if (!rate)
    return 1;
  __u32 idx = rule_index(rule);
  struct bw_rl *rl = bpf_map_lookup_elem(&bw_rlimit, &idx);
  if (!rl)
    return 1;
  __u64 burst = bw_cfg_rec_burst ? bw_cfg_rec_burst : rate;
  __u64 interval = 1000000000ull / rate;
  if (!interval)
    interval = 1;
  __u64 now = bpf_ktime_get_ns();
  __u64 tat = rl->tat;
  if (tat < now)
    tat = now;
  if (tat - now > (burst - 1) * interval)
    return 0;
  rl->tat = tat + interval;
  return 1;
}

BW_API int bw_wants_record(__u32 w) {
  if (word_action(w) == BW_ACT_ALLOW)
    return 0;
  __u32 rule = BW_WORD_RULE(w);
  if (rate_ok(rule))
    return 1;
  struct bw_counter *cnt = counter(rule);
  if (cnt)
    __sync_fetch_and_add(&cnt->limited, 1);
  return 0;
}

/* process.exe for a new bw_agg entry when the event has it (the policy read it, or the record
 * is sent); else empty, and top names the executable by device and inode. Not resolved here:
 * a path walk in every decision state of a large policy exceeds what the verifier explores. */
static __always_inline void agg_exe(struct bw_event *ev, char *out) {
  struct bw_str *exe = &ev->strs[1];
  if ((ev->touched & BW_NEED_STR(1)) && exe->len) /* not touched: an earlier event's */
    __builtin_memcpy(out, exe->data, BW_AGG_EXE_MAX);
  else
    out[0] = 0;
  out[BW_AGG_EXE_MAX - 1] = 0;
}

/* Counts the decision in bw_agg by rule, executable (file dev, inode) and cgroup: a lookup and
 * an atomic add once the entry exists. A decision bw_agg has no room for is counted in
 * bw_agg_lost, never dropped silently. The new entry is assembled in bw_recbuf, which emit
 * only fills afterwards. */
static __always_inline void aggregate(struct bw_event *ev, __u32 rule) {
  struct bw_agg_key k = {.rule = rule, .cgroup_id = bpf_get_current_cgroup_id()};
  struct task_struct *t = bpf_get_current_task_btf();
  struct mm_struct *mm = t->mm;
  struct file *f = mm ? mm->exe_file : 0;
  if (f) {
    struct inode *i = f->f_inode;
    k.exe_ino = i->i_ino;
    k.exe_dev = i->i_sb->s_dev;
  }
  __u64 now = bpf_ktime_get_ns();
  struct bw_agg_val *v = bpf_map_lookup_elem(&bw_agg, &k);
  if (!v) {
    __u32 z = 0;
    struct bw_recbuf *rb = bpf_map_lookup_elem(&bw_recbuf, &z);
    if (!rb)
      return;
    struct bw_agg_val *nv = (struct bw_agg_val *)rb->b;
    nv->count = 1;
    nv->first_ns = now;
    nv->last_ns = now;
    agg_exe(ev, nv->exe);
    long err = bpf_map_update_elem(&bw_agg, &k, nv, BPF_NOEXIST);
    if (!err)
      return;
    v = bpf_map_lookup_elem(&bw_agg, &k);  /* another CPU created it meanwhile */
  }
  if (v) {
    __sync_fetch_and_add(&v->count, 1);
    v->last_ns = now;
    return;
  }
  __u32 idx = rule_index(rule);
  __u64 *lost = bpf_map_lookup_elem(&bw_agg_lost, &idx);
  if (lost)
    *lost += 1;
}

struct pack_ctx {
  struct bw_event *ev;
  char *buf;
  __u32 off;
};

static __always_inline void pack_str(struct pack_ctx *c, struct bw_record *r, __u32 slot) {
  struct bw_str *s = &c->ev->strs[slot];
  __u32 n = (s->len & (BW_PATH_MAX - 1)) + 1;
  if (s->len == 0 && s->data[0] == 0) {
    r->str_len[slot] = 0;
    return;
  }
  __u32 off = c->off;
  if (off > BW_RECBUF - BW_PATH_MAX)
    return;
  bpf_probe_read_kernel(c->buf + off, n & (2 * BW_PATH_MAX - 1), s->data);
  r->str_len[slot] = n;
  c->off = off + n;
}

/* The marks the deciding rule found (the earlier steps; none when `rule` tests none), their set
 * time moved to the clock of ktime_ns: the decision's time less the mark's age on the boot
 * clock (which counts suspend); it may wrap below 0, which the reader takes as signed. The
 * copy is branch-free, so the verifier's paths through emit do not multiply; entries past
 * after_n are not meaningful. decided_n is at most BW_RECORD_MARKS (mark_found). */
static __always_inline void pack_after(struct bw_event *ev, struct bw_record *r, __u32 rule) {
  r->after_n = ev->found_rule == rule ? ev->decided_n : 0;
  r->after_pad = 0;
  __u64 shift = bpf_ktime_get_boot_ns() - r->ktime_ns;
#pragma unroll
  for (int i = 0; i < BW_RECORD_MARKS; i++) {
    r->after[i] = ev->found[i];
    r->after[i].set_ns = ev->found[i].set_ns - shift;
  }
}

static void emit(struct bw_event *ev, __u32 rule, __u32 action, __u32 flags,
                 struct bw_counter *cnt) {
  __u32 z = 0;
  struct bw_recbuf *rb = bpf_map_lookup_elem(&bw_recbuf, &z);
  if (!rb)
    return;
  struct bw_record *r = (struct bw_record *)rb->b;
  r->ktime_ns = bpf_ktime_get_ns();  /* read only for a record: most events send none */
  r->abi = BW_ABI_VERSION;
  r->hook = ev->hook;
  r->slot = bw_cfg_slot;
  r->instance = bw_cfg_instance;
  r->reserved = 0;
  r->rule = rule;
  r->action = action;
  r->flags = flags;
  r->pid = ev->ints[0];
  r->tgid = ev->ints[1];
  r->ppid = ev->ints[2];
  r->uid = ev->ints[3];
  r->gid = ev->ints[4];
  r->euid = ev->ints[5];
  r->cgroup_id = bpf_get_current_cgroup_id();
  comm_copy(r->comm, bpf_get_current_task_btf());
  __builtin_memcpy(r->ints, ev->ints, sizeof(r->ints));
  __builtin_memcpy(r->addrs, ev->addrs, sizeof(r->addrs));
  pack_after(ev, r, rule);
#pragma unroll
  for (int i = 0; i < BW_STR_SLOTS; i++)
    r->str_len[i] = 0;
  struct pack_ctx c = {.ev = ev, .buf = rb->b, .off = sizeof(struct bw_record)};
  /* process.exe, then the hook's strings, in slot order */
  pack_str(&c, r, 1);
#pragma unroll
  for (int i = BW_COMMON_STR_SLOTS; i < BW_STR_SLOTS; i++)
    pack_str(&c, r, i);
  __u32 size = c.off;
  if (size > BW_RECBUF)
    size = BW_RECBUF;
  long err = bpf_ringbuf_output(&bw_events, rb->b, size, 0);
  if (cnt) {
    if (err)
      __sync_fetch_and_add(&cnt->dropped, 1);
    else
      __sync_fetch_and_add(&cnt->emitted, 1);
  }
}

BW_API int bw_apply(struct bw_event *ev, __u32 w, int record) {
  __u32 action = word_action(w);
  __u32 rule = BW_WORD_RULE(w);
  struct bw_counter *cnt = counter(rule);
  ev->rule = rule;
  if (cnt)
    __sync_fetch_and_add(&cnt->hits, 1);
  if (action == BW_ACT_ALLOW)
    return 0;
  aggregate(ev, rule);
  int deny = action == BW_ACT_DENY || action == BW_ACT_KILL;
  __u32 flags = rule == BW_NO_RULE ? BW_REC_DEFAULT : 0;
  if (deny && policy_mode() == BW_MODE_AUDIT) {
    flags |= BW_REC_WOULD_DENY;
    deny = 0;
  } else if (action == BW_ACT_KILL) {
    bpf_send_signal(9 /* SIGKILL */);
    flags |= BW_REC_KILLED;
  }
  if (record)
    emit(ev, rule, action, flags, cnt);
  return deny ? -EPERM : 0;
}

#endif
