// The expectation reader and differ that the golden tests rely on: if these were lax,
// a golden test could pass without checking anything.
#include "GoldenExpectations.h"

#include <gtest/gtest.h>

namespace bulwark::test {
namespace {

TEST(GoldenExpectations, CaretTakesItsColumnAndTheLineAbove) {
  auto p = parseExpectations("policy p {\n"
                             "  mode x\n"
                             "#      ^ error[E0016]: mode is 'enforce' or 'audit', not 'x'\n"
                             "}\n");
  ASSERT_TRUE(p.errors.empty());
  ASSERT_EQ(p.expected.size(), 1u);
  EXPECT_EQ(p.expected[0], (DiagKey{"", 2, 8, "error", "E0016", "mode is 'enforce' or 'audit', not 'x'"}));
}

TEST(GoldenExpectations, ConsecutiveCaretsShareTheirCodeLine) {
  auto p = parseExpectations("a b\n"
                             "#^ error[E0001]: one\n"
                             "#  ^ warning[W0102]: two\n"
                             "c\n"
                             "  #^ error[E0005]: three\n");
  ASSERT_TRUE(p.errors.empty());
  ASSERT_EQ(p.expected.size(), 3u);
  EXPECT_EQ(p.expected[0].line, 1u);
  EXPECT_EQ(p.expected[0].column, 2u);
  EXPECT_EQ(p.expected[1].line, 1u);
  EXPECT_EQ(p.expected[1].column, 4u);
  EXPECT_EQ(p.expected[1].severity, "warning");
  EXPECT_EQ(p.expected[2].line, 4u);
  EXPECT_EQ(p.expected[2].column, 4u);
}

TEST(GoldenExpectations, ExplicitFormWithAndWithoutFile) {
  auto p = parseExpectations("# expect: 3:1 error[E0001]: unexpected 'x'\n"
                             "# expect: modules/testlib/broken.bw:2:17 error[E0001]: unexpected ']'\n");
  ASSERT_TRUE(p.errors.empty()) << p.errors[0];
  ASSERT_EQ(p.expected.size(), 2u);
  EXPECT_EQ(p.expected[0], (DiagKey{"", 3, 1, "error", "E0001", "unexpected 'x'"}));
  EXPECT_EQ(p.expected[1], (DiagKey{"modules/testlib/broken.bw", 2, 17, "error", "E0001", "unexpected ']'"}));
}

TEST(GoldenExpectations, OrdinaryCommentsAreNotExpectations) {
  auto p = parseExpectations("# a comment\n# expected: nothing here\nx # ^ trailing is code\n");
  EXPECT_TRUE(p.errors.empty());
  EXPECT_TRUE(p.expected.empty());
}

TEST(GoldenExpectations, MalformedExpectationsAreErrorsNotSilentlySkipped) {
  EXPECT_EQ(parseExpectations("#^ error[E0001]: nothing above\n").errors.size(), 1u);
  EXPECT_EQ(parseExpectations("x\n#^error[E0001]: no space\n").errors.size(), 1u);
  EXPECT_EQ(parseExpectations("x\n#^ fatal[E0001]: bad severity\n").errors.size(), 1u);
  EXPECT_EQ(parseExpectations("x\n#^ error[E7777]: unknown code\n").errors.size(), 1u);
  EXPECT_EQ(parseExpectations("x\n#^ error[E0001] no colon\n").errors.size(), 1u);
  EXPECT_EQ(parseExpectations("# expect: 3 error[E0001]: no column\n").errors.size(), 1u);
  EXPECT_EQ(parseExpectations("# expect: 0:1 error[E0001]: line zero\n").errors.size(), 1u);
}

TEST(GoldenExpectations, DiffNamesMissingAndUnexpected) {
  DiagKey a{"", 1, 2, "error", "E0001", "a"}, b{"", 3, 4, "warning", "W0108", "b"};
  EXPECT_EQ(diffDiagnostics({a, b}, {b, a}), "");
  std::string d = diffDiagnostics({a}, {b});
  EXPECT_NE(d.find("expected but not reported:\n  - 1:2 error[E0001]: a"), std::string::npos) << d;
  EXPECT_NE(d.find("reported but not expected:\n  + 3:4 warning[W0108]: b"), std::string::npos) << d;
  EXPECT_NE(d.find("#  ^ warning[W0108]: b"), std::string::npos) << d;
}

TEST(GoldenExpectations, DiffCountsDuplicates) {
  DiagKey a{"", 1, 2, "error", "E0001", "a"};
  EXPECT_NE(diffDiagnostics({a}, {a, a}), "");
  EXPECT_NE(diffDiagnostics({a, a}, {a}), "");
}

TEST(GoldenExpectations, MessagesCompareExactly) {
  DiagKey a{"", 1, 2, "error", "E0001", "unexpected 'x'"};
  DiagKey b = a;
  b.message = "unexpected 'x'; expected a name";
  EXPECT_NE(diffDiagnostics({a}, {b}), "");
}

} // namespace
} // namespace bulwark::test
