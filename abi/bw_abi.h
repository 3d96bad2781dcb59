/* The kernel ABI between bulwarkc-generated policy objects and the bulwark runtime.
 * Shared by BPF C (templates, dispatcher) and C++ (back end, runtime). Bump
 * BW_ABI_VERSION on any incompatible change: the runtime refuses bundles of another ABI.
 *
 * How policies run (see docs/architecture.md, "Kernel ABI"):
 *  - The runtime attaches, once per LSM hook, a dispatcher program per lane. A dispatcher
 *    resets the per-CPU verdict and tail-calls the first policy of its lane.
 *  - Every policy is loaded into a slot (0..BW_MAX_POLICIES-1). Its program for hook H
 *    lives in prog array bw_progs_<H> at index slot*2 + generation. After deciding, a
 *    policy program folds its verdict into bw_state and tail-calls the next slot of the
 *    lane (bw_next_<H>), or returns the folded verdict at the end of the chain.
 *  - Hot swap: the new version's programs go into the inactive generation's indexes for
 *    all its hooks, then one write to bw_gen[slot] flips every hook at once.
 *  - Tail calls are capped at 33 per event, so a lane holds at most BW_LANE_POLICIES.
 *  - A cgroup-scoped policy out of scope for the current task is passed over before its
 *    tail call (bw_slot_scope), so it costs a scope test instead of a program.
 *  - Fail closed: bw_slot_mode[slot] says whether a policy is loaded in the slot and in which
 *    mode; a tail call to a linked slot that fails (its program is missing) denies for an
 *    enforce-mode policy (bw_chain.bpf.h).
 */
#ifndef BULWARK_BW_ABI_H
#define BULWARK_BW_ABI_H

#include "bw_event.h"

#define BW_ABI_VERSION 15

#define BW_MAX_POLICIES 1024
#define BW_LANE_POLICIES 32
#define BW_MAX_LANES (BW_MAX_POLICIES / BW_LANE_POLICIES)
#define BW_PROG_ARRAY_SIZE (BW_MAX_POLICIES * 2)
/* bw_next_<H>: ARRAY of u32, BW_MAX_LANES heads then one "next" entry per slot (values are
 * slot + 1; 0 ends the chain), then from BW_NEXT_KEYED one word per lane, on file_open,
 * mmap_file and socket_connect, which the runtime keeps from bw_quiet_progs: BW_KEYED when the
 * dispatcher keys the lane's events (bw_quiet.bpf.h: file_open, a lane of two programs or more,
 * or of one whose decision can be quiet; mmap_file, a lane with a program;
 * bw_net_quiet.bpf.h: socket_connect, a lane whose every program can be quiet), and on the
 * file hooks the key parts (BW_KEY_*) the decisions of both hooks' lanes of that index read:
 * their entries are shared, so both read the same key. */
#define BW_NEXT_KEYED (BW_MAX_LANES + BW_MAX_POLICIES)
#define BW_NEXT_SIZE (BW_NEXT_KEYED + BW_MAX_LANES)
/* The bits of a lane's keyed word and of a bw_quiet_progs entry: BW_KEYED (the lane's opens are
 * keyed; the program's decision can be quiet), then what the quiet key must hold besides the
 * file (inode, dentry, name, directory), the open's mode and the change counts:
 * BW_KEY_VIEW the process's view of the path (mount, root, mount_lock's sequence), read by a
 * decision that matches the path's string; BW_KEY_ANCESTORS rename_lock's sequence, read by
 * one that matches the file's ancestors. A decision on the file's own identity needs neither.
 * BW_KEY_CGROUP the task's cgroup, read by a policy scoped to cgroups: out of its scope it is
 * quiet, so a kept event must not stand for a task inside it (socket_connect's key too). */
#define BW_KEYED 1u
#define BW_KEY_VIEW 2u
#define BW_KEY_ANCESTORS 4u
#define BW_KEY_CGROUP 8u
#define BW_KEY_FULL (BW_KEY_VIEW | BW_KEY_ANCESTORS | BW_KEY_CGROUP)

