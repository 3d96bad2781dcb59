/* process.exe: the walk of a task's mm->exe_file, and for the current task the per-task cache
 * (bw_exe) the exec hook refreshes, so most events read it without a walk. */
#ifndef BULWARK_BW_EXE_H
#define BULWARK_BW_EXE_H

/* The path and object of executable `f`, a BTF pointer (read through a BTF task): the walk's
 * first components with plain loads (walk_from_btf), the object as file_object_plain takes
 * it. Its identity facts are left to the groups that read them, as bw_file_object leaves them. */
static __always_inline void exe_walk_btf(struct file *f, struct bw_str *out) {
  if (!out->object_only)
    walk_from_btf(f->f_path.dentry, f->f_path.mnt, out);
  if (!object_taken(out))
    file_object_plain(f, out);
}

/* A task with no executable (a kernel thread): an empty path and no object. */
static __always_inline void exe_none(struct bw_str *out) {
  out->len = 0;
  out->data[0] = 0;
  out->obj = 0;
  out->ino = 0;
}

/* `t` must be a BTF pointer (the current task's, its parent, or a hook's argument). */
BW_API void bw_task_exe(struct task_struct *t, struct bw_str *out) {
  struct mm_struct *mm = t ? t->mm : 0;
  struct file *f = mm ? mm->exe_file : 0;
  if (!f) {
    exe_none(out);
    return;
  }
  exe_walk_btf(f, out);
}

/* The object of process.exe (`parent` 0) or parent.exe alone, no string (nothing below it
 * walks: a short call chain); its ancestors only for a prefix group (`prefix`). */
static __always_inline void exe_object(struct bw_str *out, int parent, int prefix) {
  struct task_struct *t = bpf_get_current_task_btf();
  if (parent)
    t = t->real_parent;
  struct mm_struct *mm = t ? t->mm : 0;
  struct file *f = mm ? mm->exe_file : 0;
  out->obj = 0;
  out->ino = 0;
  if (f)
    file_object_btf(f, out, 0, BW_SEQ_UNREAD, prefix);
}

/* process.exe of the current task: from bw_exe when the entry is still valid for this exec,
 * else the walk, whose result then refreshes the entry. `refresh` (the exec hook) always
 * walks. Tasks that exec'd before the policy was loaded, or whose cache was created while
 * the exec hook was not attached, pay the walk once per exec and thread. */
BW_API void bw_current_exe(struct bw_str *out, int refresh) {
  struct task_struct *t = bpf_get_current_task_btf();
  if (!bw_cfg_exe_cache) {
    bw_task_exe(t, out);
    return;
  }
  __u64 id = t->self_exec_id;
  struct mm_struct *mm = t->mm;
  struct file *f = mm ? mm->exe_file : 0;
  if (!f) {
    exe_none(out);
    return;
  }
  if (out->object_only) {
    file_object_btf(f, out, 0, BW_SEQ_UNREAD, 1);
    return;
  }
  struct bw_exe_cache *c = bpf_task_storage_get(&bw_exe, t, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
  if (c && !refresh && c->valid && c->exec_id == id && c->file == (__u64)f) {
    __builtin_memcpy(out->data, c->path, BW_EXE_CACHE_MAX);
    out->len = c->len & (BW_EXE_CACHE_MAX - 1);
    out->truncated = 0;
    out->ino = c->ino;
    out->dev = c->dev;
    out->obj = c->obj;
    return;
  }
  exe_walk_btf(f, out);
  if (c && !out->truncated && out->len < BW_EXE_CACHE_MAX) {
    c->valid = 0;
    __builtin_memcpy(c->path, out->data, BW_EXE_CACHE_MAX);
    c->path[BW_EXE_CACHE_MAX - 1] = 0;
    c->len = out->len;
    c->ino = out->ino;
    c->dev = out->dev;
    c->obj = out->obj;
    c->exec_id = id;
    c->file = (__u64)f;
    c->valid = 1;
  }
}

/* The exec hook (hooks/bprm_committed_creds.bpf.c): the new program's path, into the cache. */
BW_API void bw_exe_at_exec(void) {
  __u32 cpu = bpf_get_smp_processor_id();
  struct bw_event *ev = bpf_map_lookup_elem(&bw_scratch, &cpu);
  if (ev && bw_cfg_exe_cache) {
    /* the slot still holds the last event of this CPU: that event ends, and the walk starts
     * from an empty slot (no object taken, not object-only) */
    struct bw_str *s = &ev->strs[1];
    ev->seq = 0;
    s->object_only = 0;
    s->obj = 0;
    bw_current_exe(s, 1);
  }
}

#endif
