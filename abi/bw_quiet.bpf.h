/* Opens that decided nothing, kept per CPU (bw_quiet; what the key holds: bw_abi.h). BPF C only,
 * after bw_shared_maps.bpf.h and bw_kept.bpf.h; the file_open and mmap_file dispatchers and
 * the policy library (those hooks' templates) share it. An executable mapping of an open file
 * is keyed as its open is (the same struct file), with its lane's bit from BW_QUIET_MMAP_LANES
 * (bw_quiet_bit); below, "open" stands for either.
 *
 *   dispatcher   (file_open: a lane of two programs or more, or of one whose decision can be
 *                quiet; mmap_file: a mapping with PROT_EXEC of a file, whose decision costs
 *                more than the key even alone; the lane's keyed word, bw_abi.h BW_NEXT_KEYED,
 *                says so and which parts of the key to read)
 *                bw_quiet_seen: the inode's entry was used
 *                for it, in this open's mode, last (else it is now, and nothing more: a file
 *                opened once costs a lookup), and the key begins with what it read; then
 *                bw_quiet_key_of and bw_quiet_hit: the same key and the lane's
 *                bit say the lane decided nothing for it, and the lane is skipped; else
 *                bw_quiet_pend puts the key in the pending entry, and bw_state.quiet says
 *                "quiet so far" (0 for every other event, and in a lane not keyed)
 *   each program of the lane   bw_quiet_clear unless its decision was quiet (bw_event.quiet)
 *                or it was out of its cgroup scope (the key then holds the cgroup: BW_KEY_CGROUP)
 *   the last one bw_quiet_keep: the lane allowed and every program was quiet, so the pending
 *                key goes into the entry of its inode with the lane's bit (a lane still quiet
 *                is all it reads otherwise)
 *
 * The key is read before the lane decides, so a change while it decides (a rename, a mount, a
 * label, a chain change) leaves an entry that no later key matches. */
#ifndef BULWARK_BW_QUIET_BPF_H
#define BULWARK_BW_QUIET_BPF_H

/* The sequence of the kernel seqlock at address `lock` (rename_lock, mount_lock: globals with no
 * type in 6.1's BTF, so no ksym of ours; the runtime reads their addresses from /proc/kallsyms
 * once per command and sets them in rodata, as a ksym would make libbpf read it for every object).
 * Odd (as while it is written) when it cannot be read: 0 is an unknown address. */
static __always_inline __u32 seq_of(__u64 lock) {
  __u32 seq;
  if (!lock || bpf_probe_read_kernel(&seq, sizeof(seq),
                                     (const char *)lock + bpf_core_field_offset(seqlock_t, seqcount)))
    return 1;
  return seq;
}

#define BW_QUIET_OVERLAYFS_MAGIC 0x794c7630

/* The rest of the key of opening `f` (a BTF pointer) into `k`, whose inode, number, generation
 * and mode bw_quiet_seen wrote; the locks at their addresses; of the view, the ancestors'
 * sequence and the cgroup only the `parts` (BW_KEY_*) the lane's decisions read (the others
 * 0). 0 when an unlinked dentry's view (it gains " (deleted)") or a count cannot be read.
 * What can never be kept (bw_quiet_keepable) is tested where an entry is written, not on
 * every open: the key of such an open matches no entry. */
static __always_inline int bw_quiet_key_of(struct file *f, struct bw_quiet_key *k, __u64 rename_lock,
                                           __u64 mount_lock, __u32 parts) {
  struct dentry *d = f->f_path.dentry;
  struct vfsmount *mnt = f->f_path.mnt;
  if (!d || !mnt || !d->d_hash.pprev)
    return 0;
  struct dentry *dir = d->d_parent;
  if (!dir)
    return 0;
  struct inode *di = dir->d_inode;
  struct fs_struct *fs = bpf_get_current_task_btf()->fs;
  __u64 *hints = bw_hint_count(BW_HINT_CHANGES);
  __u64 *changed = bw_hint_count(BW_HINT_DECISIONS);
  if (!di || !fs || !hints || !changed)
    return 0;
  k->hints = *hints + *changed; /* both only grow */
  barrier(); /* the counts first, then what the lane reads (x86 keeps loads in order) */
  k->renames = (parts & BW_KEY_ANCESTORS) ? seq_of(rename_lock) : 0;
  k->mounts = (parts & BW_KEY_VIEW) ? seq_of(mount_lock) : 0;
  if ((k->renames | k->mounts) & 1)
    return 0;
  k->dentry = (__u64)d;
  k->name = (__u64)d->d_name.len << 32 | d->d_name.hash; /* hash_len, read by halves for the verifier */
  k->dir = (__u64)dir;
  k->dir_ino = di->i_ino;
  k->dir_gen = di->i_generation;
  k->mnt = (parts & BW_KEY_VIEW) ? (__u64)mnt : 0;
  k->root = (parts & BW_KEY_VIEW) ? (__u64)fs->root.dentry : 0;
  k->root_mnt = (parts & BW_KEY_VIEW) ? (__u64)fs->root.mnt : 0;
  k->cgroup = (parts & BW_KEY_CGROUP) ? bpf_get_current_cgroup_id() : 0;
  k->pad = 0;
  return 1;
}

/* 1 when an open of `f` may be kept: not a file on overlayfs (its object is the layer's file,
 * which a copy-up changes), not a mount root, not a dentry that names itself (d_dname) or
 * another inode. Each holds for as long as the dentry, mount and inode of the key are the same. */
