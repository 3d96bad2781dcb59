/* Maps shared by the runtime's dispatchers and every policy object (BPF C only), declared
 * from shared_maps.def so both sides declare them identically: libbpf reuses the pinned map
 * only when type, key/value size, max_entries and flags match (LIBBPF_PIN_BY_NAME under
 * <pin root>/shared). See bw_abi.h for how they are used. */
#ifndef BULWARK_BW_SHARED_MAPS_BPF_H
#define BULWARK_BW_SHARED_MAPS_BPF_H

#include "bw_abi.h"

/* Parameter names differ from the BTF member names (type, key, value) they fill. */
#define BW_SHARED_MAP(ID, TYPE, KEY, VALUE, MAX, MEANING)                                          \
  struct {                                                                                         \
    __uint(type, BPF_MAP_TYPE_##TYPE);                                                             \
    __uint(max_entries, MAX);                                                                      \
    __type(key, KEY);                                                                              \
    __type(value, VALUE);                                                                          \
    __uint(pinning, LIBBPF_PIN_BY_NAME);                                                           \
  } bw_##ID SEC(".maps");
#define BW_SHARED_RINGBUF(ID, BYTES, MEANING)                                                      \
  struct {                                                                                         \
    __uint(type, BPF_MAP_TYPE_RINGBUF);                                                            \
    __uint(max_entries, BYTES);                                                                    \
    __uint(pinning, LIBBPF_PIN_BY_NAME);                                                           \
  } bw_##ID SEC(".maps");
#define BW_SHARED_TASK_STORAGE(ID, VALUE, MEANING)                                                 \
  struct {                                                                                         \
    __uint(type, BPF_MAP_TYPE_TASK_STORAGE);                                                       \
    __uint(map_flags, BPF_F_NO_PREALLOC);                                                          \
    __type(key, int);                                                                              \
    __type(value, VALUE);                                                                          \
    __uint(pinning, LIBBPF_PIN_BY_NAME);                                                           \
  } bw_##ID SEC(".maps");
#define BW_SHARED_BITS(ID, WORDS, MEANING)                                                         \
  struct {                                                                                         \
    __uint(type, BPF_MAP_TYPE_ARRAY);                                                              \
    __uint(map_flags, BPF_F_MMAPABLE);                                                             \
    __uint(max_entries, WORDS);                                                                    \
    __type(key, __u32);                                                                            \
    __type(value, __u64);                                                                          \
    __uint(pinning, LIBBPF_PIN_BY_NAME);                                                           \
  } bw_##ID SEC(".maps");
#include "shared_maps.def"

/* The walk state (bw_state) of CPU `cpu`: the verdict folded so far and the event's number. */
static __always_inline struct bw_state *bw_state_of(__u32 cpu) {
  return bpf_map_lookup_elem(&bw_state, &cpu);
}

/* This CPU's walk state. */
static __always_inline struct bw_state *bw_state_here(void) {
  return bw_state_of(bpf_get_smp_processor_id());
}

/* bw_hint's count word `w` (BW_HINT_CHANGES, BW_HINT_DECISIONS: both only grow); 0 when it
 * cannot be read. */
static __always_inline __u64 *bw_hint_count(__u32 w) {
  return bpf_map_lookup_elem(&bw_hint, &w);
}

/* The maps of one LSM hook (shared_maps.def, BW_SHARED_HOOK_MAPS_OF). */
#define BW_SHARED_HOOK_MAP_DECL(ID, TYPE, MAX, MEANING, HOOK)                                      \
  struct {                                                                                         \
    __uint(type, BPF_MAP_TYPE_##TYPE);                                                             \
    __uint(max_entries, MAX);                                                                      \
    __type(key, __u32);                                                                            \
    __type(value, __u32);                                                                          \
    __uint(pinning, LIBBPF_PIN_BY_NAME);                                                           \
  } bw_##ID##_##HOOK SEC(".maps");
#define BW_SHARED_HOOK_MAPS(hook) BW_SHARED_HOOK_MAPS_OF(BW_SHARED_HOOK_MAP_DECL, hook)

#endif
