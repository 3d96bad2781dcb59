/* process.cgroup: the task's cgroup v2 path relative to the root, by a bounded walk of kernfs
 * nodes (cgroups are kernfs directories, not dentries: a walk of its own beside bw_path.h's). */
#ifndef BULWARK_BW_CGROUP_H
#define BULWARK_BW_CGROUP_H

/* kernfs_node.parent was renamed __parent in 6.15; both are handled. */
struct kernfs_node___old {
  struct kernfs_node___old *parent;
} __attribute__((preserve_access_index));
struct kernfs_node___new {
  struct kernfs_node___new *__parent;
} __attribute__((preserve_access_index));

static __always_inline struct kernfs_node *kn_parent(struct kernfs_node *kn) {
  if (bpf_core_field_exists(struct kernfs_node___new, __parent))
    return (struct kernfs_node *)BPF_CORE_READ((struct kernfs_node___new *)kn, __parent);
  return (struct kernfs_node *)BPF_CORE_READ((struct kernfs_node___old *)kn, parent);
}

struct kn_ctx {
  struct kernfs_node *kn;
  char *buf;
  long off;
  int truncated;
};

static long kn_step(__u32 i, void *arg) {
  struct kn_ctx *c = arg;
  struct kernfs_node *kn = c->kn;
  struct kernfs_node *parent = kn_parent(kn);
  if (!parent)
    return 1; /* the root has no name in the path */
  const char *name = BPF_CORE_READ(kn, name);
  char *buf = c->buf;
  /* names are read into the left half, then moved next to the path */
  long n = bpf_probe_read_kernel_str(buf + BW_WALK_BUF, 256, name);
  if (n <= 1) {
    c->kn = parent;
    return 0;
  }
  long len = n - 1;
  long off = c->off - len - 1;
  if (off < 0) {
    c->truncated = 1;
    return 1;
  }
  bpf_probe_read_kernel(buf + ((off + 1) & (BW_WALK_BUF - 1)), len & 255, buf + BW_WALK_BUF);
  buf[off & (BW_WALK_BUF - 1)] = '/';
  c->off = off;
  c->kn = parent;
  return 0;
}

/* The cgroup v2 path of `t`; deeper than BW_WALK_DEPTH or longer than the buffer: truncated. */
static void task_cgroup(struct task_struct *t, struct bw_str *out) {
  struct bw_tmp *tb = tmp();
  struct kernfs_node *kn = BPF_CORE_READ(t, cgroups, dfl_cgrp, kn);
  if (!tb || !kn) {
    out->len = 0;
    out->data[0] = 0;
    return;
  }
  struct kn_ctx c = {.kn = kn, .buf = tb->walk, .off = BW_WALK_BUF - 1, .truncated = 0};
  tb->walk[BW_WALK_BUF - 1] = 0;
  bpf_loop(BW_WALK_DEPTH, kn_step, &c, 0);
  long off = c.off;
  if (off == BW_WALK_BUF - 1) {
    out->data[0] = '/';
    out->data[1] = 0;
    out->len = 1;
    return;
  }
  __u32 len = (BW_WALK_BUF - 1 - off) & (BW_WALK_BUF - 1);
  bpf_probe_read_kernel(out->data, (len + 1) & (BW_WALK_BUF - 1),
                        tb->walk + (off & (BW_WALK_BUF - 1)));
  out->data[len & (BW_WALK_BUF - 1)] = 0;
  out->len = len;
  out->truncated = c.truncated;
}

#endif
