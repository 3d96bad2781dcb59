/* Identity learning at link, rename and unlink: a protected file linked or moved elsewhere keeps
 * its meaning (labels on its inode), an inode's last link forgets it. Called by the path_link,
 * path_rename and path_unlink templates after their decision. */
#ifndef BULWARK_BW_LEARN_H
#define BULWARK_BW_LEARN_H

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

/* After a label was written or removed: an open kept as quiet (bw_quiet) may rest on the
 * labels as they were, and a label written under a hint bit already set counts no new bit
 * (BW_HINT_DECISIONS, not BW_HINT_CHANGES: facts kept in bw_dirfacts rest on the bits alone). */
static __always_inline void labels_changed(void) {
  __u64 *changes = bw_hint_count(BW_HINT_DECISIONS);
  if (changes)
    __sync_fetch_and_add(changes, 1);
}

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
  __u32 zero = 0;
  struct bw_learn_count *n = bpf_map_lookup_elem(&bw_learned, &zero);
  if (n)
    __sync_fetch_and_add(&n->begun, 1);
  long err = bpf_map_update_elem(&bw_m_ident, &k, &nv, BPF_ANY);
  if (n)
    __sync_fetch_and_add(&n->done, 1);
  labels_changed();
  return err ? -1 : 0;
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
  if (bpf_map_delete_elem(&bw_m_ident, &k) == 0)
    labels_changed();
  return 0;
}

/* An inode (a BTF pointer: an LSM argument, or read from one) whose last link goes away is
 * forgotten, so a file that later gets its number is not taken for it. (The LSM hook runs before the operation; should it fail, the file
 * keeps its location's protection, and it had no other name.) */
static __always_inline void ident_forget_last(struct inode *inode) {
  if (!inode || !bw_cfg_ident_count || inode->i_nlink != 1)
    return;
  struct forget_ctx c = {.dev = inode->i_sb->s_dev, .ino = inode->i_ino};
  if (!own_hinted(c.dev, c.ino, BW_IDENT_SELF))
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

#endif
