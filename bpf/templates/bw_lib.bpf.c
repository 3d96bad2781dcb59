/* Bulwark BPF template library: maps, policy rodata, field extraction, matching
 * primitives called by the generated decision code, counters and records.
 * CO-RE only. Linked with the hook templates and the generated module by bulwarkc. */
#define BW_LIB_IMPL
#include "bw_lib.h"

/* Library entry points: static in BTF, kept alive for the link (see bw_lib.h). */
#define BW_API static __attribute__((used))
BW_API void bw_path_walk(const struct path *p, struct bw_str *out);
BW_API void bw_file_object(struct file *f, struct bw_str *out);
BW_API void bw_current_exe(struct bw_str *out, int refresh);

char LICENSE[] SEC("license") = "GPL";

/* Maps and rodata of the policy object, declared from abi/maps.def and abi/rodata.def. */
#include "bw_policy_maps.bpf.h"
#define BW_WALK_BUF BW_PATH_MAX
#define BW_RECBUF BW_RECBUF_SIZE

static __always_inline struct bw_tmp *tmp(void) {
  __u32 z = 0;
  return bpf_map_lookup_elem(&bw_tmp, &z);
}

/* BW_INT_SLOTS is not a power of two: bound int slot indexes with a compare. */
static __always_inline __u64 *int_of(struct bw_event *ev, __u32 slot) {
  if (slot >= BW_INT_SLOTS)
    slot = 0;
  barrier_var(slot);
  return &ev->ints[slot < BW_INT_SLOTS ? slot : 0];
}

static __always_inline struct bw_str *str_of(struct bw_event *ev, __u32 slot) {
  return &ev->strs[slot & (BW_STR_SLOTS - 1)];
}

/* ---- event ---- */
BW_API struct bw_event *bw_event_begin(__u32 hook) {
  __u32 cpu = bpf_get_smp_processor_id();
  struct bw_event *ev = bpf_map_lookup_elem(&bw_scratch, &cpu);
  if (!ev)
    return 0;
  ev->hook = hook;
  ev->rule = BW_NO_RULE;
  ev->ktime_ns = bpf_ktime_get_ns();
#pragma unroll
  for (int i = 0; i < BW_INT_SLOTS; i++)
    ev->ints[i] = 0;
#pragma unroll
  for (int i = 0; i < BW_ADDR_SLOTS; i++) {
    ev->addrs[i].family = 0;
    __builtin_memset(ev->addrs[i].bytes, 0, 16);
  }
#pragma unroll
  for (int i = 0; i < BW_STR_SLOTS; i++) {
    ev->strs[i].len = 0;
    ev->strs[i].truncated = 0;
    ev->strs[i].ino = 0;
    ev->strs[i].dev = 0;
    ev->strs[i].obj = 0;
    ev->strs[i].object_only = 0;
    ev->strs[i].facts.done = 0;
    ev->strs[i].data[0] = 0;
  }
  return ev;
}

/* ---- strings ---- */
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

/* ---- paths and the objects they name ---- */
#define BW_OVERLAYFS_MAGIC 0x794c7630
#define BW_S_IFMT 00170000
#define BW_S_IFREG 0100000
#define BW_S_IFDIR 0040000

/* The object of a path: dentry `d` (negative for a name about to be created), its super
 * block's dev_t and its inode number. */
static __always_inline void set_object(struct bw_str *out, struct dentry *d) {
  struct inode *i = d ? BPF_CORE_READ(d, d_inode) : 0;
  out->obj = (__u64)d;
  out->ino = i ? BPF_CORE_READ(i, i_ino) : 0;
  out->dev = d ? BPF_CORE_READ(d, d_sb, s_dev) : 0;
}

/* One name (dentry) of inode `i`: the first of its aliases. */
static __always_inline struct dentry *inode_alias(struct inode *i) {
  struct hlist_node *first = BPF_CORE_READ(i, i_dentry.first);
  if (!first)
    return 0;
  return (struct dentry *)((char *)first - bpf_core_field_offset(struct dentry, d_u.d_alias));
}

/* The object a file is: for a regular file on overlayfs the real file of its upper or lower
 * layer (private_data of an open overlayfs file), and a dentry of the file's own inode
 * (f_path's, unless that names another inode, as when overlayfs opens the real file under the
 * overlay's path). So a file reached through an overlay is the file in the layer. */
BW_API void bw_file_object(struct file *f, struct bw_str *out) {
  struct inode *i = BPF_CORE_READ(f, f_inode);
  struct dentry *d = BPF_CORE_READ(f, f_path.dentry);
  if (i && BPF_CORE_READ(i, i_sb, s_magic) == BW_OVERLAYFS_MAGIC &&
      (BPF_CORE_READ(i, i_mode) & BW_S_IFMT) == BW_S_IFREG) {
    struct file *real = (struct file *)BPF_CORE_READ(f, private_data);
    if (real) {
      i = BPF_CORE_READ(real, f_inode);
      d = 0;
    }
  }
  if (i && (!d || BPF_CORE_READ(d, d_inode) != i))
    d = inode_alias(i);
  set_object(out, d);
}

static __always_inline void facts_btf(struct bw_str *out, struct dentry *d);

/* 1 when the policy has identity groups (constant after linking: the rest folds away). */
static __always_inline int ident_used(void) {
  return bw_policy_info(BW_INFO_IDENT_EXACT) || bw_policy_info(BW_INFO_IDENT_PREFIX);
}

