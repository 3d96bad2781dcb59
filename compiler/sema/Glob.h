// Glob patterns on paths: `*` (no `/`), `**` (anything, as a whole segment), `?`,
// `[...]` classes with ranges and `!`/`^` negation. Validation for sema and a reference
// matcher for the host evaluator and lint (the back end builds its DFA separately).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace bulwark {

// nullopt when valid; otherwise a message and the byte offset of the problem.
struct GlobError {
  std::string message;
  size_t offset;
};
std::optional<GlobError> validateGlob(std::string_view pattern);

// Whether `text` matches `pattern` (which must be valid).
bool globMatch(std::string_view pattern, std::string_view text);

// "/dir/**" → "/dir/": the prefix a pattern is equivalent to, if it is one (lint W0107).
std::optional<std::string> globAsPrefix(std::string_view pattern);

} // namespace bulwark
