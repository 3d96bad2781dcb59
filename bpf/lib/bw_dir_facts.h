/* The identity facts a file shares with every file of its directory, kept per CPU between
 * events (bw_dirfacts, struct bw_dir_facts): whether the directory's entries have hints, and
 * the hinted ancestors of a file in it (the directory first). Working them out walks every
 * ancestor and hashes each one's hint; files are mostly opened beside the one opened before.
 * An entry is taken only for the same directory (dentry, inode, its number, generation and
 * device), while no rename happened anywhere since it was worked out (rename_lock: ancestors
 * change only by a rename) and no hint bit was set since (bw_hint's BW_HINT_CHANGES: hints only
 * grow, and a new one may be an ancestor's). Both counts are read before the walk, so a change
 * during it leaves an entry that is never taken. The file's own part (its inode's hint, and its
 * name where the directory has hints) is worked out for every file. */
#ifndef BULWARK_BW_DIR_FACTS_H
#define BULWARK_BW_DIR_FACTS_H

/* Both counts are read, with no barrier, before the walk's loads of the bits and dentries. x86
 * keeps loads in program order, so no barrier is needed; on a CPU that reorders loads a count
 * could be newer than the bits read, and BPF on 6.1 has no read barrier. So does bw_dirpath
 * (bw_dir_path.h). The templates are built for x86 only (cmake/Bpf.cmake). */
#ifndef __TARGET_ARCH_x86
#error "bw_dirfacts and bw_dirpath rely on x86 keeping loads in order"
#endif

/* The key of `d`'s directory into `k`, and this CPU's entry; 0 when `d` has no directory or a
 * count cannot be read (the facts are then worked out, and not kept). `renames`: rename_lock's
 * sequence when this event read it already (before the walk, as needed), else BW_SEQ_UNREAD. */
static __always_inline struct bw_dir_facts *dir_facts_key(struct dentry *d, __u32 dev, __u32 renames,
                                                          struct dir_facts_key *k) {
  struct dentry *dir = d->d_parent;
  if (!dir || dir == d)
    return 0;
  struct inode *i = dir->d_inode;
  __u64 *changes = bw_hint_count(BW_HINT_CHANGES);
  if (!i || !changes)
    return 0;
  k->hints = *changes;
  barrier(); /* the counts first, then the bits the walk reads */
  k->renames = renames == BW_SEQ_UNREAD ? seq_of(bw_cfg_rename_lock) : renames;
  if (k->renames & 1)
    return 0;
  k->dir = (__u64)dir;
  k->inode = (__u64)i;
  k->ino = i->i_ino;
  k->gen = i->i_generation;
  k->dev = dev;
  __u32 cpu = bpf_get_smp_processor_id();
  return bpf_map_lookup_elem(&bw_dirfacts, &cpu);
}

static __always_inline int dir_facts_same(struct bw_dir_facts *e, struct dir_facts_key *k) {
  return e->dir == k->dir && e->inode == k->inode && e->ino == k->ino && e->gen == k->gen && e->dev == k->dev &&
         e->renames == k->renames && e->hints == k->hints;
}

/* `f`'s directory part from entry `e` when it is key `k`'s and no other program on this CPU
 * rewrote it meanwhile (`writes`); the name's hash where the directory has hints. 1 when taken. */
static __always_inline int dir_facts_take(struct bw_dir_facts *e, struct dir_facts_key *k, struct bw_facts *f,
                                          struct dentry *d) {
  __u64 writes = kept_read_begin(&e->writes);
  if ((writes & 1) || !dir_facts_same(e, k))
    return 0;
  __u32 n = e->nunder, names = e->names;
#pragma unroll
  for (int i = 0; i < BW_FACT_UNDER; i++)
    f->under[i] = e->under[i];
  if (!kept_read_end(&e->writes, writes) || n > BW_FACT_UNDER)
    return 0;
  f->nunder = n;
  f->incomplete = 0;
  f->dir = names ? k->ino : 0;
  f->name = names ? BW_IDENT_NAME(name_hash(d)) : 0;
  f->done |= BW_FACTS_NAME | BW_FACTS_UNDER;
  return 1;
}

/* Keeps the directory part of `f`, just worked out under key `k`, in entry `e`: only a walk
 * that reached the filesystem's root with room for every hinted ancestor. */
static __always_inline void dir_facts_keep(struct bw_dir_facts *e, struct dir_facts_key *k, struct bw_facts *f) {
  if (!(f->done & BW_FACTS_UNDER) || f->incomplete || f->nunder > BW_FACT_UNDER)
    return;
  __u64 writes;
  if (!kept_write_begin(&e->writes, &writes))
    return;
  e->dir = k->dir;
  e->inode = k->inode;
  e->ino = k->ino;
  e->gen = k->gen;
  e->dev = k->dev;
  e->renames = k->renames;
  e->hints = k->hints;
  e->names = f->dir != 0;
  e->nunder = f->nunder;
#pragma unroll
  for (int i = 0; i < BW_FACT_UNDER; i++)
    e->under[i] = f->under[i];
  kept_write_end(&e->writes, writes);
}

#endif
