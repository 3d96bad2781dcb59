/* Floors for bench/: BPF LSM programs that decide nothing. bwbench attaches one, on the hook
 * under test, as a configuration of its own.
 *   empty_<hook>            returns 0: what any BPF LSM program pays (trampoline + call)
 *   empty_dpath_file_open   also resolves the opened file's path with bpf_d_path into a
 *                           per-CPU buffer: the floor of any path-based decision on file.open
 *   empty_top_file_open     reads only the path's first component (below) */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

#define EMPTY(hook)                                                                                \
  SEC("lsm/" #hook)                                                                                \
  int empty_##hook(void *ctx) { return 0; }

EMPTY(file_open)
EMPTY(bprm_check_security)
EMPTY(path_unlink)
EMPTY(socket_connect)
EMPTY(mmap_file)

struct path_buf {
  char b[4096];
};
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct path_buf);
} bench_path_buf SEC(".maps");

SEC("lsm/file_open")
int BPF_PROG(empty_dpath_file_open, struct file *file) {
  __u32 zero = 0;
  struct path_buf *pb = bpf_map_lookup_elem(&bench_path_buf, &zero);
  if (pb)
    bpf_d_path((struct path *)&file->f_path, pb->b, sizeof(pb->b));
  return 0;
}

/* empty_top_file_open: the first component of the opened file's path below the process's
 * root (the name bpf_d_path would put first), read from the dentries up: plain loads within
 * the file's mount, one read of struct mount's parent and mountpoint per mount crossed, then
 * probe reads; the name's first 8 bytes into the per-CPU buffer. The floor of telling,
 * without the string, whether a path can start like a policy's globs. */
#define TOP_STEPS 16
struct mount_up {
  void *parent;     /* struct mount *mnt_parent */
  void *mountpoint; /* struct dentry *mnt_mountpoint */
};

static __always_inline int top_cross(void *mnt, struct mount_up *up) {
  void *m = (char *)mnt - bpf_core_field_offset(struct mount, mnt);
  if (bpf_probe_read_kernel(up, sizeof *up, (char *)m + bpf_core_field_offset(struct mount, mnt_parent)))
    return 0;
  return up->parent != m; /* 0 at the namespace's root: no mount above */
}

SEC("lsm/file_open")
int BPF_PROG(empty_top_file_open, struct file *file) {
  __u32 zero = 0;
  struct path_buf *pb = bpf_map_lookup_elem(&bench_path_buf, &zero);
  if (!pb)
    return 0;
  struct task_struct *t = bpf_get_current_task_btf();
  struct dentry *root = t->fs->root.dentry;
  struct vfsmount *root_mnt = t->fs->root.mnt;
  struct dentry *d = file->f_path.dentry;
  struct vfsmount *m = file->f_path.mnt;
  void *top = 0;
  int k = 0;
  for (; k < TOP_STEPS; k++) { /* within the file's mount: plain loads */
    if (d == root && m == root_mnt)
      goto found;
    if (d == m->mnt_root)
      break;
    top = d;
    d = d->d_parent;
  }
  if (k == TOP_STEPS) /* deeper than the bound within the mount */
    return 0;
  void *pd = d, *pm = m;
  struct mount_up up;
  for (int j = 0; j < TOP_STEPS; j++) { /* above it: probe reads */
    if (pd == (void *)root && pm == (void *)root_mnt)
      goto found;
    void *mroot = 0;
    bpf_probe_read_kernel(&mroot, sizeof mroot, (char *)pm + bpf_core_field_offset(struct vfsmount, mnt_root));
    if (pd == mroot) {
      if (!top_cross(pm, &up))
        return 0;
      pd = up.mountpoint;
      pm = (char *)up.parent + bpf_core_field_offset(struct mount, mnt);
      continue;
    }
    top = pd;
    bpf_probe_read_kernel(&pd, sizeof pd, (char *)pd + bpf_core_field_offset(struct dentry, d_parent));
  }
  return 0;
found:
  if (top) {
    const unsigned char *name = 0;
    bpf_probe_read_kernel(&name, sizeof name, (char *)top + bpf_core_field_offset(struct dentry, d_name.name));
    bpf_probe_read_kernel(pb->b, 8, name);
  }
  return 0;
}