static __always_inline int bw_quiet_keepable(struct file *f) {
  struct inode *i = f->f_inode;
  struct dentry *d = f->f_path.dentry;
  struct vfsmount *mnt = f->f_path.mnt;
  if (!i || !d || !mnt || d->d_inode != i || d == mnt->mnt_root || d->d_parent == d ||
      i->i_sb->s_magic == BW_QUIET_OVERLAYFS_MAGIC)
    return 0;
  const struct dentry_operations *ops = d->d_op;
  return !ops || !ops->d_dname;
}

#define BW_QUIET_KEY_WORDS ((int)(sizeof(struct bw_quiet_key) / 8))

/* This CPU's entry for the inode numbered `ino`, generation `gen` (the verifier allows no
 * arithmetic on the inode's address). */
static __always_inline struct bw_quiet_entry *bw_quiet_entry_of(__u64 ino, __u32 gen) {
  __u64 h = (ino ^ ((__u64)gen << 32)) * 0x9E3779B97F4A7C15ull;
  __u32 index = (__u32)(h >> 55) & (BW_QUIET_ENTRIES - 1);
  return bpf_map_lookup_elem(&bw_quiet, &index);
}

static __always_inline struct bw_quiet_entry *bw_quiet_pending(void) {
  __u32 index = BW_QUIET_PENDING;
  return bpf_map_lookup_elem(&bw_quiet, &index);
}

/* The entry of the inode `f` opens when the last open that used it was of the same inode, in
 * the same mode (the key's first BW_QUIET_SEEN_WORDS words, written into `k`): the rest of the
 * key is worth reading. The entry's read begins here (`writes`, for bw_quiet_hit). Otherwise
 * the entry is taken for this inode and mode (its other fields and lanes cleared of meaning)
 * and 0 is returned: a file opened once in a mode, as most files a
 * job creates or walks through are, costs this lookup and no key; the second open decides and
 * keeps, the third skips. */
static __always_inline struct bw_quiet_entry *bw_quiet_seen(struct file *f, struct bw_quiet_key *k, __u64 *writes) {
  struct inode *i = f->f_inode;
  if (!i)
    return 0;
  __u64 ino = i->i_ino;
  __u32 gen = i->i_generation, mode = f->f_mode & 0x3; /* FMODE_READ | FMODE_WRITE */
  struct bw_quiet_entry *e = bw_quiet_entry_of(ino, gen);
  if (!e)
    return 0;
  k->inode = (__u64)i;
  k->ino = ino;
  k->gen = gen;
  k->mode = mode;
  *writes = kept_read_begin(&e->writes);
  if (!(*writes & 1) && kept_same(&e->key, k, 0, BW_QUIET_SEEN_WORDS))
    return e;
  __u64 was;
  if (kept_write_begin(&e->writes, &was)) {
    e->key.inode = k->inode;
    e->key.ino = k->ino;
    e->key.gen = k->gen;
    e->key.mode = k->mode;
    e->lanes = 0;
    kept_write_end(&e->writes, was);
  }
  return 0;
}

/* The bit in bw_quiet_entry.lanes of file_open's lane `lane` (`mmap` 0) or mmap_file's (1). */
static __always_inline __u32 bw_quiet_bit(int mmap, __u32 lane) {
  return mmap ? BW_QUIET_MMAP_LANES + lane : lane;
}

/* 1 when the lane of bit `lane` decided nothing for key `k` before (entry `e` has the bit),
 * counted; bw_quiet_seen began the entry's read (`writes`) and compared the key's first words.
 * A subprogram: inlined, its compares kept every key field in a register across the
 * miss's path, and spilled and reloaded them at each compare. */
static __attribute__((noinline, unused)) int bw_quiet_hit(struct bw_quiet_entry *e, const struct bw_quiet_key *k,
                                                          __u32 lane, __u64 writes) {
  if (!e || lane >= 64)
    return 0;
  if (!((e->lanes >> lane) & 1) || !kept_same(&e->key, k, BW_QUIET_SEEN_WORDS, BW_QUIET_KEY_WORDS) ||
      !kept_read_end(&e->writes, writes))
    return 0;
  e->hits++;
  return 1;
}

/* The pending entry of event `seq`: key `k`; 1 when it was written (the dispatcher then says
 * the event is quiet so far, bw_state.quiet). */
static __always_inline int bw_quiet_pend(const struct bw_quiet_key *k, __u64 seq) {
  struct bw_quiet_entry *p = bw_quiet_pending();
  if (!p)
    return 0;
  p->key = *k;
  p->hits = seq;
  return 1;
}

/* 1 when this event's lane is keyed and every program so far was quiet (bw_state.quiet). */
static __always_inline int bw_quiet_so_far(void) {
  struct bw_state *st = bw_state_here();
  return st && st->quiet;
}

/* A program of the lane could not say that no rule of its policy holds for this key. */
static __always_inline void bw_quiet_clear(void) {
  struct bw_state *st = bw_state_here();
  if (st)
    st->quiet = 0;
}

/* At the end of the walk of the lane of bit `lane` (bw_quiet_bit) for the open of `f` (a BTF
 * pointer), which returns `verdict`: when it allowed and every program was quiet, the entry of
 * the file's inode gets the pending key and the lane's bit. */
static __always_inline void bw_quiet_keep(struct file *f, __u32 lane, int verdict) {
  struct bw_state *st = bw_state_here();
  if (verdict || !st || st->verdict || !st->quiet) /* a lane not keyed is never quiet so far */
    return;
  struct bw_quiet_entry *p = bw_quiet_pending();
  if (!p || p->hits != st->seq || lane >= 64 ||
      p->key.inode != (__u64)f->f_inode || p->key.dentry != (__u64)f->f_path.dentry || !bw_quiet_keepable(f))
    return;
  struct bw_quiet_entry *e = bw_quiet_entry_of(p->key.ino, p->key.gen);
  if (e)
    KEPT_KEEP(e, p, BW_QUIET_KEY_WORDS, lane);
}

#endif
