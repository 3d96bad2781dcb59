#include "MapFill.h"

#include "Bpf.h"
#include "Error.h"

#include <bpf/bpf.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <vector>

namespace bulwark::rt {

void fillMap(bpf_map *map, const Bundle &b, const BundleMap &m) {
  if (m.data.empty() || m.entries == 0)
    return;
  std::ifstream in(b.dir / m.data, std::ios::binary);
  if (!in)
    throw Error(Exit::BadBundle, "cannot read " + (b.dir / m.data).string());
  int fd = bpf_map__fd(map);
  bool percpu = bpf_map__type(map) == BPF_MAP_TYPE_PERCPU_HASH ||
                bpf_map__type(map) == BPF_MAP_TYPE_PERCPU_ARRAY ||
                bpf_map__type(map) == BPF_MAP_TYPE_LRU_PERCPU_HASH;
  int ncpu = percpu ? libbpf_num_possible_cpus() : 1;
  size_t vstride = percpu ? (m.valueSize + 7) / 8 * 8 : m.valueSize;
  size_t vsize = vstride * ncpu;
  // Chunks of entries in one BPF_MAP_UPDATE_BATCH (hash and array maps: a 10,000-glob DFA
  // is ~900,000 array entries); maps without batch updates (LPM tries) go one by one.
  constexpr uint64_t kChunk = 4096;
  // A chunk of records is read at once (one read per 4,096, not two per entry).
  size_t record = size_t(m.keySize) + m.valueSize;
  std::vector<char> raw(kChunk * record), keys(kChunk * m.keySize), values(kChunk * vsize);
  bool batch = !percpu;
  for (uint64_t done = 0; done < m.entries;) {
    uint64_t n = std::min<uint64_t>(kChunk, m.entries - done);
    in.read(raw.data(), std::streamsize(n * record));
    if (!in)
      throw Error(Exit::BadBundle, "map data " + m.data + " ends early after entry " + std::to_string(done));
    for (uint64_t i = 0; i < n; i++) {
      const char *rec = raw.data() + i * record;
      std::memcpy(keys.data() + i * m.keySize, rec, m.keySize);
      for (int c = 0; c < ncpu; c++)
        std::memcpy(values.data() + i * vsize + c * vstride, rec + m.keySize, m.valueSize);
    }
    if (batch) {
      __u32 count = uint32_t(n);
      if (bpf_map_update_batch(fd, keys.data(), values.data(), &count, nullptr) == 0 && count == n) {
        done += n;
        continue;
      }
      batch = false;  // not supported for this map type: the same entries one by one
    }
    for (uint64_t i = 0; i < n; i++)
      if (bpf_map_update_elem(fd, keys.data() + i * m.keySize, values.data() + i * vsize, BPF_ANY) != 0)
        throw Error(Exit::Failed, "cannot fill map " + m.name + " (entry " + std::to_string(done + i) +
                                      "): " + errnoText(errno));
    done += n;
  }
}

} // namespace bulwark::rt
