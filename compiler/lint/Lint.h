// Lint: warnings beyond errors (W01xx), computed on the checked IR and sema's facts.
#pragma once

#include "Sema.h"

namespace bulwark {

void lint(const SourceManager &sm, const SemaResult &sema, DiagnosticEngine &diags);

} // namespace bulwark
