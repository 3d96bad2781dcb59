#include "Glob.h"

#include "GlobPattern.h"

namespace bulwark {

std::optional<GlobError> validateGlob(std::string_view p) {
  std::string error;
  if (!ir::parseGlob(p, &error)) {
    size_t at = p.find('[') != std::string_view::npos && error.find('[') != std::string::npos ? p.rfind('[') : p.size() - 1;
    return GlobError{error, at};
  }
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] == '\\') { ++i; continue; }
    if (p[i] == '[') {  // skip the class: '/' inside it can never match
      size_t j = i + 1;
      if (j < p.size() && (p[j] == '!' || p[j] == '^')) ++j;
      if (j < p.size() && p[j] == ']') ++j;
      for (; j < p.size() && p[j] != ']'; ++j) {
        if (p[j] == '/') return GlobError{"a character class cannot contain '/'", j};
        if (j + 2 < p.size() && p[j + 1] == '-' && p[j + 2] != ']' && p[j + 2] < p[j])
          return GlobError{std::string("range '") + p[j] + "-" + p[j + 2] + "' is reversed and matches nothing", j};
      }
      i = j;
      continue;
    }
    if (p[i] == '*' && i + 1 < p.size() && p[i + 1] == '*') {
      if (i + 2 < p.size() && p[i + 2] == '*') return GlobError{"'***' is not a pattern; use '**'", i};
      bool segStart = i == 0 || p[i - 1] == '/';
      bool segEnd = i + 2 == p.size() || p[i + 2] == '/';
      if (!segStart || !segEnd) return GlobError{"'**' must be a whole path segment (like /a/**/b or /a/**)", i};
      ++i;
    }
  }
  return std::nullopt;
}

bool globMatch(std::string_view pattern, std::string_view text) { return ir::globMatch(pattern, text); }

std::optional<std::string> globAsPrefix(std::string_view p) {
  if (p.size() < 3 || p.substr(p.size() - 3) != "/**") return std::nullopt;
  std::string_view head = p.substr(0, p.size() - 2);
  if (head.find_first_of("*?[\\") != std::string_view::npos) return std::nullopt;
  return std::string(head);
}

} // namespace bulwark
