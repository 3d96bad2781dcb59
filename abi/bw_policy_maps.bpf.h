/* A policy object's own maps and rodata, declared from the tables maps.def and rodata.def
 * (BPF C only; the C++ view of the same tables is Contract.h). max_entries is 1 here: the
 * runtime sets every map's size from the manifest before load, except SIZE OBJECT maps.
 * A CPUS_SHARED map is also pinned by name (the loader's pin root), like bw_shared_maps.bpf.h. */
#ifndef BULWARK_BW_POLICY_MAPS_BPF_H
#define BULWARK_BW_POLICY_MAPS_BPF_H

#include "bw_abi.h"
#include "bw_match.h"

#define BW_MAX_ENTRIES_CPUS __uint(max_entries, 1);
#define BW_MAX_ENTRIES_CPUS_SHARED __uint(max_entries, 1); __uint(pinning, LIBBPF_PIN_BY_NAME);
#define BW_MAX_ENTRIES_RULES __uint(max_entries, 1);
#define BW_MAX_ENTRIES_DATA __uint(max_entries, 1);
#define BW_MAX_ENTRIES_LABELS __uint(max_entries, 1);
#define BW_MAX_ENTRIES_HINTS __uint(max_entries, 1);
#define BW_MAX_ENTRIES_ONE __uint(max_entries, 1);
#define BW_MAX_ENTRIES_AGG __uint(max_entries, 1);
#define BW_MAX_ENTRIES_OBJECT /* task storage: max_entries must stay 0 */

/* Parameter names differ from the BTF member names (type, key, value) they fill. */
#define BW_MAP(ID, TYPE, FLAGS, KEY, VALUE, SIZE, MEANING)                                         \
  struct {                                                                                         \
    __uint(type, BPF_MAP_TYPE_##TYPE);                                                             \
    BW_MAX_ENTRIES_##SIZE __uint(map_flags, FLAGS);                                                \
    __type(key, KEY);                                                                              \
    __type(value, VALUE);                                                                          \
  } bw_##ID SEC(".maps");
#include "maps.def"

#define BW_RODATA(ID, TYPE, DIMS, INIT, SET_BY, MEANING) const volatile TYPE bw_cfg_##ID DIMS = INIT;
#include "rodata.def"

#endif
