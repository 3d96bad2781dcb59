#include "Instances.h"

#include "Abi.h"
#include "Bpf.h"
#include "Error.h"
#include "State.h"
#include "System.h"

#include <bpf/bpf.h>
#include <dirent.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace bulwark::rt {

namespace {

constexpr const char *kMapName = "bw_instance";

std::optional<InstanceHeader> readHeader(int fd) {
  uint32_t key = 0;
  InstanceHeader h{};
  if (bpf_map_lookup_elem(fd, &key, &h) != 0 || std::memcmp(h.magic, kInstanceMagic, sizeof h.magic) != 0)
    return std::nullopt;
  return h;
}

// Instance numbers pinned under instances/, ascending.
std::vector<uint32_t> pinnedIds(const PinLayout &pins) {
  std::vector<uint32_t> out;
  DIR *d = ::opendir(pins.instancesDir().c_str());
  if (!d)
    return out;
  while (auto *e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n.empty() || n.size() > 10 || n.find_first_not_of("0123456789") != std::string::npos)
      continue;
    unsigned long v = std::stoul(n);
    if (v > 0 && v <= UINT32_MAX)
      out.push_back(uint32_t(v));
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

} // namespace

uint32_t Instances::allocate() {
  mkdirs(pins_.instancesDir());
  auto fd = openMapPin(pins_.instanceSeq());
  if (!fd) {
    Fd created(bpf_map_create(BPF_MAP_TYPE_ARRAY, "bw_instance_seq", 4, 8, 1, nullptr));
    if (!created)
      throw Error(Exit::Failed, "cannot create the instance sequence map: " + errnoText(errno));
    pinFd(created.get(), pins_.instanceSeq());
    fd = std::move(created);
  }
  uint32_t key = 0;
  uint64_t last = 0;
  if (bpf_map_lookup_elem(fd->get(), &key, &last) != 0)
    throw Error(Exit::Failed, "cannot read the instance sequence: " + errnoText(errno));
  // A pinned instance above the sequence (a sequence map recreated by hand) is never reused.
  auto ids = pinnedIds(pins_);
  if (!ids.empty())
    last = std::max<uint64_t>(last, ids.back());
  uint64_t next = last + 1;
  if (next >= (uint64_t(1) << (32 - BW_SLOT_MODE_BITS)))
    throw Error(Exit::Failed, "policy instance numbers are exhausted under " + pins_.root,
                "unload every policy and remove " + pins_.instancesDir());
  if (bpf_map_update_elem(fd->get(), &key, &next, BPF_ANY) != 0)
    throw Error(Exit::Failed, "cannot write the instance sequence: " + errnoText(errno));
  return uint32_t(next);
}

void Instances::create(uint32_t id, const std::string &policy, uint32_t slot, const std::vector<RuleInfo> &rules) {
  mkdirs(pins_.instancesDir());
  std::vector<InstanceMark> marks;
  for (uint32_t i = 0; i < rules.size(); i++)
    for (const auto &mk : rules[i].marks) {
      InstanceMark m{};
      m.id = mk.id;
      m.rule = i;
      copyField(m.name, mk.name);
      marks.push_back(m);
    }
  Fd fd(bpf_map_create(BPF_MAP_TYPE_ARRAY, kMapName, 4, 512, uint32_t(rules.size() + marks.size() + 1), nullptr));
  if (!fd)
    throw Error(Exit::Failed, "cannot create the instance map: " + errnoText(errno));
  InstanceHeader h{};
  std::memcpy(h.magic, kInstanceMagic, sizeof h.magic);
  h.ruleCount = uint32_t(rules.size());
  h.markCount = uint32_t(marks.size());
  h.loadedNs = realtimeNs();
  h.slot = slot;
  copyField(h.policy, policy);
  for (uint32_t i = 0; i < rules.size(); i++) {
    InstanceRule r{};
    r.hook = rules[i].hook;
    r.action = rules[i].action;
    copyField(r.name, rules[i].name);
    copyField(r.function, rules[i].function);
    copyField(r.message, rules[i].message);
    uint32_t key = i + 1;
    if (bpf_map_update_elem(fd.get(), &key, &r, BPF_ANY) != 0)
      throw Error(Exit::Failed, "cannot fill the instance map: " + errnoText(errno));
  }
  for (uint32_t i = 0; i < marks.size(); i++) {
    uint32_t key = uint32_t(rules.size()) + 1 + i;
    if (bpf_map_update_elem(fd.get(), &key, &marks[i], BPF_ANY) != 0)
      throw Error(Exit::Failed, "cannot fill the instance map: " + errnoText(errno));
  }
  uint32_t key = 0;
  if (bpf_map_update_elem(fd.get(), &key, &h, BPF_ANY) != 0)
    throw Error(Exit::Failed, "cannot fill the instance map: " + errnoText(errno));
  removeTree(pins_.instance(id));
  pinFd(fd.get(), pins_.instance(id));
}

void Instances::retire(uint32_t id) {
  if (id == 0)
    return;
  auto fd = openMapPin(pins_.instance(id));
  if (!fd)
    return;
  auto h = readHeader(fd->get());
  if (!h || h->retired)
    return;
  h->retired = 1;
  h->retiredNs = realtimeNs();
  auto pos = ringPositions(pins_);
  h->drainPos = pos ? pos->producer : 0;
  uint32_t key = 0;
  if (bpf_map_update_elem(fd->get(), &key, &*h, BPF_ANY) != 0)
    throw Error(Exit::Failed, "cannot retire policy instance " + std::to_string(id) + ": " + errnoText(errno));
}

unsigned Instances::prune() {
  unsigned dropped = 0;
  try {
    auto pos = ringPositions(pins_);
    std::vector<uint32_t> retired;  // still holding unread records, oldest first
    for (uint32_t id : pinnedIds(pins_)) {
      auto fd = openMapPin(pins_.instance(id));
      auto h = fd ? readHeader(fd->get()) : std::nullopt;
      if (!h || !h->retired)
        continue;
      if (!pos || pos->consumer >= h->drainPos) {
        if (::unlink(pins_.instance(id).c_str()) == 0)
          dropped++;
      } else {
        retired.push_back(id);
      }
    }
    for (size_t i = 0; i + kMaxRetired < retired.size(); i++)
      if (::unlink(pins_.instance(retired[i]).c_str()) == 0)
        dropped++;
  } catch (const Error &) {
  }
  return dropped;
}

std::map<uint32_t, InstanceInfo> readInstances(const PinLayout &pins) {
  std::map<uint32_t, InstanceInfo> out;
  for (uint32_t id : pinnedIds(pins)) {
    std::optional<Fd> fd;
    try {
      fd = openMapPin(pins.instance(id));
    } catch (const Error &) {
      continue;
    }
    auto h = fd ? readHeader(fd->get()) : std::nullopt;
    if (!h)
      continue;
    InstanceInfo info;
    info.id = id;
    info.policy = fieldString(h->policy);
    info.slot = h->slot;
    info.retired = h->retired != 0;
    info.drainPos = h->drainPos;
    for (uint32_t i = 0; i < h->ruleCount; i++) {
      InstanceRule r{};
      uint32_t key = i + 1;
      RuleInfo ri;
      if (bpf_map_lookup_elem(fd->get(), &key, &r) == 0) {
        ri.name = fieldString(r.name);
        ri.message = fieldString(r.message);
        ri.function = fieldString(r.function);
        ri.hook = r.hook;
        ri.action = r.action;
      }
      info.rules.push_back(std::move(ri));
    }
    for (uint32_t i = 0; i < h->markCount; i++) {
      InstanceMark m{};
      uint32_t key = h->ruleCount + 1 + i;
      if (bpf_map_lookup_elem(fd->get(), &key, &m) == 0)
        info.marks[m.id] = fieldString(m.name);
    }
    out[id] = std::move(info);
  }
  return out;
}

std::optional<RingPositions> ringPositions(int fd) {
  long page = ::sysconf(_SC_PAGESIZE);
  // The ring's first page is the consumer position, the second the producer position.
  void *cons = ::mmap(nullptr, size_t(page), PROT_READ, MAP_SHARED, fd, 0);
  if (cons == MAP_FAILED)
    return std::nullopt;
  void *prod = ::mmap(nullptr, size_t(page), PROT_READ, MAP_SHARED, fd, page);
  if (prod == MAP_FAILED) {
    ::munmap(cons, size_t(page));
    return std::nullopt;
  }
  RingPositions p;
  p.consumer = __atomic_load_n(static_cast<const uint64_t *>(cons), __ATOMIC_ACQUIRE);
  p.producer = __atomic_load_n(static_cast<const uint64_t *>(prod), __ATOMIC_ACQUIRE);
  ::munmap(prod, size_t(page));
  ::munmap(cons, size_t(page));
  return p;
}

std::optional<RingPositions> ringPositions(const PinLayout &pins) {
  auto fd = openMapPin(pins.sharedMap("bw_events"));
  return fd ? ringPositions(fd->get()) : std::nullopt;
}

} // namespace bulwark::rt
