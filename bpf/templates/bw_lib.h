/* Bulwark BPF template library: what hook templates and generated decision code share.
 *
 * Three kinds of bitcode are linked by bulwarkc into one policy object:
 *   bw_lib.bc          maps, policy rodata, extraction/matching/emission functions
 *   hooks/<hook>.bc    one LSM program per hook: extraction, decision call, verdict, chain
 *   generated module   bw_need_<H>, bw_precheck_<H>, bw_decide_<H>, bw_policy_info
 * Everything but the programs (and the rodata the runtime sets) is internalised after
 * linking and optimised together, so extraction code for unread fields disappears.
 */
#ifndef BULWARK_BW_LIB_H
#define BULWARK_BW_LIB_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "bw_abi.h"
#include "bw_match.h"

#ifndef EPERM
#define EPERM 1
#endif

/* Hook indexes, in hooks.def order (same as bulwark::HookId). */
enum bw_hook_id {
#define BW_HOOK(id, name, kind, attach, summary) BW_HOOK_##id,
#include "hooks.def"
  BW_HOOK_COUNT
};

/* Field slots and need bits from the catalogue: BW_S_<HOOK>_<cid> is the slot index in its
 * kind's array, BW_F_<HOOK>_<cid> the bit number in the need mask. */
#define BW_KINDBASE_INT 0
#define BW_KINDBASE_ADDR 16
#define BW_KINDBASE_STR 24
enum bw_field_slots {
#define BW_FIELD(hook, cid, name, type, kind, slot, summary)                                       \
  BW_S_##hook##_##cid = slot, BW_F_##hook##_##cid = BW_KINDBASE_##kind + slot,
#include "hooks.def"
};
#define BW_WANT(need, hook, cid) ((need) & (1ull << BW_F_##hook##_##cid))

/* Resets the slots of need bits `bits` that this event has not reset yet (ev->touched): an
 * event starts with none reset (bw_event_begin), and a slot is reset only before its first
 * fill, so a field never shows an earlier event's value and an event touches only the slots
 * its policies read. With `bits` a constant mask (BW_FILL's `want`), only those slots' code
 * remains. Not the string's object_only: that is the policy's choice, made before the fill. */
static __always_inline void bw_slots_fresh(struct bw_event *ev, __u64 bits) {
  __u64 fresh = bits & ~ev->touched;
  if (!fresh)
    return;
  ev->touched |= fresh;
#pragma unroll
  for (int i = 0; i < BW_INT_SLOTS; i++)
    if (fresh & BW_NEED_INT(i))
      ev->ints[i] = 0;
#pragma unroll
  for (int i = 0; i < BW_ADDR_SLOTS; i++)
    if (fresh & BW_NEED_ADDR(i)) {
      ev->addrs[i].family = 0;
      __builtin_memset(ev->addrs[i].bytes, 0, 16);
    }
#pragma unroll
  for (int i = 0; i < BW_STR_SLOTS; i++)
    if (fresh & BW_NEED_STR(i)) {
      struct bw_str *s = &ev->strs[i];
      s->len = 0;
      s->truncated = 0;
      s->ino = 0;
      s->dev = 0;
      s->obj = 0;
      s->facts.done = 0;
      s->data[0] = 0;
    }
}
#define BW_INT(ev, hook, cid) ((ev)->ints[BW_S_##hook##_##cid])
#define BW_STR(ev, hook, cid) (&(ev)->strs[BW_S_##hook##_##cid])

/* ---- interface of the generated module (compiler/backend/Codegen.cpp) ---- */
#define BW_HOOK(id, name, kind, attach, summary)                                                   \
  extern __u64 bw_need_##id(void);                /* BW_NEED_* bits the decision reads */      \
  extern __u32 bw_decide_##id(struct bw_event *ev); /* decision word */               \
  extern __u32 bw_has_rules_##id(void); /* 0: the program only keeps bw_m_ident current */       \
  extern __u64 bw_lazy_##id(struct bw_event *ev); /* need bits extracted as objects only */    \
  extern __u64 bw_precheck_need_##id(void); /* need bits the precheck reads */                     \
  extern __u32 bw_precheck_##id(struct bw_event *ev); /* BW_PRECHECK_PASS, or the decision word */ \
  extern __u32 bw_precheck_quiet_##id(void); /* BW_PRECHECK_QUIET, _DECIDE or 0 (bw_match.h) */
