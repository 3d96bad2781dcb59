/* Marks (bw_abi.h, struct bw_marks): per-process state that rules set and later rules test.
 * Kept in the shared task storage bw_marks of the thread group leader, so every thread of a
 * process and every policy see the same marks. A test reads without the lock (a mark is one
 * 8-byte id and its expiry), the slots only when the summary word `present` has the id's bit
 * (most tests are of marks a process does not hold); changes take the lock, so threads
 * setting marks at once cannot lose one. Time is the boot clock (it counts suspend), as a
 * mark's `for` means. The test and the set are never inlined: their frames stay off the hook
 * program's own (stack budget). */
#ifndef BULWARK_BW_MARKS_H
#define BULWARK_BW_MARKS_H

/* The process whose marks `who` (BW_MARK_ON_*) names: the current one or its parent. */
static __always_inline struct task_struct *mark_task(__u32 who) {
  struct task_struct *t = bpf_get_current_task_btf();
  if (who == BW_MARK_ON_PARENT)
    t = t->real_parent;
  return t ? t->group_leader : 0;
}

enum mark_stat { MARK_SET, MARK_FULL, MARK_INHERITED, MARK_NO_STORAGE };

static __always_inline void mark_count(enum mark_stat what) {
  __u32 k = 0;
  struct bw_mark_stats *s = bpf_map_lookup_elem(&bw_mark_stats, &k);
  if (!s)
    return;
  if (what == MARK_SET)
    s->set++;
  else if (what == MARK_FULL)
    s->full++;
  else if (what == MARK_INHERITED)
    s->inherited++;
  else
    s->no_storage++;
}

/* Notes mark slot `m`, found set by a test on process `who`, in the event: the record of the
 * rule that tested it tells when and by which rule it was set. Read without the lock: a mark
 * renewed meanwhile may give the newer setting. */
static __always_inline void mark_found(struct bw_event *ev, __u32 who, const struct bw_mark *m) {
  __u32 n = ev->found_n;  /* at most BW_RECORD_MARKS: a full list writes the slot past it */
  struct bw_found_mark *f = &ev->found[n & (BW_EVENT_FOUND - 1)];
  f->id = m->id;
  f->set_ns = m->set_ns;
  f->rule = m->rule;
  f->instance = m->instance;
  f->who = who;
  f->pad = 0;
  /* n + 1 up to BW_RECORD_MARKS, without a branch: one in every test's path cost the verifier
   * more than some policies have room for (a comparison would compile to one) */
  __u32 below = n - BW_RECORD_MARKS;
  barrier_var(below);
  ev->found_n = n + (below >> 31);
}

/* 1 when process `who` carries live mark `id`, noted in `ev` (mark_found). `fail_closed`: the
 * test sits where its holding can only make a decision stricter, so a process whose marks
 * overflowed holds it too. */
BW_API __attribute__((noinline)) int bw_mark_has(struct bw_event *ev, __u32 who, __u64 id, __u32 fail_closed) {
  struct task_struct *t = mark_task(who);
  if (!t)
    return 0;
  struct bw_marks *m = bpf_task_storage_get(&bw_marks, t, 0, 0);
  if (!m)
    return 0;
  if (!(m->present & bw_mark_bit(id)))
    return fail_closed && m->full;
  for (int i = 0; i < BW_MARK_SLOTS; i++)
    if (m->slot[i].id == id) {
      __u64 expires = m->slot[i].expires_ns;
      if (!expires || bpf_ktime_get_boot_ns() < expires) {
        mark_found(ev, who, &m->slot[i]);
        return 1;
      }
    }
  return fail_closed && m->full;
}

/* Writes mark `id` into slot `s`. */
static __always_inline void mark_write(struct bw_mark *s, __u64 id, __u64 now, __u64 for_ns, __u32 flags, __u32 rule,
                                       __u32 instance) {
  s->id = id;
  s->expires_ns = for_ns ? now + for_ns : 0;
  s->set_ns = now;
  s->rule = rule;
  s->instance = instance;
  s->flags = flags;
}

/* Sets (or renews) mark `id` on process `who` for `for_ns` (0: until exit) with `flags`
 * (BW_MARK_*), naming rule `rule` of this policy instance as the one that set it. A process
 * without a free slot keeps its marks and is marked `full` (its deny-side tests then hold).
 * Each slot is written where it is found (constant offsets, one verifier state per exit of
 * the loops), first the mark's own slot, else the first free one. */