/* Pinned under the bpffs root (default /sys/fs/bpf/bulwark). Map names are at most
 * 15 characters (kernel limit). */
#define BW_PIN_ROOT_DEFAULT "/sys/fs/bpf/bulwark"
#define BW_SHARED_PIN_DIR "shared"     /* maps shared by runtime and all policies */
#define BW_EVENTS_RINGBUF_BYTES (4u << 20) /* bw_events (shared_maps.def) */
/* bw_hint (shared_maps.def): four quarters of 2^21 bits (1 MiB), placed by bw_ident_hint. */
#define BW_HINT_QUARTER (1u << 21)
#define BW_HINT_WORDS (4u * BW_HINT_QUARTER / 64u)
/* The word after the bits counts the times a bit was set (the runtime at load, a program when
 * it learns): what was worked out from the bits stands while it is unchanged (bw_dirfacts). */
#define BW_HINT_CHANGES BW_HINT_WORDS
/* The next counts the changes that decisions kept as quiet rest on besides hints: the runtime's
 * chain changes and the labels programs write or remove (bw_quiet). */
#define BW_HINT_DECISIONS (BW_HINT_WORDS + 1u)
#define BW_HINT_MAP_WORDS (BW_HINT_WORDS + 2u)

/* Actions, as in the language. */
enum bw_action {
  BW_ACT_ALLOW = 0,
  BW_ACT_DENY = 1,
  BW_ACT_AUDIT = 2,
  BW_ACT_KILL = 3,
};

enum bw_mode {
  BW_MODE_ENFORCE = 0,
  BW_MODE_AUDIT = 1,
};
#define BW_MODE_NONE 0xffffffffu /* bw_cfg_mode_override: the policy's own mode */

enum bw_scope_kind {
  BW_SCOPE_HOST = 0,
  BW_SCOPE_CGROUP = 1,
  BW_SCOPE_EXECUTABLE = 2,
};
#define BW_SCOPE_CGROUPS 8 /* cgroup subtrees one policy may be scoped to */

/* The cgroup scope of the policy version at one prog-array index (slot*2 + generation, the same
 * on every hook), in shared map bw_slot_scope: the dispatchers and the chain steps test it before
 * a tail call (bw_chain.bpf.h) and pass over a program that would decide nothing for the current
 * task. The runtime writes the entry of an index before it puts a version's programs there, so
 * the entry is always that of the programs it stands beside. An entry of another kind (0: none
 * written, a host or executable scope) says "run it": the program tests its own scope. */
#define BW_SLOT_SCOPE_CGROUP 1
struct bw_slot_scope {
  bw_u32 kind;                       /* BW_SLOT_SCOPE_CGROUP, or 0 */
  bw_u32 count;                      /* cgroups used, at most BW_SCOPE_CGROUPS */
  bw_u32 level[BW_SCOPE_CGROUPS];    /* as bw_cfg_cgroup_level */
  bw_u64 id[BW_SCOPE_CGROUPS];       /* as bw_cfg_cgroup_id: 0 holds no process */
};

/* Per-CPU state for one event's walk down a lane (map bw_state, shared): an ARRAY keyed by
 * the CPU's number, whose lookups the verifier inlines (a PERCPU_ARRAY lookup is a helper call
 * on 6.1), so a policy program that has its CPU's number already reads it almost for free. */
#define BW_MAX_CPUS 8192 /* NR_CPUS of Debian's kernels: a CPU numbered beyond has no state */
struct bw_state {
  bw_u32 verdict;   /* 0 or a negative errno as u32 (-EPERM) */
  bw_u32 depth;     /* walks of this event that reached the last program of their lane */
  bw_u64 seq;       /* the event's number on this CPU, counted by the dispatchers: the shared
                     * scratch event (bw_event.seq) holds the fields of this event only when equal */
  bw_u32 quiet;     /* file_open, mmap_file, socket_connect: the lane is quiet so far (the
                     * pending entry of bw_quiet, or bw_net_quiet, holds this event's key); a
                     * program that cannot say so clears it */
  bw_u32 pad;
};