#include "hooks.def"
/* bw_decide_<H> returns a decision word: BW_NO_RULE (the policy default decides) or
 * rule_id << 2 | action (enum bw_action), so the lowest word is the first rule. */
#define BW_WORD_RULE(w) ((w) == BW_NO_RULE ? BW_NO_RULE : (w) >> 2)
extern __u32 bw_policy_info(__u32 what);
/* `what`: BW_INFO_* (bw_match.h) */

/* ---- library (bw_lib.bpf.c, its code in bpf/lib/) ----
 * Defined `static __attribute__((used))` (BW_API) there: BTF must mark them static (the kernel
 * verifies global functions on their own, which does not work with map-value pointer
 * arguments). bulwarkc gives them external linkage just for the link, then internalises. */
#ifndef BW_LIB_IMPL
/* Scratch event of this CPU, reset for `hook`; NULL out of the policy's cgroup scope or if the
 * scratch map is too small. */
struct bw_event *bw_event_begin(__u32 hook);
int bw_in_scope(struct bw_event *ev); /* the executable scope */
void bw_fill_common(struct bw_event *ev, __u64 need);
void bw_objects_only(struct bw_event *ev, __u64 mask, __u32 only); /* object_only of `mask`'s strings */
/* Path fields: the process's view of the path as a string, and the object it names (bw_str). */
void bw_path_d_path(struct path *p, struct bw_str *out); /* only where bpf_d_path is allowed */
void bw_file_d_path(struct file *f, struct bw_str *out); /* likewise; overlayfs: the real file */
void bw_path_walk(const struct path *p, struct bw_str *out);      /* bounded dentry walk; BTF p */
void bw_dentry_walk(const struct path *dir, struct dentry *d, struct bw_str *out);
void bw_file_walk(struct file *f, struct bw_str *out);  /* f not a BTF pointer */
void bw_str_kernel(const char *src, struct bw_str *out);
void bw_str_user(const char *src, struct bw_str *out);
void bw_task_exe(struct task_struct *t, struct bw_str *out);   /* walk of t->mm->exe_file; BTF t */
void bw_current_exe(struct bw_str *out, int refresh);          /* cached per task and exec */
void bw_exe_at_exec(void);                                     /* the exec hook: refresh */
/* Objects (bw_match.h, bw_m_ident), called by the path_link/rename/unlink templates: a
 * protected file linked or moved elsewhere keeps its meaning, an inode's last link forgets it.
 * -EPERM when a label cannot be kept (the operation is then denied). */
int bw_ident_at_link(struct dentry *old_dentry, struct dentry *new_dentry);
int bw_ident_at_rename(struct dentry *old_dentry, struct dentry *new_dentry, unsigned int flags);
void bw_ident_at_unlink(struct dentry *dentry);
void bw_task_comm(struct task_struct *t, struct bw_str *out); /* BTF t */
/* Marks (bw_marks.h): test and set from generated code, copy at fork and at a thread's exec,
 * drop at exec. */
int bw_mark_has(struct bw_event *ev, __u32 who, __u64 id, __u32 fail_closed);  /* found: noted in ev */
void bw_mark_set(__u32 who, __u64 id, __u64 for_ns, __u32 flags, __u32 rule);
int bw_marks_at_fork(struct task_struct *child, unsigned long clone_flags);
int bw_marks_before_exec(void);
void bw_marks_at_exec(void);
void bw_sockaddr(struct sockaddr *sa, struct bw_event *ev, __u32 addr_slot, __u32 port_slot);
/* Counters, record (when `record`), kill. Returns this policy's verdict for decision word
 * `w`: 0 or -EPERM. */
int bw_apply(struct bw_event *ev, __u32 w, int record);
/* 1 when decision word `w` sends a record and the rule's rate limit lets it through (a
 * suppressed record counts in `limited`): the template then extracts every field first. */
