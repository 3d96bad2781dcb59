/* Bulwark BPF template library: maps, policy rodata, field extraction, matching
 * primitives called by the generated decision code, counters and records.
 * CO-RE only. Linked with the hook templates and the generated module by bulwarkc.
 * This file declares the rodata and the maps; the code is in bpf/lib/, one header per
 * concern, included at the end in dependency order (one bitcode unit). */
#define BW_LIB_IMPL
#include "bw_lib.h"

/* Library entry points: static in BTF, kept alive for the link (see bw_lib.h). */
#define BW_API static __attribute__((used))

char LICENSE[] SEC("license") = "GPL";

/* ---- rodata: initial values come from bulwarkc, the runtime may set them before load ---- */
const volatile __u32 bw_cfg_slot = 0;               /* policy slot (bw_abi.h) */
const volatile __u32 bw_cfg_instance = 0;           /* policy instance: load sequence number */
const volatile __u32 bw_cfg_lane = BW_LANE_NONE;    /* BW_LANE_NONE: standalone, no chain */
const volatile __u32 bw_cfg_mode_override = 0xffffffffu; /* enum bw_mode, or none */
const volatile __u32 bw_cfg_scope_kind = BW_SCOPE_HOST;  /* enum bw_scope_kind */
#define BW_SCOPE_CGROUPS 8
const volatile __u32 bw_cfg_cgroup_count = 0;        /* cgroup scope: subtrees */
const volatile __u64 bw_cfg_cgroup_id[BW_SCOPE_CGROUPS] = {};
const volatile __u32 bw_cfg_cgroup_level[BW_SCOPE_CGROUPS] = {};
/* Record rate limit per rule and CPU (bw_rlimit): records per second (0 = no limit) and
 * how many may pass back to back (0 = as many as the rate allows in one second).
 * Decisions and `hits` are never limited; a suppressed record counts in `limited`. */
const volatile __u32 bw_cfg_rec_rate = BW_REC_RATE_DEFAULT;
const volatile __u32 bw_cfg_rec_burst = 0;
/* process.exe of the current task from bw_exe (1, default) or a walk of mm->exe_file at
 * every event (0). */
const volatile __u32 bw_cfg_exe_cache = 1;
/* Identity groups (bw_match.h, set by bulwarkc): group ids and BW_IDENT_EXACT/PREFIX. */
const volatile __u32 bw_cfg_ident_count = 0;
const volatile __u32 bw_cfg_ident_group[BW_IDENT_GROUPS] = {};
const volatile __u32 bw_cfg_ident_kind[BW_IDENT_GROUPS] = {};
/* The process's view of a path, read for identity groups (bw_identity.h), set by the runtime. */
const volatile __u32 bw_cfg_view_groups = 0xffffffff; /* bit i: identity group i reads the view */
/* Where a group's view can match at all: the first bytes (bw_cfg_view_head & _mask, up to
 * BW_VIEW_HEADS per group, set by the runtime from the paths that had no object at load). A
 * string that starts otherwise is none of those paths, and the group's other paths decide on
 * objects. The defaults (mask 0) let every string through. */
const volatile __u64 bw_cfg_view_head[BW_IDENT_GROUPS][BW_VIEW_HEADS] = {};
const volatile __u64 bw_cfg_view_mask[BW_IDENT_GROUPS][BW_VIEW_HEADS] = {};

/* ---- per-policy maps (max_entries set by the runtime from the manifest) ---- */
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY); /* one event per possible CPU: > per-CPU value limit */
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct bw_event);
} bw_scratch SEC(".maps");

#define BW_WALK_BUF BW_PATH_MAX
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct bw_tmp);
} bw_tmp SEC(".maps");

#define BW_RECBUF BW_RECBUF_SIZE
struct bw_recbuf {
  char b[BW_RECBUF];
};
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct bw_recbuf);
} bw_recbuf SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct bw_counter);
} bw_counters SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct bw_rl);
} bw_rlimit SEC(".maps");

/* Per-task cache of process.exe (bw_match.h); max_entries must stay 0. */
struct {
  __uint(type, BPF_MAP_TYPE_TASK_STORAGE);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, int);
  __type(value, struct bw_exe_cache);
} bw_exe SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1);
  __type(key, struct bw_exact_key);
  __type(value, struct bw_match_val);
} bw_m_exact SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LPM_TRIE);
  __uint(max_entries, 1);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, struct bw_lpm_str_key);
  __type(value, struct bw_match_val);
} bw_m_prefix SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LPM_TRIE);
  __uint(max_entries, 1);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, struct bw_lpm_str_key);
  __type(value, struct bw_match_val);
} bw_m_suffix SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LPM_TRIE);
  __uint(max_entries, 1);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, struct bw_lpm_addr_key);
  __type(value, struct bw_match_val);
} bw_m_cidr SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1);
  __type(key, struct bw_int_key);
  __type(value, struct bw_match_val);
} bw_m_int SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u32);
} bw_m_dfa SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct bw_match_val);
} bw_m_dfa_acc SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1);
  __type(key, struct bw_ident_key);
  __type(value, struct bw_match_val);
} bw_m_ident SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} bw_m_hint SEC(".maps");

/* ---- code, in dependency order (bpf/lib/) ---- */
#include "bw_scratch.h"     /* scratch event, bw_tmp, slot accessors */
#include "bw_str.h"         /* strings, comm, FNV-1a */
#include "bw_object.h"      /* objects, identity facts and hints */
#include "bw_path.h"        /* path walks, bpf_d_path */
#include "bw_exe.h"         /* process.exe and its cache */
#include "bw_cgroup.h"      /* process.cgroup */
#include "bw_fields.h"      /* common fields, socket addresses */
#include "bw_match_prims.h" /* exact, prefix, suffix, glob, cidr, int */
#include "bw_identity.h"    /* identity group tests, the view */
#include "bw_scope.h"       /* policy scope */
#include "bw_learn.h"       /* identity learning at link, rename, unlink */
#include "bw_record.h"      /* counters, rate limit, records, verdict */
#include "bw_chain_step.h"  /* chain step */