/* bw_file_object for a BTF pointer `f` (an LSM argument, or read from one): plain loads, no
 * probe reads, and the object's facts worked out on the way (facts_btf). Overlayfs files and
 * a dentry of another inode take the general path. */
static __always_inline void file_object_btf(struct file *f, struct bw_str *out) {
  struct inode *i = f->f_inode;
  struct dentry *d = f->f_path.dentry;
  if (!i || !d || d->d_inode != i ||
      (i->i_sb->s_magic == BW_OVERLAYFS_MAGIC && (i->i_mode & BW_S_IFMT) == BW_S_IFREG)) {
    bw_file_object(f, out);
    return;
  }
  out->obj = (__u64)d;
  out->ino = i->i_ino;
  out->dev = d->d_sb->s_dev;
  facts_btf(out, d);
}

/* `f` must be a BTF pointer (an LSM argument): bpf_d_path, the process's view of the path. */
BW_API void bw_file_d_path(struct file *f, struct bw_str *out) {
  if (!out->object_only) {
    long n = bpf_d_path((struct path *)&f->f_path, out->data, BW_PATH_MAX);
    if (n < 0) /* -ENAMETOOLONG and friends: fall back to the walk */
      bw_path_walk(&f->f_path, out);
    else
      set_len(out, n);
  }
  file_object_btf(f, out);
}

/* `p` must be a BTF pointer (an LSM argument's struct path). */
BW_API void bw_path_d_path(struct path *p, struct bw_str *out) {
  if (out->object_only) {
    set_object(out, p->dentry);
    return;
  }
  long n = bpf_d_path(p, out->data, BW_PATH_MAX);
  if (n < 0) {
    bw_path_walk(p, out);
    return;
  }
  set_len(out, n);
  set_object(out, p->dentry);
}

/* Dentry walk, leaf to root, written right to left into tmp()->walk; crosses mounts via
 * struct mount. Bounded by BW_WALK_DEPTH components; deeper paths are truncated (their
 * leading part is dropped and `truncated` set). */
#define BW_WALK_DEPTH 64
struct walk_ctx {
  struct dentry *d;
  struct mount *m;
  char *buf;
  long off; /* start of the path written so far, in buf */
  int truncated;
};

static long walk_step(__u32 i, void *arg) {
  struct walk_ctx *c = arg;
  struct dentry *d = c->d;
  struct mount *m = c->m;
  struct dentry *mnt_root = BPF_CORE_READ(m, mnt.mnt_root);
  struct dentry *parent = BPF_CORE_READ(d, d_parent);
  if (d == mnt_root || d == parent) {
    struct mount *mp = BPF_CORE_READ(m, mnt_parent);
    if (m != mp && mp) { /* cross to the mount point in the parent mount */
      c->d = BPF_CORE_READ(m, mnt_mountpoint);
      c->m = mp;
      return 0;
    }
    return 1; /* global root */
  }
  __u32 len = BPF_CORE_READ(d, d_name.len);
  const unsigned char *name = BPF_CORE_READ(d, d_name.name);
  long off = c->off - (long)len - 1;
  if (off < 0) {
    c->truncated = 1;
    return 1;
  }
  char *buf = c->buf;
  bpf_probe_read_kernel(buf + ((off + 1) & (BW_WALK_BUF - 1)), len & (BW_WALK_BUF - 1), name);
  buf[off & (BW_WALK_BUF - 1)] = '/';
  c->off = off;
  c->d = parent;
  return 0;
}

static void walk_from(struct dentry *d, struct vfsmount *vmnt, struct bw_str *out) {
  struct bw_tmp *t = tmp();
  if (!t || !d || !vmnt) {
    out->len = 0;
    out->data[0] = 0;
    return;
  }
  struct walk_ctx c = {
      .d = d,
      .m = (struct mount *)((char *)vmnt - bpf_core_field_offset(struct mount, mnt)),
      .buf = t->walk,
      .off = BW_WALK_BUF - 1,
      .truncated = 0,
  };
  t->walk[BW_WALK_BUF - 1] = 0;
  bpf_loop(BW_WALK_DEPTH, walk_step, &c, 0);
  long off = c.off;
  if (off == BW_WALK_BUF - 1) { /* the root itself */
    out->data[0] = '/';
    out->data[1] = 0;
    out->len = 1;
    out->truncated = 0;
    return;
  }
  __u32 len = (BW_WALK_BUF - 1 - off) & (BW_WALK_BUF - 1);
  bpf_probe_read_kernel(out->data, (len + 1) & (BW_WALK_BUF - 1),
                        t->walk + (off & (BW_WALK_BUF - 1)));
  out->data[len & (BW_WALK_BUF - 1)] = 0;
  out->len = len;
  out->truncated = c.truncated || (c.d && c.off == 0);
}

BW_API void bw_path_walk(const struct path *p, struct bw_str *out) {
  if (!out->object_only)
    walk_from(BPF_CORE_READ(p, dentry), BPF_CORE_READ(p, mnt), out);
  set_object(out, BPF_CORE_READ(p, dentry));
}

BW_API void bw_dentry_walk(const struct path *dir, struct dentry *d, struct bw_str *out) {
  if (!out->object_only)
    walk_from(d, BPF_CORE_READ(dir, mnt), out);
  set_object(out, d);
}

/* An open file given by a plain pointer (not BTF): the walk of its path, and its object. */
BW_API void bw_file_walk(struct file *f, struct bw_str *out) {
  if (!out->object_only)
    walk_from(BPF_CORE_READ(f, f_path.dentry), BPF_CORE_READ(f, f_path.mnt), out);
  bw_file_object(f, out);
}