int bw_wants_record(__u32 w);
/* Chain step helpers: standalone (lane unset) or chained; fold into bw_state. */
int bw_chained(void);
void bw_fold_deny(int verdict);
int bw_walk_verdict(int verdict);
int bw_walk_end(int verdict);
__u32 bw_slot(void);
__u32 bw_lane(void);
#endif

/* The chain step of bw_abi.h, the value a hook program returns. Standalone: `verdict`.
 * Chained: a deny folded into bw_state, then a tail call to the next policy's program on the
 * lane (past those out of their cgroup scope: bw_next_in_scope), which does not come back when
 * it succeeds (when it fails, bw_missing_program decides on the verdict folded so far); the
 * last program of the lane returns the folded verdict.
 * `id`: the attach point whose prog array and lanes the program chains through (for a companion
 * attach point, its own: hooks.def). */
#define BW_FINISH(ctx, id, verdict) BW_FINISH_THEN(ctx, id, verdict, bw_end_nothing, 0)
static __always_inline void bw_end_nothing(void *arg, int verdict) {}
/* BW_FINISH, and where the walk of the lane ends in this program, `at_end(arg, verdict)` with
 * the verdict of the lane (the file_open template keeps a quiet open: bw_quiet.bpf.h). */
#define BW_FINISH_THEN(ctx, id, verdict, at_end, arg)                                              \
  ({                                                                                               \
    int __v = (verdict);                                                                           \
    if (bw_chained()) {                                                                            \
      if (__v)                                                                                     \
        bw_fold_deny(__v);                                                                         \
      __u32 __k = BW_MAX_LANES + bw_slot(), __i = 0;                                               \
      __u32 *__n = bpf_map_lookup_elem(&bw_next_##id, &__k);                                      \
      __u32 __to = __n ? bw_next_in_scope(&bw_next_##id, *__n, &__i) : 0;                         \
      if (__to) {                                                                                  \
        bpf_tail_call(ctx, &bw_progs_##id, __i);                                                   \
        __v = bw_missing_program(BW_HOOK_##id, __to - 1, bw_walk_verdict(__v)); /* it failed */    \
      } else {                                                                                     \
        __v = bw_walk_end(__v);                                                                    \
        at_end(arg, __v);                                                                          \
      }                                                                                            \
    }                                                                                              \
    __v;                                                                                           \
  })

/* The decision of this policy on event `ev` (from bw_event_begin, in scope) of hook `id`, as a
 * verdict: 0 or -EPERM. `extract` is the template's function
 *   static __always_inline void extract(struct bw_event *ev, __u64 need, args...)
 * that fills the hook's own fields selected by the need mask `need` (BW_WANT) from the
 * program's arguments `args`. A field no policy before this one on the event filled in full
 * (ev->filled) is filled; one that was is kept as it is, with its object and that object's
 * identity facts (the same for every policy: bw_hint). A string this policy takes as its
 * object alone (lazy) does not count as built in full; a later policy that needs it builds
 * only the string (object_taken). Steps, in order:
 *   1. need = bw_need_<id>() (the fields the decision reads), lazy = bw_lazy_<id>(ev) (those of
 *      them whose object alone is extracted this event), first = bw_precheck_need_<id>()
 *   2. the precheck: fill (bw_fill_common, extract) the fields `first`;
 *      word = bw_precheck_<id>(ev): the decision when no rule can hold (the cheap tests every
 *      rule needs failed), else BW_PRECHECK_PASS, then step 3. A hook without a precheck
 *      folds this step away.
 *      A failed precheck sets ev->quiet when it can tell (bw_precheck_quiet_<id>() is
 *      BW_PRECHECK_QUIET; bw_decide_<id> sets it otherwise); where only the decision can tell
 *      (BW_PRECHECK_DECIDE) and the lane is quiet so far (a keyed open), step 3 runs instead.
 *   3. fill the fields `need` not filled yet; word = bw_decide_<id>(ev)
 *   4. when the word sends a record (bw_wants_record): every string in full (bw_objects_only),
 *      then fill every field not filled yet and the lazy ones
 *   5. bw_apply(ev, word, record): counters, the record, SIGKILL for kill; its verdict is the
 *      value of the macro.
 * An expression: it neither returns from the program nor jumps. */
#define BW_NEED_STRS (((1ull << BW_STR_SLOTS) - 1) << BW_KINDBASE_STR)
/* The need bits of the common fields (bw_fill_common's), so a fill of a hook's own fields
 * calls nothing for them. */
#define BW_NEED_COMMON                                                                             \
  ((((1ull << BW_COMMON_INT_SLOTS) - 1) << BW_KINDBASE_INT) |                                       \
   (((1ull << BW_COMMON_STR_SLOTS) - 1) << BW_KINDBASE_STR))
/* Fills the fields `want` (a constant: the verifier sees the branches main code has) that no
 * earlier policy filled for this event (ev->filled). */
#define BW_FILL(ev, want, lazy, extract, ...)                                                      \
  ({                                                                                               \
    __u64 __fill = (want) & ~(ev)->filled;                                                         \
    if (__fill) {                                                                                  \
      bw_slots_fresh(ev, __fill);                                                                  \
      if (__fill & BW_NEED_COMMON)                                                                 \
        bw_fill_common(ev, __fill);                                                                \
      extract(ev, __fill, ##__VA_ARGS__);                                                          \
    }                                                                                              \
    (ev)->filled |= (want) & ~(lazy);                                                              \
  })
#define BW_DECIDE(id, ev, extract, ...)                                                            \
  ({                                                                                               \
    __u64 __need = bw_need_##id();                                                                 \
    __u64 __lazy = bw_lazy_##id(ev);                                                               \
    __u64 __done = bw_precheck_need_##id();                                                        \
    if (__done)                                                                                    \
      BW_FILL(ev, __done, __lazy, extract, ##__VA_ARGS__);                                         \
    __u32 __word = bw_precheck_##id(ev);                                                           \
    if (__word != BW_PRECHECK_PASS && bw_precheck_quiet_##id() == BW_PRECHECK_DECIDE && bw_quiet_so_far()) \
      __word = BW_PRECHECK_PASS; /* only the decision can tell a kept lane it is quiet */          \
    if (__word == BW_PRECHECK_PASS) {                                                              \
      BW_FILL(ev, __need & ~__done, __lazy, extract, ##__VA_ARGS__);                               \
      __done |= __need;                                                                            \
      __word = bw_decide_##id(ev);                                                                 \
    } else {                                                                                       \
      (ev)->quiet = bw_precheck_quiet_##id() == BW_PRECHECK_QUIET;                                 \
    }                                                                                              \
    int __record = bw_wants_record(__word);                                                        \
    if (__record) {                                                                                \
      bw_objects_only(ev, BW_NEED_STRS, 0); /* every string in full */                            \
      BW_FILL(ev, ~__done | __lazy, 0ull, extract, ##__VA_ARGS__);                                 \
    }                                                                                              \
    bw_apply(ev, __word, __record);                                                                \
  })

/* BW_DECIDE for a hook whose dispatcher keeps quiet events (bw_quiet.bpf.h, bw_net_quiet.bpf.h),
 * on the event `ev` from bw_event_begin: 0 when the policy is out of its cgroup scope (or the
 * template has no event for the call). Unless the decision was quiet (ev->quiet), or the policy
 * was out of its cgroup scope (the key holds the cgroup), the lane is no longer quiet so far:
 * the executable scope is not in the key. Its value is the verdict. */
#define BW_DECIDE_KEEPING(id, ev, extract, ...)                                                    \
  ({                                                                                               \
    int __verdict = 0, __quiet = 1;                                                                \
    if (ev) {                                                                                      \
      __quiet = 0;                                                                                 \
      if (bw_in_scope(ev)) {                                                                       \
        __verdict = BW_DECIDE(id, ev, extract, ##__VA_ARGS__);                                     \
        __quiet = (ev)->quiet;                                                                     \
      }                                                                                            \
    }                                                                                              \
    if (!__quiet && bw_chained())                                                                  \
      bw_quiet_clear();                                                                            \
    __verdict;                                                                                     \
  })

#include "bw_shared_maps.bpf.h"
#include "bw_chain.bpf.h"
#include "bw_kept.bpf.h"
#include "bw_quiet.bpf.h"
#include "bw_net_quiet.bpf.h"

#endif
