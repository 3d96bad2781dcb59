#include "Scope.h"

#include "Abi.h"
#include "Bpf.h"
#include "Error.h"
#include "Rodata.h"

#include <bpf/bpf.h>
#include <sys/stat.h>

#include <algorithm>
#include <optional>

namespace bulwark::rt {
namespace {

// A scope cgroup path as written in a policy → its directory under /sys/fs/cgroup, its level
// (for bpf_get_current_ancestor_cgroup_id) and its id (the inode; 0 if there is none now).
struct CgroupAt {
  std::string full;
  uint32_t level = 0;
  uint64_t id = 0;
};
CgroupAt cgroupAt(const std::string &p) {
  std::string rel = p;
  if (rel.rfind("/sys/fs/cgroup", 0) == 0)
    rel.erase(0, 14);
  while (!rel.empty() && rel.front() == '/')
    rel.erase(0, 1);
  while (!rel.empty() && rel.back() == '/')
    rel.pop_back();
  CgroupAt c;
  c.full = "/sys/fs/cgroup" + (rel.empty() ? "" : "/" + rel);
  if (!rel.empty())
    c.level = 1 + uint32_t(std::count(rel.begin(), rel.end(), '/'));
  struct stat st {};
  if (::stat(c.full.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
    c.id = st.st_ino;
  return c;
}

} // namespace

// Cgroup scope: cgroup v2 paths → (id, level) in rodata. A cgroup that does not exist gets id
// 0, which matches no process (a cgroup that does not exist holds none); list and status show
// it, and loading again (the daemon does, as soon as it exists) takes its id.
std::vector<ScopeRecord> setCgroupScope(bpf_object *obj, const Bundle &b, std::vector<std::string> *warnings) {
  std::vector<ScopeRecord> out;
  if (b.policy.scope != bundle::Scope::Cgroup)
    return out;
  uint64_t ids[kScopeCgroups] = {};
  uint32_t levels[kScopeCgroups] = {};
  uint32_t n = 0;
  for (const auto &p : b.policy.scopePaths) {
    if (n == kScopeCgroups)
      throw Error(Exit::BadBundle, "the policy's scope has more than " + std::to_string(kScopeCgroups) + " cgroups");
    CgroupAt c = cgroupAt(p);
    if (!c.id)
      warnings->push_back("scope cgroup " + p + " does not exist (" + c.full +
                          "): nothing is enforced in it until it exists and the policy is loaded again");
    ids[n] = c.id;
    levels[n] = c.level;
    ScopeRecord r{};
    r.id = c.id;
    r.level = c.level;
    r.used = 1;
    copyField(r.path, p);
    out.push_back(r);
    n++;
  }
  if (!setRodataU32(obj, kRodataCgroupCount, n) || !setRodata(obj, kRodataCgroupId, ids, sizeof ids) ||
      !setRodata(obj, kRodataCgroupLevel, levels, sizeof levels))
    throw Error(Exit::BadBundle, "the policy has a cgroup scope but its object has no bw_cfg_cgroup_* rodata");
  return out;
}

// The records of a generation's bw_scope pin (none: no cgroup scope, or no pin).
std::vector<ScopeRecord> readScopeRecords(const PinLayout &pins, const std::string &policy, uint32_t gen) {
  std::vector<ScopeRecord> out;
  std::optional<Fd> fd;
  try {
    fd = openMapPin(pins.map(policy, gen, "bw_scope"));
  } catch (const Error &) {
  }
  for (uint32_t i = 0; fd && i < kScopeCgroups; i++) {
    ScopeRecord r{};
    if (bpf_map_lookup_elem(fd->get(), &i, &r) == 0 && r.used)
      out.push_back(r);
  }
  return out;
}

// The scope of a generation as loaded, and the cgroups at its paths now.
std::vector<ScopeCgroup> readScope(const PinLayout &pins, const std::string &policy, uint32_t gen) {
  std::vector<ScopeCgroup> out;
  for (const ScopeRecord &r : readScopeRecords(pins, policy, gen)) {
    ScopeCgroup c;
    c.path = fieldString(r.path);
    c.loadedId = r.id;
    c.currentId = cgroupAt(c.path).id;
    out.push_back(c);
  }
  return out;
}

bw_slot_scope slotScopeOf(const std::vector<ScopeRecord> &records) {
  bw_slot_scope s{};
  if (records.empty())
    return s;
  s.kind = BW_SLOT_SCOPE_CGROUP;
  for (const ScopeRecord &r : records) {
    if (s.count == kScopeCgroups)
      break;
    s.id[s.count] = r.id;
    s.level[s.count] = r.level;
    s.count++;
  }
  return s;
}

} // namespace bulwark::rt
