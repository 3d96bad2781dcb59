// Guest-side helpers of the back-end VM tests: load a bundle standalone (no runtime, lane
// unset) the way the runtime would (max_entries from the manifest, rodata before load, map
// data after load), read records and counters. Header-only; runs only in the run-vm guest.
#pragma once

#include "Bundle.h"
#include "Identity.h"
#include "KernelLocks.h"
#include "bw_abi.h"
#include "bw_event.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <algorithm>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace bwguest {

struct Loaded {
  bpf_object *obj = nullptr;
  std::vector<bpf_link *> links;
  bulwark::bundle::Bundle bundle;
  double loadMs = 0, fillMs = 0;
  Loaded() = default;
  Loaded(const Loaded &) = delete;
  Loaded &operator=(const Loaded &) = delete;
  ~Loaded() {
    detachAll();
    if (obj)
      bpf_object__close(obj);
  }
  void detachAll() {
    for (auto *l : links)
      bpf_link__destroy(l);
    links.clear();
  }
  bpf_program *prog(const std::string &name) const {
    return bpf_object__find_program_by_name(obj, name.c_str());
  }
  int mapFd(const std::string &name) const {
    bpf_map *m = bpf_object__find_map_by_name(obj, name.c_str());
    return m ? bpf_map__fd(m) : -1;
  }
  // Attaches one program (LSM); false with errno on failure.
  bool attach(const std::string &name) {
    bpf_program *p = prog(name);
    if (!p)
      return false;
    bpf_link *l = bpf_program__attach_lsm(p);
    if (!l)
      return false;
    links.push_back(l);
    return true;
  }
};

inline std::string &libbpfLog() {
  static std::string log;
  return log;
}

inline int collectLog(enum libbpf_print_level, const char *fmt, va_list ap) {
  char buf[8192];
  vsnprintf(buf, sizeof buf, fmt, ap);
  libbpfLog() += buf;
  return 0;
}

// Sets a const volatile global of .rodata before load (what the runtime does).
inline bool setRodata(bpf_object *obj, const char *name, const void *val, size_t size) {
  bpf_map *ro = nullptr;
  bpf_map *m;
  bpf_object__for_each_map(m, obj) {
    if (std::strstr(bpf_map__name(m), ".rodata"))
      ro = m;
  }
  btf *b = bpf_object__btf(obj);
  if (!ro || !b)
    return false;
  int sec = btf__find_by_name_kind(b, ".rodata", BTF_KIND_DATASEC);
  if (sec < 0)
    return false;
  const btf_type *t = btf__type_by_id(b, sec);
  const btf_var_secinfo *vs = btf_var_secinfos(t);
  size_t total = 0;
  auto *init = static_cast<const uint8_t *>(bpf_map__initial_value(ro, &total));
  std::vector<uint8_t> data(init, init + total);
  for (int i = 0; i < btf_vlen(t); ++i, ++vs) {
    const btf_type *v = btf__type_by_id(b, vs->type);
    if (!std::strcmp(btf__name_by_offset(b, v->name_off), name) && vs->size == size &&
        vs->offset + size <= total) {
      std::memcpy(data.data() + vs->offset, val, size);
      return bpf_map__set_initial_value(ro, data.data(), total) == 0;
    }
  }
  return false;
}

inline bool setRodataU32(bpf_object *obj, const char *name, uint32_t v) {
  return setRodata(obj, name, &v, sizeof v);
}

using Tweak = std::function<void(bpf_object *)>;

