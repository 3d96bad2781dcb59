#include "Runtime.h"
#include "Guard.h"
#include "Identity.h"
#include "Instances.h"

#include "Abi.h"
#include "Error.h"
#include "Hooks.h"
#include "Slots.h"
#include "System.h"

#include "dispatcher.skel.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <functional>
#include <set>
#include <thread>

namespace bulwark::rt {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string defaultPinRoot() {
  const char *env = std::getenv("BULWARK_PIN_ROOT");
  return env && *env ? env : BW_PIN_ROOT_DEFAULT;
}

namespace {

// ---- locking: one writer (load/unload) at a time, readers share -------------------------
class Lock {
public:
  Lock(const std::string &dir, bool exclusive) {
    fd_ = Fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd_)
      throw Error(Exit::Failed, "cannot open pin root " + dir + ": " + errnoText(errno));
    if (::flock(fd_.get(), exclusive ? LOCK_EX : LOCK_SH) != 0)
      throw Error(Exit::Failed, "cannot lock pin root " + dir + ": " + errnoText(errno));
  }

private:
  Fd fd_;
};

// ---- kernel-side chain store over bw_next_<H> ---------------------------------------------
class MapChain : public ChainStore {
public:
  MapChain(int fd, std::string what) : fd_(fd), what_(std::move(what)) {}
  uint32_t get(uint32_t index) const override {
    uint32_t v = 0;
    return mapLookupU32(fd_, index, &v) ? v : 0;
  }
  void set(uint32_t index, uint32_t value) override { mapUpdateU32(fd_, index, value, what_); }

private:
  int fd_;
  std::string what_;
};

// Shared maps, opened from their pins on demand.
class Shared {
public:
  explicit Shared(const PinLayout &pins) : pins_(pins) {}
  bool present() { return exists(pins_.sharedMap("bw_gen")); }
  int gen() { return open(genFd_, "bw_gen"); }
  // bw_slot_mode exists once an object that chains LSM hooks was loaded (kprobe-only
  // policies have no chain and do not create it).
  bool hasSlotModes() { return exists(pins_.sharedMap("bw_slot_mode")); }
  int slotMode() { return open(slotModeFd_, "bw_slot_mode"); }
  // The raw word: enum bw_slot_mode in the low bits, the instance above (bw_abi.h).
  uint32_t slotModeOf(uint32_t slot) {
    uint32_t m = 0;
    if (hasSlotModes())
      mapLookupU32(slotMode(), slot, &m);
    return m;
  }
  void setSlotMode(uint32_t slot, uint32_t mode) {
    if (hasSlotModes())
      mapUpdateU32(slotMode(), slot, mode, "bw_slot_mode");
  }
  int progs(const Hook &h) { return open(progs_[h.index], progsMapName(h)); }
  int next(const Hook &h) { return open(next_[h.index], nextMapName(h)); }
  bool hasHook(const Hook &h) { return exists(pins_.sharedMap(progsMapName(h))); }
  MapChain chain(const Hook &h) { return MapChain(next(h), nextMapName(h)); }
  uint32_t genOf(uint32_t slot) {
    uint32_t g = 0;
    mapLookupU32(gen(), slot, &g);
    return g & 1;
  }

private:
  int open(Fd &fd, const std::string &name) {
    if (!fd) {
      auto f = openMapPin(pins_.sharedMap(name));
      if (!f)
        throw Error(Exit::Failed, "shared map " + pins_.sharedMap(name) + " is not pinned",
                    "load a policy first (the shared maps are created by the first load)");
      fd = std::move(*f);
    }
    return fd.get();
  }
  const PinLayout &pins_;
  Fd genFd_, slotModeFd_;
  std::map<uint32_t, Fd> progs_, next_;
};

// ---- policy state -----------------------------------------------------------------------------
struct PolicyState {
  std::string name;
  Fd fd;
  StateRecord header{};
  StateRecord gens[2]{};
};

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

uint32_t actionCode(const std::string &a) {
  if (a == "deny")
    return BW_ACT_DENY;
  if (a == "audit")
    return BW_ACT_AUDIT;
  if (a == "kill")
    return BW_ACT_KILL;
  return BW_ACT_ALLOW;
}

const char *actionName(uint32_t a) {
  switch (a) {
  case BW_ACT_ALLOW: return "allow";
  case BW_ACT_DENY: return "deny";
  case BW_ACT_AUDIT: return "audit";
  case BW_ACT_KILL: return "kill";
  }
  return "?";
}

// ---- the policy object ------------------------------------------------------------------------
struct Object {
  bpf_object *obj = nullptr;
  Object() = default;
  Object(const Object &) = delete;
  ~Object() {
    if (obj)
      bpf_object__close(obj);
  }
};

// Sets a `const volatile` global of .rodata by name (its size must be `size`). Returns
// false if the object has no such variable.
bool setRodata(bpf_object *obj, std::string_view var, const void *value, size_t size) {
  bpf_map *rodata = nullptr;
  bpf_map *m;
  bpf_object__for_each_map(m, obj) {
    std::string n = bpf_map__name(m);
    if (bpf_map__is_internal(m) && n.size() >= 7 && n.compare(n.size() - 7, 7, ".rodata") == 0)
      rodata = m;
  }
  const btf *bt = bpf_object__btf(obj);
  if (!rodata || !bt)
    return false;
  int id = btf__find_by_name_kind(bt, ".rodata", BTF_KIND_DATASEC);
  if (id <= 0)
    return false;
  const btf_type *ds = btf__type_by_id(bt, id);
  const btf_var_secinfo *vs = btf_var_secinfos(ds);
  for (int i = 0; i < btf_vlen(ds); i++, vs++) {
    const btf_type *v = btf__type_by_id(bt, vs->type);
    if (var != btf__name_by_offset(bt, v->name_off))
      continue;
    if (vs->size != size)
      throw Error(Exit::BadBundle, "rodata variable " + std::string(var) + " has " + std::to_string(vs->size) +
                                       " bytes, the runtime expects " + std::to_string(size));
    size_t total = 0;
    const void *cur = bpf_map__initial_value(rodata, &total);
    if (!cur || vs->offset + size > total)
      return false;
    std::vector<char> data(static_cast<const char *>(cur), static_cast<const char *>(cur) + total);
    std::memcpy(data.data() + vs->offset, value, size);
    if (bpf_map__set_initial_value(rodata, data.data(), data.size()) != 0)
      throw Error(Exit::Internal, "cannot set rodata " + std::string(var));
    return true;
  }
  return false;
}

bool setRodataU32(bpf_object *obj, std::string_view var, uint32_t value) {
  return setRodata(obj, var, &value, sizeof value);
}

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

// Cgroup scope: cgroup v2 paths → (id, level) in rodata. A cgroup that does not exist gets id
// 0, which matches no process (a cgroup that does not exist holds none); list and status show
// it, and loading again (the daemon does, as soon as it exists) takes its id.
std::vector<ScopeRecord> setCgroupScope(bpf_object *obj, const Bundle &b, std::vector<std::string> *warnings) {
  std::vector<ScopeRecord> out;
  if (b.scope != "cgroup")
    return out;
  uint64_t ids[kScopeCgroups] = {};
  uint32_t levels[kScopeCgroups] = {};
  uint32_t n = 0;
  for (const auto &p : b.scopePaths) {
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

// The scope of a generation as loaded, and the cgroups at its paths now.
std::vector<ScopeCgroup> readScope(const PinLayout &pins, const std::string &policy, uint32_t gen) {
  std::vector<ScopeCgroup> out;
  std::optional<Fd> fd;
  try {
    fd = openMapPin(pins.map(policy, gen, "bw_scope"));
  } catch (const Error &) {
  }
  if (!fd)
    return out;
  for (uint32_t i = 0; i < kScopeCgroups; i++) {
    ScopeRecord r{};
    if (bpf_map_lookup_elem(fd->get(), &i, &r) != 0 || !r.used)
      continue;
    ScopeCgroup c;
    c.path = fieldString(r.path);
    c.loadedId = r.id;
    c.currentId = cgroupAt(c.path).id;
    out.push_back(c);
  }
  return out;
}

// Turns a failed bpf_object__load into an Error that names the cause.
Error loadError(int err, const std::string &what) {
  std::string log = libbpfLog();
  std::string excerpt = verifierExcerpt(log);
  std::string missing;
  if (!havePrivilege(&missing))
    return Error(Exit::NoPermission, what + ": missing privilege (" + missing + ")", "run bulwark as root");
  std::string why;
  auto lsms = activeLsms(&why);
  if (lsms && !bpfLsmActive(*lsms))
    return Error(Exit::Unsupported, what + ": the BPF LSM is not active in this kernel",
                 "boot with lsm=...,bpf; see bulwark doctor");
  auto btfMissing = log.find("failed to find kernel BTF type ID");
  if (btfMissing != std::string::npos) {
    auto end = log.find('\n', btfMissing);
    return Error(Exit::Unsupported,
                 what + ": a hook is not in this kernel (" + log.substr(btfMissing, end - btfMissing) + ")",
                 "the kernel is too old for a hook the policy uses");
  }
  if (!excerpt.empty())
    return Error(Exit::Failed, what + ": the verifier rejected a program (" + errnoText(err) +
                                   "); verifier log, last lines:\n" + excerpt,
                 "the bundle does not verify on kernel " + kernelRelease() +
                     "; rebuild it or report a compiler bug");
  if (err == EPERM || err == EACCES)
    return Error(Exit::Unsupported,
                 what + ": the kernel refused to load a BPF LSM program (" + errnoText(err) +
                     ") although bulwark has the privileges",
                 "this kernel does not allow BPF LSM (trampoline) programs; run bulwark doctor");
  std::string tail = log.size() > 2000 ? log.substr(log.size() - 2000) : log;
  return Error(Exit::Failed, what + ": " + errnoText(err) + (tail.empty() ? "" : "\nlibbpf said:\n" + tail));
}

// Checks that every pinned-by-name map of the object either does not exist yet or is
// a map of the same shape (what libbpf requires to reuse it), so a conflicting pin is
// reported as such and not as a generic load failure.
void checkSharedPins(bpf_object *obj) {
  bpf_map *m;
  bpf_object__for_each_map(m, obj) {
    const char *path = bpf_map__pin_path(m);
    if (!path)
      continue;
    auto fd = openPin(path);
    if (!fd)
      continue;
    auto info = mapInfo(fd->get());
    if (!info)
      throw Error(Exit::Conflict, "pin path " + std::string(path) + " is taken by a BPF object that is not a map",
                  "something else uses this pin root; use another --pin-root or remove it");
    if (info->type != bpf_map__type(m) || info->keySize != bpf_map__key_size(m) ||
        info->valueSize != bpf_map__value_size(m) || info->maxEntries != bpf_map__max_entries(m) ||
        info->flags != bpf_map__map_flags(m))
      throw Error(Exit::Conflict,
                  "pin path " + std::string(path) + " is taken by a map that does not match (type " +
                      std::to_string(info->type) + ", key " + std::to_string(info->keySize) + ", value " +
                      std::to_string(info->valueSize) + ", max_entries " + std::to_string(info->maxEntries) +
                      "; wanted type " + std::to_string(bpf_map__type(m)) + ", key " +
                      std::to_string(bpf_map__key_size(m)) + ", value " + std::to_string(bpf_map__value_size(m)) +
                      ", max_entries " + std::to_string(bpf_map__max_entries(m)) + ")",
                  "another program or another Bulwark ABI owns this pin root; use another --pin-root");
  }
}

// Fills a per-policy map from maps/<name>.bin. Per-CPU maps get the value on every CPU.
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
  std::vector<char> keys(kChunk * m.keySize), values(kChunk * vsize), value(m.valueSize);
  bool batch = !percpu;
  for (uint64_t done = 0; done < m.entries;) {
    uint64_t n = std::min<uint64_t>(kChunk, m.entries - done);
    for (uint64_t i = 0; i < n; i++) {
      in.read(keys.data() + i * m.keySize, m.keySize);
      in.read(value.data(), value.size());
      if (!in)
        throw Error(Exit::BadBundle, "map data " + m.data + " ends early at entry " + std::to_string(done + i));
      for (int c = 0; c < ncpu; c++)
        std::memcpy(values.data() + i * vsize + c * vstride, value.data(), value.size());
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

// Dispatcher and pass-through programs come from the embedded runtime object.
struct RuntimeObject {
  bw_dispatcher *skel = nullptr;
  ~RuntimeObject() {
    if (skel)
      bw_dispatcher::destroy(skel);
  }
};

void openRuntimeObject(RuntimeObject &ro, const PinLayout &pins, const std::string &only) {
  std::string shared = pins.shared();
  bpf_object_open_opts opts{};
  opts.sz = sizeof(opts);
  opts.pin_root_path = shared.c_str();
  ro.skel = bw_dispatcher::open(&opts);
  if (!ro.skel)
    throw Error(Exit::Internal, "cannot open the embedded dispatcher object: " + errnoText(errno));
  bpf_program *p;
  bool found = false;
  bpf_object__for_each_program(p, ro.skel->obj) {
    bool want = only == bpf_program__name(p);
    found |= want;
    bpf_program__set_autoload(p, want);
  }
  if (!found)
    throw Error(Exit::Internal, "the embedded dispatcher object has no program " + only);
  checkSharedPins(ro.skel->obj);
}

// Loads a pass-through program standing in for `slot` on hook h; returns its fd.
Fd loadPass(const PinLayout &pins, const Hook &h, uint32_t slot) {
  RuntimeObject ro;
  openRuntimeObject(ro, pins, passProgName(h));
  ro.skel->rodata->bw_pass_slot = slot;
  clearLibbpfLog();
  if (bw_dispatcher::load(ro.skel) != 0)
    throw loadError(errno, "cannot load the pass-through program for " + std::string(h.name));
  int fd = bpf_program__fd(bpf_object__find_program_by_name(ro.skel->obj, passProgName(h).c_str()));
  return Fd(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
}

// Makes sure the dispatcher of (hook, lane) is attached and pinned. Returns true if it
// attached one now.
bool ensureDispatcher(const PinLayout &pins, const Hook &h, uint32_t lane) {
  std::string path = pins.dispatcher(h, lane);
  if (auto fd = openPin(path)) {
    if (!linkInfo(fd->get()))
      throw Error(Exit::Conflict, "pin path " + path + " is taken by a BPF object that is not a link",
                  "remove it, or use another --pin-root");
    return false;
  }
  mkdirs(pins.dispatchDir());
  RuntimeObject ro;
  openRuntimeObject(ro, pins, dispatcherProgName(h));
  ro.skel->rodata->bw_lane = lane;
  clearLibbpfLog();
  if (bw_dispatcher::load(ro.skel) != 0)
    throw loadError(errno, "cannot load the dispatcher for " + std::string(h.name));
  bpf_program *prog = bpf_object__find_program_by_name(ro.skel->obj, dispatcherProgName(h).c_str());
  bpf_link *link = bpf_program__attach_lsm(prog);
  if (!link)
    throw loadError(errno, "cannot attach the dispatcher for " + std::string(h.name));
  // The pin holds the link; bpf_link__destroy only closes our fd (it would detach the
  // link if the pin had failed). Never bpf_link__disconnect: that leaks the fd, and a
  // long-running process (the daemon) would then keep the link attached after unpinning.
  int err = bpf_link__pin(link, path.c_str());
  bpf_link__destroy(link);
  if (err != 0)
    throw Error(Exit::Failed, "cannot pin dispatcher link " + path + ": " + errnoText(-err));
  return true;
}

// Detaches the dispatcher of (hook, lane) if its lane chain is empty.
void dropDispatcherIfIdle(const PinLayout &pins, Shared &shared, const Hook &h, uint32_t lane) {
  std::string path = pins.dispatcher(h, lane);
  if (!exists(path) || !shared.hasHook(h))
    return;
  auto chain = shared.chain(h);
  if (!chainSlots(chain, lane).empty())
    return;
  if (::unlink(path.c_str()) != 0 && errno != ENOENT)
    throw Error(Exit::Failed, "cannot unpin dispatcher " + path + ": " + errnoText(errno));
}

// Takes a slot out of every chain and prog array (unload, and a fresh slot that an
// interrupted unload left behind).
void scrubSlot(Shared &shared, uint32_t slot) {
  shared.setSlotMode(slot, BW_SLOT_EMPTY);
  for (const auto &h : hooks()) {
    if (!h.lsm || !shared.hasHook(h))
      continue;
    auto chain = shared.chain(h);
    unlinkSlot(chain, slot);
    clearSlot(chain, slot);
    mapDelete(shared.progs(h), progIndex(slot, 0));
    mapDelete(shared.progs(h), progIndex(slot, 1));
  }
}

// ---- integrity: the kernel wiring of a policy against what was loaded ---------------------
// What a process other than the runtime changed (or an interrupted command left): each entry
// says what differs. Reads only.
std::vector<std::string> checkWiring(const PinLayout &pins, Shared &shared, const PolicySummary &s) {
  std::vector<std::string> out;
  std::string slot = std::to_string(s.slot);
  uint32_t raw = 0;
  mapLookupU32(shared.gen(), s.slot, &raw);
  if (raw > 1)
    out.push_back("bw_gen[" + slot + "] is " + std::to_string(raw) + ", not a generation");
  if (s.active.valid != 1)
    return out;  // an interrupted first load: a problem, not tampering
  if (!exists(pins.genDir(s.name, s.gen))) {
    out.push_back("bw_gen[" + slot + "] points at generation " + std::to_string(s.gen) +
                  ", which holds no loaded version");
    return out;  // nothing below can match
  }
  uint32_t wantMode = s.active.mode == BW_MODE_AUDIT ? BW_SLOT_AUDIT : BW_SLOT_ENFORCE;
  // (An interrupted unload clears the mode before it is done: its problems say so.)
  if (s.problems.empty() && !hooksOfMask(s.active.hooksMask).empty() && shared.hasSlotModes()) {
    uint32_t word = shared.slotModeOf(s.slot);
    if ((word & BW_SLOT_MODE_MASK) != wantMode)
      out.push_back("bw_slot_mode[" + slot + "] is " + std::to_string(word & BW_SLOT_MODE_MASK) + ", loaded " +
                    std::to_string(wantMode));
    else if (s.active.instance && word >> BW_SLOT_MODE_BITS != s.active.instance)
      out.push_back("bw_slot_mode[" + slot + "] names instance " + std::to_string(word >> BW_SLOT_MODE_BITS) +
                    ", loaded instance " + std::to_string(s.active.instance));
  }
  for (const Hook *h : hooksOfMask(s.active.hooksMask)) {
    if (!shared.hasHook(*h))
      continue;
    std::string entry = progsMapName(*h) + "[" + std::to_string(progIndex(s.slot, s.gen)) + "]";
    std::optional<Fd> pin;
    try {
      pin = openPin(pins.prog(s.name, s.gen, *h));
    } catch (const Error &) {
    }
    auto loaded = pin ? progInfo(pin->get()) : std::nullopt;
    uint32_t id = 0;
    bool present = mapLookupU32(shared.progs(*h), progIndex(s.slot, s.gen), &id);
    if (!loaded)
      out.push_back("the pin of the " + std::string(h->name) + " program (" + pins.prog(s.name, s.gen, *h) +
                    ") is missing");
    if (!present)
      out.push_back(entry + " is empty: the " + std::string(h->name) + " program is missing");
    else if (loaded && loaded->id != id)
      out.push_back(entry + " holds program id " + std::to_string(id) + ", not the loaded " +
                    std::to_string(loaded->id));
  }
  return out;
}

// Every pin under `dir` (recursively): what it is and the kernel memory it holds.
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

// ---- per-rule counters that continue across hot swaps ---------------------------------------
// Each generation's bw_counters starts at zero. When a swap has switched to generation N and
// the replaced generation O can no longer run (out of the prog arrays, and running programs
// finished: waitForRunningPrograms), O's totals (its own counters plus what O carried) are
// written, matched by rule name, into a new map that is then pinned as N's
// bw_counters_base. The pin is the commit point: N with a pinned base has O folded in; N
// without one while O's directory is still there (a command that died between the switch
// and the fold) has not, and status adds O's totals itself until the next load folds them.
// So no count is ever lost or counted twice. A rule that no longer exists takes its count
// with it; the policy default continues as "(default)".
constexpr std::string_view kDefaultRuleName = "(default)";

void addCounter(bw_counter &to, const bw_counter &v) {
  to.hits += v.hits;
  to.emitted += v.emitted;
  to.dropped += v.dropped;
  to.limited += v.limited;
}

// Rule names of a generation by rule id; the policy default is id ruleCount.
std::vector<std::string> ruleNames(const PinLayout &pins, const std::string &policy, uint32_t gen,
                                   uint32_t ruleCount) {
  std::vector<std::string> out(size_t(ruleCount) + 1);
  if (auto fd = openMapPin(pins.rules(policy, gen)))
    for (uint32_t i = 0; i < ruleCount; i++) {
      RuleRecord rr{};
      if (bpf_map_lookup_elem(fd->get(), &i, &rr) == 0)
        out[i] = fieldString(rr.name);
    }
  out[ruleCount] = kDefaultRuleName;
  return out;
}

// A generation's counters by rule id: its own (summed over CPUs) plus its base.
std::vector<bw_counter> generationCounters(const PinLayout &pins, const std::string &policy, uint32_t gen) {
  std::vector<bw_counter> out;
  if (auto fd = openMapPin(pins.map(policy, gen, std::string(kCountersMap)))) {
    auto info = mapInfo(fd->get());
    std::vector<bw_counter> perCpu(size_t(std::max(libbpf_num_possible_cpus(), 1)));
    out.resize(info ? info->maxEntries : 0);
    for (uint32_t i = 0; i < out.size(); i++)
      if (bpf_map_lookup_elem(fd->get(), &i, perCpu.data()) == 0)
        for (const auto &v : perCpu)
          addCounter(out[i], v);
  }
  if (auto fd = openMapPin(pins.counterBase(policy, gen))) {
    auto info = mapInfo(fd->get());
    uint32_t n = info ? info->maxEntries : 0;
    if (out.size() < n)
      out.resize(n);
    for (uint32_t i = 0; i < n; i++) {
      bw_counter v{};
      if (bpf_map_lookup_elem(fd->get(), &i, &v) == 0)
        addCounter(out[i], v);
    }
  }
  return out;
}

// A generation's totals by rule name (rec: its state record).
std::map<std::string, bw_counter> totalsByName(const PinLayout &pins, const std::string &policy, uint32_t gen,
                                               const StateRecord &rec) {
  std::map<std::string, bw_counter> out;
  auto names = ruleNames(pins, policy, gen, rec.ruleCount);
  auto counts = generationCounters(pins, policy, gen);
  for (size_t i = 0; i < std::min(names.size(), counts.size()); i++)
    if (!names[i].empty())
      addCounter(out[names[i]], counts[i]);
  return out;
}

// True when the generation beside `active` is one a swap replaced (or one an interrupted
// load left unswitched, whose counters are zero) and its counts are not yet folded into
// `active`. Never for a first load that died before its switch: nothing enforces then.
bool countersPending(const PinLayout &pins, const PolicyState &st, uint32_t active) {
  uint32_t old = active ^ 1;
  return st.gens[active].valid == 1 && st.gens[old].valid == 1 && exists(pins.genDir(st.name, active)) &&
         exists(pins.genDir(st.name, old)) && !exists(pins.counterBase(st.name, active));
}

// Folds generation `from`'s totals into `into` (see above). Call only when `from` can no
// longer run. Throws Error; nothing is committed unless the base is pinned.
void foldCounters(const PinLayout &pins, const PolicyState &st, uint32_t from, uint32_t into) {
  waitForRunningPrograms();
  auto totals = totalsByName(pins, st.name, from, st.gens[from]);
  if (totals.empty())
    return;  // `from` counted nothing (no bw_counters): no base, and nothing is pending once it is gone
  auto names = ruleNames(pins, st.name, into, st.gens[into].ruleCount);
  Fd fd(bpf_map_create(BPF_MAP_TYPE_ARRAY, "bw_cnt_base", 4, sizeof(bw_counter), uint32_t(names.size()), nullptr));
  if (!fd)
    throw Error(Exit::Failed, "cannot create the counter base map: " + errnoText(errno));
  for (uint32_t i = 0; i < names.size(); i++) {
    auto it = totals.find(names[i]);
    if (it != totals.end() && bpf_map_update_elem(fd.get(), &i, &it->second, BPF_ANY) != 0)
      throw Error(Exit::Failed, "cannot fill the counter base map: " + errnoText(errno));
  }
  pinFd(fd.get(), pins.counterBase(st.name, into));
}

// Test hook: BULWARK_FAULT=<point> makes the process die at that point, as a crash would
// (no undo, no cleanup), so the VM tests can check what a later bulwark makes of it.
void faultPoint(const char *point) {
  const char *f = std::getenv("BULWARK_FAULT");
  if (f && std::strcmp(f, point) == 0) {
    std::fprintf(stderr, "bulwark: BULWARK_FAULT: dying at %s\n", point);
    ::_exit(70);
  }
}

double msSince(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// Undo log of a load: run in reverse if anything fails before the switch.
class Undo {
public:
  void add(std::function<void()> f) { steps_.push_back(std::move(f)); }
  void commit() { steps_.clear(); }
  ~Undo() {
    for (auto it = steps_.rbegin(); it != steps_.rend(); ++it) {
      try {
        (*it)();
      } catch (...) {
      }
    }
  }

private:
  std::vector<std::function<void()>> steps_;
};

// The policies under the pin root that Bulwark made (a directory that is not one is skipped).
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

} // namespace

// ===========================================================================================
Runtime::Runtime(std::string pinRoot) : pins_{std::move(pinRoot)} {
  while (pins_.root.size() > 1 && pins_.root.back() == '/')
    pins_.root.pop_back();
}

void Runtime::preflight(bool needLsm) {
  std::string missing;
  if (!havePrivilege(&missing))
    throw Error(Exit::NoPermission, "missing privilege: bulwark needs " + missing,
                "run bulwark as root");
  fs::path parent = fs::path(pins_.root).parent_path();
  std::string probe = exists(pins_.root) ? pins_.root : parent.string();
  if (!isBpffs(probe))
    throw Error(Exit::Unsupported, "the pin root " + pins_.root + " is not on a BPF file system",
                bpffsMountHint(pins_.root));
  std::string why;
  auto lsms = activeLsms(&why);
  if (needLsm && lsms && !bpfLsmActive(*lsms)) {
    std::string list;
    for (auto &l : *lsms)
      list += (list.empty() ? "" : ",") + l;
    throw Error(Exit::Unsupported, "the BPF LSM is not active in this kernel (active LSMs: " + list + ")",
                "boot with lsm=" + list + ",bpf (CONFIG_BPF_LSM=y is needed); see bulwark doctor");
  }
}

LoadResult Runtime::load(const Bundle &b, const LoadOptions &opts) {
  auto t0 = Clock::now();
  std::vector<const BundleProgram *> kprobes;  // attached directly, one per kernel function
  bool needLsm = !b.helpers.empty();
  for (const auto &p : b.programs) {
    if (!kprobeFunction(p.attach).empty())
      kprobes.push_back(&p);
    else
      needLsm = true;
  }
  preflight(needLsm);
  // Before anything is created: a kernel without kprobes cannot run this bundle at all.
  if (std::string why; !kprobes.empty() && !kprobesAvailable(&why))
    throw Error(Exit::Unsupported,
                "cannot load policy " + b.name + ": it has kprobe hooks (" + std::string(kprobes.front()->attach) +
                    (kprobes.size() > 1 ? ", ..." : "") + ") but " + why,
                "run it on a kernel with kprobes, or drop the policy's kprobe rules");
  mkdirs(pins_.root);
  Lock lock(pins_.root, true);
  LoadResult res;
  res.policy = b.name;
  // Self-protection first: nothing of this policy exists until no other process can touch it.
  // (A kprobe-only policy on a kernel without the BPF LSM goes unguarded; load says so.)
  if (guardDisabledForTest())
    checkGuardTrust(pins_);
  else if (std::string why; needLsm || bpfLsmActive(activeLsms(&why).value_or(std::vector<std::string>{})))
    ensureGuard(pins_);
  else
    res.warnings.push_back("the BPF LSM is not active: Bulwark's own state is not protected (docs/security.md)");

  std::string modeName = opts.mode.value_or(b.mode);
  if (modeName != "enforce" && modeName != "audit")
    throw Error(Exit::Usage, "--mode must be enforce or audit");
  uint32_t mode = modeName == "audit" ? BW_MODE_AUDIT : BW_MODE_ENFORCE;

  // Which slot, and which generation is free.
  auto existing = readPolicy(pins_, b.name);
  uint32_t slot;
  if (existing) {
    slot = existing->header.slot;
    res.replaced = true;
  } else {
    std::set<uint32_t> used;
    for (const auto &n : policyNames(pins_)) {
      if (auto st = readPolicy(pins_, n))
        used.insert(st->header.slot);
    }
    auto s = allocateSlot(used);
    if (!s)
      throw Error(Exit::Failed, "all " + std::to_string(kMaxPolicies) + " policy slots are in use");
    slot = *s;
  }
  uint32_t lane = laneOf(slot);
  Shared shared(pins_);
  mkdirs(pins_.shared());

  // ---- open, configure and load the object (nothing visible changes) ----
  auto tLoad = Clock::now();
  Object o;
  std::string shr = pins_.shared();
  bpf_object_open_opts oo{};
  oo.sz = sizeof(oo);
  oo.pin_root_path = shr.c_str();
  oo.object_name = "bw_policy";
  o.obj = bpf_object__open_file(b.objectPath().c_str(), &oo);
  if (!o.obj)
    throw Error(Exit::BadBundle, "cannot open " + b.objectPath().string() + ": " + errnoText(errno));
  if (!setRodataU32(o.obj, kRodataSlot, slot) || !setRodataU32(o.obj, kRodataLane, lane))
    throw Error(Exit::BadBundle, "policy object has no " + std::string(kRodataSlot) + " / " +
                                     std::string(kRodataLane) + " in .rodata");
  Instances instances(pins_);
  uint32_t instance = instances.allocate();
  setRodataU32(o.obj, kRodataInstance, instance);  // an object without it sends instance 0
  if (opts.mode && !setRodataU32(o.obj, kRodataModeOverride, mode))
    throw Error(Exit::BadBundle, "--mode needs " + std::string(kRodataModeOverride) +
                                     " in the policy object's .rodata, which it does not have");
  std::vector<ScopeRecord> scope = setCgroupScope(o.obj, b, &res.warnings);
  IdentityPlan identity = planIdentity(b);
  setRodataU32(o.obj, kRodataViewGroups, identity.viewGroups);  // absent in older bundles: all views
  setRodata(o.obj, kRodataViewHead, identity.viewHead, sizeof identity.viewHead);  // absent: no gate
  setRodata(o.obj, kRodataViewMask, identity.viewMask, sizeof identity.viewMask);
  uint32_t ncpu = uint32_t(std::max(libbpf_num_possible_cpus(), 1));
  for (const auto &m : b.maps) {
    bpf_map *map = bpf_object__find_map_by_name(o.obj, m.name.c_str());
    if (!map)
      throw Error(Exit::BadBundle, "policy object has no map " + m.name);
    if (bpf_map__pin_path(map))
      continue;  // shared: its size is part of the ABI
    uint32_t extra = m.name == "bw_m_ident" ? identity.mounts + identity.hardLinks : 0;  // found at load
    bpf_map__set_max_entries(map, (m.maxEntries ? m.maxEntries : ncpu) + extra);
  }
  if (bpf_map *c = bpf_object__find_map_by_name(o.obj, std::string(kCountersMap).c_str()))
    bpf_map__set_max_entries(c, std::max<uint32_t>(bpf_map__max_entries(c), uint32_t(b.rules.size()) + 1));
  checkSharedPins(o.obj);
  clearLibbpfLog();
  if (bpf_object__load(o.obj) != 0)
    throw loadError(errno, "cannot load policy " + b.name);
  for (const auto &m : b.maps)
    if (!m.data.empty())
      fillMap(bpf_object__find_map_by_name(o.obj, m.name.c_str()), b, m);
  seedIdentity(o.obj, identity);
  res.identity = identity;
  res.identity.labels.clear();

  std::map<uint32_t, bpf_program *> progs;  // hook index → program (LSM hooks)
  uint64_t hooksMask = 0;
  std::vector<std::string> kprobeHooks;
  for (const auto &p : b.programs) {
    if (std::string_view fn = kprobeFunction(p.attach); !fn.empty()) {
      hooksMask |= 1ull << hookByName(p.hook)->index;
      kprobeHooks.push_back(kprobeHookName(fn));
      continue;
    }
    const Hook *h = programHook(p);
    progs[h->index] = bpf_object__find_program_by_name(o.obj, p.name.c_str());
    hooksMask |= 1ull << h->index;
  }
  res.hooks = hookNames(groupByHook(hooksOfMask(hooksMask)));  // LSM hooks, each once
  res.hooks.insert(res.hooks.end(), kprobeHooks.begin(), kprobeHooks.end());
  res.loadMs = msSince(tLoad);

  // ---- state record, rule table, pins of the new generation ----
  Undo undo;
  std::optional<PolicyState> st = std::move(existing);
  if (!st) {
    if (exists(pins_.policyDir(b.name)))
      throw Error(Exit::Conflict, "pin path " + pins_.policyDir(b.name) + " is taken");
    scrubSlot(shared, slot);  // leftovers of an interrupted unload
    mkdirs(pins_.policyDir(b.name));
    undo.add([this, name = b.name] { removeTree(pins_.policyDir(name)); });
    int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "bw_pstate", 4, sizeof(StateRecord), 3, nullptr);
    if (fd < 0)
      throw Error(Exit::Failed, "cannot create the policy state map: " + errnoText(errno));
    PolicyState ns;
    ns.name = b.name;
    ns.fd = Fd(fd);
    std::memcpy(ns.header.magic, kStateMagic, sizeof kStateMagic);
    ns.header.version = 1;
    ns.header.slot = slot;
    ns.header.lane = lane;
    ns.header.createdNs = realtimeNs();
    copyField(ns.header.name, b.name);
    writeRecord(fd, 0, ns.header);
    pinFd(fd, pins_.stateMap(b.name));
    st = std::move(ns);
  }
  // The generation that enforces now (for a fresh slot: the one bw_gen points at, which
  // only ever holds pass-through programs) and the one we load into.
  bool gensPresent = shared.present();
  uint32_t cur = gensPresent ? shared.genOf(slot) : 0;
  uint32_t next = cur ^ 1;
  uint64_t oldMask = res.replaced ? st->gens[cur].hooksMask : 0;
  // A command that died between its switch and folding the counters left the generation
  // it replaced behind, in `next`: fold its counts into the enforcing one before its pins go.
  if (res.replaced && countersPending(pins_, *st, cur))
    foldCounters(pins_, *st, next, cur);
  if (res.replaced) {  // what the enforcing version learned stays learned
    auto ident = openMapPin(pins_.map(b.name, cur, "bw_m_ident"));
    auto exact = openMapPin(pins_.map(b.name, cur, "bw_m_exact"));
    auto prefix = openMapPin(pins_.map(b.name, cur, "bw_m_prefix"));
    IdentityMaps old{ident ? ident->get() : -1, exact ? exact->get() : -1, prefix ? prefix->get() : -1};
    res.identity.carried = carryLearnedLabels(old, identityMaps(o.obj));
  }
  if (res.identity.carried)  // seedIdentity hinted the labels set at load
    writeObjectHints(o.obj);

  faultPoint("after-load");
  std::string genDir = pins_.genDir(b.name, next);
  removeTree(genDir);  // a stale generation of an interrupted load
  mkdirs(genDir);
  undo.add([genDir] { removeTree(genDir); });
  for (auto &[hi, prog] : progs)
    pinFd(bpf_program__fd(prog), pins_.prog(b.name, next, *hookByIndex(hi)));
  bpf_map *map;
  bpf_object__for_each_map(map, o.obj) {
    if (bpf_map__is_internal(map) || bpf_map__pin_path(map))
      continue;
    pinFd(bpf_map__fd(map), pins_.map(b.name, next, bpf_map__name(map)));
  }
  {
    uint32_t n = std::max<uint32_t>(1, uint32_t(b.rules.size()));
    Fd rfd(bpf_map_create(BPF_MAP_TYPE_ARRAY, "bw_rules", 4, sizeof(RuleRecord), n, nullptr));
    if (!rfd)
      throw Error(Exit::Failed, "cannot create the rule table map: " + errnoText(errno));
    for (const auto &r : b.rules) {
      RuleRecord rr{};
      const Hook *h = hookByName(r.hook);
      rr.hook = h ? h->index : 0;
      rr.action = actionCode(r.action);
      copyField(rr.name, r.name);
      copyField(rr.message, r.message);
      if (bpf_map_update_elem(rfd.get(), &r.id, &rr, BPF_ANY) != 0)
        throw Error(Exit::Failed, "cannot fill the rule table: " + errnoText(errno));
    }
    pinFd(rfd.get(), pins_.rules(b.name, next));
  }
  if (!scope.empty()) {
    Fd sfd(bpf_map_create(BPF_MAP_TYPE_ARRAY, "bw_scope", 4, sizeof(ScopeRecord), kScopeCgroups, nullptr));
    if (!sfd)
      throw Error(Exit::Failed, "cannot create the scope map: " + errnoText(errno));
    for (uint32_t i = 0; i < scope.size(); i++)
      if (bpf_map_update_elem(sfd.get(), &i, &scope[i], BPF_ANY) != 0)
        throw Error(Exit::Failed, "cannot fill the scope map: " + errnoText(errno));
    pinFd(sfd.get(), pins_.map(b.name, next, "bw_scope"));
  }
  // The instance's names, before any of its programs can run (helpers and kprobes attach
  // next); retired, not removed, if the load fails: a kprobe may have sent records already.
  {
    std::vector<RuleInfo> rules(b.rules.size());
    for (const auto &r : b.rules) {
      if (r.id >= rules.size())
        continue;
      const Hook *h = hookByName(r.hook);
      rules[r.id] = RuleInfo{r.name, r.message, r.function, h ? h->index : 0, actionCode(r.action)};
    }
    instances.create(instance, b.name, slot, rules);
    undo.add([&instances, instance] { instances.retire(instance); });
  }

  // Helper programs run beside the policy (not chained): attach them now, pinned in the new
  // generation's directory, so removing that directory detaches them again (undo, or the
  // cleanup after the next switch).
  for (const auto &hp : b.helpers) {
    bpf_program *prog = bpf_object__find_program_by_name(o.obj, hp.name.c_str());
    bpf_link *link = prog ? bpf_program__attach_lsm(prog) : nullptr;
    if (!link)
      throw loadError(errno, "cannot attach helper program " + hp.name + " (" + hp.attach + ")");
    int err = bpf_link__pin(link, pins_.helper(b.name, next, hp.name).c_str());
    bpf_link__destroy(link);  // closes our fd only; the pin keeps it attached
    if (err != 0)
      throw Error(Exit::Failed, "cannot pin helper link " + pins_.helper(b.name, next, hp.name) + ": " +
                                    errnoText(-err));
  }

  // kprobe programs are not dispatched: attach them directly, pinned in the new generation's
  // directory like helpers. They observe from now on, so during a hot swap the old and the
  // new version both observe until the old generation's directory is removed after the
  // switch (harmless: kprobe hooks only record and kill).
  for (const BundleProgram *kp : kprobes) {
    std::string fn(kprobeFunction(kp->attach));
    bpf_program *prog = bpf_object__find_program_by_name(o.obj, kp->name.c_str());
    if (!prog)
      throw Error(Exit::BadBundle, "policy object has no program " + kp->name);
    clearLibbpfLog();
    bpf_link *link = bpf_program__attach_kprobe(prog, false, fn.c_str());
    if (!link) {
      int err = errno;
      throw Error(Exit::Failed,
                  "cannot attach kprobe program " + kp->name + " to kernel function " + fn + ": " + errnoText(err),
                  err == ENOENT || err == EINVAL
                      ? "the function is not in this kernel, or cannot be probed (inlined, notrace); see "
                        "/sys/kernel/tracing/available_filter_functions"
                      : "");
    }
    int err = bpf_link__pin(link, pins_.kprobeLink(b.name, next, fn).c_str());
    bpf_link__destroy(link);  // closes our fd only; the pin keeps it attached
    if (err != 0)
      throw Error(Exit::Failed, "cannot pin kprobe link " + pins_.kprobeLink(b.name, next, fn) + ": " +
                                    errnoText(-err));
    pinFd(bpf_program__fd(prog), pins_.kprobeProg(b.name, next, fn));
  }

  // ---- wire the new generation in, still invisible ----
  // New programs go to index slot*2+next. A hook the enforcing version does not use gets
  // a pass-through at slot*2+cur and is linked into its lane chain now; a hook only the
  // enforcing version uses gets a pass-through at slot*2+next. Then one bw_gen write
  // switches all hooks at once.
  std::vector<const Hook *> added, removed;
  for (const auto &[hi, prog] : progs) {
    const Hook &h = *hookByIndex(hi);
    if (ensureDispatcher(pins_, h, lane))
      undo.add([this, &shared, &h, lane] { dropDispatcherIfIdle(pins_, shared, h, lane); });
    int pfd = shared.progs(h);
    mapUpdateFd(pfd, progIndex(slot, next), bpf_program__fd(prog), progsMapName(h));
    undo.add([pfd, slot, next] { mapDelete(pfd, progIndex(slot, next)); });
    // A hook the enforcing version does not use, or one it uses but whose chain link is
    // missing (an interrupted unload): stand-in at the enforcing generation, then link.
    bool linked = inChain(shared.chain(h), slot);
    if (!((oldMask >> hi) & 1) || !linked) {
      added.push_back(&h);
      Fd pass = loadPass(pins_, h, slot);
      mapUpdateFd(pfd, progIndex(slot, cur), pass.get(), progsMapName(h));
      auto chain = shared.chain(h);
      linkSlot(chain, slot);
      undo.add([&shared, &h, slot, pfd, cur] {
        auto c = shared.chain(h);
        unlinkSlot(c, slot);
        clearSlot(c, slot);
        mapDelete(pfd, progIndex(slot, cur));
      });
    }
  }
  for (const Hook *h : hooksOfMask(oldMask)) {
    if (progs.count(h->index))
      continue;
    removed.push_back(h);
    Fd pass = loadPass(pins_, *h, slot);
    int pfd = shared.progs(*h);
    mapUpdateFd(pfd, progIndex(slot, next), pass.get(), progsMapName(*h));
    undo.add([pfd, slot, next] { mapDelete(pfd, progIndex(slot, next)); });
  }

  StateRecord gr{};
  std::memcpy(gr.magic, kStateMagic, sizeof kStateMagic);
  gr.version = 1;
  gr.valid = 1;
  gr.mode = mode;
  gr.abi = b.abi;
  gr.ruleCount = uint32_t(b.rules.size());
  gr.instance = instance;
  gr.hooksMask = hooksMask;
  gr.loadedNs = realtimeNs();
  copyField(gr.compiler, b.compiler);
  copyField(gr.digest, b.sourceDigest);
  copyField(gr.bundle, b.dir.string());
  gr.contentHash = b.contentHash;
  gr.loadDurationNs = uint64_t(msSince(t0) * 1e6);
  writeRecord(st->fd.get(), 1 + next, gr);
  st->gens[next] = gr;

  // Fail closed: a linked slot whose program goes missing decides by its mode. Set before the
  // switch, so the switch is the last bpf() call of the load: a policy that denies bpf() to
  // this process cannot stop the load half-way once its own programs decide.
  uint32_t oldSlotMode = shared.slotModeOf(slot);
  shared.setSlotMode(slot, (mode == BW_MODE_AUDIT ? BW_SLOT_AUDIT : BW_SLOT_ENFORCE) |
                               instance << BW_SLOT_MODE_BITS);
  undo.add([&shared, slot, oldSlotMode] { shared.setSlotMode(slot, oldSlotMode); });
  faultPoint("before-switch");
  // ---- the switch ----
  auto tSwitch = Clock::now();
  mapUpdateU32(shared.gen(), slot, next, "bw_gen");
  res.switchUs = std::chrono::duration<double, std::micro>(Clock::now() - tSwitch).count();
  undo.commit();
  faultPoint("after-switch");

  // ---- after the switch: free the previous generation once no event can be in it ----
  auto warn = [&](const std::string &w) { res.warnings.push_back(w); };
  try {
    for (const Hook *h : removed) {
      auto chain = shared.chain(*h);
      unlinkSlot(chain, slot);
    }
    std::this_thread::sleep_for(opts.grace);
    for (const auto &h : hooks()) {
      if (!h.lsm || !shared.hasHook(h))
        continue;
      bool nowUsed = progs.count(h.index);
      bool wasUsed = (oldMask >> h.index) & 1;
      if (!nowUsed && !wasUsed)
        continue;
      mapDelete(shared.progs(h), progIndex(slot, cur));
      if (!nowUsed) {
        mapDelete(shared.progs(h), progIndex(slot, next));
        auto chain = shared.chain(h);
        clearSlot(chain, slot);
        dropDispatcherIfIdle(pins_, shared, h, lane);
      }
    }
    // The previous generation is out of every prog array: carry its counts over.
    if (countersPending(pins_, *st, next))
      foldCounters(pins_, *st, cur, next);
    faultPoint("after-counter-fold");
    uint32_t oldInstance = st->gens[cur].valid == 1 ? st->gens[cur].instance : 0;
    StateRecord old{};
    writeRecord(st->fd.get(), 1 + cur, old);
    removeTree(pins_.genDir(b.name, cur));
    // Its kprobe links are gone with the directory: once running programs finish, nothing
    // of the replaced instance can send a record any more.
    if (oldInstance) {
      waitForRunningPrograms();
      instances.retire(oldInstance);
    }
  } catch (const Error &e) {
    warn(std::string("cleaning up the previous version: ") + e.what());
  }
  instances.prune();
  res.slot = slot;
  res.lane = lane;
  res.gen = next;
  res.totalMs = msSince(t0);
  return res;
}

void Runtime::unload(const std::string &policy, std::chrono::milliseconds grace) {
  if (!exists(pins_.policyDir(policy)))
    throw Error(Exit::NotFound, "policy " + policy + " is not loaded (nothing pinned at " +
                                    pins_.policyDir(policy) + ")");
  preflight(false);  // unpinning needs no BPF LSM (and a kprobe-only policy never needed it)
  Lock lock(pins_.root, true);
  checkGuardTrust(pins_);
  auto st = readPolicy(pins_, policy);
  if (!st)
    throw Error(Exit::NotFound, "policy " + policy + " is not loaded");
  uint32_t slot = st->header.slot;
  uint32_t lane = laneOf(slot);
  Shared shared(pins_);
  if (shared.present()) {
    // Out of every chain first (one write each), then wait until no event can still be
    // running its programs, then free them.
    std::vector<const Hook *> used;
    for (const auto &h : hooks()) {
      if (!h.lsm || !shared.hasHook(h))
        continue;
      auto chain = shared.chain(h);
      if (unlinkSlot(chain, slot))
        used.push_back(&h);
    }
    // No chain reaches the slot any more: a walk still at it must not fail closed once its
    // programs are gone.
    shared.setSlotMode(slot, BW_SLOT_EMPTY);
    faultPoint("unload-after-unlink");
    std::this_thread::sleep_for(grace);
    scrubSlot(shared, slot);
    for (const auto &h : hooks())
      if (h.lsm && shared.hasHook(h))
        dropDispatcherIfIdle(pins_, shared, h, lane);
  }
  removeTree(pins_.policyDir(policy));
  // Nothing of the policy can run now: its instances keep their names until read.
  waitForRunningPrograms();
  Instances instances(pins_);
  for (const auto &g : st->gens)
    if (g.valid == 1)
      instances.retire(g.instance);
  instances.prune();
  if (policyNames(pins_).empty())
    dropGuard(pins_);  // the last policy is gone: nothing left to protect
}

std::vector<PolicySummary> Runtime::list() {
  std::vector<PolicySummary> out;
  if (!exists(pins_.root))
    return out;
  Lock lock(pins_.root, false);
  Shared shared(pins_);
  bool gens = shared.present();
  for (const auto &st : ourPolicies(pins_)) {
    const std::string &n = st.name;
    PolicySummary s;
    s.name = n;
    s.slot = st.header.slot;
    s.lane = st.header.lane;
    s.gen = gens ? shared.genOf(s.slot) : 0;
    s.header = st.header;
    s.active = st.gens[s.gen];
    if (s.active.valid != 1)
      s.problems.push_back("no valid record for the enforcing generation " + std::to_string(s.gen));
    auto entries = hooksOfMask(s.active.hooksMask);  // LSM hooks (kprobes are not dispatched)
    s.hooks = groupByHook(entries);
    auto kprobes = kprobeFunctions(pins_, n, s.gen);
    if (const Hook *kh = hookById("KPROBE"); kh && (s.active.hooksMask >> kh->index) & 1 && kprobes.empty())
      s.problems.push_back("no kprobe program is attached in generation " + std::to_string(s.gen));
    for (const auto &fn : kprobes)
      s.hooks.push_back(HookUse{kprobeHookName(fn), {}});
    for (const Hook *h : entries) {
      if (gens && shared.hasHook(*h) && !inChain(shared.chain(*h), s.slot))
        s.problems.push_back(std::string(h->name) + " is not linked into lane " + std::to_string(s.lane));
      if (!exists(pins_.dispatcher(*h, s.lane)))
        s.problems.push_back("no dispatcher for " + std::string(h->name) + " in lane " + std::to_string(s.lane));
    }
    s.scope = readScope(pins_, n, s.gen);
    for (const auto &c : s.scope)
      if (c.stale())
        s.problems.push_back("scope cgroup " + c.path + (c.loadedId ? " was created again" : " was created") +
                             " since the load (id " + std::to_string(c.currentId) + ", loaded " +
                             std::to_string(c.loadedId) + "): nothing is enforced in it until the policy is loaded again");
    if (gens)
      s.tampering = checkWiring(pins_, shared, s);
    s.healthy = s.problems.empty() && s.tampering.empty();
    out.push_back(s);
  }
  return out;
}

SharedStatus Runtime::sharedStatus() {
  SharedStatus ss;
  if (!exists(pins_.root))
    return ss;
  Lock lock(pins_.root, false);
  ss.maps = describePins(pins_.shared());
  ss.dispatchers = describePins(pins_.dispatchDir());
  ss.guard = describePins(pins_.guardDir());
  if (auto t = guardTrusts(pins_)) {
    ss.guardTrusts = "device " + std::to_string(t->dev) + ", inode " + std::to_string(t->ino);
    size_t n = 0;
    const char *const *progs = guardPrograms(&n);
    for (size_t i = 0; i < n; i++)
      if (!exists(pins_.guardLink(progs[i])))
        ss.guardMissing.push_back(progs[i]);
  }
  for (const auto &p : ss.maps)
    ss.kernelMemory += p.memlock;
  return ss;
}

std::vector<std::string> Runtime::policiesWithStaleScope() {
  std::vector<std::string> out;
  if (!exists(pins_.root))
    return out;
  Shared shared(pins_);
  if (!shared.present())
    return out;
  for (const auto &st : ourPolicies(pins_)) {
    auto scope = readScope(pins_, st.name, shared.genOf(st.header.slot));
    if (std::any_of(scope.begin(), scope.end(), [](const ScopeCgroup &c) { return c.stale(); }))
      out.push_back(st.name);
  }
  return out;
}

PolicyStatus Runtime::status(const std::string &policy) {
  for (auto &s : list())
    if (s.name == policy)
      return status(s);
  throw Error(Exit::NotFound, "policy " + policy + " is not loaded");
}

PolicyStatus Runtime::status(const PolicySummary &summary) {
  PolicyStatus ps;
  ps.summary = summary;
  const std::string &policy = summary.name;
  Lock lock(pins_.root, false);
  const auto &sum = ps.summary;

  // Pins of the policy (all generations present) and their kernel memory.
  ps.pins = describePins(pins_.policyDir(policy));
  for (const auto &p : ps.pins)
    ps.kernelMemory += p.memlock;
  if (auto fd = openMapPin(pins_.map(policy, sum.gen, "bw_m_ident"))) {
    bpf_map_info info{};
    uint32_t len = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd->get(), &info, &len) == 0)
      ps.objectLabelsMax = info.max_entries;
    bw_ident_key k{}, next{};
    for (void *cur = nullptr; bpf_map_get_next_key(fd->get(), cur, &next) == 0; cur = &k, k = next)
      ++ps.objectLabels;
  }

  // Per-rule counters of the enforcing generation, summed over CPUs, continuing the counts
  // of the versions it replaced (see foldCounters); while a replaced generation is not yet
  // folded in, its totals are added here by rule name.
  std::vector<RuleRecord> rules;
  if (auto fd = openMapPin(pins_.rules(policy, sum.gen)))
    for (uint32_t i = 0; i < sum.active.ruleCount; i++) {
      RuleRecord rr{};
      bpf_map_lookup_elem(fd->get(), &i, &rr);
      rules.push_back(rr);
    }
  std::map<std::string, bw_counter> pending;
  if (auto st = readPolicy(pins_, policy); st && countersPending(pins_, *st, sum.gen))
    pending = totalsByName(pins_, policy, sum.gen ^ 1, st->gens[sum.gen ^ 1]);
  auto counts = generationCounters(pins_, policy, sum.gen);
  for (uint32_t i = 0; i < counts.size(); i++) {
    RuleCounters rc;
    rc.id = i;
    if (i < rules.size()) {
      rc.name = fieldString(rules[i].name);
      const Hook *h = hookByIndex(rules[i].hook);
      rc.hook = h ? std::string(h->name) : "?";
      rc.action = actionName(rules[i].action);
    } else {
      rc.name = kDefaultRuleName;
      rc.hook = "*";
      rc.action = "-";
    }
    bw_counter total = counts[i];
    if (i <= rules.size())  // rows past the default are unused entries of a larger map
      if (auto it = pending.find(rc.name); it != pending.end())
        addCounter(total, it->second);
    rc.hits = total.hits;
    rc.emitted = total.emitted;
    rc.dropped = total.dropped;
    rc.limited = total.limited;
    ps.drops += rc.dropped;
    ps.rules.push_back(rc);
  }
  for (const Hook *h : hooksOfMask(sum.active.hooksMask))
    if (exists(pins_.dispatcher(*h, sum.lane)))
      ps.dispatchers.push_back(pins_.dispatcher(*h, sum.lane));
  return ps;
}

} // namespace bulwark::rt