BW_API void bw_task_exe(struct task_struct *t, struct bw_str *out) {
  struct file *f = BPF_CORE_READ(t, mm, exe_file);
  if (!f) { /* kernel thread */
    out->len = 0;
    out->data[0] = 0;
    out->obj = 0;
    out->ino = 0;
    return;
  }
  bw_file_walk(f, out);
}

/* The object of process.exe alone, no string (nothing below it walks: a short call chain). */
static __always_inline void current_exe_object(struct bw_str *out) {
  struct task_struct *t = bpf_get_current_task_btf();
  struct mm_struct *mm = t->mm;
  struct file *f = mm ? mm->exe_file : 0;
  out->obj = 0;
  out->ino = 0;
  if (f)
    file_object_btf(f, out);
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
  if (!f) { /* kernel thread */
    out->len = 0;
    out->data[0] = 0;
    out->obj = 0;
    out->ino = 0;
    return;
  }
  if (out->object_only) {
    file_object_btf(f, out);
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
  bw_file_walk(f, out);
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
  if (ev && bw_cfg_exe_cache)
    bw_current_exe(&ev->strs[1], 1);
}

/* cgroup v2 path of the task, relative to the root: kernfs walk. kernfs_node.parent was
 * renamed __parent in 6.15; both are handled. */
struct kernfs_node___old {
  struct kernfs_node___old *parent;
} __attribute__((preserve_access_index));
struct kernfs_node___new {
  struct kernfs_node___new *__parent;
} __attribute__((preserve_access_index));

static __always_inline struct kernfs_node *kn_parent(struct kernfs_node *kn) {
  if (bpf_core_field_exists(struct kernfs_node___new, __parent))
    return (struct kernfs_node *)BPF_CORE_READ((struct kernfs_node___new *)kn, __parent);
  return (struct kernfs_node *)BPF_CORE_READ((struct kernfs_node___old *)kn, parent);
}

struct kn_ctx {
  struct kernfs_node *kn;
  char *buf;
  long off;
  int truncated;
};

static long kn_step(__u32 i, void *arg) {
  struct kn_ctx *c = arg;
  struct kernfs_node *kn = c->kn;
  struct kernfs_node *parent = kn_parent(kn);
  if (!parent)
    return 1; /* the root has no name in the path */
  const char *name = BPF_CORE_READ(kn, name);
  char *buf = c->buf;
  /* names are read into the left half, then moved next to the path */
  long n = bpf_probe_read_kernel_str(buf + BW_WALK_BUF, 256, name);
  if (n <= 1) {
    c->kn = parent;
    return 0;
  }
  long len = n - 1;
  long off = c->off - len - 1;
  if (off < 0) {
    c->truncated = 1;
    return 1;
  }
  bpf_probe_read_kernel(buf + ((off + 1) & (BW_WALK_BUF - 1)), len & 255, buf + BW_WALK_BUF);
  buf[off & (BW_WALK_BUF - 1)] = '/';
  c->off = off;
  c->kn = parent;
  return 0;
}

static void task_cgroup(struct task_struct *t, struct bw_str *out) {
  struct bw_tmp *tb = tmp();
  struct kernfs_node *kn = BPF_CORE_READ(t, cgroups, dfl_cgrp, kn);
  if (!tb || !kn) {
    out->len = 0;
    out->data[0] = 0;
    return;
  }
  struct kn_ctx c = {.kn = kn, .buf = tb->walk, .off = BW_WALK_BUF - 1, .truncated = 0};
  tb->walk[BW_WALK_BUF - 1] = 0;
  bpf_loop(BW_WALK_DEPTH, kn_step, &c, 0);
  long off = c.off;
  if (off == BW_WALK_BUF - 1) {
    out->data[0] = '/';
    out->data[1] = 0;
    out->len = 1;
    return;
  }
  __u32 len = (BW_WALK_BUF - 1 - off) & (BW_WALK_BUF - 1);
  bpf_probe_read_kernel(out->data, (len + 1) & (BW_WALK_BUF - 1),
                        tb->walk + (off & (BW_WALK_BUF - 1)));
  out->data[len & (BW_WALK_BUF - 1)] = 0;
  out->len = len;
  out->truncated = c.truncated;
}

/* ---- common fields ---- */
BW_API void bw_fill_common(struct bw_event *ev, __u64 need) {
  struct task_struct *t = (struct task_struct *)bpf_get_current_task();
  if (need & (BW_NEED_INT(0) | BW_NEED_INT(1))) {
    __u64 pt = bpf_get_current_pid_tgid();
    ev->ints[0] = (__u32)pt;
    ev->ints[1] = pt >> 32;
  }
  if (need & BW_NEED_INT(2))
    ev->ints[2] = BPF_CORE_READ(t, real_parent, tgid);
  if (need & (BW_NEED_INT(3) | BW_NEED_INT(4))) {
    __u64 ug = bpf_get_current_uid_gid();
    ev->ints[3] = (__u32)ug;
    ev->ints[4] = ug >> 32;
  }
  if (need & BW_NEED_INT(5))
    ev->ints[5] = BPF_CORE_READ(t, cred, euid.val);
  if (need & BW_NEED_STR(0))
    bw_task_comm(t, &ev->strs[0]);
  if ((need & BW_NEED_STR(1)) && ev->strs[1].len == 0 && !ev->strs[1].object_only)
    bw_current_exe(&ev->strs[1], 0); /* object only: when a lookup first reads it (bw_match_object) */
  if (need & BW_NEED_STR(2))
    task_cgroup(t, &ev->strs[2]);
  if (need & BW_NEED_STR(3))
    bw_task_comm(BPF_CORE_READ(t, real_parent), &ev->strs[3]);
  if (need & BW_NEED_STR(4))
    bw_task_exe(BPF_CORE_READ(t, real_parent), &ev->strs[4]);
}

/* ---- network ---- */
BW_API void bw_sockaddr(struct sockaddr *sa, struct bw_event *ev, __u32 addr_slot, __u32 port_slot) {
  struct bw_addr *a = &ev->addrs[addr_slot & (BW_ADDR_SLOTS - 1)];
  __u16 family = 0;
  if (!sa)
    return;
  bpf_probe_read_kernel(&family, sizeof(family), &sa->sa_family);
  if (family == 2 /* AF_INET */) {
    struct sockaddr_in *in = (struct sockaddr_in *)sa;
    __u16 port = 0;
    a->family = 2;
    __builtin_memset(a->bytes, 0, 10);
    a->bytes[10] = 0xff;
    a->bytes[11] = 0xff;
    bpf_probe_read_kernel(&a->bytes[12], 4, &in->sin_addr);
    bpf_probe_read_kernel(&port, 2, &in->sin_port);
    *int_of(ev, port_slot) = __builtin_bswap16(port);
  } else if (family == 10 /* AF_INET6 */) {
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)sa;
    __u16 port = 0;
    a->family = 10;
    bpf_probe_read_kernel(a->bytes, 16, &in6->sin6_addr);
    bpf_probe_read_kernel(&port, 2, &in6->sin6_port);
    *int_of(ev, port_slot) = __builtin_bswap16(port);
  }
}

