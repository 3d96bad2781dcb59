// Makes the .BTF section of an emitted object independent of heap addresses.
//
// LLVM 19's BTF writer appends forward declarations (BTF_KIND_FWD, for structs only ever
// reached through pointers) at the end of the type list in the order of a pointer-keyed
// map, so a second compilation in the same process can permute them (and the tail of the
// string table holding their names). This pass sorts that trailing FWD block by
// (name, kind flag), renumbers references to it and rewrites the string table tail to
// match. Everything else in .BTF (and all of .BTF.ext) is already deterministic.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace bulwark::backend {

// Returns false (object untouched) with *error set when the object does not look like
// what LLVM emits (then determinism is not guaranteed, but the object is valid).
bool canonicalizeBtf(std::vector<uint8_t> &elf, std::string *error);

// The names of the structs and unions the object's .BTF defines with their members (not
// those it only declares); false with *error set when it has no readable .BTF.
bool definedComposites(std::vector<uint8_t> &elf, std::set<std::string> &names, std::string *error);

// True when both objects' .BTF and .BTF.ext sections are the same bytes; else false with
// *error naming the first that differs (or is missing).
bool sameBtf(const std::vector<uint8_t> &a, const std::vector<uint8_t> &b, std::string *error);

} // namespace bulwark::backend
