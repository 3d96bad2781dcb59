// Expected diagnostics written inline in a .bw test file, next to the offending line.
//
//   when net.dport == "80"
//   #                 ^ error[E0006]: cannot compare 'net.dport' (port) with string "80"
//
// A caret line is a comment whose `^` sits at the diagnostic's column (the `#` must be
// left of it); its line is the nearest preceding line that is not an expectation. For
// column 1, or a diagnostic in another file, the explicit form names the position:
//
//   # expect: 3:1 error[E0001]: unexpected 'x'
//   # expect: modules/testlib/broken.bw:2:7 error[E0001]: ...
//
// Messages compare exactly. Notes and help lines are not part of an expectation (the
// rendering goldens in tests/frontend/render cover them).
#pragma once

#include "Diagnostic.h"

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bulwark::test {

struct DiagKey {
  std::string file;  // empty: the test file itself; else a path relative to the corpus directory
  uint32_t line = 0;
  uint32_t column = 0;
  std::string severity;  // "error" | "warning"
  std::string code;      // "E0006"
  std::string message;

  auto operator<=>(const DiagKey &) const = default;
  bool operator==(const DiagKey &) const = default;
};

struct ParsedExpectations {
  std::vector<DiagKey> expected;
  std::vector<std::string> errors;  // malformed expectation lines ("line N: why")
};

ParsedExpectations parseExpectations(std::string_view text);

// "12:5 error[E0006]: message", with "file:" in front when the file is not the test file.
std::string describe(const DiagKey &d);

// The same diagnostic as an expectation line for the test file (caret form where possible),
// printed on failure so a reviewer can compare, or paste after checking it is right.
std::string asExpectationLine(const DiagKey &d);

// Human-readable difference: empty when both multisets are equal.
std::string diffDiagnostics(std::vector<DiagKey> expected, std::vector<DiagKey> actual);

// Reported diagnostics as keys. Locations in `mainFile` get an empty file; others are
// made relative to `relativeTo` (the corpus directory).
std::vector<DiagKey> keysOf(const SourceManager &sm, const std::vector<Diagnostic> &diags, FileId mainFile,
                            const std::string &relativeTo);

} // namespace bulwark::test