BW_API __attribute__((noinline)) void bw_mark_set(__u32 who, __u64 id, __u64 for_ns, __u32 flags, __u32 rule) {
  struct task_struct *t = mark_task(who);
  if (!t)
    return;
  struct bw_marks *m = bpf_task_storage_get(&bw_marks, t, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
  if (!m) {
    mark_count(MARK_NO_STORAGE);
    return;
  }
  __u64 now = bpf_ktime_get_boot_ns();
  __u32 instance = bw_cfg_instance;
  int done = 0, arrives = 1; /* a renewal of a live mark leaves its presence, and `sets`, as they were */
  bpf_spin_lock(&m->lock);
  for (int i = 0; i < BW_MARK_SLOTS; i++)
    if (m->slot[i].id == id) {
      arrives = !bw_mark_live(&m->slot[i], now);
      mark_write(&m->slot[i], id, now, for_ns, flags, rule, instance);
      done = 1;
      break;
    }
  if (!done)
    for (int i = 0; i < BW_MARK_SLOTS; i++)
      if (!bw_mark_live(&m->slot[i], now)) {
        mark_write(&m->slot[i], id, now, for_ns, flags, rule, instance);
        done = 1;
        break;
      }
  if (done)
    m->present |= bw_mark_bit(id);
  else
    m->full = 1;
  if (arrives)
    m->sets++;
  bpf_spin_unlock(&m->lock);
  mark_count(done ? MARK_SET : MARK_FULL);
}

/* Copies the live marks of `from` (its lock held) into `to`, a storage no program reads yet. */
static __always_inline void marks_copy(struct bw_marks *to, struct bw_marks *from) {
  __u64 now = bpf_ktime_get_boot_ns();
  __u64 present = 0;
  bpf_spin_lock(&from->lock);
  for (int i = 0; i < BW_MARK_SLOTS; i++) {
    to->slot[i] = from->slot[i];
    if (!bw_mark_live(&from->slot[i], now))
      to->slot[i].id = 0;
    else
      present |= bw_mark_bit(from->slot[i].id);
  }
  to->full = from->full;
  to->present = present;
  bpf_spin_unlock(&from->lock);
}

/* A copy of `from`'s marks in task `to`'s storage; -ENOMEM when that storage cannot be had. */
static __always_inline int marks_copy_to(struct task_struct *to, struct task_struct *from) {
  struct bw_marks *p = bpf_task_storage_get(&bw_marks, from, 0, 0);
  if (!p)
    return 0;
  struct bw_marks *c = bpf_task_storage_get(&bw_marks, to, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
  if (!c) {
    mark_count(MARK_NO_STORAGE);
    return -12; /* ENOMEM */
  }
  marks_copy(c, p);
  mark_count(MARK_INHERITED);
  return 0;
}

/* Fork (task_alloc): a new process starts with its parent's live marks. A thread shares its
 * process's marks (they live on the leader), so nothing is copied for one. -ENOMEM when the
 * child's storage cannot be had: the fork fails rather than losing the marks. */
BW_API int bw_marks_at_fork(struct task_struct *child, unsigned long clone_flags) {
  if (clone_flags & 0x00010000 /* CLONE_THREAD */)
    return 0;
  struct task_struct *cur = bpf_get_current_task_btf();
  return marks_copy_to(child, cur->group_leader);
}

/* Exec by a thread other than the leader (bprm_check_security, before the point of no
 * return): the thread becomes the leader and the old leader's storage goes with it, so the
 * thread takes a copy of the process's marks first. If the exec fails the copy stays unread
 * (a thread's own storage is read only once it leads). -ENOMEM fails the exec. */
BW_API int bw_marks_before_exec(void) {
  struct task_struct *t = bpf_get_current_task_btf();
  if (t->pid == t->tgid)
    return 0;
  return marks_copy_to(t, t->group_leader);
}

/* Exec (bprm_committed_creds): the process runs a new program; its `until exec` marks go. */
BW_API void bw_marks_at_exec(void) {
  struct task_struct *t = bpf_get_current_task_btf();
  struct bw_marks *m = bpf_task_storage_get(&bw_marks, t->group_leader, 0, 0);
  if (!m)
    return;
  __u64 present = 0;
  bpf_spin_lock(&m->lock);
  for (int i = 0; i < BW_MARK_SLOTS; i++) {
    if (m->slot[i].flags & BW_MARK_UNTIL_EXEC)
      m->slot[i].id = 0;
    if (m->slot[i].id)
      present |= bw_mark_bit(m->slot[i].id);
  }
  m->present = present;
  bpf_spin_unlock(&m->lock);
}

#endif
