// Kernel memory of a policy by kind, as the kernel reports it and what it allocates beyond
// that (docs/operations.md, `status`: "kernel memory").
#pragma once

#include <cstdint>

namespace bulwark::rt {

struct KernelMemory {
  uint64_t maps = 0;       // memlock of maps (fdinfo): per-CPU copies included
  uint64_t mapLayout = 0;  // allocated beyond memlock where memlock is (key + value) x entries (before 6.4)
  uint64_t programs = 0;   // memlock of programs: the program and its translated instructions
  uint64_t jit = 0;        // JIT images, in the 64-byte units of the kernel's program packs
  uint64_t debugInfo = 0;  // func_info, line_info and JITed line info kept with the programs
  uint64_t btf = 0;        // the object's BTF, once per BTF object
  uint64_t total() const { return maps + mapLayout + programs + jit + debugInfo + btf; }
  KernelMemory &operator+=(const KernelMemory &o) {
    maps += o.maps, mapLayout += o.mapLayout, programs += o.programs, jit += o.jit, debugInfo += o.debugInfo,
        btf += o.btf;
    return *this;
  }
};

// A map as bpf_map_info describes it (type: BPF_MAP_TYPE_*, flags: map_flags).
struct MapShape {
  uint32_t type = 0, keySize = 0, valueSize = 0, maxEntries = 0, flags = 0;
};

// What the kernel allocates for a map beyond the memlock it reports. Kernels before 6.4
// report (key + value, rounded to 8) x max_entries, rounded to a page (per-CPU values times
// the CPUs); when `memlock` is that, the rest of the 6.1 layout is estimated: a hash map's
// preallocated elements' headers (48 bytes each, plus one spare element per CPU) and its
// buckets (16 bytes, a power of two), an LPM trie's nodes (40-byte header, kmalloc size
// class; intermediate nodes not counted). 0 for other types, or when memlock is already
// the kernel's own count of what it uses (6.4 and later).
uint64_t mapLayoutExtra(const MapShape &m, uint64_t memlock, uint32_t cpus);

// A JIT image of `len` bytes as the kernel's program packs hold it (64-byte units).
inline uint64_t jitImageSize(uint64_t len) { return (len + 63) / 64 * 64; }

} // namespace bulwark::rt
