/* Fail closed when a chain entry's program is missing (BPF C only; after bw_shared_maps.bpf.h).
 * The dispatcher and every policy program call this when their tail call to the next slot of
 * the lane failed: the slot is linked, so bw_slot_mode says whether a policy is loaded there. An
 * empty prog-array index, or a generation word that points at an empty generation, then denies
 * for an enforce-mode policy and is recorded (BW_REC_MISSING_PROG, and BW_REC_WOULD_DENY in
 * audit mode) instead of ending the walk with what was decided so far.
 * Before a tail call, both pass over the entries whose policy version is out of its cgroup
 * scope for the current task (bw_slot_scope, bw_next_in_scope): such a program would decide
 * nothing, so it costs a scope test instead of a tail call and a program. */
#ifndef BULWARK_BW_CHAIN_BPF_H
#define BULWARK_BW_CHAIN_BPF_H

#ifndef EPERM
#define EPERM 1
#endif

/* A subprogram, not inlined: every chain step of every policy program has a call site. */
static __attribute__((noinline, unused)) int bw_missing_program(__u32 hook, __u32 slot, int verdict)
{
	__u32 *mode = bpf_map_lookup_elem(&bw_slot_mode, &slot);
	if (!mode || (*mode & BW_SLOT_MODE_MASK) == BW_SLOT_EMPTY)
		return verdict;
	int enforce = (*mode & BW_SLOT_MODE_MASK) == BW_SLOT_ENFORCE;
	struct bw_record *r = bpf_ringbuf_reserve(&bw_events, sizeof(struct bw_record), 0);
	if (r) {
		__builtin_memset(r, 0, sizeof(*r));
		r->ktime_ns = bpf_ktime_get_ns();
		r->abi = BW_ABI_VERSION;
		r->hook = hook;
		r->slot = slot;
		r->instance = *mode >> BW_SLOT_MODE_BITS;
		r->rule = BW_NO_RULE;
		r->action = BW_ACT_DENY;
		r->flags = BW_REC_MISSING_PROG | (enforce ? 0 : BW_REC_WOULD_DENY);
		__u64 pt = bpf_get_current_pid_tgid();
		__u64 ug = bpf_get_current_uid_gid();
		r->pid = (__u32)pt;
		r->tgid = pt >> 32;
		r->uid = (__u32)ug;
		r->gid = ug >> 32;
		r->euid = r->uid;
		r->cgroup_id = bpf_get_current_cgroup_id();
		bpf_get_current_comm(r->comm, sizeof(r->comm));
		bpf_ringbuf_submit(r, 0);
	}
	if (!enforce)
		return verdict;
	struct bw_state *st = bw_state_here();
	if (st)
		st->verdict = (__u32)-EPERM;
	return -EPERM;
}

/* 1 when the policy version at prog-array index `index` is out of its cgroup scope for the
 * current task (bw_slot_scope). A scope cgroup that did not exist at load has id 0 and holds no
 * process; the helper says 0 for a task whose cgroup is not that deep, which must not match. An
 * entry that is not a cgroup scope, or none, says "in scope": the program tests its own. */
static __always_inline int bw_out_of_scope(__u32 index)
{
	struct bw_slot_scope *s = bpf_map_lookup_elem(&bw_slot_scope, &index);
	if (!s || s->kind != BW_SLOT_SCOPE_CGROUP)
		return 0;
	__u32 n = s->count;
	for (int i = 0; i < BW_SCOPE_CGROUPS; i++) {
		if (i >= n)
			break;
		__u64 id = s->id[i];
		if (id && bpf_get_current_ancestor_cgroup_id(s->level[i]) == id)
			return 0;
	}
	return 1;
}

/* The prog-array index of chain entry `link` (slot + 1, at most BW_MAX_POLICIES): its slot's
 * active generation. When the generation cannot be read (an in-range key always can), an index
 * past every per-index map: no scope, no quiet word, and a tail call there fails closed. */
static __always_inline __u32 bw_index_of(__u32 link)
{
	__u32 slot = link - 1;
	__u32 *gen = bpf_map_lookup_elem(&bw_gen, &slot);
	return gen ? slot * 2 + (*gen & 1) : BW_PROG_ARRAY_SIZE;
}

/* From chain entry `link` (slot + 1; 0 ends) of the chain `next` (bw_next_<H>) on, the first
 * whose policy version is not out of its cgroup scope, with its prog-array index in `index`;
 * 0 when none is left. A lane holds at most BW_LANE_POLICIES: a chain longer than that stops
 * at the entry after the lane's last, which then runs. */
static __always_inline __u32 bw_next_in_scope(void *next, __u32 link, __u32 *index)
{
	for (int i = 0; i <= BW_LANE_POLICIES; i++) {
		if (link == 0 || link > BW_MAX_POLICIES)
			return 0;
		*index = bw_index_of(link);
		if (i == BW_LANE_POLICIES || !bw_out_of_scope(*index))
			return link;
		__u32 key = BW_MAX_LANES + link - 1;
		__u32 *after = bpf_map_lookup_elem(next, &key);
		if (!after)
			return link;
		link = *after;
	}
	return 0;
}

#endif
