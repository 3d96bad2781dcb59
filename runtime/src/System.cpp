#include "System.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace bulwark::rt {

std::string kernelRelease() {
  struct utsname u {};
  if (uname(&u) != 0)
    return "unknown";
  return u.release;
}

bool haveKernelBtf() { return access("/sys/kernel/btf/vmlinux", R_OK) == 0; }

bool kprobesAvailable(std::string *why) {
  for (const char *path : {"/sys/bus/event_source/devices/kprobe/type", "/sys/kernel/tracing/kprobe_events",
                           "/sys/kernel/debug/tracing/kprobe_events"})
    if (access(path, F_OK) == 0)
      return true;
  if (why)
    *why = "this kernel has no kprobes: neither the perf event source "
           "/sys/bus/event_source/devices/kprobe nor tracefs kprobe_events exists "
           "(CONFIG_KPROBES and CONFIG_KPROBE_EVENTS are needed)";
  return false;
}

std::optional<std::vector<std::string>> activeLsms(std::string *why) {
  std::ifstream in("/sys/kernel/security/lsm");
  if (!in) {
    if (why)
      *why = std::string("cannot read /sys/kernel/security/lsm (") + std::strerror(errno) +
             "; is securityfs mounted?)";
    return std::nullopt;
  }
  std::string all;
  std::getline(in, all);
  std::vector<std::string> out;
  std::istringstream s(all);
  for (std::string item; std::getline(s, item, ',');)
    if (!item.empty())
      out.push_back(item);
  return out;
}

bool bpfLsmActive(const std::vector<std::string> &lsms) {
  for (const auto &l : lsms)
    if (l == "bpf")
      return true;
  return false;
}

uint64_t effectiveCaps() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("CapEff:", 0) == 0)
      return std::strtoull(line.c_str() + 7, nullptr, 16);
  return 0;
}

bool havePrivilege(std::string *missing) {
  constexpr int kSysAdmin = 21, kPerfmon = 38, kBpf = 39;
  uint64_t caps = effectiveCaps();
  auto has = [&](int c) { return (caps >> c) & 1; };
  if (has(kSysAdmin) || (has(kBpf) && has(kPerfmon)))
    return true;
  if (missing) {
    *missing = "CAP_SYS_ADMIN, or CAP_BPF and CAP_PERFMON";
    if (geteuid() != 0)
      *missing += " (not running as root)";
  }
  return false;
}

static uint64_t clockNs(clockid_t c) {
  struct timespec ts {};
  clock_gettime(c, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}
CgroupNames::~CgroupNames() {
  if (root_ >= 0)
    ::close(root_);
}

const std::string &CgroupNames::path(uint64_t id) {
  auto it = cache_.find(id);
  if (it != cache_.end())
    return it->second;
  std::string path;
  if (root_ < 0)
    root_ = ::open("/sys/fs/cgroup", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root_ >= 0) {
    struct {
      struct file_handle fh;
      uint64_t id;
    } h{};
    h.fh.handle_bytes = sizeof(uint64_t);
    h.fh.handle_type = 0xfe;  // FILEID_KERNFS
    h.id = id;
    int fd = ::open_by_handle_at(root_, &h.fh, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      char buf[4096];
      ssize_t n = ::readlink(("/proc/self/fd/" + std::to_string(fd)).c_str(), buf, sizeof buf - 1);
      if (n > 0) {
        path.assign(buf, size_t(n));
        if (path.rfind("/sys/fs/cgroup", 0) == 0)
          path = path.substr(14);
        if (path.empty())
          path = "/";
      }
      ::close(fd);
    }
  }
  if (cache_.size() > 4096)
    cache_.clear();
  return cache_[id] = std::move(path);
}

std::map<std::pair<uint32_t, uint64_t>, std::string> runningExecutables() {
  std::map<std::pair<uint32_t, uint64_t>, std::string> out;
  DIR *d = ::opendir("/proc");
  if (!d)
    return out;
  while (dirent *e = ::readdir(d)) {
    if (e->d_name[0] < '1' || e->d_name[0] > '9')
      continue;
    std::string link = std::string("/proc/") + e->d_name + "/exe";
    struct stat st {};
    char buf[4096];
    if (::stat(link.c_str(), &st) != 0)
      continue;  // a kernel thread, or gone
    ssize_t n = ::readlink(link.c_str(), buf, sizeof buf - 1);
    if (n <= 0)
      continue;
    uint32_t dev = (major(st.st_dev) << 20) | minor(st.st_dev);
    out.try_emplace({dev, uint64_t(st.st_ino)}, std::string(buf, size_t(n)));
  }
  ::closedir(d);
  return out;
}

uint64_t realtimeNs() { return clockNs(CLOCK_REALTIME); }
uint64_t monotonicNs() { return clockNs(CLOCK_MONOTONIC); }

std::string bpffsMountHint(const std::string &pinRoot) {
  const std::string standard = "/sys/fs/bpf";
  std::string hint = "mount it: mount -t bpf bpf " + standard;
  if (pinRoot.rfind(standard + "/", 0) != 0)
    hint += ", then give a pin root below it (--pin-root " + standard + "/bulwark, the default)";
  return hint;
}

} // namespace bulwark::rt
