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

/* kn_parent for a BTF pointer: a plain load. */
static __always_inline struct kernfs_node *kn_parent_btf(struct kernfs_node *kn) {
  if (bpf_core_field_exists(struct kernfs_node___new, __parent))
    return (struct kernfs_node *)((struct kernfs_node___new *)kn)->__parent;
  return (struct kernfs_node *)((struct kernfs_node___old *)kn)->parent;
}

struct kn_ctx {
  struct kernfs_node *kn;
  char *buf;
  long off;
  int truncated;
};

/* One step of the walk: node `c->kn`, named `name`, whose parent is `parent` (0: the root,
 * which has no name in the path). 1 when the walk ends. */
static __always_inline long kn_take(struct kn_ctx *c, struct kernfs_node *parent, const char *name) {
  if (!parent)
    return 1;
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

static long kn_step(__u32 i, void *arg) {
  struct kn_ctx *c = arg;
  struct kernfs_node *kn = c->kn;
  return kn_take(c, kn_parent(kn), BPF_CORE_READ(kn, name));
}

/* The first BW_KN_BTF steps from `kn`, a BTF pointer, with plain loads: only each name is
 * probe-read, where kn_step reads the two pointers too and a loop callback runs. 1 when the
 * walk ended; else kn_step goes on from c->kn. */
#define BW_KN_BTF 6
static __always_inline int kn_walk_btf(struct kn_ctx *c, struct kernfs_node *kn) {
#pragma unroll
  for (int k = 0; k < BW_KN_BTF; k++) {
    struct kernfs_node *parent = kn_parent_btf(kn);
    if (kn_take(c, parent, kn->name))
      return 1;
    kn = parent;
  }
  return 0;
}

/* The cgroup v2 path of `t` (a BTF pointer); deeper than BW_WALK_DEPTH or longer than the buffer: truncated. */
static void task_cgroup(struct task_struct *t, struct bw_str *out) {
  struct bw_tmp *tb = tmp();
  struct css_set *cgroups = t->cgroups;
  struct cgroup *dfl = cgroups ? cgroups->dfl_cgrp : 0;
  struct kernfs_node *kn = dfl ? dfl->kn : 0;
  if (!tb || !kn) {
    out->len = 0;
    out->data[0] = 0;
    return;
  }
  struct kn_ctx c = {.kn = kn, .buf = tb->walk, .off = BW_WALK_BUF - 1, .truncated = 0};
  tb->walk[BW_WALK_BUF - 1] = 0;
  if (!kn_walk_btf(&c, kn))
    bpf_loop(BW_WALK_DEPTH - BW_KN_BTF, kn_step, &c, 0);
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
