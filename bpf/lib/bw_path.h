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

/* `p` (and `dir`, `d` below) must be BTF pointers, as the path_* hooks' arguments are: the
 * object and its facts are read with plain loads. */
BW_API void bw_path_walk(const struct path *p, struct bw_str *out) {
  if (!out->object_only)
    walk_from(BPF_CORE_READ(p, dentry), BPF_CORE_READ(p, mnt), out);
  dentry_object_btf(out, p->dentry);
}

BW_API void bw_dentry_walk(const struct path *dir, struct dentry *d, struct bw_str *out) {
  if (!out->object_only)
    walk_from(d, BPF_CORE_READ(dir, mnt), out);
  dentry_object_btf(out, d);
}

/* An open file given by a plain pointer (not BTF): the walk of its path, and its object. */
BW_API void bw_file_walk(struct file *f, struct bw_str *out) {
  if (!out->object_only)
    walk_from(BPF_CORE_READ(f, f_path.dentry), BPF_CORE_READ(f, f_path.mnt), out);
  bw_file_object(f, out);
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

#endif
