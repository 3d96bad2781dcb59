/* Layouts of the per-policy match maps, shared by the BPF template library and the
 * back end (which emits their initial entries). Fixed-width fields only.
 *
 * Every lookup returns a struct bw_match_val: the lowest rule id among the rules whose
 * whole condition is this one membership test and that match the key (BW_NO_RULE if
 * none), and the bit set of "atoms" (tests inside compound conditions) the key
 * satisfies. Group ids number the distinct (field, op) pairs of one policy.
 */
#ifndef BULWARK_BW_MATCH_H
#define BULWARK_BW_MATCH_H

#include "bw_abi.h"
#include "bw_event.h"
#include "hooks.def" /* BW_COMMON_INT_SLOTS, BW_COMMON_STR_SLOTS (the table expands to nothing here) */

#define BW_ATOM_WORDS 4                      /* up to 256 atoms per hook */
#define BW_MAX_ATOMS (BW_ATOM_WORDS * 64)
#define BW_LPM_STR_MAX 252                   /* prefix/suffix bytes kept in an LPM key */
#define BW_FNV_OFFSET 0xcbf29ce484222325ull  /* FNV-1a 64 */
#define BW_FNV_PRIME 0x100000001b3ull
#define BW_DFA_CLASSES 256                   /* byte -> class table per DFA */
#define BW_DFA_HEADER 2
#define BW_DFA_DEAD 0u
#define BW_DFA_START 1u
#define BW_LANE_NONE 0xffffffffu             /* bw_cfg_lane default: standalone program */

/* Field bits of bw_need_<H>(): INT slot i -> bit i, ADDR slot i -> bit 16+i,
 * STR slot i -> bit 24+i. */
#define BW_NEED_INT(i) (1ull << (i))
#define BW_NEED_ADDR(i) (1ull << (16 + (i)))
#define BW_NEED_STR(i) (1ull << (24 + (i)))
#define BW_NEED_ALL 0xffffffffffffffffull
/* bw_precheck_<H>(ev): some rule of the hook may hold, so extract the rest and decide (else it
 * returns the decision word itself). Above every decision word (rule ids are below 2^29). */
#define BW_PRECHECK_PASS 0xfffffffdu
/* bw_precheck_quiet_<H>(): what a failed precheck tells of a quiet decision (bw_event.quiet):
 * nothing (0), that it is quiet (BW_PRECHECK_QUIET: the precheck read key fields alone), or
 * nothing but the full decision can tell (BW_PRECHECK_DECIDE: the precheck read more, a mark
 * or a field outside the key), so a lane still quiet so far decides in full. */
#define BW_PRECHECK_QUIET 1u
#define BW_PRECHECK_DECIDE 2u

/* Questions to the generated bw_policy_info(what): constants of the policy, folded when the
 * module is optimised. */
