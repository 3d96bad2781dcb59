#include "Memory.h"

#include <linux/bpf.h>

namespace bulwark::rt {
namespace {

constexpr uint64_t kPage = 4096;

uint64_t roundUp(uint64_t v, uint64_t to) { return (v + to - 1) / to * to; }

uint64_t powerOfTwoAtLeast(uint64_t v) {
  uint64_t p = 1;
  while (p < v)
    p <<= 1;
  return p;
}

// kmalloc's size classes; larger allocations take whole pages.
constexpr uint64_t kKmallocClasses[] = {8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096, 8192};

// The kmalloc size class of an allocation of n bytes.
uint64_t kmallocSize(uint64_t n) {
  for (uint64_t c : kKmallocClasses)
    if (n <= c)
      return c;
  return roundUp(n, kPage);
}

bool perCpu(uint32_t type) {
  return type == BPF_MAP_TYPE_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_ARRAY || type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

bool hash(uint32_t type) {
  return type == BPF_MAP_TYPE_HASH || type == BPF_MAP_TYPE_PERCPU_HASH || type == BPF_MAP_TYPE_LRU_HASH ||
         type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

// memlock as kernels before 6.4 compute it (bpf_map_memory_footprint).
uint64_t footprint(const MapShape &m, uint32_t cpus) {
  uint64_t value = perCpu(m.type) ? roundUp(m.valueSize, 8) * cpus : m.valueSize;
  return roundUp(uint64_t(m.maxEntries) * roundUp(m.keySize + value, 8), kPage);
}

// 6.1: struct htab_elem is 48 bytes before the key; a per-CPU value is a pointer there.
uint64_t hashBytes(const MapShape &m, uint32_t cpus) {
  bool pcpu = perCpu(m.type);
  bool lru = m.type == BPF_MAP_TYPE_LRU_HASH || m.type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
  uint64_t elem = 48 + roundUp(m.keySize, 8) + (pcpu ? 8 : roundUp(m.valueSize, 8));
  uint64_t elems = m.flags & BPF_F_NO_PREALLOC ? 0 : m.maxEntries + (pcpu || lru ? 0 : cpus);
  uint64_t bytes = elems * elem + powerOfTwoAtLeast(m.maxEntries) * 16;
  if (pcpu && !(m.flags & BPF_F_NO_PREALLOC))
    bytes += uint64_t(m.maxEntries) * roundUp(m.valueSize, 8) * cpus;
  return bytes;
}

// 6.1: struct lpm_trie_node is 40 bytes before the key's data and the value.
uint64_t trieBytes(const MapShape &m) {
  uint64_t data = m.keySize > 4 ? m.keySize - 4 : 0;  // the key is a u32 prefix length and the data
  return uint64_t(m.maxEntries) * kmallocSize(40 + data + m.valueSize);
}

} // namespace

uint64_t mapLayoutExtra(const MapShape &m, uint64_t memlock, uint32_t cpus) {
  if (memlock != footprint(m, cpus))
    return 0;  // the kernel counts what it uses (6.4 and later), or a type it sizes itself
  uint64_t real = hash(m.type) ? hashBytes(m, cpus) : m.type == BPF_MAP_TYPE_LPM_TRIE ? trieBytes(m) : 0;
  return real > memlock ? real - memlock : 0;
}

} // namespace bulwark::rt
