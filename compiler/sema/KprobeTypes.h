// Fields of `kprobe "function"` hooks, typed from kernel BTF: arg0..argN.
#pragma once

#include "Catalogue.h"
#include "PolicyIr.h"

#include <optional>
#include <string>
#include <vector>

namespace bulwark {

// Integer, enum and bool parameters become int fields (with the C type's width and
// signedness); `char *` parameters become string fields; other parameters (struct
// pointers) are not exposed. Only the first 5 parameters (registers on every BPF target).
// nullopt with *error set when the BTF cannot be read or has no such function.
std::optional<std::vector<ir::KprobeArg>> kprobeArgs(const std::string &btfPath, const std::string &function,
                                                     std::string *error);

} // namespace bulwark