#define BW_INFO_MODE 0         /* enum bw_mode */
#define BW_INFO_DEFAULT 1      /* enum bw_action of the default (allow or deny) */
#define BW_INFO_RULE_COUNT 2   /* bw_counters has RULE_COUNT + 1 entries */
#define BW_INFO_IDENT_EXACT 3  /* 1: the policy has exact identity groups (bw_m_ident) */
#define BW_INFO_IDENT_PREFIX 4 /* 1: ... prefix identity groups */
#define BW_INFO_SCOPE_EXE 5    /* 1: the policy is `scope executable` (its programs labelled) */
#define BW_INFO_SUFFIX_KEY 6   /* bytes of a string bw_m_suffix keys use: BW_SUFFIX_SHORT, or the
                                * LPM maximum when a suffix is longer (so the code, and what the
                                * verifier walks, do not change with a suffix's exact length) */
#define BW_SUFFIX_SHORT 32

struct bw_match_val {
  bw_u32 best;                   /* lowest decision word (rule << 2 | action) or BW_NO_RULE */
  bw_u32 pad;
  bw_u64 atoms[BW_ATOM_WORDS];
};

/* Two meanings of one key at once (a file that is two protected paths): the lower word,
 * the union of atoms. Used where an entry is merged into bw_m_ident (template, runtime). */
static inline void bw_match_val_merge(struct bw_match_val *into, const struct bw_match_val *v) {
  if (v->best < into->best)
    into->best = v->best;
  for (int i = 0; i < BW_ATOM_WORDS; i++)
    into->atoms[i] |= v->atoms[i];
}

/* bw_m_exact (HASH): exact string/path sets. The string is identified by its length and
 * FNV-1a 64 hash; the compiler refuses a policy in which two different strings of one
 * group collide, a run-time string colliding with a policy string matches it (odds
 * about n / 2^64). */
struct bw_exact_key {
  bw_u32 group;
  bw_u32 len;
  bw_u64 hash;
};

/* One byte of FNV-1a 64, the step the runtime and the programs hash exact keys and names with. */
static inline bw_u64 bw_fnv1a_step(bw_u64 h, bw_u8 byte) {
  return (h ^ byte) * BW_FNV_PRIME;
}

/* FNV-1a 64 of a string, as the exact keys use it (the template hashes in a bpf_loop). */
#ifndef __BPF__
static inline bw_u64 bw_fnv1a64(const char *s, unsigned long n) {
  bw_u64 h = BW_FNV_OFFSET;
  for (unsigned long i = 0; i < n; i++)
    h = bw_fnv1a_step(h, (bw_u8)s[i]);
  return h;
}
#endif

/* bw_m_ident (HASH): the objects behind *identity groups* (exact and prefix groups on path
 * fields; at most BW_IDENT_GROUPS per policy, listed in rodata bw_cfg_ident_*). A path test is
 * about the object the kernel acts on, wherever the process sees it (chroot, mount namespace,
 * bind mount, overlayfs), so these labels decide; the string is the process's view, which may
 * add a denial but never grant (Lowering.cpp: view values). Keys (group, dev, ino, name):
 *   name BW_IDENT_SELF    the inode is a protected file (exact: lstat at load; a hard link or a
 *                         rename away of a protected file, learned; prefix: a file hard-linked
 *                         from under the directory, scanned at load or learned)
 *   name BW_IDENT_UNDER   everything below this directory inode is under the prefix (stat at
 *                         load, mounts below it too; a directory moved out, learned)
 *   name BW_IDENT_NAME(h) the entry whose name hashes to h in this directory inode (exact: the
 *                         parent of a protected path, so a file created or renamed there later
 *                         is protected, and so it stays when a parent directory is renamed)
 *   dev 0, ino 0, name BW_IDENT_INCOMPLETE: what the group means when the object's ancestors
 *                         cannot all be read (deeper than BW_IDENT_WALK): the union of what can
 *                         only deny (set by bulwarkc), so incomplete information fails closed.
 * The value is what the protected path means in its group (the full value: group id with
 * BW_GROUP_IDENT_VAL in bw_m_exact / bw_m_prefix). Learning is bounded by the map size; a link
 * or rename that needs a label the map cannot take is denied. */
#define BW_IDENT_GROUPS 16
#define BW_IDENT_EXACT 0u
#define BW_IDENT_PREFIX 1u
#define BW_IDENT_LEARN_SLACK 4096u           /* bw_m_ident entries beyond the seeded ones */
#define BW_IDENT_WALK 4096u                  /* ancestors read before failing closed */
#define BW_IDENT_SELF 0ull
#define BW_IDENT_UNDER 1ull
#define BW_IDENT_INCOMPLETE 2ull
#define BW_IDENT_NAME(h) ((h) | (1ull << 63))
#define BW_VIEW_HEADS 4                      /* bw_cfg_view_head: first bytes of view paths */
#define BW_VIEW_WHERE_PREFIX 256u            /* bw_match_view `where`: beside the group index, a prefix group */
#define BW_VIEW_WHERE_INDEX 255u
#define BW_GROUP_IDENT_VAL 0x40000000u       /* group bit: the full value of an identity group */
/* Group of the executables of `scope executable` (bw_m_exact, and bw_m_ident: labelled by the
 * runtime like an exact group, value best = 0). A process is in scope when its executable is
 * one of them, or its path as the process sees it names one (which can only add the policy). */
#define BW_GROUP_SCOPE_EXE 0xfffffffeu
struct bw_ident_key {
  bw_u32 group;
  bw_u32 dev;                    /* kernel dev_t: major << 20 | minor */
  bw_u64 ino;
  bw_u64 name;                   /* BW_IDENT_SELF, _UNDER, _INCOMPLETE or BW_IDENT_NAME(hash) */
};

/* bw_learned (ARRAY, one entry): labels the programs write into bw_m_ident, counted before
 * (begun) and after (done) each write. `seen` is the runtime's: in a staged version, the
 * enforcing version's `done` read before the stage carried its labels. At the switch, an
 * enforcing version whose `begun` still equals it wrote no label since, so the switch need
 * not read its labels again. */
struct bw_learn_count {
  bw_u64 begun;
  bw_u64 done;
  bw_u64 seen;
};

/* bw_hint (shared by every policy, ARRAY of u64 bit words, four quarters of BW_HINT_QUARTER
 * bits: bw_abi.h): one bit per (dev, ino, kind) of every bw_m_ident key of any group of any
 * policy, kind BW_IDENT_SELF, BW_IDENT_UNDER, or BW_HINT_NAMES for the directory of a
 * BW_IDENT_NAME key. Most objects and directories have no label: a clear bit (an inlined
 * array read) saves the hash lookups of every group. A set bit may be another key's, or
 * another policy's (then the lookups find nothing). Bits are set before their label is
 * written (the runtime at load by atomic ORs on its mapping, the programs when they learn)
 * and never cleared, so a label is never missed. One map for all policies makes what the hints
 * say about an object (struct bw_facts) the same for every policy of an event: it is worked
 * out once per event. */
#define BW_HINT_NAMES (1ull << 63)
/* Each kind has its own part of the map (SELF half of it, UNDER and NAMES a quarter each), so
 * learned SELF labels, which a user can multiply, do not crowd the ancestors' hints. `quarter`
 * is a power of two: a mask and an add place a bit, no shift by a variable. */
static inline bw_u32 bw_ident_hint(bw_u32 dev, bw_u64 ino, bw_u64 kind, bw_u32 quarter) {
  bw_u64 k = kind == BW_HINT_NAMES ? 2 : kind;
  bw_u64 h = ino * 0x9e3779b97f4a7c15ull ^ (dev | k << 32) * 0xc2b2ae3d27d4eb4full;
  h ^= h >> 29;
  h *= 0xbf58476d1ce4e5b9ull;
  bw_u32 top = (bw_u32)(h >> 40); /* the product's best-mixed 24 bits */
  if (k == 0)
    return top & (2 * quarter - 1);                       /* SELF: the first half */
  return (bw_u32)(k + 1) * quarter + (top & (quarter - 1)); /* UNDER, then NAMES */
}
/* The bit of bw_hint for (dev, ino, kind). */
static inline bw_u32 bw_hint_bit(bw_u32 dev, bw_u64 ino, bw_u64 kind) {
  return bw_ident_hint(dev, ino, kind, BW_HINT_QUARTER);
}
/* bw_m_hint (per policy, the same layout): the bits of this policy's own labels only. The
 * shared bits say which parts of an object to work out once per event; a policy looks up its
 * groups' labels only where its own bit is set too, so another policy's labelled directories
 * (a /tmp that one policy lists) cost it an array read, not a hash lookup per group. The
 * runtime sizes it by the labels it sets at load (bw_policy_hint_quarter_for) and tells the
 * programs its size in bw_cfg_hint_quarter. */
#define BW_POLICY_HINT_QUARTER 65536u          /* the smallest map: 4 quarters of 2^16 bits, 32 KiB */
#define BW_POLICY_HINT_QUARTER_MAX (1u << 22)  /* the largest: 2 MiB */
#define BW_POLICY_HINT_WORDS (4u * BW_POLICY_HINT_QUARTER / 64u)
/* The quarter's bits for `labels` labels set at load: at least 64 per label, so that fewer
 * than 2% of an UNDER or NAMES quarter's bits are set. */
static inline bw_u32 bw_policy_hint_quarter_for(bw_u64 labels) {
  bw_u32 quarter = BW_POLICY_HINT_QUARTER;
  while (quarter < BW_POLICY_HINT_QUARTER_MAX && quarter < labels * 64)
    quarter *= 2;
  return quarter;
}
static inline bw_u64 bw_ident_hint_kind(bw_u64 name) {
  return name >> 63 ? BW_HINT_NAMES : name;
}

/* bw_m_prefix / bw_m_suffix (LPM_TRIE): prefixes, and suffixes over reversed strings.
 * prefixlen counts bits over group (big endian) + string bytes. Values are precomputed
 * over all shorter prefixes present (min rule id, atom union). */
struct bw_lpm_str_key {
  bw_u32 prefixlen;
  bw_u8 group[4];                /* big endian, so it is a bit-prefix */
  bw_u8 data[BW_LPM_STR_MAX];
};

/* bw_m_cidr (LPM_TRIE): IPv4-mapped IPv6 addresses. */
struct bw_lpm_addr_key {
  bw_u32 prefixlen;              /* 32 + CIDR prefix */
  bw_u8 group[4];
  bw_u8 addr[16];
};

/* bw_m_int (HASH): integer equality sets. */
struct bw_int_key {
  bw_u32 group;
  bw_u32 pad;
  bw_u64 value;
};

/* Per-CPU scratch of the library (bw_tmp, PERCPU_ARRAY of 1). */
struct bw_tmp {
  char walk[2 * BW_PATH_MAX];    /* dentry/kernfs walks, right to left */
  struct bw_lpm_str_key skey;
  struct bw_lpm_addr_key akey;
  struct bw_exact_key ekey;
  struct bw_int_key ikey;
  struct bw_facts lfacts[2];     /* learning: the object at its old and its new name, */
  struct bw_match_val lval[3];   /* and what they mean in one group (had, will, keep) */
};

/* bw_rlimit (PERCPU_ARRAY, index = rule id, the default at rule count): the record rate
 * limit of each rule on each CPU, a GCRA token bucket. `tat` is the theoretical arrival
 * time (ns) of the next record; a record at `now` passes when tat - now <= (burst - 1) *
 * interval, and then tat = max(tat, now) + interval, interval = 1e9 / rate. */
struct bw_rl {
  bw_u64 tat;
};
#define BW_REC_RATE_DEFAULT 1000u   /* bw_cfg_rec_rate: records per second per rule per CPU */

/* bw_exe (TASK_STORAGE): process.exe of a task, cached per exec. Valid while the task's
 * self_exec_id and mm->exe_file are still the ones recorded (an exec changes the first,
 * prctl(PR_SET_MM_EXE_FILE) the second); otherwise the path is walked again and the entry
 * refreshed. Paths of BW_EXE_CACHE_MAX bytes or more are not cached (always walked). */
#define BW_EXE_CACHE_MAX 256
struct bw_exe_cache {
  bw_u64 exec_id;                /* task->self_exec_id */
  bw_u64 file;                   /* task->mm->exe_file (address) */
  bw_u32 len;                    /* strlen(path) */
  bw_u32 valid;
  bw_u64 ino;                    /* the file's object (struct bw_str), cached with it */
  bw_u32 dev;
  bw_u32 pad;
  bw_u64 obj;
  char path[BW_EXE_CACHE_MAX];   /* NUL-terminated */
};

/* Record assembly buffer (bw_recbuf, PERCPU_ARRAY of 1): struct bw_record then up to
 * 1 + BW_STR_SLOTS - BW_COMMON_STR_SLOTS strings, plus slack for bounded copies. */
#define BW_RECBUF_SIZE (sizeof(struct bw_record) + (BW_STR_SLOTS - BW_COMMON_STR_SLOTS + 2) * BW_PATH_MAX)
struct bw_recbuf {
  char b[BW_RECBUF_SIZE];
};

/* bw_m_dfa (ARRAY of u32): for a DFA at base b: [b] = number of byte classes n,
 * [b + 1] = acc_base, then with t = b + BW_DFA_HEADER: [t + byte] = class,
 * [t + 256 + state * n + class] = next state (0 = dead, 1 = start).
 * bw_m_dfa_acc (ARRAY of bw_match_val): [acc_base + state] = what ending in state means. */

#endif
