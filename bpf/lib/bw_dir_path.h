/* The process's view of an open file's path, taken from its directory's when an earlier event
 * on this CPU built that (bw_dirpath, struct bw_dir_path): opening files of one directory is
 * common, and bpf_d_path walks every component and mount every time. The entry is used only
 * for the same directory (dentry, inode, its number and generation), mount and process root,
 * and while no rename (rename_lock) and no mount change (mount_lock) happened anywhere since
 * it was built: those are all that shape a directory's view. A file that is a mount root, is
 * unlinked or names itself (d_dname) takes bpf_d_path, as does everything when either
 * sequence cannot be read. The sequences are read before the path, with no barrier: x86 keeps
 * loads in order (bw_dir_facts.h refuses another target). */
#ifndef BULWARK_BW_DIR_PATH_H
#define BULWARK_BW_DIR_PATH_H

/* seq_of: bw_quiet.bpf.h; the locks' addresses: bw_cfg_rename_lock, bw_cfg_mount_lock. */

/* struct dentry's inline name as 6.1 has it (6.14 made it d_shortname): a short name is kept
 * in the dentry itself, where plain loads reach it. */
struct dentry___iname {
  unsigned char d_iname[32] __attribute__((aligned(8)));
} __attribute__((preserve_access_index));
#define BW_INAME_WORDS 4

/* The name of `d` (a BTF pointer) into `to`, which has room for BW_NAME_MAX + 1 bytes: a short
 * name by plain loads of its dentry, a longer one by a probe read. Its length with the NUL;
 * <= 1 when it could not be read. */
static __always_inline long dentry_name_into(struct dentry *d, char *to) {
  __u32 n = d->d_name.len;
  if (bpf_core_field_exists(struct dentry___iname, d_iname) &&
      bpf_core_field_size(struct dentry___iname, d_iname) == BW_INAME_WORDS * 8 && n < BW_INAME_WORDS * 8 &&
      (__u64)d->d_name.name == (__u64)d + bpf_core_field_offset(struct dentry___iname, d_iname)) {
    struct dentry___iname *in = (void *)d;
#pragma unroll
    for (int i = 0; i < BW_INAME_WORDS; i++)
      ((__u64 *)to)[i] = ((__u64 *)in->d_iname)[i];
    to[n & (BW_INAME_WORDS * 8 - 1)] = 0;
    return n + 1;
  }
  return bpf_probe_read_kernel_str(to, BW_NAME_MAX + 1, d->d_name.name);
}

/* The first `len` bytes of map value `from` into map value `to` (and up to 7 more): plain loads
 * for a directory of up to BW_COPY_WORDS words, a probe read for a longer one. */
#define BW_COPY_WORDS 16
static __always_inline void copy_dir(char *to, const char *from, __u64 len) {
  if (len > BW_COPY_WORDS * 8) {
    barrier_var(len); /* kept opaque, so the mask stays for the verifier */
    bpf_probe_read_kernel(to, len & (BW_PATH_MAX - 1), from);
    return;
  }
#pragma unroll
  for (int i = 0; i < BW_COPY_WORDS; i++) {
    if (i * 8 < len)
      ((__u64 *)to)[i] = ((const __u64 *)from)[i];
  }
}

/* What a directory's view depends on, for file `f` (a BTF pointer); 0 when `f`'s path is not
 * its directory's and its name. */
static __always_inline int dir_view_key(struct file *f, struct bw_dir_key *k) {
  struct dentry *d = f->f_path.dentry;
  struct vfsmount *mnt = f->f_path.mnt;
  if (!d || !mnt || d == mnt->mnt_root || !d->d_hash.pprev)
    return 0;
  const struct dentry_operations *ops = d->d_op;
  struct dentry *dir = d->d_parent;
  if ((ops && ops->d_dname) || !dir || dir == d)
    return 0;
  struct inode *i = dir->d_inode;
  struct fs_struct *fs = bpf_get_current_task_btf()->fs;
  if (!i || !fs)
    return 0;
  k->renames = seq_of(bw_cfg_rename_lock);
  k->mounts = seq_of(bw_cfg_mount_lock);
  if ((k->renames | k->mounts) & 1)
    return 0;
  k->dir = (__u64)dir;
  k->inode = (__u64)i;
  k->ino = i->i_ino;
  k->gen = i->i_generation;
  k->mnt = (__u64)mnt;
  k->root = (__u64)fs->root.dentry;
  k->root_mnt = (__u64)fs->root.mnt;
  k->pad = 0;
  return 1;
}

