/* The object a path or file names (dentry, dev, inode; the real file under overlayfs) and its
 * identity facts: which of its inode, directory and ancestors have hints in bw_hint, and what
 * it means in an identity group (bw_m_ident). Path extraction, matching and learning use it. */
#ifndef BULWARK_BW_OBJECT_H
#define BULWARK_BW_OBJECT_H

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

/* 1 when `out`'s object was taken earlier this event (a policy that needed it alone, before
 * one that needs its string): the object and its facts are the event's, not read again. */
static __always_inline int object_taken(struct bw_str *out) {
  return out->obj != 0;
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

/* 1 when the policy has identity groups (constant after linking: the rest folds away). */
static __always_inline int ident_used(void) {
  return bw_policy_info(BW_INFO_IDENT_EXACT) || bw_policy_info(BW_INFO_IDENT_PREFIX);
}

/* Identity facts (bw_match.h: bw_m_ident, bw_hint). A path test on an identity group decides on the object: its own labels, its name in its
 * parent directory (exact), its ancestors up to the root of its filesystem (prefix). None of
 * this depends on the process's root, mount namespace or bind mounts. What the object has is
 * worked out once (struct bw_facts: which of its inode, directory and ancestors have hints),
 * then each group looks up only the labels a hint points at. */
static __always_inline struct bw_match_val *ident_val(__u32 group, __u32 dev, __u64 ino, __u64 name) {
  struct bw_ident_key k = {.group = group, .dev = dev, .ino = ino, .name = name};
  return bpf_map_lookup_elem(&bw_m_ident, &k);
}

/* The word of (dev, ino, kind) in a hint map of four `quarter`s: the shared bw_hint, or the
 * policy's own bw_m_hint. */
static __always_inline __u64 *hint_word_in(void *map, __u32 quarter, __u32 dev, __u64 ino, __u64 kind,
                                           __u64 *bit) {
  __u32 b = bw_ident_hint(dev, ino, kind, quarter);
  __u32 w = b >> 6;
  *bit = 1ull << (b & 63);
  return bpf_map_lookup_elem(map, &w);
}

static __always_inline int hinted_in(void *map, __u32 quarter, __u32 dev, __u64 ino, __u64 kind) {
  __u64 bit;
  __u64 *w = hint_word_in(map, quarter, dev, ino, kind, &bit);
  return !w || (*w & bit);
}

/* 1 when (dev, ino, kind) may have a label in some group of some policy. */
static __always_inline int hinted(__u32 dev, __u64 ino, __u64 kind) {
  return hinted_in(&bw_hint, BW_HINT_QUARTER, dev, ino, kind);
}

/* 1 when (dev, ino, kind) may have a label in one of this policy's groups. */
static __always_inline int own_hinted(__u32 dev, __u64 ino, __u64 kind) {
  return hinted_in(&bw_m_hint, bw_cfg_hint_quarter, dev, ino, kind);
}

/* This policy's own hints for the parts of an object's facts: its inode, its directory's entries
 * (exact groups), its i-th hinted ancestor (prefix groups). facts_val looks up a label only where
 * one says maybe; object_quiet (bw_identity.h) skips the lookup where none does. */
static __always_inline int own_self(struct bw_facts *f, __u32 dev, __u64 ino) {
  return f->self && own_hinted(dev, ino, BW_IDENT_SELF);
}
static __always_inline int own_dir(struct bw_facts *f, __u32 dev) {
  return f->dir && own_hinted(dev, f->dir, BW_HINT_NAMES);
}
static __always_inline int own_under(struct bw_facts *f, __u32 dev, int i) {
  return own_hinted(dev, f->under[i], BW_IDENT_UNDER);
}

/* 1 when `bit` was clear and is now set. */
static __always_inline int bits_set(__u64 *w, __u64 bit) {
  if (!w || (*w & bit))
    return 0;
  __sync_fetch_and_or(w, bit);
  return 1;
}

/* Set before the label it stands for is written: the shared bit (every policy's facts and the
 * path_unlink dispatcher read it) and this policy's own. A new shared bit is counted after it
 * is set, so facts worked out before it are not taken again (bw_dir_facts.h). */
static __always_inline void hint_set(__u32 dev, __u64 ino, __u64 kind) {
  __u64 bit;
  if (bits_set(hint_word_in(&bw_hint, BW_HINT_QUARTER, dev, ino, kind, &bit), bit)) {
    __u64 *changes = bw_hint_count(BW_HINT_CHANGES);
    if (changes)
      __sync_fetch_and_add(changes, 1);
  }
  bits_set(hint_word_in(&bw_m_hint, bw_cfg_hint_quarter, dev, ino, kind, &bit), bit);
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
#define BW_NAME_MAX 255 /* NAME_MAX: the longest directory entry name */
static __attribute__((noinline)) __u64 name_hash(struct dentry *d) { /* one copy per object */
  struct bw_tmp *t = tmp();
  if (!t)
    return 0;
  long n = bpf_probe_read_kernel_str(t->walk, BW_NAME_MAX + 1, BPF_CORE_READ(d, d_name.name));
  if (n <= 1)
    return 0;
  return str_hash(t->walk, (__u32)(n - 1) & BW_NAME_MAX);
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
/* bw_dir_facts.h: what an entry of bw_dirfacts stands for (struct bw_dir_facts' first fields). */
struct dir_facts_key {
  __u64 dir, inode, ino, hints;
  __u32 gen, dev, renames, pad;
};
/* A rename sequence not read yet (odd, so never a key): the key reads it. */
#define BW_SEQ_UNREAD 0xffffffffu
static __always_inline struct bw_dir_facts *dir_facts_key(struct dentry *d, __u32 dev, __u32 renames,
                                                          struct dir_facts_key *k);
static __always_inline int dir_facts_take(struct bw_dir_facts *e, struct dir_facts_key *k, struct bw_facts *f,
                                          struct dentry *d);
static __always_inline void dir_facts_keep(struct bw_dir_facts *e, struct dir_facts_key *k, struct bw_facts *f);

/* The hinted ancestors of `d` into `f`, by plain loads up to BW_FACT_BTF_DEPTH (deeper ones are
 * left to facts_for). */
static __always_inline void facts_under_btf(struct bw_facts *f, struct dentry *d, __u32 dev) {
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

/* `kept`: the directory's part may come from, and go to, bw_dirfacts (a constant: 0 for an
 * executable, whose object bw_exe keeps already). `renames`: rename_lock's sequence as this
 * event's view read it, or BW_SEQ_UNREAD. `under`: 0 when only exact groups read the object
 * so far (an executable tested by `in`/`==`): its ancestors are left to facts_for, which walks
 * them if a prefix group reads it later. */
static __always_inline void facts_btf(struct bw_str *out, struct dentry *d, int kept, __u32 renames, int under) {
  if (!ident_used())
    return;
  struct bw_facts *f = &out->facts;
  __u32 dev = out->dev;
  facts_self(f, dev, out->ino);
  struct dentry *parent = d->d_parent;
  struct inode *pi = parent && parent != d ? parent->d_inode : 0;
  if (!bw_policy_info(BW_INFO_IDENT_PREFIX) || !under) {
    facts_set_name(f, d, dev, pi ? pi->i_ino : 0);
    return;
  }
  /* The directory's part, from the kept entry when it still stands (bw_dir_facts.h). */
  struct dir_facts_key k;
  struct bw_dir_facts *e = kept ? dir_facts_key(d, dev, renames, &k) : 0;
  if (e && dir_facts_take(e, &k, f, d))
    return;
  facts_set_name(f, d, dev, pi ? pi->i_ino : 0);
  facts_under_btf(f, d, dev);
  if (e)
    dir_facts_keep(e, &k, f);
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
  if (own_self(f, dev, ino))
    val_add(into, ident_val(group, dev, ino, BW_IDENT_SELF));
  if (!prefix) {
    if (own_dir(f, dev))
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
    if (own_under(f, dev, i))
      val_add(into, ident_val(group, dev, f->under[i], BW_IDENT_UNDER));
  }
  if (f->incomplete)
    val_add(into, ident_val(group, 0, 0, BW_IDENT_INCOMPLETE));
}

/* set_object and the object's facts for a dentry given as a BTF pointer (an LSM argument, or
 * read from one), with plain loads: what set_object and facts_for do with probe reads. */
static __always_inline void dentry_object_btf(struct bw_str *out, struct dentry *d, int kept, __u32 renames,
                                              int under) {
  if (!d) {
    set_object(out, 0);
    return;
  }
  struct inode *i = d->d_inode;
  out->obj = (__u64)d;
  out->ino = i ? i->i_ino : 0;
  out->dev = d->d_sb->s_dev;
  facts_btf(out, d, kept, renames, under);
}

/* bw_file_object for a BTF pointer `f` (an LSM argument, or read from one), without its
 * facts: its dentry when plain loads took the object, 0 when overlayfs or a dentry of another
 * inode made bw_file_object take it. */
static __always_inline struct dentry *file_object_plain(struct file *f, struct bw_str *out) {
  struct inode *i = f->f_inode;
  struct dentry *d = f->f_path.dentry;
  if (!i || !d || d->d_inode != i ||
      (i->i_sb->s_magic == BW_OVERLAYFS_MAGIC && (i->i_mode & BW_S_IFMT) == BW_S_IFREG)) {
    bw_file_object(f, out);
    return 0;
  }
  out->obj = (__u64)d;
  out->ino = i->i_ino;
  out->dev = d->d_sb->s_dev;
  return d;
}

/* file_object_plain and the object's facts worked out on the way (facts_btf): no probe reads
 * where bw_file_object and facts_for make them. */
static __always_inline void file_object_btf(struct file *f, struct bw_str *out, int kept, __u32 renames,
                                            int under) {
  struct dentry *d = file_object_plain(f, out);
  if (d)
    facts_btf(out, d, kept, renames, under);
}

#endif
