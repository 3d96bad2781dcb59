#include "PinInfo.h"

#include "Bpf.h"
#include "Error.h"

#include <bpf/bpf.h>

#include <algorithm>
#include <filesystem>
#include <optional>

namespace bulwark::rt {
namespace fs = std::filesystem;

std::vector<PinnedObject> describePins(const std::string &dir) {
  std::vector<PinnedObject> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (it->is_directory())
      continue;
    PinnedObject po;
    po.path = it->path().string();
    std::optional<Fd> fd;
    try {
      fd = openPin(po.path);
    } catch (const Error &) {
    }
    if (!fd)
      continue;
    if (auto m = mapInfo(fd->get())) {
      po.kind = "map";
      po.id = m->id;
      po.detail = "type " + std::to_string(m->type) + ", key " + std::to_string(m->keySize) + " B, value " +
                  std::to_string(m->valueSize) + " B, max_entries " + std::to_string(m->maxEntries);
    } else if (auto p = progInfo(fd->get())) {
      po.kind = "prog";
      po.id = p->id;
      po.detail = p->name + ", " + std::to_string(p->xlatedLen / 8) + " insns, " + std::to_string(p->jitedLen) +
                  " B jited";
      if (p->runCnt)
        po.detail += ", " + std::to_string(p->runCnt) + " runs, " + std::to_string(p->runTimeNs / p->runCnt) +
                     " ns/run";
    } else if (auto l = linkInfo(fd->get())) {
      po.kind = "link";
      po.id = l->id;
      po.detail = "prog id " + std::to_string(l->progId);
    } else {
      po.kind = "other";
    }
    po.memlock = fdMemlock(fd->get());
    if (auto m = mapInfo(fd->get()); m && m->type == BPF_MAP_TYPE_RINGBUF)
      po.memlock = std::max<uint64_t>(po.memlock, m->maxEntries);  // fdinfo counts one page
    out.push_back(po);
  }
  std::sort(out.begin(), out.end(), [](auto &a, auto &b) { return a.path < b.path; });
  return out;
}

// Kernel functions with a kprobe link pinned in a generation of a policy, sorted.
std::vector<std::string> kprobeFunctions(const PinLayout &pins, const std::string &policy, uint32_t gen) {
  std::vector<std::string> out;
  std::error_code ec;
  std::string prefix = PinLayout::kKprobeLinkPrefix;
  for (const auto &e : fs::directory_iterator(pins.genDir(policy, gen), ec)) {
    std::string n = e.path().filename().string();
    if (n.rfind(prefix, 0) == 0 && n.size() > prefix.size())
      out.push_back(n.substr(prefix.size()));
  }
  std::sort(out.begin(), out.end());
  return out;
}

} // namespace bulwark::rt
