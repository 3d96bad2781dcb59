#include "ProgProbe.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <vector>

namespace bulwark::vmprobe {
namespace {

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd& operator=(Fd&&) = delete;
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }

 private:
  int fd_;
};

std::string ErrnoText(int err) { return std::string(std::strerror(err)) + " (errno " + std::to_string(err) + ")"; }

ProbeResult Fail(const std::string& what, int err) { return {false, what + ": " + ErrnoText(err)}; }

// r0 = return_value; exit
std::vector<bpf_insn> ReturnConstant(int return_value) {
  bpf_insn mov{};
  mov.code = BPF_ALU64 | BPF_MOV | BPF_K;
  mov.dst_reg = BPF_REG_0;
  mov.imm = return_value;
  bpf_insn exit_insn{};
  exit_insn.code = BPF_JMP | BPF_EXIT;
  return {mov, exit_insn};
}

struct Loaded {
  Fd fd;
  std::string error;
};

constexpr auto kNoAttachType = static_cast<bpf_attach_type>(0);

// Loads a program; on failure the error carries the last verifier log line.
Loaded LoadProgram(bpf_prog_type type, bpf_attach_type expected_attach, __u32 attach_btf_id,
                 int return_value) {
  std::vector<bpf_insn> insns = ReturnConstant(return_value);
  std::vector<char> log(16 * 1024, '\0');
  LIBBPF_OPTS(bpf_prog_load_opts, opts);
  opts.expected_attach_type = expected_attach;
  opts.attach_btf_id = attach_btf_id;
  opts.log_buf = log.data();
  opts.log_size = static_cast<__u32>(log.size());
  opts.log_level = 1;
  int fd = bpf_prog_load(type, "bw_probe", "GPL", insns.data(), insns.size(), &opts);
  if (fd < 0) {
    int err = errno;
    std::string verifier(log.data());
    while (!verifier.empty() && verifier.back() == '\n') verifier.pop_back();
    if (auto nl = verifier.rfind('\n'); nl != std::string::npos) verifier = verifier.substr(nl + 1);
    return {Fd(), "load: " + ErrnoText(err) + (verifier.empty() ? "" : "; verifier: " + verifier)};
  }
  return {Fd(fd), ""};
}

// BTF id of a kernel function, for LSM and fentry programs.
int FindKernelFunction(const std::string& name, std::string& error) {
  btf* vmlinux = btf__load_vmlinux_btf();
  if (vmlinux == nullptr) {
    error = "load vmlinux BTF: " + ErrnoText(errno);
    return -1;
  }
  int id = btf__find_by_name_kind(vmlinux, name.c_str(), BTF_KIND_FUNC);
  btf__free(vmlinux);
  if (id < 0) error = "no BTF function " + name;
  return id;
}

bool ReadFirstLine(const std::string& path, std::string& line) {
  std::ifstream in(path);
  return static_cast<bool>(std::getline(in, line));
}

int PerfEventOpen(perf_event_attr& attr) {
  // pid -1 + cpu 0: a system-wide event, as libbpf does for kprobes and tracepoints.
  return static_cast<int>(syscall(__NR_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC));
}

ProbeResult AttachToPerfEvent(int prog_fd, perf_event_attr& attr, const std::string& what) {
  Fd event(PerfEventOpen(attr));
  if (!event.valid()) return Fail("perf_event_open " + what, errno);
  if (ioctl(event.get(), PERF_EVENT_IOC_SET_BPF, prog_fd) != 0) return Fail("attach to " + what, errno);
  if (ioctl(event.get(), PERF_EVENT_IOC_ENABLE, 0) != 0) return Fail("enable " + what, errno);
  return {true, "loaded and attached to " + what};
}

}  // namespace

ProbeResult ProbeProgTypeKnown(bpf_prog_type type) {
  int ret = libbpf_probe_bpf_prog_type(type, nullptr);
  if (ret == 1) return {true, "known to the kernel"};
  if (ret == 0) return {false, "not supported by the kernel"};
  return Fail("probe", -ret);
}

