// `bulwarkc test`: policy unit tests in YAML next to the policy (<stem>_test.yaml beside
// <stem>.bw), run on the host evaluator without root. The format is documented in
// docs/testing.md ("Policy unit tests"). Every checked policy must have at least one test,
// and a run must find one; results are printed as text, JSON, JUnit XML or GitHub
// annotations, with rule coverage per policy.
#pragma once

#include "Compilation.h"

#include <string>
#include <vector>

namespace bulwark {

enum class TestReportFormat { Text, Json, Junit, Github };

struct PolicyTestOptions {
  bool verbose = false;
  double minCoverage = 0;  // percent of rules each tested policy must exercise
  TestReportFormat format = TestReportFormat::Text;
  std::string output;  // write the report here instead of stdout
};

// Finds <stem>_test.yaml for every checked input file and runs them. Returns an exit code.
int runPolicyTests(Compilation &c, const PolicyTestOptions &opts);

} // namespace bulwark
