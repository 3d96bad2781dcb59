#include "Glob.h"

#include <vector>

namespace bulwark {

std::optional<GlobError> validateGlob(std::string_view p) {
  for (size_t i = 0; i < p.size(); ++i) {
    char c = p[i];
    if (c == '[') {
      size_t j = i + 1;
      if (j < p.size() && (p[j] == '!' || p[j] == '^')) ++j;
      size_t first = j;
      while (j < p.size() && (p[j] != ']' || j == first)) {
        if (p[j] == '/')
          return GlobError{"a character class cannot contain '/'", j};
        if (j + 2 < p.size() && p[j + 1] == '-' && p[j + 2] != ']' && p[j + 2] < p[j])
          return GlobError{std::string("range '") + p[j] + "-" + p[j + 2] + "' is reversed", j};
        ++j;
      }
      if (j >= p.size())
        return GlobError{"'[' is not closed", i};
      i = j;
    } else if (c == '*' && i + 1 < p.size() && p[i + 1] == '*') {
      bool segStart = i == 0 || p[i - 1] == '/';
      bool segEnd = i + 2 == p.size() || p[i + 2] == '/';
      if (!segStart || !segEnd)
        return GlobError{"'**' must be a whole path segment (like /a/**/b or /a/**)", i};
      if (i + 2 < p.size() && p[i + 2] == '*')
        return GlobError{"'***' is not a pattern; use '**'", i};
      ++i;
    } else if (c == ']') {
      return GlobError{"']' without '['", i};
    }
  }
  return std::nullopt;
}

namespace {

// Matches a class starting at p[i] == '['; sets *end to the index after ']'.
bool classMatch(std::string_view p, size_t i, char c, size_t *end) {
  size_t j = i + 1;
  bool neg = false;
  if (j < p.size() && (p[j] == '!' || p[j] == '^')) { neg = true; ++j; }
  size_t first = j;
  bool hit = false;
  while (j < p.size() && (p[j] != ']' || j == first)) {
    if (j + 2 < p.size() && p[j + 1] == '-' && p[j + 2] != ']') {
      if (c >= p[j] && c <= p[j + 2]) hit = true;
      j += 3;
    } else {
      if (c == p[j]) hit = true;
      ++j;
    }
  }
  *end = j + 1;
  return hit != neg;
}

bool matchAt(std::string_view p, size_t pi, std::string_view t, size_t ti) {
  while (pi < p.size()) {
    char c = p[pi];
    if (c == '*' && pi + 1 < p.size() && p[pi + 1] == '*') {
      // `**` as a segment: `/**/` also matches a single `/`, and a trailing `/**` matches anything.
      size_t rest = pi + 2;
      if (rest < p.size() && p[rest] == '/') {
        for (size_t k = ti; k <= t.size(); ++k)
          if ((k == ti || t[k - 1] == '/') && matchAt(p, rest + 1, t, k)) return true;
        return false;
      }
      return true;
    }
    if (c == '*') {
      for (size_t k = ti; k <= t.size(); ++k) {
        if (matchAt(p, pi + 1, t, k)) return true;
        if (k < t.size() && t[k] == '/') return false;
      }
      return false;
    }
    if (ti >= t.size()) return false;
    if (c == '?') {
      if (t[ti] == '/') return false;
      ++pi; ++ti;
    } else if (c == '[') {
      size_t end;
      if (t[ti] == '/' || !classMatch(p, pi, t[ti], &end)) return false;
      pi = end; ++ti;
    } else {
      if (c != t[ti]) return false;
      ++pi; ++ti;
    }
  }
  return ti == t.size();
}

} // namespace

bool globMatch(std::string_view pattern, std::string_view text) { return matchAt(pattern, 0, text, 0); }

std::optional<std::string> globAsPrefix(std::string_view p) {
  if (p.size() < 3 || p.substr(p.size() - 3) != "/**")
    return std::nullopt;
  std::string_view head = p.substr(0, p.size() - 2);
  if (head.find_first_of("*?[") != std::string_view::npos)
    return std::nullopt;
  return std::string(head);
}

} // namespace bulwark
