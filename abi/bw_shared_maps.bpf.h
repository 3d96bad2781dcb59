/* Maps shared by the runtime's dispatchers and every policy object (BPF C only).
 * Both sides must declare them identically: libbpf reuses the pinned map only when
 * type, key/value size, max_entries and flags match (LIBBPF_PIN_BY_NAME under
 * <pin root>/shared). See bw_abi.h for how they are used. */
#ifndef BULWARK_BW_SHARED_MAPS_BPF_H
#define BULWARK_BW_SHARED_MAPS_BPF_H

#include "bw_abi.h"

#define BW_EVENTS_RINGBUF_BYTES (4u << 20)

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct bw_state);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} bw_state SEC(".maps");

/* Active generation (0 or 1) per policy slot. */
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, BW_MAX_POLICIES);
  __type(key, __u32);
  __type(value, __u32);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} bw_gen SEC(".maps");

/* Per policy slot: enum bw_slot_mode (fail closed, bw_chain.bpf.h). */
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, BW_MAX_POLICIES);
  __type(key, __u32);
  __type(value, __u32);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} bw_slot_mode SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, BW_EVENTS_RINGBUF_BYTES);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} bw_events SEC(".maps");

/* Per LSM hook: the prog array of policy programs and the lane chains. */
#define BW_SHARED_HOOK_MAPS(id)                                                                    \
  struct {                                                                                         \
    __uint(type, BPF_MAP_TYPE_PROG_ARRAY);                                                         \
    __uint(max_entries, BW_PROG_ARRAY_SIZE);                                                       \
    __type(key, __u32);                                                                            \
    __type(value, __u32);                                                                          \
    __uint(pinning, LIBBPF_PIN_BY_NAME);                                                           \
  } bw_progs_##id SEC(".maps");                                                                    \
  struct {                                                                                         \
    __uint(type, BPF_MAP_TYPE_ARRAY);                                                              \
    __uint(max_entries, BW_NEXT_SIZE);                                                             \
    __type(key, __u32);                                                                            \
    __type(value, __u32);                                                                          \
    __uint(pinning, LIBBPF_PIN_BY_NAME);                                                           \
  } bw_next_##id SEC(".maps");

#endif
