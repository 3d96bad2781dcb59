/* Self-protection ("the guard"), built into the runtime (docs/security.md, "Self-protection").
 *
 * Attached by the runtime whenever a policy is loaded, one link per program, pinned under
 * <pin root>/guard/. Every program lets the Bulwark runtime through and denies everyone else:
 *  - any new fd of a Bulwark map (bpf_map: MAP_GET_FD_BY_ID, OBJ_GET of a pin, and MAP_CREATE of
 *    a map with a Bulwark name), so no other process can update, delete, freeze or reference
 *    one from a BPF program of its own;
 *  - the mutating bpf() commands on an fd it already holds (a map, link or program of ours);
 *  - unlink, rmdir, rename, mkdir, mknod (OBJ_PIN), symlink and link under the pin root, and
 *    mounts onto or unmounts of the bpffs instance holding it;
 *  - writes, truncation, unlink and rename of the runtime's executable, and ptrace attach
 *    (code injection, pidfd_getfd, /proc/<pid>/mem) to a runtime process.
 * Two checks are made by dispatchers instead (dispatcher.bpf.c), so that a hook a policy uses
 * too runs one program: write opens (file_open) and unlinks (path_unlink). The runtime
 * attaches lane 0's dispatcher of each with the guard, chain or none (Guard.cpp).
 * "Ours": a map, or a program (of a link), whose kernel name starts with "bw_" (every map and
 * program the runtime and the compiler create does; names cannot be changed after creation).
 * "The runtime": a task whose executable is the file (device, inode) the runtime recorded in
 * this object's read-only data when it attached the guard (.rodata is frozen: no process can
 * change it). A path cannot fake that; replacing the file is what the file hooks deny.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "bw_runtime_exe.h"

char LICENSE[] SEC("license") = "GPL";

#define EPERM 1
#define PTRACE_MODE_ATTACH 0x02

const volatile __u64 bw_guard_exe_dev = 0; /* kernel dev_t (MAJOR << 20 | MINOR) */
const volatile __u64 bw_guard_exe_ino = 0;
const volatile __u64 bw_guard_pin_dev = 0; /* the bpffs instance holding the pin root */
const volatile __u64 bw_guard_pin_ino = 0; /* the pin root directory */

static __always_inline int is_runtime_inode(struct inode *ino)
{
	return bw_inode_is(ino, bw_guard_exe_dev, bw_guard_exe_ino);
}

static __always_inline int is_runtime_task(struct task_struct *t)
{
	return bw_task_runs(t, bw_guard_exe_dev, bw_guard_exe_ino);
}

static __always_inline int trusted(void)
{
	return is_runtime_task(bpf_get_current_task_btf());
}

static __always_inline int is_ours_name(const char *kname)
{
	char n[3] = {};
	if (bpf_probe_read_kernel(n, sizeof n, kname) != 0)
		return 0;
	return n[0] == 'b' && n[1] == 'w' && n[2] == '_';
}

/* What fd `fd` of the calling task refers to (file->private_data), or 0. */
static __always_inline void *fd_object(__u32 fd)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct fdtable *fdt = BPF_CORE_READ(t, files, fdt);
	if (!fdt || fd >= BPF_CORE_READ(fdt, max_fds))
		return 0;
	struct file **files = BPF_CORE_READ(fdt, fd);
	struct file *f = 0;
	if (bpf_probe_read_kernel(&f, sizeof f, &files[fd]) != 0 || !f)
		return 0;
	return BPF_CORE_READ(f, private_data);
}

/* A wrong guess of the object's type only reads other memory: the kernel itself then rejects
 * the fd for this command. */
static __always_inline int map_fd_ours(__u32 fd)
{
	struct bpf_map *m = fd_object(fd);
	return m && is_ours_name(m->name);
}

static __always_inline int prog_ours(struct bpf_prog *p)
{
	struct bpf_prog_aux *aux = BPF_CORE_READ(p, aux);
	return aux && is_ours_name(aux->name);
}

static __always_inline int link_fd_ours(__u32 fd)
{
	struct bpf_link *l = fd_object(fd);
	return l && prog_ours(BPF_CORE_READ(l, prog));
}

SEC("lsm/bpf_map")
int BPF_PROG(bw_guard_map, struct bpf_map *map, fmode_t fmode, int ret)
{
	if (ret || !is_ours_name(map->name) || trusted())
		return ret;
	return -EPERM;
}

