/* The policy's scope (bw_cfg_scope_kind): the host, cgroup subtrees, or executables (by path
 * or object: lookup_exact of bw_match_prims.h, bw_match_object of bw_identity.h). Out of
 * scope, a hook program decides nothing. */
#ifndef BULWARK_BW_SCOPE_H
#define BULWARK_BW_SCOPE_H

/* The cgroup scope is tested by bw_event_begin (bw_scratch.h), before the event is touched.
 * Chained, a program out of it is mostly not called at all: the step before it tests the same
 * scope in bw_slot_scope (bw_out_of_scope); this test stands for a standalone program and an
 * entry the runtime did not write. A scope cgroup that did not exist at
 * load has id 0 and holds no process; the helper also says 0 for a process whose cgroup is not
 * that deep, which must not count as a match. */
static __always_inline int in_cgroup_scope(void) {
  if (bw_cfg_scope_kind != BW_SCOPE_CGROUP)
    return 1;
  __u32 n = bw_cfg_cgroup_count;
#pragma unroll
  for (int i = 0; i < BW_SCOPE_CGROUPS; i++) {
    if (i >= n)
      break;
    __u64 id = bw_cfg_cgroup_id[i];
    if (id && bpf_get_current_ancestor_cgroup_id(bw_cfg_cgroup_level[i]) == id)
      return 1;
  }
  return 0;
}

/* The executable scope, on the event bw_event_begin returned. */
BW_API int bw_in_scope(struct bw_event *ev) {
  if (bw_cfg_scope_kind == BW_SCOPE_EXECUTABLE) {
    __u64 atoms[BW_ATOM_WORDS] = {};
    bw_slots_fresh(ev, BW_NEED_STR(1));
    bw_current_exe(&ev->strs[1], 0);
    return lookup_exact(&ev->strs[1], BW_GROUP_SCOPE_EXE, atoms) != BW_NO_RULE ||
           (bw_policy_info(BW_INFO_SCOPE_EXE) &&
            bw_match_object(ev, 1, BW_GROUP_SCOPE_EXE, 0, atoms) != BW_NO_RULE);
  }
  return 1;
}

#endif
