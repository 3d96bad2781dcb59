// A host model of the kernel-side decision, reading only what the back end emits (the
// lowered groups and the map images, byte for byte) and doing the lookups the BPF
// library does: hash by (group, len, FNV-1a), LPM longest prefix, DFA walk. Compared
// against the host evaluator on generated inputs.
#pragma once

#include "Evaluator.h"
#include "Lowering.h"

namespace bwtest {

// Returns the decision word (BW_NO_RULE or rule << 2 | action).
uint32_t simulate(const bulwark::backend::Lowered &low, bulwark::HookId hook,
                  const bulwark::ir::Event &ev);

} // namespace bwtest
