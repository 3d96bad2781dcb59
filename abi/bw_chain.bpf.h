/* Fail closed when a chain entry's program is missing (BPF C only; after bw_shared_maps.bpf.h).
 * The dispatcher and every policy program call this when their tail call to the next slot of
 * the lane failed: the slot is linked, so bw_slot_mode says whether a policy is loaded there. An
 * empty prog-array index, or a generation word that points at an empty generation, then denies
 * for an enforce-mode policy and is recorded (BW_REC_MISSING_PROG, and BW_REC_WOULD_DENY in
 * audit mode) instead of ending the walk with what was decided so far. */
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

#endif