/* ---- scope ---- */
static __u32 lookup_exact(struct bw_str *s, __u32 group, __u64 *atoms);
BW_API __u32 bw_match_object(struct bw_event *ev, __u32 slot, __u32 group, __u32 prefix, __u64 *atoms);

BW_API int bw_in_scope(struct bw_event *ev) {
  __u32 kind = bw_cfg_scope_kind;
  if (kind == BW_SCOPE_CGROUP) {
    __u32 n = bw_cfg_cgroup_count;
#pragma unroll
    for (int i = 0; i < BW_SCOPE_CGROUPS; i++) {
      if (i >= n)
        break;
      if (bpf_get_current_ancestor_cgroup_id(bw_cfg_cgroup_level[i]) == bw_cfg_cgroup_id[i])
        return 1;
    }
    return 0;
  }
  if (kind == BW_SCOPE_EXECUTABLE) {
    __u64 atoms[BW_ATOM_WORDS] = {};
    bw_current_exe(&ev->strs[1], 0);
    return lookup_exact(&ev->strs[1], BW_GROUP_SCOPE_EXE, atoms) != BW_NO_RULE ||
           (bw_policy_info(BW_INFO_SCOPE_EXE) &&
            bw_match_object(ev, 1, BW_GROUP_SCOPE_EXE, 0, atoms) != BW_NO_RULE);
  }
  return 1;
}

/* ---- matching primitives (called by the generated decision code) ---- */
static __always_inline void or_atoms(__u64 *atoms, struct bw_match_val *v) {
#pragma unroll
  for (int i = 0; i < BW_ATOM_WORDS; i++)
    atoms[i] |= v->atoms[i];
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
  c->h = (c->h ^ (__u8)c->p[i & (BW_PATH_MAX - 1)]) * BW_FNV_PRIME;
  return 0;
}

