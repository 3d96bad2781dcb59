/* Template for `kprobe "<function>"` hooks: observe only (audit, kill), never chained.
 *
 * One program per kernel function in a policy. bulwarkc links this module once per function
 * and renames, in that copy, the program (bw_kprobe -> bw_kp_<function>), its section
 * ("kprobe" -> "kprobe/<function>", libbpf's auto-attach form) and the generated functions
 * it calls (bw_need_KPROBE, bw_decide_KPROBE, bw_kprobe_arg -> ..._<n>), so every function
 * gets its own decision code and argument layout (bw_kprobe.h). */
#include "../bw_lib.h"
#include "bw_kprobe.h"

extern __u32 bw_kprobe_arg(__u32 i); /* generated: descriptor of register argument i */

static __always_inline __u64 reg_arg(struct pt_regs *regs, __u32 i) {
  switch (i) {
  case 0: return PT_REGS_PARM1(regs);
  case 1: return PT_REGS_PARM2(regs);
  case 2: return PT_REGS_PARM3(regs);
  case 3: return PT_REGS_PARM4(regs);
  default: return PT_REGS_PARM5(regs);
  }
}

/* The calling convention leaves a register's bits above the C type undefined: extend from
 * the type's width. */
static __always_inline __u64 widen(__u64 v, __u32 size, __u32 is_signed) {
  if (size >= 8)
    return v;
  __u32 shift = 64 - 8 * size;
  return is_signed ? (__u64)(((__s64)(v << shift)) >> shift) : (v << shift) >> shift;
}

/* BTF of a gcc-built kernel does not say which char * point to user memory, so a string is
 * read as kernel memory first; a user address fails that read (it is outside the kernel's
 * range) and is then read as user memory. */
static __always_inline void read_str(__u64 p, struct bw_str *out) {
  bw_str_kernel((const char *)p, out);
  if (p && out->len == 0 && out->data[0] == 0)
    bw_str_user((const char *)p, out);
}

static __always_inline void extract(struct bw_event *ev, __u64 need, struct pt_regs *regs) {
#pragma unroll
  for (__u32 i = 0; i < BW_KPROBE_ARGS; i++) {
    __u32 d = bw_kprobe_arg(i);
    __u32 slot = BW_KARG_SLOT(d);
    if (BW_KARG_KIND(d) == BW_KARG_INT && slot < BW_INT_SLOTS && (need & BW_NEED_INT(slot)))
      ev->ints[slot] = widen(reg_arg(regs, i), BW_KARG_SIZE(d), BW_KARG_SIGNED(d));
    else if (BW_KARG_KIND(d) == BW_KARG_STR && slot < BW_STR_SLOTS && (need & BW_NEED_STR(slot)))
      read_str(reg_arg(regs, i), &ev->strs[slot]);
  }
}

SEC("kprobe")
int bw_kprobe(struct pt_regs *ctx) {
  struct bw_event *ev = bw_event_begin(BW_HOOK_KPROBE);
  if (!ev || !bw_in_scope(ev))
    return 0;
  __u64 need = bw_need_KPROBE();
  bw_slots_fresh(ev, need);
  bw_fill_common(ev, need);
  extract(ev, need, ctx);
  __u32 word = bw_decide_KPROBE(ev);
  /* A kprobe cannot deny: the policy default (allow or deny) records nothing here. */
  int record = word != BW_NO_RULE && bw_wants_record(word);
  if (record) {
    need = ~need;
    bw_slots_fresh(ev, need);
    bw_fill_common(ev, need);
    extract(ev, need, ctx);
  }
  bw_apply(ev, word, record); /* counters, record, SIGKILL for kill; its verdict is moot */
  return 0;
}