// Cgroup scope rodata, resolved like the runtime (runtime/src/Scope.cpp setCgroupScope).
inline void scopeTweak(const bulwark::bundle::Bundle &b, bpf_object *o) {
  if (b.manifest.policy.scope != bulwark::bundle::Scope::Cgroup)
    return;
  uint64_t ids[8] = {};
  uint32_t levels[8] = {};
  uint32_t n = 0;
  for (const auto &p : b.manifest.policy.scopePaths) {
    std::string rel = p;
    while (!rel.empty() && rel.front() == '/')
      rel.erase(0, 1);
    std::string full = "/sys/fs/cgroup/" + rel;
    std::filesystem::create_directories(full);
    struct stat st {};
    ASSERT_EQ(stat(full.c_str(), &st), 0) << full;
    ids[n] = st.st_ino;
    levels[n] = rel.empty() ? 0 : 1 + static_cast<uint32_t>(std::count(rel.begin(), rel.end(), '/'));
    ++n;
  }
  ASSERT_TRUE(setRodataU32(o, "bw_cfg_cgroup_count", n));
  ASSERT_TRUE(setRodata(o, "bw_cfg_cgroup_id", ids, sizeof ids));
  ASSERT_TRUE(setRodata(o, "bw_cfg_cgroup_level", levels, sizeof levels));
}

inline double msSince(const struct timespec &t0) {
  struct timespec t1;
  clock_gettime(CLOCK_MONOTONIC, &t1);
  return (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
}

// Opens, sizes, tweaks (rodata), loads (verifier stats in the log) and fills a bundle.
// Shared maps are pinned under /sys/fs/bpf/<pinDir> (by name, as in the runtime).
inline void loadBundle(Loaded &l, const std::string &path, Tweak tweak = {},
                       const char *pinDir = "bwtest") {
  std::string err;
  ASSERT_TRUE(bulwark::bundle::readBundle(path, l.bundle, &err)) << err;
  std::string pin = std::string("/sys/fs/bpf/") + pinDir;
  mkdir(pin.c_str(), 0700);
  LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = "bwtest", .pin_root_path = pin.c_str());
  l.obj = bpf_object__open_mem(l.bundle.object.data(), l.bundle.object.size(), &opts);
  ASSERT_NE(l.obj, nullptr) << "open: " << std::strerror(errno);
  for (const auto &m : l.bundle.manifest.maps) {
    bpf_map *map = bpf_object__find_map_by_name(l.obj, m.name.c_str());
    ASSERT_NE(map, nullptr) << m.name;
    uint32_t n = m.maxEntries ? m.maxEntries : static_cast<uint32_t>(libbpf_num_possible_cpus());
    ASSERT_EQ(bpf_map__set_max_entries(map, n), 0) << m.name;
  }
  const auto &locks = bulwark::rt::kernelLocks();  // as the runtime sets them (absent in older objects)
  setRodata(l.obj, "bw_cfg_rename_lock", &locks.renameLock, sizeof locks.renameLock);
  setRodata(l.obj, "bw_cfg_mount_lock", &locks.mountLock, sizeof locks.mountLock);
  if (tweak)
    tweak(l.obj);
  bpf_program *p;
  bpf_object__for_each_program(p, l.obj) bpf_program__set_log_level(p, 4 /* stats */);
  libbpfLog().clear();
  libbpf_set_print(collectLog);
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  int rc = bpf_object__load(l.obj);
  l.loadMs = msSince(t0);
  if (rc) {
    const std::string &g = libbpfLog();
    size_t at = g.find("-- BEGIN PROG LOAD LOG");
    std::string part = at == std::string::npos ? g : g.substr(at);
    if (part.size() > 12000)
      part = part.substr(0, 4000) + "\n...\n" + part.substr(part.size() - 8000);
    FAIL() << "load of " << path << " failed: " << rc << "\n" << part;
  }
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (const auto &m : l.bundle.manifest.maps) {
    if (m.data.empty())
      continue;
    int fd = l.mapFd(m.name);
    const auto &bytes = l.bundle.mapData[m.data];
    size_t rec = m.keySize + m.valueSize;
    for (size_t off = 0; off + rec <= bytes.size(); off += rec)
      ASSERT_EQ(bpf_map_update_elem(fd, bytes.data() + off, bytes.data() + off + m.keySize, 0), 0)
          << m.name << ": " << std::strerror(errno);
  }
  // The objects behind the policy's paths, labelled as the runtime does at load.
  bulwark::rt::Bundle rb = bulwark::rt::readBundle(path);
  bulwark::rt::seedIdentity(l.obj, bulwark::rt::planIdentity(rb));
  l.fillMs = msSince(t0);
}

