// `bulwarkc test`: policy unit tests in YAML next to the policy (<stem>_test.yaml beside
// <stem>.bw), run on the host evaluator without root. Reports failures with file:line:col,
// rule coverage per policy, and a closing "N passed, M failed" line.
//
//   policy: protect_credentials          # optional when the file has one policy
//   tests:
//     - name: cat cannot read shadow
//       hook: file.open
//       event: {file.path: /etc/shadow, process.exe: /usr/bin/cat}
//       expect: {action: deny, rule: shadow_access}
//     - name: passwd can
//       hook: file.open
//       event: {file.path: /etc/shadow, process.exe: /usr/bin/passwd}
//       expect: {action: allow}           # `default: true` asserts no rule matched
#pragma once

#include "Compilation.h"

#include <string>
#include <vector>

namespace bulwark {

struct PolicyTestOptions {
  bool verbose = false;
  double minCoverage = 0;  // percent of rules each tested policy must exercise
};

// Finds <stem>_test.yaml for every checked input file and runs them. Returns an exit code.
int runPolicyTests(Compilation &c, const PolicyTestOptions &opts);

} // namespace bulwark
