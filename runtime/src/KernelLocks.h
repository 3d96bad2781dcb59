// Addresses of the kernel's rename_lock and mount_lock, whose sequences BPF programs read to
// know whether what they kept between events still holds (abi/bw_quiet.bpf.h seq_of). 6.1's
// BTF has no type for them, so they are not ksyms of ours: libbpf would read /proc/kallsyms
// for every object opened; the runtime reads it once per process and sets rodata instead.
#pragma once

#include <cstdint>
#include <string_view>

namespace bulwark::rt {

struct KernelLocks {
  uint64_t renameLock = 0;  // 0: unknown (hidden by kptr_restrict, or absent)
  uint64_t mountLock = 0;
};

// The addresses in kallsyms text, as far as it goes ("ADDRESS TYPE NAME[\t[MODULE]]" lines).
KernelLocks parseKernelLocks(std::string_view kallsyms);
// /proc/kallsyms, read once (until both are found); zeros when it cannot be read.
const KernelLocks &kernelLocks();

} // namespace bulwark::rt
