#include "PolicyState.h"

#include "Abi.h"
#include "Error.h"

#include <bpf/bpf.h>
#include <dirent.h>

#include <algorithm>
#include <cstring>

namespace bulwark::rt {

StateRecord readRecord(int fd, uint32_t key) {
  StateRecord r{};
  if (bpf_map_lookup_elem(fd, &key, &r) != 0)
    throw Error(Exit::Failed, "cannot read policy state: " + errnoText(errno));
  return r;
}

void writeRecord(int fd, uint32_t key, const StateRecord &r) {
  if (bpf_map_update_elem(fd, &key, &r, BPF_ANY) != 0)
    throw Error(Exit::Failed, "cannot write policy state: " + errnoText(errno));
}

std::optional<PolicyState> readPolicy(const PinLayout &pins, const std::string &name) {
  if (!exists(pins.policyDir(name)))
    return std::nullopt;
  auto fd = openMapPin(pins.stateMap(name));
  if (!fd)
    throw Error(Exit::Conflict,
                "pin directory " + pins.policyDir(name) + " exists but holds no Bulwark policy state",
                "it was not created by bulwark (or by an interrupted load); inspect and remove it");
  auto info = mapInfo(fd->get());
  if (!info || info->type != BPF_MAP_TYPE_ARRAY || info->valueSize != sizeof(StateRecord) ||
      info->maxEntries != 3)
    throw Error(Exit::Conflict, "pin " + pins.stateMap(name) + " is not a Bulwark state record");
  PolicyState st;
  st.name = name;
  st.header = readRecord(fd->get(), 0);
  if (std::memcmp(st.header.magic, kStateMagic, sizeof kStateMagic) != 0)
    throw Error(Exit::Conflict, "pin " + pins.stateMap(name) + " is not a Bulwark state record");
  st.gens[0] = readRecord(fd->get(), 1);
  st.gens[1] = readRecord(fd->get(), 2);
  st.fd = std::move(*fd);
  return st;
}

std::vector<std::string> policyNames(const PinLayout &pins) {
  std::vector<std::string> out;
  DIR *d = ::opendir(pins.root.c_str());
  if (!d)
    return out;
  while (auto *e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n == "." || n == ".." || n == BW_SHARED_PIN_DIR || n == "dispatch" || n == "guard" || n == "instances")
      continue;
    if (e->d_type == DT_DIR || e->d_type == DT_UNKNOWN)
      out.push_back(n);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<const Hook *> hooksOfMask(uint64_t mask) {
  std::vector<const Hook *> out;
  for (const auto &h : hooks())
    if (h.lsm && (mask >> h.index) & 1)
      out.push_back(&h);
  return out;
}

std::vector<PolicyState> ourPolicies(const PinLayout &pins) {
  std::vector<PolicyState> out;
  for (const auto &n : policyNames(pins)) {
    try {
      if (auto st = readPolicy(pins, n))
        out.push_back(std::move(*st));
    } catch (const Error &) {
      // not ours
    }
  }
  return out;
}

} // namespace bulwark::rt
