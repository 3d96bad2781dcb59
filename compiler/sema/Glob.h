// Glob rules of the language on top of the one glob implementation (ir/GlobPattern, which
// the host evaluator and the back end's DFA builder share). Sema adds the language's rule
// that `**` is a whole path segment, and lint's prefix suggestion.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace bulwark {

struct GlobError {
  std::string message;
  size_t offset;  // byte offset of the problem in the pattern
};
// nullopt when the pattern is valid.
std::optional<GlobError> validateGlob(std::string_view pattern);

// Whether `text` matches `pattern` (which must be valid): ir::globMatch.
bool globMatch(std::string_view pattern, std::string_view text);

// "/dir/**" → "/dir/": the prefix a pattern is equivalent to, if it is one (lint W0107).
std::optional<std::string> globAsPrefix(std::string_view pattern);

} // namespace bulwark
