// bulwarkc fmt: shipped files are fmt-clean, formatting is idempotent over every test
// policy that parses, comments are never dropped, and input → expected goldens in
// tests/frontend/fmt (NAME.in.bw → NAME.out.bw) pin the canonical layout.
#include "FrontendTestSupport.h"
#include "LineDiff.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>

namespace bulwark::test {
namespace {

std::string fmtDir() { return frontendTestDir() + "/fmt"; }

// Every .bw the tests own that parses (fmt refuses files with syntax errors): the
// diagnostics corpus (with its modules), the rendering sample, the formatter goldens.
std::vector<std::string> parsingTestPolicyFiles() {
  std::vector<std::string> out;
  for (const auto &f : bwFilesUnder(frontendTestDir())) {
    std::string formatted;
    if (formatText(f, readFile(f), &formatted, nullptr)) out.push_back(f);
  }
  return out;
}

// ---- shipped files are already formatted ----

class ShippedFileFormat : public ::testing::TestWithParam<std::string> {};

TEST_P(ShippedFileFormat, IsAlreadyFormatted) {
  const std::string text = readFile(GetParam());
  std::string formatted, why;
  ASSERT_TRUE(formatText(GetParam(), text, &formatted, &why)) << why;
  EXPECT_EQ(formatted, text) << relativeToSource(GetParam()) << " is not fmt-clean; run bulwarkc fmt on it:\n"
                             << unifiedDiff(relativeToSource(GetParam()), text, formatted);
}

TEST_P(ShippedFileFormat, KeepsEveryComment) {
  const std::string text = readFile(GetParam());
  std::string formatted, why;
  ASSERT_TRUE(formatText(GetParam(), text, &formatted, &why)) << why;
  EXPECT_EQ(countComments("formatted.bw", formatted), countComments(GetParam(), text));
}

INSTANTIATE_TEST_SUITE_P(Shipped, ShippedFileFormat, ::testing::ValuesIn(shippedPolicyFiles()),
                         [](const ::testing::TestParamInfo<std::string> &info) {
                           auto rel = relativeToSource(info.param);
                           std::string name = rel.substr(0, rel.size() - 3);
                           for (char &c : name)
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return name;
                         });

TEST(ShippedFiles, ThereAreSome) { EXPECT_GE(shippedPolicyFiles().size(), 6u); }

// ---- idempotence and comments over every test policy that parses ----

class TestFileFormat : public ::testing::TestWithParam<std::string> {};

TEST_P(TestFileFormat, IsIdempotentAndKeepsComments) {
  const std::string text = readFile(GetParam());
  std::string once, twice, why;
  ASSERT_TRUE(formatText(GetParam(), text, &once, &why)) << why;
  ASSERT_TRUE(formatText("once.bw", once, &twice, &why)) << "fmt output does not parse:\n" << why << "\n" << once;
  EXPECT_EQ(twice, once) << "fmt is not idempotent on " << relativeToSource(GetParam()) << ":\n"
                         << unifiedDiff("fmt(x)", once, twice);
  EXPECT_EQ(countComments("once.bw", once), countComments(GetParam(), text)) << "fmt dropped or split a comment:\n" << once;
}

// Layout is all fmt changes: linting fmt(x) reports what linting x does (codes and
// messages; positions move). Test modules are found as for the golden tests.
std::vector<std::string> findings(const std::string &name, const std::string &text) {
  CompilationOptions opts;
  opts.stdlibDirs = {frontendTestDir() + "/diagnostics/modules"};
  Compilation c(opts);
  c.addSource(name, text);
  c.lint();
  std::vector<std::string> out;
  for (const auto &d : c.diags().all()) out.push_back(std::string(d.code()) + ": " + d.message);
  std::sort(out.begin(), out.end());
  return out;
}

TEST_P(TestFileFormat, KeepsTheMeaning) {
  const std::string text = readFile(GetParam());
  std::string once, why;
  ASSERT_TRUE(formatText(GetParam(), text, &once, &why)) << why;
  EXPECT_EQ(findings("x.bw", once), findings("x.bw", text));
}

TEST(TestFiles, MostOfThemParse) { EXPECT_GE(parsingTestPolicyFiles().size(), 30u); }

INSTANTIATE_TEST_SUITE_P(TestFiles, TestFileFormat, ::testing::ValuesIn(parsingTestPolicyFiles()),
                         [](const ::testing::TestParamInfo<std::string> &info) {
                           auto rel = relativeToSource(info.param).substr(std::string("tests/frontend/").size());
                           std::string name = rel.substr(0, rel.size() - 3);
                           for (char &c : name)
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return name;
                         });

// ---- goldens ----

std::vector<std::string> fmtInputs() {
  std::vector<std::string> out;
  for (const auto &f : bwFilesIn(fmtDir()))
    if (f.size() > 6 && f.compare(f.size() - 6, 6, ".in.bw") == 0) out.push_back(f);
  return out;
}

std::string expectedFor(const std::string &input) { return input.substr(0, input.size() - 6) + ".out.bw"; }

class FmtGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(FmtGolden, FormatsToTheExpectedText) {
  const std::string in = readFile(GetParam());
  const std::string expected = readFile(expectedFor(GetParam()));
  std::string actual, why;
  ASSERT_TRUE(formatText(GetParam(), in, &actual, &why)) << why;
  EXPECT_EQ(actual, expected) << unifiedDiff(relativeToSource(expectedFor(GetParam())), expected, actual);
}

TEST_P(FmtGolden, ExpectedTextIsAFixedPoint) {
  const std::string expected = readFile(expectedFor(GetParam()));
  std::string again, why;
  ASSERT_TRUE(formatText(expectedFor(GetParam()), expected, &again, &why)) << why;
  EXPECT_EQ(again, expected) << unifiedDiff("expected", expected, again);
}

TEST_P(FmtGolden, KeepsEveryComment) {
  const std::string in = readFile(GetParam());
  std::string actual, why;
  ASSERT_TRUE(formatText(GetParam(), in, &actual, &why)) << why;
  EXPECT_EQ(countComments("out.bw", actual), countComments(GetParam(), in));
}

INSTANTIATE_TEST_SUITE_P(Goldens, FmtGolden, ::testing::ValuesIn(fmtInputs()),
                         [](const ::testing::TestParamInfo<std::string> &info) {
                           auto stem = std::filesystem::path(info.param).filename().string();
                           std::string name = stem.substr(0, stem.size() - 6);
                           for (char &c : name)
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return name;
                         });

TEST(FmtGoldens, EveryInputHasAnExpectedFile) {
  EXPECT_GE(fmtInputs().size(), 4u);
  for (const auto &in : fmtInputs()) EXPECT_TRUE(std::filesystem::exists(expectedFor(in))) << expectedFor(in);
}

// ---- properties that do not need a file ----

TEST(Fmt, EmptyAndCommentOnlyFiles) {
  std::string out, why;
  ASSERT_TRUE(formatText("empty.bw", "", &out, &why)) << why;
  EXPECT_EQ(out, "");
  ASSERT_TRUE(formatText("blank.bw", "\n\n\n", &out, &why)) << why;
  EXPECT_EQ(out, "");
  ASSERT_TRUE(formatText("comment.bw", "# only a comment   \n\n\n", &out, &why)) << why;
  EXPECT_EQ(out, "# only a comment\n");
}

TEST(Fmt, StringsAreReEscaped) {
  std::string out, why;
  ASSERT_TRUE(formatText("s.bw", "policy p {\n  description \"a \\\"quoted\\\" \\\\ tab\\t.\"\n}\n", &out, &why)) << why;
  EXPECT_EQ(out, "policy p {\n  description \"a \\\"quoted\\\" \\\\ tab\\t.\"\n}\n");
}

TEST(Fmt, CrLfInputFormatsLikeLf) {
  std::string lf = "policy p {\n  # note\n  rule r {\n    on file.open\n    deny\n  }\n}\n";
  std::string crlf;
  for (char c : lf) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  std::string a, b, why;
  ASSERT_TRUE(formatText("lf.bw", lf, &a, &why)) << why;
  ASSERT_TRUE(formatText("crlf.bw", crlf, &b, &why)) << why;
  EXPECT_EQ(b, a);
}

} // namespace
} // namespace bulwark::test