/* Opens and executable mappings that decided nothing, kept per CPU (bw_quiet,
 * bpf/runtime/bw_quiet.bpf.h): when every program of a file_open (or mmap_file) lane said "no
 * rule of mine can hold for this file" (bw_event.quiet) and the lane allowed, the last program
 * keeps what that answer rests on, and the dispatcher skips the lane for the next open (or
 * executable mapping of an open file) with the same key; the two hooks' lanes have their own
 * bits of one entry. The key is everything a `file.open`
 * decision that no rule reads beyond the file's path, file.write and file.read and the cgroup
 * scope can depend on: the file (inode, its number and generation, its dentry, name and
 * directory), the process's view of it (mount, root, rename_lock and mount_lock sequences),
 * the hints, chains and labels (bw_hint's BW_HINT_CHANGES plus BW_HINT_DECISIONS, which the
 * runtime counts after every chain change and the programs after every label they write or
 * remove; both only grow, so their sum changes with either), the open's read and write bits
 * and the process's cgroup. */
#define BW_QUIET_ENTRIES 512 /* per CPU, indexed by a hash of the inode's number and generation */
#define BW_QUIET_PENDING BW_QUIET_ENTRIES /* the entry of the event being decided */
struct bw_quiet_key {
  bw_u64 inode, ino; /* the first BW_QUIET_SEEN_WORDS words: whose entry it is, in which mode */
  bw_u32 gen, mode;
  bw_u64 dentry, name, dir, dir_ino, mnt, root, root_mnt, cgroup, hints;
  bw_u32 dir_gen, renames, mounts, pad;
};
#define BW_QUIET_SEEN_WORDS 3
#define BW_QUIET_MMAP_LANES 32 /* bw_quiet_entry.lanes: the first bit of mmap_file's lanes */
struct bw_quiet_entry {
  bw_u64 writes;            /* bw_kept.bpf.h: odd while a program rewrites the entry */
  struct bw_quiet_key key;
  bw_u64 lanes;             /* bit per lane whose chain decided nothing, file_open's from bit 0,
                             * mmap_file's from BW_QUIET_MMAP_LANES; pending: not used
                             * (bw_state.quiet says it) */
  bw_u64 hits;              /* opens that skipped a lane by this entry; pending: the event's bw_state.seq */
};

/* Connects that decided nothing, kept per CPU (bw_net_quiet, abi/bw_net_quiet.bpf.h), as opens
 * are in bw_quiet: when every program of a socket_connect lane said "no rule of mine can hold
 * for this key" and the lane allowed, the next connect with the same key skips the lane. The
 * key is everything a `net.connect` decision that no rule reads beyond net.family, net.daddr,
 * net.dport, the process's own marks and the cgroup scope can depend on: the destination as
 * the sockaddr gives it (family, port, address; only AF_INET and AF_INET6 are keyed), the
 * socket's family, the process (its leader task and start time) and the count of its marks'
 * changes (bw_marks.sets: a mark tested absent stays so while it is unchanged), the cgroup,
 * and bw_hint's counts of hint bits and of chain and label changes. */
#define BW_NET_QUIET_ENTRIES 256 /* per CPU, indexed by a hash of the key */
#define BW_NET_QUIET_PENDING BW_NET_QUIET_ENTRIES
struct bw_net_quiet_key {
  bw_u64 addr[2];            /* the address's 16 bytes (IPv4: its 4 in the first word) */
  bw_u32 port, family;       /* as the sockaddr has them */
  bw_u32 sock_family, pad;   /* net.family */
  bw_u64 leader, start, sets, cgroup, hints;
};
struct bw_net_quiet_entry {
  bw_u64 writes; /* bw_kept.bpf.h */
  struct bw_net_quiet_key key;
  bw_u64 lanes;  /* bit per socket_connect lane whose chain decided nothing for the key */
  bw_u64 hits;   /* connects that skipped a lane by this entry; pending: the event's bw_state.seq */
};

