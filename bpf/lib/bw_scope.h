/* The policy's scope (bw_cfg_scope_kind): the host, cgroup subtrees, or executables (by path
 * or object: lookup_exact of bw_match_prims.h, bw_match_object of bw_identity.h). Out of
 * scope, a hook program decides nothing. */
#ifndef BULWARK_BW_SCOPE_H
#define BULWARK_BW_SCOPE_H

BW_API int bw_in_scope(struct bw_event *ev) {
  __u32 kind = bw_cfg_scope_kind;
  if (kind == BW_SCOPE_CGROUP) {
    __u32 n = bw_cfg_cgroup_count;
#pragma unroll
    for (int i = 0; i < BW_SCOPE_CGROUPS; i++) {
      if (i >= n)
        break;
      if (bpf_get_current_ancestor_cgroup_id(bw_cfg_cgroup_level[i]) == bw_cfg_cgroup_id[i])
        return 1;
    }
    return 0;
  }
  if (kind == BW_SCOPE_EXECUTABLE) {
    __u64 atoms[BW_ATOM_WORDS] = {};
    bw_current_exe(&ev->strs[1], 0);
    return lookup_exact(&ev->strs[1], BW_GROUP_SCOPE_EXE, atoms) != BW_NO_RULE ||
           (bw_policy_info(BW_INFO_SCOPE_EXE) &&
            bw_match_object(ev, 1, BW_GROUP_SCOPE_EXE, 0, atoms) != BW_NO_RULE);
  }
  return 1;
}

#endif
