/* The per-CPU scratch of a hook program: the event it fills (bw_event_begin starts it) and
 * the bw_tmp buffers, with slot accessors bounded for the verifier. Every other header uses
 * them, so bw_lib.bpf.c includes this one first. */
#ifndef BULWARK_BW_SCRATCH_H
#define BULWARK_BW_SCRATCH_H

static __always_inline struct bw_tmp *tmp(void) {
  __u32 z = 0;
  return bpf_map_lookup_elem(&bw_tmp, &z);
}

/* BW_INT_SLOTS is not a power of two: bound int slot indexes with a compare. */
static __always_inline __u64 *int_of(struct bw_event *ev, __u32 slot) {
  if (slot >= BW_INT_SLOTS)
    slot = 0;
  barrier_var(slot);
  return &ev->ints[slot < BW_INT_SLOTS ? slot : 0];
}

static __always_inline struct bw_str *str_of(struct bw_event *ev, __u32 slot) {
  return &ev->strs[slot & (BW_STR_SLOTS - 1)];
}

BW_API int bw_chained(void); /* bw_chain_step.h */
static __always_inline int in_cgroup_scope(void); /* bw_scope.h */

/* What one policy's decision leaves in the event: its rule, the marks it found and its view
 * of each string (object_only). The identity facts of each string's object are the event's:
 * every policy reads the same hints (bw_hint). */
static __always_inline void event_policy_reset(struct bw_event *ev) {
  ev->rule = BW_NO_RULE;
  ev->found_n = 0;
  ev->decided_n = 0;
  ev->found_rule = BW_NO_RULE;
#pragma unroll
  for (int i = 0; i < BW_STR_SLOTS; i++) {
    ev->strs[i].object_only = 0;
  }
}

/* The whole event, for a new one: no field filled, no slot reset yet (each is, when first
 * filled: bw_slots_fresh), and what a policy leaves. */
static __always_inline void event_fields_reset(struct bw_event *ev) {
  event_policy_reset(ev);
  ev->filled = 0;
  ev->touched = 0;
}

/* This CPU's scratch event for `hook`; NULL when the current task is outside the policy's
 * cgroup scope (the policy decides nothing, and the event is left to the next policy) or the
 * scratch map is too small. Chained, the
 * policies of one event share it: the first starts it afresh (each slot is reset before its
 * first fill: bw_slots_fresh) and each builds only the strings no earlier one built in full
 * (BW_DECIDE). The event is this one when its number is the
 * dispatcher's (bw_state.seq) and its hook this hook; anything else starts afresh, so a stale
 * field is never read (a standalone program always starts afresh). */
BW_API struct bw_event *bw_event_begin(__u32 hook) {
  if (!in_cgroup_scope())
    return 0;
  __u32 cpu = bpf_get_smp_processor_id();
  struct bw_event *ev = bpf_map_lookup_elem(&bw_scratch, &cpu);
  if (!ev) {
    bw_quiet_clear(); /* nothing decided: not quiet */
    return 0;
  }
  __u64 seq = 0;
  if (bw_chained()) {
    struct bw_state *st = bw_state_of(cpu);
    seq = st ? st->seq : 0;
  }
  if (!seq || ev->seq != seq || ev->hook != hook) {
    event_fields_reset(ev);
    ev->hook = hook;
    ev->seq = seq;
  } else {
    event_policy_reset(ev);
  }
  return ev;
}

#endif