inline uint32_t verifiedInsns(bpf_program *p) {
  bpf_prog_info info{};
  uint32_t len = sizeof(info);
  if (!p || bpf_obj_get_info_by_fd(bpf_program__fd(p), &info, &len))
    return 0;
  return info.verified_insns;
}

struct ProgStats {
  uint64_t runTimeNs = 0, runCnt = 0;
};
inline ProgStats progStats(bpf_program *p) {
  bpf_prog_info info{};
  uint32_t len = sizeof(info);
  ProgStats s;
  if (p && !bpf_obj_get_info_by_fd(bpf_program__fd(p), &info, &len)) {
    s.runTimeNs = info.run_time_ns;
    s.runCnt = info.run_cnt;
  }
  return s;
}

constexpr int kCommonStrSlots = 5;  // BW_COMMON_STR_SLOTS of abi/hooks.def

// A decoded record (struct bw_record + strings by slot).
struct Rec {
  uint32_t rule = 0, action = 0, flags = 0, hook = 0, tgid = 0, uid = 0;
  std::map<int, std::string> strs;  // slot -> string
  uint64_t ints[BW_INT_SLOTS] = {};
};

inline int onRecord(void *ctx, void *data, size_t size) {
  auto *out = static_cast<std::vector<Rec> *>(ctx);
  if (size < sizeof(bw_record))
    return 0;
  auto *r = static_cast<const bw_record *>(data);
  Rec x;
  x.rule = r->rule;
  x.action = r->action;
  x.flags = r->flags;
  x.hook = r->hook;
  x.tgid = r->tgid;
  x.uid = r->uid;
  std::memcpy(x.ints, r->ints, sizeof x.ints);
  size_t off = sizeof(bw_record);
  // process.exe (slot 1) first, then the hook's slots in order (bpf/lib/bw_record.h emit())
  std::vector<int> order = {1};
  for (int i = kCommonStrSlots; i < BW_STR_SLOTS; ++i)
    order.push_back(i);
  for (int i : order) {
    if (!r->str_len[i] || off + r->str_len[i] > size)
      continue;
    x.strs[i] = std::string(static_cast<const char *>(data) + off, r->str_len[i] - 1);
    off += r->str_len[i];
  }
  out->push_back(x);
  return 0;
}

// Records of the policy's ring buffer (the shared bw_events map).
struct Records {
  ring_buffer *rb = nullptr;
  std::vector<Rec> got;
  explicit Records(const Loaded &l) {
    rb = ring_buffer__new(l.mapFd("bw_events"), onRecord, &got, nullptr);
  }
  ~Records() {
    if (rb)
      ring_buffer__free(rb);
  }
  std::vector<Rec> take() {
    if (rb)
      ring_buffer__consume(rb);
    std::vector<Rec> r;
    r.swap(got);
    return r;
  }
};

// bw_counters summed over CPUs, index = rule id (the default at rule count).
inline std::vector<bw_counter> counters(const Loaded &l) {
  int fd = l.mapFd("bw_counters");
  int ncpu = libbpf_num_possible_cpus();
  uint32_t n = static_cast<uint32_t>(l.bundle.manifest.rules.size() + 1);
  std::vector<bw_counter> out(n);
  std::vector<bw_counter> per(static_cast<size_t>(ncpu));
  for (uint32_t k = 0; k < n && fd >= 0; ++k) {
    if (bpf_map_lookup_elem(fd, &k, per.data()))
      continue;
    for (const auto &c : per) {
      out[k].hits += c.hits;
      out[k].emitted += c.emitted;
      out[k].dropped += c.dropped;
      out[k].limited += c.limited;
    }
  }
  return out;
}

inline int errnoOf(long rc) { return rc < 0 ? errno : 0; }

// In a forked child: runs program args[0] with `args`; exits 126 when it cannot.
[[noreturn]] inline void execArgs(std::vector<std::string> args) {
  std::vector<char *> argv;
  for (auto &a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  execv(argv[0], argv.data());
  _exit(126);
}

} // namespace bwguest