/* Record flags */
#define BW_REC_WOULD_DENY 1u  /* audit mode (policy or --mode audit): deny not applied */
#define BW_REC_DEFAULT 2u     /* no rule matched: the policy default decided */
#define BW_REC_KILLED 4u      /* SIGKILL sent */
#define BW_REC_MISSING_PROG 8u /* fail closed: the slot's program was missing (bw_chain.bpf.h) */

/* bw_slot_mode: what a linked slot whose program is missing decides (bw_chain.bpf.h), in the
 * low BW_SLOT_MODE_BITS; the bits above hold the policy instance loaded in the slot, so a
 * record of a missing program names the instance that was expected there. */
#define BW_SLOT_MODE_BITS 2
#define BW_SLOT_MODE_MASK 3u
enum bw_slot_mode {
  BW_SLOT_EMPTY = 0,    /* no policy: the walk continues as if the slot were not there */
  BW_SLOT_ENFORCE = 1,  /* deny */
  BW_SLOT_AUDIT = 2,    /* record a would-deny */
};

/* One decision, sent on the ring buffer bw_events (shared, pinned). The fixed header is
 * followed by the hook's strings (strs[BW_COMMON_STR_SLOTS..]) and process.exe, each
 * NUL-terminated, lengths in str_len (0 = absent). `after`: the marks the deciding rule's
 * tests found set (the earlier steps of a sequence), `after_n` of them (the rest is not meaningful). */
struct bw_record {
  bw_u64 ktime_ns;
  bw_u32 abi;          /* BW_ABI_VERSION */
  bw_u32 hook;         /* hook index in hooks.def order */
  bw_u32 slot;         /* policy slot */
  bw_u32 rule;         /* rule id, BW_NO_RULE for the default */
  bw_u32 action;       /* enum bw_action actually decided */
  bw_u32 flags;        /* BW_REC_* */
  bw_u32 pid, tgid, ppid, uid, gid, euid;
  bw_u32 instance;     /* policy instance (load sequence number, never reused; 0 = unknown) */
  bw_u32 reserved;
  bw_u64 cgroup_id;
  char comm[16];
  bw_u64 ints[BW_INT_SLOTS];
  struct bw_addr addrs[BW_ADDR_SLOTS];
  bw_u32 str_len[BW_STR_SLOTS];
  bw_u32 after_n;
  bw_u32 after_pad;
  struct bw_found_mark after[BW_RECORD_MARKS];
};

/* Marks (the language's `mark process "x" for 10m` and `process.marks has "x"`): per process
 * (the thread group leader's task storage, so every thread of a process shares them) in the
 * shared map bw_marks. Every policy, and every version of one, reads and writes the same
 * storage; a mark is named by its id, FNV-1a 64 of "<policy>" NUL "<mark>" (computed by the
 * compiler), so a hot swap of a policy keeps the marks whose names it keeps. Bounded: a
 * process holds BW_MARK_SLOTS live marks of all policies together; one more sets `full`,
 * which makes every deny-side test of a mark hold for the process (fail closed). */
#define BW_MARK_SLOTS 16
#define BW_MARK_UNTIL_EXEC 1u /* bw_mark.flags: dropped when the process executes a program */
#define BW_MARK_ON_PROCESS 0u /* who: the current process */
#define BW_MARK_ON_PARENT 1u  /* who: its parent */
struct bw_mark {
  bw_u64 id;          /* 0: a free slot */
  bw_u64 expires_ns;  /* bpf_ktime_get_boot_ns() after which it is gone; 0: never */
  bw_u64 set_ns;      /* when it was set (boot clock) */
  bw_u32 rule;        /* the rule that set it, in the policy instance below */
  bw_u32 instance;    /* the setting policy's instance (bw_cfg_instance) */
  bw_u32 flags;       /* BW_MARK_* */
  bw_u32 reserved;
};
/* A slot holds a mark at boot time `now` (the policy library's tests, the runtime's count of
 * live processes per mark). */
