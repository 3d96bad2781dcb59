// Why a BPF object did not load, said as an Error that names the cause (privilege, no BPF
// LSM, a hook missing from the kernel, the verifier, a pin taken by something else).
#pragma once

#include "Error.h"

#include <bpf/libbpf.h>

#include <string>

namespace bulwark::rt {

// Turns a failed bpf_object__load into an Error that names the cause.
Error loadError(int err, const std::string &what);

// Checks that every pinned-by-name map of the object either does not exist yet or is
// a map of the same shape (what libbpf requires to reuse it), so a conflicting pin is
// reported as such and not as a generic load failure.
// Throws Error(Conflict).
void checkSharedPins(bpf_object *obj);

} // namespace bulwark::rt
