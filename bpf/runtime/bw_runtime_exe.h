/* Whether an inode, or a task's executable, is the runtime's executable file, by (device,
 * inode): the identity the guard and the kernel.bpf dispatcher trust (bpf/runtime only).
 * Plain loads of BTF pointers (a fault reads 0), not probe reads: the guard's tests run on
 * every open, create and unlink of the system, the dispatcher's on every bpf() call. */
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

#endif