ProbeResult LoadAndAttachLsm(const std::string& hook) {
  std::string error;
  int btf_id = FindKernelFunction("bpf_lsm_" + hook, error);
  if (btf_id < 0) return {false, error};
  Loaded prog = LoadProgram(BPF_PROG_TYPE_LSM, BPF_LSM_MAC, static_cast<__u32>(btf_id), 0);
  if (!prog.fd.valid()) return {false, prog.error};
  Fd link(bpf_raw_tracepoint_open(nullptr, prog.fd.get()));
  if (!link.valid()) return Fail("attach lsm/" + hook, errno);
  return {true, "loaded and attached lsm/" + hook};
}

ProbeResult LoadAndAttachFentry(const std::string& function) {
  std::string error;
  int btf_id = FindKernelFunction(function, error);
  if (btf_id < 0) return {false, error};
  Loaded prog = LoadProgram(BPF_PROG_TYPE_TRACING, BPF_TRACE_FENTRY, static_cast<__u32>(btf_id), 0);
  if (!prog.fd.valid()) return {false, prog.error};
  Fd link(bpf_raw_tracepoint_open(nullptr, prog.fd.get()));
  if (!link.valid()) return Fail("attach fentry/" + function, errno);
  return {true, "loaded and attached fentry/" + function};
}

ProbeResult LoadAndAttachKprobe(const std::string& function) {
  std::string type_text;
  if (!ReadFirstLine("/sys/bus/event_source/devices/kprobe/type", type_text))
    return {false, "no kprobe PMU (/sys/bus/event_source/devices/kprobe/type)"};
  Loaded prog = LoadProgram(BPF_PROG_TYPE_KPROBE, kNoAttachType, 0, 0);
  if (!prog.fd.valid()) return {false, prog.error};
  perf_event_attr attr{};
  attr.size = sizeof(attr);
  attr.type = static_cast<__u32>(std::stoul(type_text));
  attr.config1 = reinterpret_cast<__u64>(function.c_str());  // kprobe_func
  attr.config2 = 0;                                          // probe_offset
  return AttachToPerfEvent(prog.fd.get(), attr, "kprobe/" + function);
}

ProbeResult LoadAndAttachTracepoint(const std::string& category, const std::string& event) {
  std::string id_text;
  const std::string name = category + "/" + event;
  if (!ReadFirstLine("/sys/kernel/tracing/events/" + name + "/id", id_text) &&
      !ReadFirstLine("/sys/kernel/debug/tracing/events/" + name + "/id", id_text))
    return {false, "no tracepoint " + name + " in tracefs"};
  Loaded prog = LoadProgram(BPF_PROG_TYPE_TRACEPOINT, kNoAttachType, 0, 0);
  if (!prog.fd.valid()) return {false, prog.error};
  perf_event_attr attr{};
  attr.size = sizeof(attr);
  attr.type = PERF_TYPE_TRACEPOINT;
  attr.config = std::stoull(id_text);
  attr.sample_period = 1;
  attr.wakeup_events = 1;
  return AttachToPerfEvent(prog.fd.get(), attr, "tracepoint/" + name);
}

ProbeResult LoadAndAttachCgroupSkb(const std::string& cgroup_dir) {
  Fd cgroup(open(cgroup_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!cgroup.valid()) return Fail("open " + cgroup_dir, errno);
  Loaded prog = LoadProgram(BPF_PROG_TYPE_CGROUP_SKB, BPF_CGROUP_INET_EGRESS, 0, 1 /* allow */);
  if (!prog.fd.valid()) return {false, prog.error};
  Fd link(bpf_link_create(prog.fd.get(), cgroup.get(), BPF_CGROUP_INET_EGRESS, nullptr));
  if (!link.valid()) return Fail("attach cgroup_skb/egress to " + cgroup_dir, errno);
  return {true, "loaded and attached cgroup_skb/egress to " + cgroup_dir};
}

}  // namespace bulwark::vmprobe
