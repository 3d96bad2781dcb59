/* Bulwark BPF template library: maps, policy rodata, field extraction, matching
 * primitives called by the generated decision code, counters and records.
 * CO-RE only. Linked with the hook templates and the generated module by bulwarkc.
 * This file declares the rodata and the maps (from the tables in abi/); the code is in
 * bpf/lib/, one header per concern, included at the end in dependency order (one bitcode unit). */
#define BW_LIB_IMPL
#include "bw_lib.h"

/* Library entry points: static in BTF, kept alive for the link (see bw_lib.h). */
#define BW_API static __attribute__((used))
/* A fast path the decision code should have inline (its slow path a subprogram). */
#define BW_INLINE_API static inline __attribute__((used, always_inline))

char LICENSE[] SEC("license") = "GPL";

/* Maps and rodata of the policy object, declared from abi/maps.def and abi/rodata.def. */
#include "bw_policy_maps.bpf.h"
#define BW_WALK_BUF BW_PATH_MAX
#define BW_RECBUF BW_RECBUF_SIZE

/* ---- code, in dependency order (bpf/lib/) ---- */
#include "bw_scratch.h"     /* scratch event, bw_tmp, slot accessors */
#include "bw_str.h"         /* strings, comm, FNV-1a */
#include "bw_object.h"      /* objects, identity facts and hints */
/* bw_kept.bpf.h, the rewrite protocol of entries kept per CPU, comes with bw_lib.h */
#include "bw_dir_path.h"    /* a directory's view, kept for its files */
#include "bw_dir_facts.h"   /* a directory's identity facts, kept for its files */
#include "bw_path.h"        /* path walks, bpf_d_path */
#include "bw_exe.h"         /* process.exe and its cache */
#include "bw_cgroup.h"      /* process.cgroup */
#include "bw_fields.h"      /* common fields, socket addresses */
#include "bw_match_prims.h" /* exact, prefix, suffix, glob, cidr, int */
#include "bw_identity.h"    /* identity group tests, the view */
#include "bw_scope.h"       /* policy scope */
#include "bw_learn.h"       /* identity learning at link, rename, unlink */
#include "bw_marks.h"       /* per-process marks: test, set, fork, exec */
#include "bw_record.h"      /* counters, rate limit, records, verdict */
#include "bw_chain_step.h"  /* chain step */
