// Facts about the running system the runtime and the doctor check.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace bulwark::rt {

std::string kernelRelease();   // uname -r
bool haveKernelBtf();          // /sys/kernel/btf/vmlinux
// Active LSMs from /sys/kernel/security/lsm; nullopt when it cannot be read (securityfs
// not mounted), with the reason in *why.
std::optional<std::vector<std::string>> activeLsms(std::string *why = nullptr);
bool bpfLsmActive(const std::vector<std::string> &lsms);
// Whether BPF kprobe programs can be attached: the perf "kprobe" event source exists, or
// tracefs offers kprobe_events (libbpf's two ways). False with the reason in *why (a kernel
// without CONFIG_KPROBES / CONFIG_KPROBE_EVENTS).
bool kprobesAvailable(std::string *why = nullptr);

// Effective capabilities (CapEff of /proc/self/status).
uint64_t effectiveCaps();
// Enough privilege to load and attach BPF LSM programs and pin them: CAP_SYS_ADMIN, or
// CAP_BPF + CAP_PERFMON. *missing names what is lacking.
bool havePrivilege(std::string *missing = nullptr);

// What to do when the pin root is not on bpffs: mount bpffs at its standard place,
// /sys/fs/bpf, and keep the pin root below it. Never suggests mounting over the pin root's
// parent (say /tmp), which would hide what is there.
std::string bpffsMountHint(const std::string &pinRoot);

// cgroup v2 id -> path relative to the cgroup root ("/system.slice/x.service"; empty when the
// cgroup is gone), through a file handle on /sys/fs/cgroup; answers are cached.
class CgroupNames {
public:
  CgroupNames() = default;
  CgroupNames(const CgroupNames &) = delete;
  CgroupNames &operator=(const CgroupNames &) = delete;
  ~CgroupNames();
  const std::string &path(uint64_t id);  // valid until the next call

private:
  int root_ = -1;
  std::map<uint64_t, std::string> cache_;
};

// The path (/proc/<pid>/exe) of every running process's executable, by the file's identity:
// (kernel dev_t encoding major << 20 | minor, inode). Executables no process runs are absent.
std::map<std::pair<uint32_t, uint64_t>, std::string> runningExecutables();

uint64_t realtimeNs();
uint64_t monotonicNs();
inline double monotonicSeconds() { return double(monotonicNs()) / 1e9; }

} // namespace bulwark::rt
