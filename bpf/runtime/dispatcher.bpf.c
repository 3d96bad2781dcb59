/* Runtime BPF programs, built with bulwark and embedded into it (bpftool gen skeleton).
 *
 * Dispatchers: one program per LSM hook of the catalogue (hooks.def), generated with the
 * BW_HOOK X-macro. The runtime loads this object once per (hook, lane) with `bw_lane` set,
 * attaches the one dispatcher it needs and pins the link under <pin root>/dispatch/. A
 * dispatcher resets the per-CPU verdict and tail-calls the head of its lane's chain:
 *   head = bw_next_<H>[lane]   (slot + 1; 0 = empty lane)
 *   gen  = bw_gen[slot]
 *   tail call bw_progs_<H>[slot * 2 + gen]
 * Every policy program folds its verdict into bw_state and tail-calls the next slot the
 * same way (bw_next_<H>[BW_MAX_LANES + slot]), so the verdict of the chain is returned by
 * the last program. If a tail call fails (empty lane, missing program) the walk ends and
 * the verdict folded so far is returned, unless the slot holds a policy (bw_slot_mode): a
 * missing program then fails closed (bw_chain.bpf.h). Every step passes over the slots whose
 * policy is out of its cgroup scope for the current task (bw_slot_scope); a lane with none in
 * scope ends in its dispatcher, before the state is touched.
 *
 * The runtime's own bpf() calls: the dispatcher of kernel.bpf decides nothing for the
 * executable that attached it (bw_runtime_exe_*, the identity the guard trusts too), so a
 * policy that denies foreign bpf() use can never lock out the runtime that must later unload
 * or replace it. The guard still decides what that executable may do to Bulwark's state.
 *
 * Unlink: every policy with identity groups has a path_unlink program, most of them only to
 * forget the labels of an inode whose last link goes away. The path_unlink dispatcher skips its
 * lane when no program of the chain decides anything (bw_unlink_quiet, set by the runtime
 * with each prog-array entry) and the inode cannot have a label to forget (not its last link,
 * or its SELF bit in bw_hint, set before any policy writes a SELF label, is clear). When no
 * path_unlink program anywhere decides (bw_unlink_deciders, counted by the runtime), one
 * lookup tells so, without walking the chain.
 *
 * The guard's checks of file_open and path_unlink (guard.bpf.c has the others): a write open
 * of the runtime's executable, and an unlink of it or of a name under the pin root, by any
 * other task is denied here, before the chain, by every dispatcher of these hooks. The guard
 * attaches lane 0's of each whenever it is on, chain or none (Guard.cpp), so the check costs
 * an open or an unlink no second program when a policy decides on the hook too. The pin root
 * is known only while the guard is on (bw_pin_dev 0: no pin is guarded here).
 *
 * Opens that decided nothing (bw_quiet.bpf.h): a file_open dispatcher of a lane of two or
 * more programs, and an mmap_file dispatcher for a mapping with PROT_EXEC, for an inode opened
 * before, reads the open's key and skips the lane when it decided nothing for the same key
 * before; otherwise it leaves the key pending for the lane's last program, which keeps it when
 * the lane was quiet. Connects likewise (bw_net_quiet.bpf.h): a socket_connect dispatcher of a
 * lane whose every program can be quiet reads the connect's key (destination, process, its
 * marks' changes, cgroup) and skips the lane when it decided nothing for the same key before.
 *
 * Pass-through programs (bw_pass_<H>): stand-ins that decide nothing and continue the
 * chain after slot `bw_pass_slot`. The runtime puts one at a slot's generation that has no
 * program for hook H (a policy version that does not use H), so a hot swap that adds or
 * removes hooks still flips every hook with one bw_gen write and never breaks a chain.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

#include "bw_shared_maps.bpf.h"
#include "bw_chain.bpf.h"
#include "bw_kept.bpf.h"
#include "bw_quiet.bpf.h"
#include "bw_net_quiet.bpf.h"
#include "bw_match.h"
#include "bw_runtime_exe.h"

/* Hook indexes, in hooks.def order (records). */
enum {
#define BW_HOOK(id, name, kind, attach, summary) BW_DHOOK_##id,
#include "hooks.def"
};

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 bw_lane = 0;      /* dispatchers: lane index */
const volatile __u32 bw_pass_slot = 0; /* pass-through programs: slot they stand in for */
const volatile __u64 bw_runtime_exe_dev = 0; /* dispatchers: the runtime that attached them (kernel dev_t) */
const volatile __u64 bw_runtime_exe_ino = 0;
const volatile __u64 bw_pin_dev = 0;         /* dispatchers: the bpffs instance holding the pin root */
const volatile __u64 bw_pin_ino = 0;         /* and the pin root directory (the guard's check of unlinks) */
const volatile __u64 bw_rename_lock = 0;      /* file_open dispatchers: the kernel's rename_lock (bw_quiet.bpf.h) */
const volatile __u64 bw_mount_lock = 0;       /* and mount_lock; 0 = unknown: no open is skipped */