static struct bw_match_val *exact_val(struct bw_str *s, __u32 group) {
  struct bw_tmp *t = tmp();
  if (!t)
    return 0;
  struct hash_ctx c = {.p = s->data, .len = s->len & (BW_PATH_MAX - 1), .h = BW_FNV_OFFSET};
  bpf_loop(c.len, hash_step, &c, 0);
  t->ekey.group = group;
  t->ekey.len = c.len;
  t->ekey.hash = c.h;
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

/* ---- objects (bw_match.h: bw_m_ident, bw_m_hint) ----
 * A path test on an identity group decides on the object: its own labels, its name in its
 * parent directory (exact), its ancestors up to the root of its filesystem (prefix). None of
 * this depends on the process's root, mount namespace or bind mounts. What the object has is
 * worked out once (struct bw_facts: which of its inode, directory and ancestors have hints),
 * then each group looks up only the labels a hint points at. */
static __always_inline struct bw_match_val *ident_val(__u32 group, __u32 dev, __u64 ino, __u64 name) {
  struct bw_ident_key k = {.group = group, .dev = dev, .ino = ino, .name = name};
  return bpf_map_lookup_elem(&bw_m_ident, &k);
}

static __always_inline __u64 *hint_word(__u32 dev, __u64 ino, __u64 kind, __u64 *bit) {
  __u32 b = bw_ident_hint(dev, ino, kind);
  __u32 w = b >> 6;
  *bit = 1ull << (b & 63);
  return bpf_map_lookup_elem(&bw_m_hint, &w);
}

/* 1 when (dev, ino, kind) may have a label in some group. */
static __always_inline int hinted(__u32 dev, __u64 ino, __u64 kind) {
  __u64 bit;
  __u64 *w = hint_word(dev, ino, kind, &bit);
  return !w || (*w & bit);
}

/* Set before the label it stands for is written. */
static __always_inline void hint_set(__u32 dev, __u64 ino, __u64 kind) {
  __u64 bit;
  __u64 *w = hint_word(dev, ino, kind, &bit);
  if (w && !(*w & bit))
    __sync_fetch_and_or(w, bit);
}

static __always_inline void val_add(struct bw_match_val *into, struct bw_match_val *v) {
  if (v)
    bw_match_val_merge(into, v);
}

static __always_inline __u64 dentry_ino(struct dentry *d) {
  struct inode *i = BPF_CORE_READ(d, d_inode);
  return i ? BPF_CORE_READ(i, i_ino) : 0;
}

/* The parent of `d` in its filesystem, 0 at its root. */
static __always_inline struct dentry *dentry_up(struct dentry *d) {
  struct dentry *parent = BPF_CORE_READ(d, d_parent);
  return parent && parent != d ? parent : 0;
}

/* Keeps ancestor `ino` in `f` when it has a hint; 1 when under[] was full (crowded). */
static __always_inline int facts_add_under(struct bw_facts *f, __u32 dev, __u64 ino) {
  if (!hinted(dev, ino, BW_IDENT_UNDER))
    return 0;
  __u32 n = f->nunder;
  if (n >= BW_FACT_UNDER) {
    f->incomplete = BW_FACTS_CROWDED;
    return 1;
  }
  f->under[n & (BW_FACT_UNDER - 1)] = ino;
  f->nunder = n + 1;
  return 0;
}

/* A walk up from `d`: the hinted ancestors into `f` (under_step), or one group's labels of
 * every ancestor into `into` (lookup_step). */
struct up_ctx {
  struct dentry *d;   /* the ancestor reached so far */
  struct bw_facts *f;
  struct bw_match_val *into;
  __u32 group;
  __u32 dev;
  int done;           /* 1: the filesystem's root was reached */
};

static long under_step(__u32 i, void *arg) {
  struct up_ctx *c = arg;
  struct dentry *parent = dentry_up(c->d);
  if (!parent) {
    c->done = 1;
    return 1;
  }
  if (facts_add_under(c->f, c->dev, dentry_ino(parent)))
    return 1;
  c->d = parent;
  return 0;
}

/* The ancestors of `d` that have hints. A walk longer than BW_IDENT_WALK is incomplete. */
static __always_inline void facts_under(struct bw_facts *f, struct dentry *d, __u32 dev) {
  struct up_ctx c = {.d = d, .f = f, .dev = dev, .done = 0};
  f->nunder = 0;
  f->incomplete = 0;
  bpf_loop(BW_IDENT_WALK, under_step, &c, 0);
  if (!c.done && !f->incomplete)
    f->incomplete = 1;
  f->done |= BW_FACTS_UNDER;
}

/* FNV-1a 64 of the last component of `d` (bw_tmp's walk buffer holds it meanwhile). */
static __always_inline __u64 name_hash(struct dentry *d) {
  struct bw_tmp *t = tmp();
  if (!t)
    return 0;
  long n = bpf_probe_read_kernel_str(t->walk, 256, BPF_CORE_READ(d, d_name.name));
  if (n <= 1)
    return 0;
  struct hash_ctx c = {.p = t->walk, .len = (__u32)(n - 1) & 255, .h = BW_FNV_OFFSET};
  bpf_loop(c.len, hash_step, &c, 0);
  return c.h;
}

/* The object's directory (inode `dir`, 0 for none) and name, when its entries have hints. */
static __always_inline void facts_set_name(struct bw_facts *f, struct dentry *d, __u32 dev, __u64 dir) {
  f->dir = 0;
  f->name = 0;
  if (dir && hinted(dev, dir, BW_HINT_NAMES)) {
    f->dir = dir;
    f->name = BW_IDENT_NAME(name_hash(d));
  }
  f->done |= BW_FACTS_NAME;
}

static __always_inline void facts_name(struct bw_facts *f, struct dentry *d, __u32 dev) {
  struct dentry *parent = dentry_up(d);
  facts_set_name(f, d, dev, parent ? dentry_ino(parent) : 0);
}

static __always_inline void facts_self(struct bw_facts *f, __u32 dev, __u64 ino) {
  f->self = ino && hinted(dev, ino, BW_IDENT_SELF);
  f->done |= BW_FACTS_SELF;
}

/* Works out the parts of `f` a group of kind `prefix` reads (once: `f->done`). */
static __always_inline void facts_for(struct bw_facts *f, struct dentry *d, __u32 dev, __u64 ino, int prefix) {
  if (!(f->done & BW_FACTS_SELF))
    facts_self(f, dev, ino);
  if (prefix && !(f->done & BW_FACTS_UNDER))
    facts_under(f, d, dev);
  if (!prefix && !(f->done & BW_FACTS_NAME))
    facts_name(f, d, dev);
}

/* The facts of a dentry given as a BTF pointer, worked out at extraction with plain loads
 * (what facts_for does with probe reads). Ancestors beyond BW_FACT_BTF_DEPTH are left to
 * facts_for. Only for policies with identity groups. */
#define BW_FACT_BTF_DEPTH 16
static __always_inline void facts_btf(struct bw_str *out, struct dentry *d) {
  if (!ident_used())
    return;
  struct bw_facts *f = &out->facts;
  __u32 dev = out->dev;
  facts_self(f, dev, out->ino);
  struct dentry *parent = d->d_parent;
  struct inode *pi = parent && parent != d ? parent->d_inode : 0;
  facts_set_name(f, d, dev, pi ? pi->i_ino : 0);
  if (!bw_policy_info(BW_INFO_IDENT_PREFIX))
    return;
  f->nunder = 0;
  f->incomplete = 0;
  struct dentry *cur = d;
  for (int k = 0; k < BW_FACT_BTF_DEPTH; k++) {
    struct dentry *p = cur->d_parent;
    if (!p || p == cur) {
      f->done |= BW_FACTS_UNDER;
      return;
    }
    struct inode *ip = p->d_inode;
    if (facts_add_under(f, dev, ip ? ip->i_ino : 0)) {
      f->done |= BW_FACTS_UNDER;
      return;
    }
    cur = p;
  }
}

static long lookup_step(__u32 i, void *arg) {
  struct up_ctx *c = arg;
  struct dentry *parent = dentry_up(c->d);
  if (!parent) {
    c->done = 1;
    return 1;
  }
  val_add(c->into, ident_val(c->group, c->dev, dentry_ino(parent), BW_IDENT_UNDER));
  c->d = parent;
  return 0;
}

/* Crowded hints (more hinted ancestors than bw_facts keeps): every ancestor's label of one
 * group, looked up. Slower, never less. */
static __always_inline void lookup_ancestors(struct dentry *d, __u32 group, __u32 dev, struct bw_match_val *into) {
  struct up_ctx c = {.d = d, .into = into, .group = group, .dev = dev, .done = 0};
  bpf_loop(BW_IDENT_WALK, lookup_step, &c, 0);
  if (!c.done)
    val_add(into, ident_val(group, 0, 0, BW_IDENT_INCOMPLETE));
}

/* What the object of `f` (dentry `d`, inode `ino`, 0 for none) means in a group. */
static __always_inline void facts_val(struct bw_facts *f, struct dentry *d, __u32 dev, __u64 ino, __u32 group,
                                      int prefix, struct bw_match_val *into) {
  into->best = BW_NO_RULE;
  __builtin_memset(into->atoms, 0, sizeof(into->atoms));
  if (f->self)
    val_add(into, ident_val(group, dev, ino, BW_IDENT_SELF));
  if (!prefix) {
    if (f->dir)
      val_add(into, ident_val(group, dev, f->dir, f->name));
    return;
  }
  if (f->incomplete == BW_FACTS_CROWDED) {
    lookup_ancestors(d, group, dev, into);
    return;
  }
  __u32 n = f->nunder;
#pragma unroll
  for (int i = 0; i < BW_FACT_UNDER; i++) {
    if (i >= n)
      break;
    val_add(into, ident_val(group, dev, f->under[i], BW_IDENT_UNDER));
  }
  if (f->incomplete)
    val_add(into, ident_val(group, 0, 0, BW_IDENT_INCOMPLETE));
}

/* ---- strings the decision does not need ----
 * The string of a path is a view the process shapes; it is read for an identity group only to
 * add denials for protected paths that had no object at load (bw_cfg_view_groups, set by the
 * runtime). Where no group on a field needs it, the field's object is extracted alone. */

/* Called by bw_lazy_<H> for a hook field read only by identity groups `groups` (bits):
 * `need_bit` when its string is not built this event, else 0. */
BW_API __u64 bw_object_only(struct bw_event *ev, __u32 slot, __u32 groups, __u64 need_bit) {
  if (bw_cfg_view_groups & groups)
    return 0;
  str_of(ev, slot)->object_only = 1;
  return need_bit;
}

/* Where a group's view can match at all: the first bytes (bw_cfg_view_head & _mask, up to
 * BW_VIEW_HEADS per group, set by the runtime from the paths that had no object at load). A
 * string that starts otherwise is none of those paths, and the group's other paths decide on
 * objects. The defaults (mask 0) let every string through. */

static __always_inline int view_may_match(struct bw_str *s, __u32 index) {
  if (index >= BW_IDENT_GROUPS)
    return 1;
  if (!((bw_cfg_view_groups >> index) & 1))
    return 0;
  __u64 head;
  __builtin_memcpy(&head, s->data, sizeof head);
#pragma unroll
  for (int j = 0; j < BW_VIEW_HEADS; j++)
    if ((head & bw_cfg_view_mask[index][j]) == bw_cfg_view_head[index][j])
      return 1;
  return 0;
}

/* The string lookup of identity group `group`, `where` = its position in bw_cfg_ident_* | 256
 * for a prefix group: what the process's view may add (denials), where it can match. */
BW_API __u32 bw_match_view(struct bw_event *ev, __u32 slot, __u32 group, __u32 where, __u64 *atoms) {
  struct bw_str *s = str_of(ev, slot);
  if (s->object_only || !view_may_match(s, where & 255))
    return BW_NO_RULE;
  return where & 256 ? bw_match_prefix(ev, slot, group, atoms) : bw_match_exact(ev, slot, group, atoms);
}

/* Before a record: every string is built. */
BW_API void bw_objects_full(struct bw_event *ev) {
#pragma unroll
  for (int i = 0; i < BW_STR_SLOTS; i++)
    ev->strs[i].object_only = 0;
}

/* The generated code calls this for every identity group (beside the string lookup, which
 * only holds what the process's view may add: denials). */
BW_API __u32 bw_match_object(struct bw_event *ev, __u32 slot, __u32 group, __u32 prefix, __u64 *atoms) {
  struct bw_str *s = str_of(ev, slot);
  if (slot == 1 && s->object_only && !s->obj) /* process.exe: its object, at its first use */
    current_exe_object(s);
  struct dentry *d = (struct dentry *)s->obj;
  if (!d)
    return BW_NO_RULE;
  struct bw_match_val v;
  facts_for(&s->facts, d, s->dev, s->ino, prefix);
  facts_val(&s->facts, d, s->dev, s->ino, group, prefix, &v);
  or_atoms(atoms, &v);
  return v.best;
}

/* ---- learning: a protected file keeps its meaning under a name elsewhere ---- */
/* 1 when `a` holds nothing `b` does not. */
static __always_inline int val_within(struct bw_match_val *a, struct bw_match_val *b) {
  __u64 extra = 0;
#pragma unroll
  for (int i = 0; i < BW_ATOM_WORDS; i++)
    extra |= a->atoms[i] & ~b->atoms[i];
  return a->best >= b->best && !extra;
}

struct learn_ctx {
  struct dentry *from;  /* the object's current name */
  struct dentry *to;    /* its new name (a link or rename target) */
  struct bw_facts *had; /* the object at `from` */
  struct bw_facts *will; /* at `to` */
  struct inode *inode;  /* the object */
  __u32 dev;
  __u64 ino;
  int other_names;      /* the object has a name besides `to` after the operation */
  int failed;           /* a label the map could not take */
};

static __always_inline int ident_put(__u32 group, __u32 dev, __u64 ino, __u64 name, struct bw_match_val *v) {
  struct bw_ident_key k = {.group = group, .dev = dev, .ino = ino, .name = name};
  struct bw_match_val nv = *v;
  struct bw_match_val *old = bpf_map_lookup_elem(&bw_m_ident, &k);
  if (old) {
    if (val_within(v, old))
      return 0;
    bw_match_val_merge(&nv, old);
  }
  hint_set(dev, ino, bw_ident_hint_kind(name));
  return bpf_map_update_elem(&bw_m_ident, &k, &nv, BPF_ANY) ? -1 : 0;
}

/* For group i, the inode keeps (SELF) what its names mean once no location says it for all of
 * them: what it meant at `from` when `to` does not mean it (a protected file linked or moved
 * elsewhere; a directory also passes it to everything below: UNDER), and what `to` means when
 * it keeps another name (a file linked or renamed onto a protected name). Nothing is kept for
 * a move inside one protected place, so ordinary renames take no room. */
static long learn_step(__u32 i, void *arg) {
  struct learn_ctx *c = arg;
  if (i >= BW_IDENT_GROUPS)
    return 1;
  barrier_var(i); /* keep the mask: the verifier loses the bound above on the way to the index */
  i &= BW_IDENT_GROUPS - 1;
  __u32 group = bw_cfg_ident_group[i];
  int prefix = bw_cfg_ident_kind[i] == BW_IDENT_PREFIX;
  struct inode *inode = c->inode; /* a plain local: CO-RE reads need a kernel type's pointer */
  struct bw_tmp *t = tmp(); /* the values live there: this frame sits on a deep call chain */
  if (!t) {
    c->failed = 1;
    return 1;
  }
  struct bw_match_val *had = &t->lval[0], *will = &t->lval[1], *keep = &t->lval[2];
  facts_val(c->had, c->from, c->dev, c->ino, group, prefix, had);
  facts_val(c->will, c->to, c->dev, 0, group, prefix, will);
  int leaving = !val_within(had, will);
  int arriving = c->other_names && !val_within(will, had);
  if (!leaving && !arriving)
    return 0;
  *keep = *had;
  if (arriving)
    bw_match_val_merge(keep, will);
  if (ident_put(group, c->dev, c->ino, BW_IDENT_SELF, keep))
    c->failed = 1;
  if (leaving && prefix && (BPF_CORE_READ(inode, i_mode) & BW_S_IFMT) == BW_S_IFDIR &&
      ident_put(group, c->dev, c->ino, BW_IDENT_UNDER, had))
    c->failed = 1;
  return 0;
}

/* Every part of the facts of dentry `d` (learning reads them for groups of both kinds). */
static __always_inline void facts_all(struct bw_facts *f, struct dentry *d, __u32 dev, __u64 ino) {
  f->done = 0;
  facts_for(f, d, dev, ino, 0);
  facts_for(f, d, dev, ino, 1);
}

/* 0, or -EPERM when a label could not be kept (the map is full): the link or rename is then
 * denied rather than the object losing its protection. */
static __always_inline int ident_learn(struct dentry *from, struct dentry *to, struct inode *inode,
                                       int other_names) {
  if (!from || !to || !inode || !bw_cfg_ident_count)
    return 0;
  struct bw_tmp *t = tmp();
  if (!t)
    return -EPERM;
  __u32 dev = BPF_CORE_READ(from, d_sb, s_dev);
  __u64 ino = BPF_CORE_READ(inode, i_ino);
  facts_all(&t->lfacts[0], from, dev, ino);
  facts_all(&t->lfacts[1], to, dev, 0);
  struct learn_ctx c = {.from = from, .to = to, .had = &t->lfacts[0], .will = &t->lfacts[1], .inode = inode, .dev = dev,
                        .ino = ino, .other_names = other_names, .failed = 0};
  bpf_loop(bw_cfg_ident_count, learn_step, &c, 0);
  return c.failed ? -EPERM : 0;
}

struct forget_ctx {
  __u32 dev;
  __u64 ino;
};

static long forget_step(__u32 i, void *arg) {
  struct forget_ctx *c = arg;
  if (i >= BW_IDENT_GROUPS)
    return 1;
  barrier_var(i);
  struct bw_ident_key k = {.group = bw_cfg_ident_group[i & (BW_IDENT_GROUPS - 1)], .dev = c->dev,
                           .ino = c->ino, .name = BW_IDENT_SELF};
  bpf_map_delete_elem(&bw_m_ident, &k);
  return 0;
}

/* An inode (a BTF pointer: an LSM argument, or read from one) whose last link goes away is
 * forgotten, so a file that later gets its number is not taken for it. (The LSM hook runs before the operation; should it fail, the file
 * keeps its location's protection, and it had no other name.) */
static __always_inline void ident_forget_last(struct inode *inode) {
  if (!inode || !bw_cfg_ident_count || inode->i_nlink != 1)
    return;
  struct forget_ctx c = {.dev = inode->i_sb->s_dev, .ino = inode->i_ino};
  if (!hinted(c.dev, c.ino, BW_IDENT_SELF))
    return;
  bpf_loop(bw_cfg_ident_count, forget_step, &c, 0);
}

/* Called by the path_link/path_rename/path_unlink templates (kIdentityHooks), whether or not
 * the policy has rules on those hooks. A hard link of a protected file is protected. */
BW_API int bw_ident_at_link(struct dentry *old_dentry, struct dentry *new_dentry) {
  if (!ident_used())
    return 0;
  return ident_learn(old_dentry, new_dentry, BPF_CORE_READ(old_dentry, d_inode), 1);
}

/* A protected file (or directory) moved away keeps its meaning; a file renamed onto a
 * protected name takes that name's meaning from its location (and the replaced file, if that
 * was its last link, is forgotten). With RENAME_EXCHANGE both move. */
BW_API int bw_ident_at_rename(struct dentry *old_dentry, struct dentry *new_dentry, unsigned int flags) {
  if (!ident_used())
    return 0;
  struct inode *moved = old_dentry->d_inode;
  struct inode *target = new_dentry->d_inode;
  int err = moved ? ident_learn(old_dentry, new_dentry, moved, moved->i_nlink > 1) : 0;
  if ((flags & 2 /* RENAME_EXCHANGE */) && target) {
    if (ident_learn(new_dentry, old_dentry, target, target->i_nlink > 1))
      err = -EPERM;
  } else if (target && target != moved) {
    ident_forget_last(target);
  }
  return err;
}

BW_API void bw_ident_at_unlink(struct dentry *dentry) {
  if (!ident_used())
    return;
  ident_forget_last(dentry->d_inode);
}

struct rev_ctx {
  const char *src; /* points at the string's data */
  __u8 *dst;
  __u32 len;       /* string length */
};

static long rev_step(__u32 i, void *arg) {
  struct rev_ctx *c = arg;
  __u32 from = c->len - 1 - i;
  c->dst[i & 0xff] = c->src[from & (BW_PATH_MAX - 1)];
  return 0;
}

BW_API __u32 bw_match_suffix(struct bw_event *ev, __u32 slot, __u32 group, __u64 *atoms) {
  struct bw_tmp *t = tmp();
  if (!t)
    return BW_NO_RULE;
  struct bw_str *s = str_of(ev, slot);
  __u32 n = s->len;
  if (n > BW_LPM_STR_MAX)
    n = BW_LPM_STR_MAX;
  struct rev_ctx c = {.src = s->data, .dst = t->skey.data, .len = s->len & (BW_PATH_MAX - 1)};
  bpf_loop(n, rev_step, &c, 0);
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
};

static long dfa_step(__u32 i, void *arg) {
  struct dfa_ctx *c = arg;
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

BW_API __u32 bw_match_glob(struct bw_event *ev, __u32 slot, __u32 base, __u64 *atoms) {
  struct bw_str *s = str_of(ev, slot);
  __u32 k0 = base, k1 = base + 1;
  __u32 *ncls = bpf_map_lookup_elem(&bw_m_dfa, &k0);
  __u32 *acc = bpf_map_lookup_elem(&bw_m_dfa, &k1);
  if (!ncls || !acc)
    return BW_NO_RULE;
  __u32 acc_base = *acc;
  struct dfa_ctx c = {.p = s->data, .len = s->len & (BW_PATH_MAX - 1), .state = BW_DFA_START,
                      .base = base + BW_DFA_HEADER, .ncls = *ncls};
  bpf_loop(c.len, dfa_step, &c, 0);
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

/* ---- verdict, counters, records ---- */
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

static void emit(struct bw_event *ev, __u32 rule, __u32 action, __u32 flags,
                 struct bw_counter *cnt) {
  __u32 z = 0;
  struct bw_recbuf *rb = bpf_map_lookup_elem(&bw_recbuf, &z);
  if (!rb)
    return;
  struct bw_record *r = (struct bw_record *)rb->b;
  struct task_struct *t = (struct task_struct *)bpf_get_current_task();
  r->ktime_ns = ev->ktime_ns;
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
  bpf_probe_read_kernel_str(r->comm, sizeof(r->comm), BPF_CORE_READ(t, comm));
  __builtin_memcpy(r->ints, ev->ints, sizeof(r->ints));
  __builtin_memcpy(r->addrs, ev->addrs, sizeof(r->addrs));
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

/* ---- chain ---- */
BW_API int bw_chained(void) { return bw_cfg_lane != BW_LANE_NONE; }
BW_API __u32 bw_slot(void) { return bw_cfg_slot; }

BW_API int bw_fold(int verdict) {
  __u32 z = 0;
  struct bw_state *st = bpf_map_lookup_elem(&bw_state, &z);
  if (!st)
    return verdict;
  if (verdict)
    st->verdict = (__u32)verdict;
  st->depth++;
  return (int)st->verdict;
}

BW_API __u32 bw_next_index(__u32 next_slot_plus_1) {
  __u32 s = next_slot_plus_1 - 1;
  __u32 *g = bpf_map_lookup_elem(&bw_gen, &s);
  return s * 2 + (g ? (*g & 1) : 0);
}
