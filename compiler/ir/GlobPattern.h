// Glob patterns of the language, shared by the host evaluator and the back end's DFA
// builder. Syntax and meaning (whole-string match):
//   *     any run of bytes without '/'         **    any run of bytes
//   **/   zero or more whole directories ("a/**/b" matches "a/b" and "a/x/y/b")
//   ?     one byte other than '/'              [set] one byte of the set, never '/'
//         sets: [abc] [a-z] [!a-z] [^a-z]; a ']' first in the set is literal
//   \c    the byte c literally                 other bytes match themselves
#pragma once

#include <bitset>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bulwark::ir {

struct GlobToken {
  enum class Kind {
    One,       // one byte of `set`
    Star,      // zero or more bytes of `set` (all but '/' for *, all for **)
    DirStar,   // **/ : zero or more of (any bytes then '/')
  } kind = Kind::One;
  std::bitset<256> set;
};

// Returns nullopt and sets *error on a malformed pattern (unterminated [ or trailing \).
std::optional<std::vector<GlobToken>> parseGlob(std::string_view pattern,
                                                std::string *error = nullptr);
// Reference matcher (dynamic programming over tokens and positions).
bool globMatch(const std::vector<GlobToken> &tokens, std::string_view s);
bool globMatch(std::string_view pattern, std::string_view s);

} // namespace bulwark::ir
