// Leaves out of an emitted object the bytes no loader reads: the relocations of .BTF.ext and
// the DWARF call frames (.debug_frame and its relocations). libbpf applies relocations only
// to sections of instructions and skips DWARF sections; .rel.BTF.ext alone is about a quarter
// of a policy object, and a bundle that fits a Kubernetes ConfigMap (1 MiB) must stay small.
// Each such section keeps its header (so no section index changes) with no bytes; the bytes
// after it move up.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace bulwark::backend {

// The sections elfTrim empties, by name.
extern const char *const kUnreadSections[3];

// Returns false (object untouched) with *error set when the object is not a little-endian
// ELF64 whose section data precede its section headers, as LLVM emits them.
bool elfTrim(std::vector<uint8_t> &elf, std::string *error);

} // namespace bulwark::backend