static inline int bw_mark_live(const struct bw_mark *m, bw_u64 now) {
  return m->id && (!m->expires_ns || now < m->expires_ns);
}
/* The kernel finds a map value's lock by its type, struct bpf_spin_lock, not a typedef. */
#ifdef __BPF__
#define BW_SPIN_LOCK struct bpf_spin_lock
#else
#define BW_SPIN_LOCK struct { bw_u32 val; }
#endif
struct bw_marks {
  struct bw_mark slot[BW_MARK_SLOTS];
  bw_u32 full;        /* a mark found no free slot: deny-side tests of marks hold */
  BW_SPIN_LOCK lock;  /* taken to change slots: threads of a process set marks concurrently */
  bw_u64 present;     /* bw_mark_bit of every id in a slot, and maybe of ids gone: a test of a
                         mark whose bit is clear reads no slot */
  bw_u64 sets;        /* counts the marks set where absent or expired (and the sets refused:
                         full), not the renewals of live ones: while it is the same, a mark
                         tested absent stays absent, as marks only expire in between
                         (bw_net_quiet's key) */
};
/* A mark id's bit in bw_marks.present. */
static inline bw_u64 bw_mark_bit(bw_u64 id) {
  return 1ull << (id & 63);
}
/* What the runtime's task iterator (bpf/runtime/live_marks.bpf.c) writes for `bulwark status`:
 * one per unexpired mark of a live process, id 0 for a process whose marks overflowed. */
struct bw_live_mark {
  bw_u64 id;
  bw_u32 tgid;       /* the process */
  bw_u32 pad;
};
/* Counts of the mark machinery (PERCPU_ARRAY bw_mark_stats, shared, one entry). */
struct bw_mark_stats {
  bw_u64 set;         /* marks set (or renewed) by rules */
  bw_u64 full;        /* marks that found no free slot (the process then fails closed) */
  bw_u64 inherited;   /* forks that copied marks to the child */
  bw_u64 no_storage;  /* storage could not be had (no memory): the fork failed, the mark was not set */
};

/* Per-rule counters: PERCPU_ARRAY bw_counters (per policy), index = rule id, with the
 * policy default at index rule_count. */
struct bw_counter {
  bw_u64 hits;       /* decisions made by this rule */
  bw_u64 emitted;    /* records sent */
  bw_u64 dropped;    /* ring buffer full */
  bw_u64 limited;    /* suppressed by the per-rule rate limit */
};

/* In-kernel aggregation (bw_agg, per policy; `bulwark top`): every decision that is not allow
 * is counted by rule, executable and cgroup in the program itself, records or not (rate
 * limited, ring buffer full). A decision bw_agg has no room for is counted per rule in
 * bw_agg_lost, so per rule the entries plus the lost count equal the rule's hits. */
#define BW_AGG_ENTRIES 4096   /* default max entries of bw_agg (`bulwark load --top-entries`) */
#define BW_AGG_EXE_MAX 256    /* bytes of process.exe kept with an entry, NUL included */
struct bw_agg_key {
  bw_u32 rule;       /* rule id, BW_NO_RULE for the policy default */
  bw_u32 exe_dev;    /* the executable file's dev_t, kernel encoding (major << 20 | minor) */
  bw_u64 exe_ino;    /* its inode; 0: no executable (a kernel thread) */
  bw_u64 cgroup_id;  /* cgroup v2 id */
};
struct bw_agg_val {
  bw_u64 count;
  bw_u64 first_ns, last_ns;   /* bpf_ktime_get_ns of the first and the last decision */
  char exe[BW_AGG_EXE_MAX];   /* process.exe at the first decision (cut to BW_AGG_EXE_MAX - 1 bytes);
                               * empty for a kernel thread */
};

#endif
