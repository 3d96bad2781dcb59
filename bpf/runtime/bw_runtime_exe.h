/* Whether an inode, or a task's executable, is the runtime's executable file, by (device,
 * inode): the identity the guard and the dispatchers trust; and whether a dentry is under the
 * pin root (bpf/runtime only). Plain loads of BTF pointers (a fault reads 0), not probe reads:
 * these tests run on every open, create and unlink of the system, and on every bpf() call. */
#ifndef BULWARK_BW_RUNTIME_EXE_H
#define BULWARK_BW_RUNTIME_EXE_H

static __always_inline int bw_inode_is(struct inode *ino, __u64 dev, __u64 nr)
{
	return ino && ino->i_ino == nr && ino->i_sb->s_dev == dev;
}

static __always_inline int bw_task_runs(struct task_struct *t, __u64 dev, __u64 nr)
{
	struct mm_struct *mm = t->mm;
	struct file *exe = mm ? mm->exe_file : 0;
	return exe && bw_inode_is(exe->f_inode, dev, nr);
}

#define BW_PIN_DEPTH 8 /* levels from a pin up to the pin root: <root>/<policy>/gen<G>/<pin> is 3 */

/* The dentry is the pin root (directory `root_ino` of the bpffs instance `pin_dev`; 0: not
 * known) or below it. */
static __always_inline int bw_under_pin_root(struct dentry *d, __u64 pin_dev, __u64 root_ino)
{
	if (!pin_dev || !d || d->d_sb->s_dev != pin_dev)
		return 0;
#pragma unroll
	for (int i = 0; i < BW_PIN_DEPTH; i++) {
		struct inode *ino = d->d_inode;
		if (ino && ino->i_ino == root_ino)
			return 1;
		struct dentry *up = d->d_parent;
		if (!up || up == d)
			return 0;
		d = up;
	}
	return 0;
}

/* The dentry is under the pin root or is the runtime's executable: what the guard's checks of
 * removing, moving and adding names keep every other task from (guard.bpf.c, and the
 * path_unlink dispatchers). */
static __always_inline int bw_dentry_guarded(struct dentry *d, __u64 exe_dev, __u64 exe_ino, __u64 pin_dev,
					     __u64 pin_ino)
{
	return bw_under_pin_root(d, pin_dev, pin_ino) || (d && bw_inode_is(d->d_inode, exe_dev, exe_ino));
}

#endif