SEC("lsm/bpf")
int BPF_PROG(bw_guard_bpf, int cmd, union bpf_attr *attr, unsigned int size, int ret)
{
	if (ret)
		return ret;
	int ours = 0;
	switch (cmd) {
	case BPF_MAP_UPDATE_ELEM:
	case BPF_MAP_DELETE_ELEM:
	case BPF_MAP_LOOKUP_AND_DELETE_ELEM:
	case BPF_MAP_FREEZE:
		ours = map_fd_ours(BPF_CORE_READ(attr, map_fd));
		break;
	case BPF_MAP_UPDATE_BATCH:
	case BPF_MAP_DELETE_BATCH:
	case BPF_MAP_LOOKUP_AND_DELETE_BATCH:
		ours = map_fd_ours(BPF_CORE_READ(attr, batch.map_fd));
		break;
	case BPF_LINK_UPDATE:
		ours = link_fd_ours(BPF_CORE_READ(attr, link_update.link_fd));
		break;
	case BPF_LINK_DETACH:
		ours = link_fd_ours(BPF_CORE_READ(attr, link_detach.link_fd));
		break;
	case BPF_PROG_DETACH: {
		__u32 pfd = BPF_CORE_READ(attr, attach_bpf_fd);
		ours = pfd && prog_ours(fd_object(pfd));
		break;
	}
	default:
		return 0;
	}
	return ours && !trusted() ? -EPERM : 0;
}

/* ---- the pin root ---- */
static __always_inline int guard_dentry(struct dentry *d, int ret)
{
	if (ret)
		return ret;
	if (bw_dentry_guarded(d, bw_guard_exe_dev, bw_guard_exe_ino, bw_guard_pin_dev, bw_guard_pin_ino) && !trusted())
		return -EPERM;
	return 0;
}

SEC("lsm/path_rmdir")
int BPF_PROG(bw_guard_rmdir, const struct path *dir, struct dentry *dentry, int ret)
{
	return guard_dentry(dentry, ret);
}

SEC("lsm/path_rename")
int BPF_PROG(bw_guard_rename, const struct path *old_dir, struct dentry *old_dentry, const struct path *new_dir,
	     struct dentry *new_dentry, unsigned int flags, int ret)
{
	ret = guard_dentry(old_dentry, ret);
	return guard_dentry(new_dentry, ret);
}

SEC("lsm/path_mkdir")
int BPF_PROG(bw_guard_mkdir, const struct path *dir, struct dentry *dentry, umode_t mode, int ret)
{
	return guard_dentry(dentry, ret);
}

/* BPF_OBJ_PIN creates its file through this hook. */
SEC("lsm/path_mknod")
int BPF_PROG(bw_guard_mknod, const struct path *dir, struct dentry *dentry, umode_t mode, unsigned int dev,
	     int ret)
{
	return guard_dentry(dentry, ret);
}

SEC("lsm/path_symlink")
int BPF_PROG(bw_guard_symlink, const struct path *dir, struct dentry *dentry, const char *old_name, int ret)
{
	return guard_dentry(dentry, ret);
}

SEC("lsm/path_link")
int BPF_PROG(bw_guard_link, struct dentry *old_dentry, const struct path *new_dir, struct dentry *new_dentry,
	     int ret)
{
	return guard_dentry(new_dentry, ret);
}

/* Mounting over any directory of the pin root's bpffs instance hides pins; unmounting the
 * instance frees them (and detaches every link). */
SEC("lsm/sb_mount")
int BPF_PROG(bw_guard_mount, const char *dev_name, const struct path *path, const char *type, unsigned long flags,
	     void *data, int ret)
{
	if (ret)
		return ret;
	struct dentry *d = BPF_CORE_READ(path, dentry);
	if (BPF_CORE_READ(d, d_sb, s_dev) == bw_guard_pin_dev && !trusted())
		return -EPERM;
	return 0;
}

SEC("lsm/sb_umount")
int BPF_PROG(bw_guard_umount, struct vfsmount *mnt, int flags, int ret)
{
	if (ret)
		return ret;
	if (BPF_CORE_READ(mnt, mnt_sb, s_dev) == bw_guard_pin_dev && !trusted())
		return -EPERM;
	return 0;
}

/* ---- the runtime's executable and processes ---- */
/* Write opens of the executable: the file_open dispatcher of lane 0 decides them
 * (dispatcher.bpf.c), which the runtime attaches with the guard. */

SEC("lsm/path_truncate")
int BPF_PROG(bw_guard_truncate, const struct path *path, int ret)
{
	if (ret || !is_runtime_inode(path->dentry->d_inode) || trusted())
		return ret;
	return -EPERM;
}

SEC("lsm/ptrace_access_check")
int BPF_PROG(bw_guard_ptrace, struct task_struct *child, unsigned int mode, int ret)
{
	if (ret || !(mode & PTRACE_MODE_ATTACH) || !is_runtime_task(child) || trusted())
		return ret;
	return -EPERM;
}
