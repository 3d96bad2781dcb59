// Golden diagnostic tests: every tests/frontend/diagnostics/*.bw is linted (parse, sema,
// lint: as `bulwarkc lint`) and must report exactly the diagnostics written inline in it
// (see GoldenExpectations.h for the format). Missing and unexpected ones both fail.
#include "FrontendTestSupport.h"
#include "GoldenExpectations.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>

namespace bulwark::test {
namespace {

std::string corpusDir() { return frontendTestDir() + "/diagnostics"; }
// Test-only modules (imported as testlib.*): broken modules, modules holding a policy.
std::string corpusModulesDir() { return corpusDir() + "/modules"; }

const char *kVmlinuxBtf = "/sys/kernel/btf/vmlinux";

std::vector<std::string> corpusFiles() { return bwFilesIn(corpusDir()); }

class DiagnosticGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(DiagnosticGolden, ReportsExactlyTheExpectedDiagnostics) {
  const std::string path = GetParam();
  const std::string text = readFile(path);
  if (text.find("kprobe") != std::string::npos && !std::filesystem::exists(kVmlinuxBtf))
    GTEST_SKIP() << "kprobe cases need kernel BTF at " << kVmlinuxBtf;

  ParsedExpectations parsed = parseExpectations(text);
  for (const auto &e : parsed.errors) ADD_FAILURE() << relativeToSource(path) << ": malformed expectation, " << e;
  ASSERT_TRUE(parsed.errors.empty());
  ASSERT_FALSE(parsed.expected.empty()) << relativeToSource(path)
                                        << " expects no diagnostics; a corpus file is a failing policy";

  auto c = lintFile(path, {corpusModulesDir()});
  FileId mainFile = 0;  // addInputs loads the test file first; modules come after
  auto actual = keysOf(c->sources(), c->diags().all(), mainFile, corpusDir());
  std::string diff = diffDiagnostics(parsed.expected, actual);
  EXPECT_TRUE(diff.empty()) << relativeToSource(path) << ":\n" << diff;
}

INSTANTIATE_TEST_SUITE_P(Corpus, DiagnosticGolden, ::testing::ValuesIn(corpusFiles()),
                         [](const ::testing::TestParamInfo<std::string> &info) { return testNameFor(info.param); });

// Codes the front end reports: errors E00xx and lint warnings W01xx. E09xx belong to the
// back end, which does not report through this diagnostics engine.
bool isFrontEndCode(std::string_view code) { return code.rfind("E00", 0) == 0 || code.rfind("W01", 0) == 0; }

std::map<std::string, std::set<std::string>> expectedCodesByFile() {
  std::map<std::string, std::set<std::string>> out;
  for (const auto &f : corpusFiles())
    for (const auto &e : parseExpectations(readFile(f)).expected) out[f].insert(e.code);
  return out;
}

TEST(DiagnosticCorpus, EveryFrontEndCodeInTheRegistryHasACase) {
  std::set<std::string> covered;
  for (const auto &[file, codes] : expectedCodesByFile()) covered.insert(codes.begin(), codes.end());
  std::vector<std::string> missing;
  size_t frontEndCodes = 0;
  for (const auto &k : allDiagKinds()) {
    if (!isFrontEndCode(k.code)) continue;
    ++frontEndCodes;
    if (!covered.count(std::string(k.code))) missing.push_back(std::string(k.code) + " (" + std::string(k.title) + ")");
  }
  EXPECT_GE(frontEndCodes, 28u) << "the registry lost codes?";
  std::string list;
  for (const auto &m : missing) list += "  " + m + "\n";
  EXPECT_TRUE(missing.empty()) << "codes in DiagnosticKinds.def without a failing policy in tests/frontend/diagnostics:\n"
                               << list;
}

TEST(DiagnosticCorpus, ExpectationsOnlyNameFrontEndCodesWithTheirRegisteredSeverity) {
  for (const auto &f : corpusFiles())
    for (const auto &e : parseExpectations(readFile(f)).expected) {
      const DiagKindInfo *k = findDiagKind(e.code);
      ASSERT_NE(k, nullptr) << e.code;
      EXPECT_TRUE(isFrontEndCode(e.code)) << relativeToSource(f) << ": " << describe(e);
      EXPECT_EQ(e.severity, severityName(k->severity)) << relativeToSource(f) << ": " << describe(e);
    }
}

// The parser recovers: one run over a file with several syntax errors reports each.
TEST(DiagnosticCorpus, ParserReportsSeveralSyntaxErrorsInOneRun) {
  const std::string path = corpusDir() + "/e0001_recovery.bw";
  auto c = lintFile(path, {corpusModulesDir()});
  std::set<uint32_t> errorLines;
  for (const auto &d : c->diags().all())
    if (d.id == DiagId::E0001 && d.loc.file == 0) errorLines.insert(d.loc.line);
  EXPECT_GE(errorLines.size(), 4u) << "syntax errors on distinct lines of " << relativeToSource(path);
}

} // namespace
} // namespace bulwark::test
