// bulwarkc's exit codes (documented in docs/cli.md; CI pipelines depend on them).
#pragma once

namespace bulwark {
enum ExitCode : int {
  kExitClean = 0,     // no findings at or above the fail level
  kExitFindings = 1,  // errors (or warnings at --fail-level warning); fmt --check: files need formatting; test: a case failed
  kExitUsage = 2,     // bad command line, unreadable input, unwritable output
  kExitInternal = 3,  // a bug in bulwarkc: please report it
};
} // namespace bulwark
