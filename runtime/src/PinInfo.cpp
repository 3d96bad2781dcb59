#include "PinInfo.h"

#include "Bpf.h"
#include "Error.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <set>

namespace bulwark::rt {
namespace fs = std::filesystem;

namespace {

void addProgram(PinnedObject &po, const ProgInfo &p, uint64_t memlock) {
  po.memory.programs = memlock;
  po.memory.jit = jitImageSize(p.jitedLen);
  po.memory.debugInfo = p.debugInfo;
  po.progId = p.id;
  po.btfId = p.btfId;
}

} // namespace

std::optional<PinnedObject> describePin(const std::string &path) {
  PinnedObject po;
  po.path = path;
  std::optional<Fd> fd;
  try {
    fd = openPin(po.path);
  } catch (const Error &) {
  }
  if (!fd)
    return std::nullopt;
  po.memlock = fdMemlock(fd->get());
  if (auto m = mapInfo(fd->get())) {
    po.kind = "map";
    po.id = m->id;
    po.detail = "type " + std::to_string(m->type) + ", key " + std::to_string(m->keySize) + " B, value " +
                std::to_string(m->valueSize) + " B, max_entries " + std::to_string(m->maxEntries);
    if (m->type == BPF_MAP_TYPE_RINGBUF)
      po.memlock = std::max<uint64_t>(po.memlock, m->maxEntries);  // fdinfo counts one page
    po.memory.maps = po.memlock;
    static const uint32_t cpus = uint32_t(std::max(libbpf_num_possible_cpus(), 1));
    po.memory.mapLayout =
        mapLayoutExtra(MapShape{m->type, m->keySize, m->valueSize, m->maxEntries, m->flags}, po.memlock, cpus);
  } else if (auto p = progInfo(fd->get())) {
    po.kind = "prog";
    po.id = p->id;
    po.detail = p->name + ", " + std::to_string(p->xlatedLen / 8) + " insns, " + std::to_string(p->jitedLen) +
                " B jited";
    if (p->runCnt)
      po.detail += ", " + std::to_string(p->runCnt) + " runs, " + std::to_string(p->runTimeNs / p->runCnt) +
                   " ns/run";
    addProgram(po, *p, po.memlock);
  } else if (auto l = linkInfo(fd->get())) {
    po.kind = "link";
    po.id = l->id;
    po.detail = "prog id " + std::to_string(l->progId);
    // The link holds its program (a dispatcher, the guard's, a helper or kprobe program).
    Fd prog(bpf_prog_get_fd_by_id(l->progId));
    if (auto p = prog ? progInfo(prog.get()) : std::nullopt)
      addProgram(po, *p, fdMemlock(prog.get()));
  } else {
    po.kind = "other";
  }
  return po;
}

std::vector<PinnedObject> describePins(const std::string &dir) {
  std::vector<PinnedObject> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec))
    if (!it->is_directory())
      if (auto po = describePin(it->path().string()))
        out.push_back(std::move(*po));
  std::sort(out.begin(), out.end(), [](auto &a, auto &b) { return a.path < b.path; });
  return out;
}

KernelMemory pinsMemory(const std::vector<PinnedObject> &pins) {
  KernelMemory m;
  std::set<uint32_t> progs, btfs;
  for (const auto &p : pins) {
    if (p.progId && !progs.insert(p.progId).second)
      continue;  // a program pinned and held by a link too (kprobe programs)
    m += p.memory;
    if (p.btfId && btfs.insert(p.btfId).second)
      m.btf += btfSize(p.btfId);
  }
  return m;
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