/* Shared maps of every LSM hook (kprobe hooks are not dispatched). */
#define BW_SHARED_LSM(id) BW_SHARED_HOOK_MAPS(id)
#define BW_SHARED_KPROBE(id)
#define BW_HOOK(id, name, kind, attach, summary) BW_SHARED_##kind(id)
#include "hooks.def"

/* Tail-calls the program at prog-array `index` of chain entry `link` (slot + 1, from
 * bw_next_in_scope). Returns (only when the tail call failed) `verdict`, or the fail-closed
 * verdict when the slot holds a policy. */
static __always_inline int bw_tail_to(void *ctx, void *progs, __u32 hook, __u32 link, __u32 index, int verdict)
{
	if (link == 0)
		return verdict;
	bpf_tail_call(ctx, progs, index);
	return bw_missing_program(hook, link - 1, verdict);
}

/* The current task runs the runtime's executable. */
static __always_inline int bw_is_runtime(void)
{
	return bw_task_runs(bpf_get_current_task_btf(), bw_runtime_exe_dev, bw_runtime_exe_ino);
}

/* 1 when the file file_open is called for (its first argument) is the runtime's executable
 * opened for writing by another task: the guard's check (see the top of this file). */
static __always_inline int bw_writes_runtime_exe(void *ctx)
{
	struct file *file = (struct file *)((__u64 *)ctx)[0];
	return (file->f_mode & 0x2 /* FMODE_WRITE */) &&
	       bw_inode_is(file->f_inode, bw_runtime_exe_dev, bw_runtime_exe_ino) && !bw_is_runtime();
}

/* 1 when the name path_unlink is called for (its second argument) is the runtime's executable
 * or under the pin root, and another task removes it: the guard's check. */
static __always_inline int bw_unlinks_guarded(void *ctx)
{
	struct dentry *d = (struct dentry *)((__u64 *)ctx)[1];
	return bw_dentry_guarded(d, bw_runtime_exe_dev, bw_runtime_exe_ino, bw_pin_dev, bw_pin_ino) && !bw_is_runtime();
}

/* 1 when the inode path_unlink is called for (its second argument) has no label that its
 * unlink would make a policy forget. */
static __always_inline int bw_unlink_unlabelled(void *ctx)
{
	struct dentry *dentry = (struct dentry *)((__u64 *)ctx)[1];
	struct inode *inode = dentry->d_inode;
	if (!inode || inode->i_nlink != 1)
		return 1;
	__u32 b = bw_hint_bit(inode->i_sb->s_dev, inode->i_ino, BW_IDENT_SELF), w = b >> 6;
	__u64 *bits = bpf_map_lookup_elem(&bw_hint, &w);
	return bits && !(*bits & (1ull << (b & 63)));
}

/* 1 when no path_unlink program of any lane decides anything, as the runtime counted them
 * (bw_unlink_deciders; not yet counted: 0). */
static __always_inline int bw_no_unlink_deciders(void)
{
	__u32 k0 = 0, k1 = 1;
	__u32 *n = bpf_map_lookup_elem(&bw_unlink_deciders, &k0);
	__u32 *counted = bpf_map_lookup_elem(&bw_unlink_deciders, &k1);
	return n && counted && *counted == 1 && *n == 0;
}

/* 1 when no program of the path_unlink chain from entry `link` decides anything. A chain
 * longer than a lane, or an entry the maps do not have, is not quiet. */
static __always_inline int bw_lane_quiet(void *next, __u32 link)
{
	for (int i = 0; i <= BW_LANE_POLICIES; i++) {
		if (link == 0)
			return 1;
		if (link > BW_MAX_POLICIES)
			return 0;
		__u32 index = bw_index_of(link);
		__u32 *quiet = bpf_map_lookup_elem(&bw_unlink_quiet, &index);
		if (!quiet || !*quiet)
			return 0;
		__u32 key = BW_MAX_LANES + link - 1;
		__u32 *after = bpf_map_lookup_elem(next, &key);
		if (!after)
			return 0;
		link = *after;
	}
	return 0;
}

/* The lane's keyed word (bw_next_<H>[BW_NEXT_KEYED + lane], which the runtime keeps on
 * file_open and mmap_file): BW_KEYED when the lane's opens are keyed, and the parts of the key
 * the decisions read (BW_KEY_*). A file_open lane of one program that never is quiet would pay
 * the key on every open for nothing; a quiet one pays the key instead of its decision, which
 * builds the path or reads the file's ancestors for most policies. A hint only: a keyed lane is
 * skipped only for a key every one of its programs said was quiet. */
static __always_inline __u32 bw_lane_word(void *next)
{
	__u32 key = BW_NEXT_KEYED + bw_lane;
	__u32 *word = bpf_map_lookup_elem(next, &key);
	return word ? *word : 0;
}

/* The file whose open (file_open, a keyed lane) or executable mapping (mmap_file) is keyed for
 * the dispatcher's lane (bw_quiet.bpf.h), else 0, and the parts of the key to read (`parts`).
 * A mapping's decision costs more than the key even alone; its lane reads every part until the
 * runtime wrote its word. */
