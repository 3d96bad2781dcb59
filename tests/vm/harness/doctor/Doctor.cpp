// bulwark-vm-doctor: prints what the test kernel offers Bulwark. run-vm runs it at the start
// of every guest run so each log records the environment the tests saw.
// Usage: bulwark-vm-doctor [--strict]   (--strict: exit 1 if any check fails)
#include <sys/stat.h>
#include <sys/utsname.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "GuestUtil.h"
#include "ProgProbe.h"

namespace {

using bulwark::vmprobe::ProbeResult;

int g_failures = 0;

void Line(const char* label, bool ok, const std::string& detail) {
  std::printf("doctor: %-18s %-4s %s\n", label, ok ? "ok" : "FAIL", detail.c_str());
  if (!ok) ++g_failures;
}

void Report(const char* label, const ProbeResult& probe, const ProbeResult& attach) {
  Line(label, probe.ok && attach.ok, "probe: " + probe.detail + "; " + attach.detail);
}

}  // namespace

int main(int argc, char** argv) {
  bool strict = argc > 1 && std::strcmp(argv[1], "--strict") == 0;
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  std::printf("doctor: ---- bulwark test VM probe ----\n");

  utsname uts{};
  uname(&uts);
  Line("kernel", true, std::string(uts.release) + " " + uts.version + " " + uts.machine);

  std::string lsm;
  try {
    lsm = bulwark::guest::ReadFile("/sys/kernel/security/lsm");
  } catch (const std::runtime_error& e) {
    lsm = std::string("unreadable: ") + e.what();
  }
  bool bpf_lsm = ("," + lsm + ",").find(",bpf,") != std::string::npos;
  Line("active LSMs", bpf_lsm, lsm + (bpf_lsm ? " (bpf is active)" : " (bpf is NOT active)"));

  struct stat btf {};
  bool has_btf = stat("/sys/kernel/btf/vmlinux", &btf) == 0;
  Line("vmlinux BTF", has_btf,
       has_btf ? "/sys/kernel/btf/vmlinux, " + std::to_string(btf.st_size) + " bytes" : "missing");

  if (!bulwark::guest::InGuest()) {
    // The host kernel must never get LSM/kprobe programs (and refuses trampolines anyway).
    std::printf("doctor: not inside the run-vm guest: skipping program load tests\n");
    return strict && g_failures > 0 ? 1 : 0;
  }
  using namespace bulwark::vmprobe;
  Report("prog lsm", ProbeProgTypeKnown(BPF_PROG_TYPE_LSM), LoadAndAttachLsm("file_open"));
  Report("prog fentry", ProbeProgTypeKnown(BPF_PROG_TYPE_TRACING), LoadAndAttachFentry("security_file_open"));
  Report("prog kprobe", ProbeProgTypeKnown(BPF_PROG_TYPE_KPROBE), LoadAndAttachKprobe("security_file_open"));
  Report("prog tracepoint", ProbeProgTypeKnown(BPF_PROG_TYPE_TRACEPOINT),
         LoadAndAttachTracepoint("sched", "sched_process_exec"));
  Report("prog cgroup_skb", ProbeProgTypeKnown(BPF_PROG_TYPE_CGROUP_SKB), LoadAndAttachCgroupSkb("/sys/fs/cgroup"));
  std::printf("doctor: ---- %d check(s) failed ----\n", g_failures);
  return strict && g_failures > 0 ? 1 : 0;
}
