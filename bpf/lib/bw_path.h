/* Path fields: the bounded dentry walk (crossing mounts) and bpf_d_path where the hook allows
 * it, each also setting the object the path names (bw_object.h). */
#ifndef BULWARK_BW_PATH_H
#define BULWARK_BW_PATH_H

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

/* The walk from `c` (set up by walk_begin, perhaps advanced by walk_btf) to the global root,
 * and its result into `out`. */
static __always_inline void walk_finish(struct walk_ctx *c, struct bw_str *out) {
  if (!c->truncated)
    bpf_loop(BW_WALK_DEPTH, walk_step, c, 0);
  long off = c->off;
  if (off == BW_WALK_BUF - 1) { /* the root itself */
    out->data[0] = '/';
    out->data[1] = 0;
    out->len = 1;
    out->truncated = 0;
    return;
  }
  __u32 len = (BW_WALK_BUF - 1 - off) & (BW_WALK_BUF - 1);
  bpf_probe_read_kernel(out->data, (len + 1) & (BW_WALK_BUF - 1), c->buf + (off & (BW_WALK_BUF - 1)));
  out->data[len & (BW_WALK_BUF - 1)] = 0;
  out->len = len;
  out->truncated = c->truncated || (c->d && c->off == 0);
}

/* A walk of `d` in mount `vmnt`; 0, with `out` the empty string, when there is none (no
 * dentry, no mount, no scratch buffer). */
static __always_inline int walk_begin(struct walk_ctx *c, struct dentry *d, struct vfsmount *vmnt,
                                      struct bw_str *out) {
  struct bw_tmp *t = tmp();
  if (!t || !d || !vmnt) {
    out->len = 0;
    out->data[0] = 0;
    return 0;
  }
  c->d = d;
  c->m = (struct mount *)((char *)vmnt - bpf_core_field_offset(struct mount, mnt));
  c->buf = t->walk;
  c->off = BW_WALK_BUF - 1;
  c->truncated = 0;
  t->walk[BW_WALK_BUF - 1] = 0;
  return 1;
}

static void walk_from(struct dentry *d, struct vfsmount *vmnt, struct bw_str *out) {
  struct walk_ctx c;
  if (walk_begin(&c, d, vmnt, out))
    walk_finish(&c, out);
}

/* The first components of a walk whose dentry `d` is a BTF pointer, with plain loads: only
 * each name is probe-read, where walk_step reads four pointers and lengths too, and no loop
 * callback runs. It stops at the root of mount `vmnt`, whose crossing needs struct mount (no
 * BTF pointer leads there on 6.1), and after BW_WALK_BTF components; walk_step goes on from
 * there. */
#define BW_WALK_BTF 8
static __always_inline void walk_btf(struct walk_ctx *c, struct dentry *d, struct vfsmount *vmnt) {
  struct dentry *root = BPF_CORE_READ(vmnt, mnt_root);
#pragma unroll
  for (int k = 0; k < BW_WALK_BTF; k++) {
    struct dentry *parent = d->d_parent;
    if (d == root || d == parent)
      break;
    __u32 len = d->d_name.len;
    long off = c->off - (long)len - 1;
    if (off < 0) {
      c->truncated = 1;
      break;
    }
    barrier_var(off); /* kept opaque, so the masks below are not folded into the offset */
    bpf_probe_read_kernel(c->buf + ((off + 1) & (BW_WALK_BUF - 1)), len & (BW_WALK_BUF - 1), d->d_name.name);
    c->buf[off & (BW_WALK_BUF - 1)] = '/';
    c->off = off;
    d = parent;
    c->d = parent;
  }
}

/* walk_from for a dentry `d` given as a BTF pointer. */
static void walk_from_btf(struct dentry *d, struct vfsmount *vmnt, struct bw_str *out) {
  struct walk_ctx c;
  if (!walk_begin(&c, d, vmnt, out))
    return;
  walk_btf(&c, d, vmnt);
  walk_finish(&c, out);
}

/* `p` (and `dir`, `d` below) must be BTF pointers, as the path_* hooks' arguments are: the
 * object and its facts are read with plain loads. */
BW_API void bw_path_walk(const struct path *p, struct bw_str *out) {
  if (!out->object_only)
    walk_from_btf(p->dentry, BPF_CORE_READ(p, mnt), out);
  if (!object_taken(out))
    dentry_object_btf(out, p->dentry, 1, BW_SEQ_UNREAD, 1);
}

BW_API void bw_dentry_walk(const struct path *dir, struct dentry *d, struct bw_str *out) {
  if (!out->object_only)
    walk_from_btf(d, BPF_CORE_READ(dir, mnt), out);
  if (!object_taken(out))
    dentry_object_btf(out, d, 1, BW_SEQ_UNREAD, 1);
}

/* An open file given by a plain pointer (not BTF): the walk of its path, and its object. */
BW_API void bw_file_walk(struct file *f, struct bw_str *out) {
  if (!out->object_only)
    walk_from(BPF_CORE_READ(f, f_path.dentry), BPF_CORE_READ(f, f_path.mnt), out);
  if (!object_taken(out))
    bw_file_object(f, out);
}

/* `f` must be a BTF pointer (an LSM argument): the process's view of the path, as bpf_d_path
 * gives it. */
BW_API void bw_file_d_path(struct file *f, struct bw_str *out) {
  __u32 renames = BW_SEQ_UNREAD;
  if (!out->object_only && file_view(f, out, &renames) < 0) /* -ENAMETOOLONG and friends: the walk */
    walk_from_btf(f->f_path.dentry, BPF_CORE_READ(f, f_path.mnt), out);
  if (!object_taken(out))
    file_object_btf(f, out, 1, renames, 1);
}

/* `p` must be a BTF pointer (an LSM argument's struct path). */
BW_API void bw_path_d_path(struct path *p, struct bw_str *out) {
  if (out->object_only) {
    set_object(out, p->dentry);
    return;
  }
  long n = bpf_d_path(p, out->data, BW_PATH_MAX);
  if (n < 0) /* -ENAMETOOLONG and friends: fall back to the walk */
    walk_from_btf(p->dentry, BPF_CORE_READ(p, mnt), out);
  else
    set_len(out, n);
  set_object(out, p->dentry);
}

#endif