static __always_inline struct file *bw_quiet_file(void *ctx, void *next, __u32 hook, __u32 *parts)
{
	__u64 *args = ctx;
	if (hook != BW_DHOOK_FILE_OPEN && !(hook == BW_DHOOK_FILE_MMAP_EXEC && (args[2] & 4 /* PROT_EXEC */)))
		return 0; /* mmap_file(file, reqprot, prot, flags) */
	__u32 word = bw_lane_word(next);
	*parts = word ? word & BW_KEY_FULL : BW_KEY_FULL;
	return (hook == BW_DHOOK_FILE_MMAP_EXEC || (word & BW_KEYED)) ? (struct file *)args[0] : 0;
}

/* The key of a connect (socket_connect, a keyed lane: bw_net_quiet.bpf.h) into `k`; 1 when
 * it was read. */
static __always_inline int bw_net_keyed(void *ctx, void *next, __u32 hook, struct bw_net_quiet_key *k)
{
	if (hook != BW_DHOOK_NET_CONNECT)
		return 0;
	__u32 word = bw_lane_word(next);
	if (!(word & BW_KEYED))
		return 0;
	__u64 *args = ctx; /* socket_connect(sock, address, addrlen) */
	return bw_net_key_of((struct socket *)args[0], (struct sockaddr *)args[1], k, word);
}

static __always_inline int bw_dispatch(void *ctx, void *progs, void *next, __u32 hook)
{
	if (hook == BW_DHOOK_KERNEL_BPF && bw_is_runtime())
		return 0; /* the guard decides the runtime's bpf() calls */
	if (hook == BW_DHOOK_FILE_OPEN && bw_writes_runtime_exe(ctx))
		return -EPERM;
	if (hook == BW_DHOOK_FILE_UNLINK && bw_unlinks_guarded(ctx))
		return -EPERM;
	__u32 lane = bw_lane;
	__u32 *head = bpf_map_lookup_elem(next, &lane);
	if (!head || !*head)
		return 0; /* an empty lane (the guard keeps lane 0 of file_open attached) */
	struct bw_quiet_key key; /* read only when keyed (bw_quiet_seen and bw_quiet_key_of wrote every field) */
	struct bw_net_quiet_key net_key; /* read only when net_keyed (bw_net_key_of wrote every field) */
	int keyed = 0;
	__u32 parts = BW_KEY_FULL;
	struct file *file = bw_quiet_file(ctx, next, hook, &parts);
	if (file) {
		__u64 writes;
		struct bw_quiet_entry *e = bw_quiet_seen(file, &key, &writes);
		keyed = e && bw_quiet_key_of(file, &key, bw_rename_lock, bw_mount_lock, parts);
		if (keyed && bw_quiet_hit(e, &key, bw_quiet_bit(hook == BW_DHOOK_FILE_MMAP_EXEC, lane), writes))
			return 0; /* the lane decided nothing for this key */
	}
	int net_keyed = bw_net_keyed(ctx, next, hook, &net_key);
	if (net_keyed && bw_net_quiet_hit(&net_key, lane))
		return 0; /* the lane decided nothing for this key */
	__u32 index = 0;
	__u32 first = bw_next_in_scope(next, *head, &index);
	if (!first)
		return 0; /* every policy of the lane is out of its cgroup scope */
	/* before the state: an unlink no program needs touches nothing of it */
	if (hook == BW_DHOOK_FILE_UNLINK && bw_unlink_unlabelled(ctx) &&
	    (bw_no_unlink_deciders() || bw_lane_quiet(next, first)))
		return 0;
	struct bw_state *st = bw_state_here();
	if (!st)
		return 0;
	st->verdict = 0;
	st->depth = 0;
	st->seq++; /* a new event: the shared scratch event of the last one is stale */
	st->quiet = (keyed && bw_quiet_pend(&key, st->seq)) || (net_keyed && bw_net_quiet_pend(&net_key, st->seq));
	return bw_tail_to(ctx, progs, hook, first, index, 0);
}

static __always_inline int bw_pass(void *ctx, void *progs, void *next, __u32 hook)
{
	struct bw_state *st = bw_state_here();
	if (!st)
		return 0;
	__u32 key = BW_MAX_LANES + bw_pass_slot;
	__u32 *link = bpf_map_lookup_elem(next, &key);
	__u32 index = 0;
	__u32 to = link ? bw_next_in_scope(next, *link, &index) : 0;
	return bw_tail_to(ctx, progs, hook, to, index, (int)st->verdict);
}

#define BW_PROGS_LSM(id, attach)                                                                 \
	SEC("lsm/" attach)                                                                         \
	int bw_dispatch_##id(void *ctx)                                                            \
	{                                                                                          \
		return bw_dispatch(ctx, &bw_progs_##id, &bw_next_##id, BW_DHOOK_##id);             \
	}                                                                                          \
	SEC("lsm/" attach)                                                                         \
	int bw_pass_##id(void *ctx)                                                                \
	{                                                                                          \
		return bw_pass(ctx, &bw_progs_##id, &bw_next_##id, BW_DHOOK_##id);                 \
	}
#define BW_PROGS_KPROBE(id, attach)
#define BW_HOOK(id, name, kind, attach, summary) BW_PROGS_##kind(id, attach)
#include "hooks.def"
