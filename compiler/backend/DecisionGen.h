// Decision code in LLVM IR: per lowered hook the functions its BPF template calls
// (bw_need_<H>, bw_has_rules_<H>, bw_lazy_<H>, bw_decide_<H>, for kprobes bw_kprobe_arg_<H>),
// and bw_policy_info for the library.
#pragma once

#include "Lowering.h"
#include "PolicyIr.h"

#include <llvm/IR/Module.h>

#include <cstddef>
#include <string>

namespace bulwark::backend {

// Suffix of the generated functions of lowered hook `i`: the hooks.def id for LSM hooks
// ("FILE_OPEN"); kprobe hooks are one per function, numbered ("KPROBE_0").
std::string generatedSuffix(const Lowered &low, size_t i);

// Adds the decision functions of every lowered hook and bw_policy_info to `gen`; their
// calls go to the matching primitives of the template library `lib`. Throws on a bug.
void generateDecisionCode(llvm::Module &gen, llvm::Module &lib, const Lowered &low,
                          const ir::Policy &policy);

} // namespace bulwark::backend