static __always_inline struct bw_dir_path *dir_view_entry(void) {
  __u32 cpu = bpf_get_smp_processor_id();
  return bpf_map_lookup_elem(&bw_dirpath, &cpu);
}

static __always_inline int dir_key_same(struct bw_dir_key *a, struct bw_dir_key *b) {
  return a->dir == b->dir && a->inode == b->inode && a->ino == b->ino && a->gen == b->gen &&
         a->mnt == b->mnt && a->root == b->root && a->root_mnt == b->root_mnt &&
         a->renames == b->renames && a->mounts == b->mounts;
}

/* `out` from entry `e` when it is key `k`'s: 1 when it was, the file's name was read and no
 * other program on this CPU rewrote the entry meanwhile (`writes`). */
static __always_inline int dir_view_take(struct file *f, struct bw_dir_path *e, struct bw_dir_key *k,
                                         struct bw_str *out) {
  __u64 writes = kept_read_begin(&e->writes);
  if ((writes & 1) || !dir_key_same(&e->key, k))
    return 0;
  __u64 len = e->len;
  if (len == 0 || len > BW_DIR_PATH_MAX)
    return 0;
  barrier_var(len); /* opaque from here, so the masks stay: the verifier bounds by them */
  len &= BW_PATH_MAX - 1;
  copy_dir(out->data, e->data, len);
  __u64 at = len;
  if (len > 1) { /* a directory other than "/" */
    out->data[len] = '/';
    at = len + 1;
  }
  if (at > BW_DIR_PATH_MAX + 1)
    return 0;
  barrier_var(at);
  at &= BW_PATH_MAX - 1;
  long n = dentry_name_into(f->f_path.dentry, out->data + at);
  if (!kept_read_end(&e->writes, writes) || n <= 1)
    return 0;
  out->len = (__u32)(at + n - 1);
  out->truncated = 0;
  return 1;
}

/* Keeps the directory part of `out` (the whole view of `f`, just built) as key `k`'s entry. */
static __always_inline void dir_view_keep(struct file *f, struct bw_dir_path *e, struct bw_dir_key *k,
                                          struct bw_str *out) {
  struct dentry *d = f->f_path.dentry;
  __u32 name = d->d_name.len;
  if (out->truncated || !d->d_hash.pprev || name == 0 || out->len < name + 1)
    return; /* unlinked since the key: bpf_d_path may have added " (deleted)" */
  __u64 len = out->len - name - 1; /* the '/' before the name */
  if (len > BW_DIR_PATH_MAX)
    return;
  barrier_var(len);
  len &= BW_PATH_MAX - 1;
  if (out->data[len] != '/')
    return;
  __u64 writes;
  if (!kept_write_begin(&e->writes, &writes))
    return;
  if (len == 0) {
    e->data[0] = '/';
    len = 1;
  } else {
    copy_dir(e->data, out->data, len);
  }
  e->data[len] = 0;
  e->len = len;
  e->key = *k;
  kept_write_end(&e->writes, writes);
}

/* The view of `f` (a BTF pointer) into `out`, as bpf_d_path gives it: from its directory's
 * entry, else bpf_d_path (and the entry kept for the next file). bpf_d_path's error, or 0.
 * `renames`: the rename sequence the key read, left as it was when none was read (each read
 * is a probe read; the object's facts that follow take the same one). */
static __always_inline long file_view(struct file *f, struct bw_str *out, __u32 *renames) {
  struct bw_dir_key k;
  struct bw_dir_path *e = 0;
  if (dir_view_key(f, &k)) {
    *renames = k.renames;
    e = dir_view_entry();
  }
  if (e && dir_view_take(f, e, &k, out))
    return 0;
  long n = bpf_d_path((struct path *)&f->f_path, out->data, BW_PATH_MAX);
  if (n < 0)
    return n;
  set_len(out, n);
  if (e)
    dir_view_keep(f, e, &k, out);
  return 0;
}

#endif
