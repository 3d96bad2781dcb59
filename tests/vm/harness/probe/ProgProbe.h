#pragma once
// Loads and attaches tiny, self-contained BPF programs (built from raw instructions, no
// object files) to learn which program types really work on the running kernel.
// Shared by the doctor probe and the guest kernel tests.
//
// Loading LSM/fentry/kprobe programs is only allowed inside the run-vm guest; callers
// check bulwark::guest::InGuest() first.
#include <linux/bpf.h>

#include <string>

namespace bulwark::vmprobe {

struct ProbeResult {
  bool ok = false;
  std::string detail;  // what was done, or why it failed (errno text, verifier log excerpt)
};

// libbpf's feature probe: does the kernel know this program type at all?
ProbeResult ProbeProgTypeKnown(bpf_prog_type type);

// Each of these loads a program that does nothing, attaches it, and detaches it again.
ProbeResult LoadAndAttachLsm(const std::string& hook);        // e.g. "file_open"
ProbeResult LoadAndAttachFentry(const std::string& function);  // a BTF function
ProbeResult LoadAndAttachKprobe(const std::string& function);
ProbeResult LoadAndAttachTracepoint(const std::string& category, const std::string& event);
ProbeResult LoadAndAttachCgroupSkb(const std::string& cgroup_dir);

}  // namespace bulwark::vmprobe
