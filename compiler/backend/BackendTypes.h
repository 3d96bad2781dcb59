#pragma once

#include "PolicyIr.h"

#include <string>

namespace bulwark::backend {

// A structured back-end error: where (the rule's or test's source location) and what.
// The driver maps these onto the diagnostic registry.
struct BackendError {
  enum class Kind { Budget, Verifier, Unsupported, Collision, Internal } kind = Kind::Internal;
  ir::SourceLoc loc;
  std::string message;
};

} // namespace bulwark::backend
