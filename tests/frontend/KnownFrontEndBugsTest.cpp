// Regression tests for front-end bugs the test suite and the fuzzer found. Each was written
// as a failing test before its fix; all are fixed now and run with the suite, so each
// comment says what used to go wrong. A newly found bug goes here as a DISABLED_ test until
// its fix (a diagnostics bug may go into tests/frontend/diagnostics instead). The suite keeps
// its name KnownFrontEndBugs because CTest's test names are made from it.
#include "FrontendTestSupport.h"

#include "Formatter.h"
#include "Parser.h"

#include <gtest/gtest.h>

namespace bulwark::test {
namespace {

std::unique_ptr<Compilation> lintText(const std::string &text) {
  auto c = std::make_unique<Compilation>();
  c->addSource("bug.bw", text);
  c->lint();
  c->diags().sort();
  return c;
}

std::vector<std::string> codesAt(Compilation &c, uint32_t line) {
  std::vector<std::string> out;
  for (const auto &d : c.diags().all())
    if (d.loc.file == 0 && d.loc.line == line) out.push_back(std::string(d.code()) + ": " + d.message);
  return out;
}

std::string all(Compilation &c) {
  std::string out;
  for (const auto &d : c.diags().all())
    out += std::to_string(d.loc.line) + ":" + std::to_string(d.loc.column) + " " + std::string(d.code()) + ": " + d.message + "\n";
  return out;
}

// Parser recovery: when the very first token of a file was unexpected, every later syntax
// error in the file went unreported (with any valid declaration first, recovery worked).
TEST(KnownFrontEndBugs, StrayFirstTokenHidesLaterSyntaxErrors) {
  auto c = lintText("rule stray { on file.open deny }\n"
                    "policy p { mode bogus bogus }\n");
  EXPECT_EQ(codesAt(*c, 1).size(), 1u) << all(*c);
  EXPECT_EQ(codesAt(*c, 2).size(), 1u) << "the second syntax error (line 2) is not reported:\n" << all(*c);
}

// E0011: a glob on a path must start with '/' or '**' (the message says so), but the check
// accepted any leading '*'. `*` never matches '/', so "*.key" can never match a kernel path.
TEST(KnownFrontEndBugs, PathGlobStartingWithSingleStarIsRejected) {
  auto c = lintText("policy p {\n  rule r {\n    on file.open\n    when file.path matches \"*.key\"\n    deny\n  }\n}\n");
  auto at4 = codesAt(*c, 4);
  ASSERT_EQ(at4.size(), 1u) << all(*c);
  EXPECT_EQ(at4[0], "E0011: glob \"*.key\" on a path must start with '/' or '**'");
}

// W0103 was reported twice for one condition over an empty list: once by the rule-level
// constant check ("does not depend on the event") and once from sema's fact ("the list is
// empty"); lint's de-duplication covered only the latter.
TEST(KnownFrontEndBugs, EmptyListConditionWarnsOnce) {
  auto c = lintText("policy p {\n  rule r {\n    on process.exec\n    when exec.path in []\n    deny\n  }\n}\n");
  EXPECT_EQ(codesAt(*c, 4).size(), 1u) << all(*c);
}

// E0014's explanation limits prefix patterns to the largest key a kernel LPM trie accepts.
// Sema did not check it, so the policy checked clean and failed later.
TEST(KnownFrontEndBugs, PrefixLongerThanLpmKeyLimitIsAnError) {
  std::string prefix = "/" + std::string(300, 'a') + "/";
  auto c = lintText("policy p {\n  rule r {\n    on file.open\n    when file.path startswith \"" + prefix +
                    "\"\n    deny\n  }\n}\n");
  auto at4 = codesAt(*c, 4);
  ASSERT_EQ(at4.size(), 1u) << all(*c);
  EXPECT_EQ(at4[0].substr(0, 5), "E0014");
}

// An imported module with a syntax error got an empty scope, so each use of one of its
// (existing) declarations added a misleading E0005 "module 'broken' has no list ...".
TEST(KnownFrontEndBugs, UsingAModuleWithSyntaxErrorsDoesNotCascade) {
  CompilationOptions opts;
  opts.stdlibDirs = {frontendTestDir() + "/diagnostics/modules"};
  Compilation c(opts);
  c.addSource("bug.bw", "import testlib.broken\n\npolicy p {\n  rule r {\n    on file.open\n    when file.path in "
                        "broken.paths\n    deny\n  }\n}\n");
  c.lint();
  EXPECT_TRUE(codesAt(c, 6).empty()) << all(c);
}

// A constant or list that refers to itself (directly or through others) was reported by
// nobody: declValue's cycle guard yielded "no value" silently, so every rule using it failed
// sema without a diagnostic and was dropped from the IR. `bulwarkc check` exited 0 and the
// policy lost those rules. E0008 covered only macros.
TEST(KnownFrontEndBugs, ConstantAndListCyclesAreErrorsNotSilentlyDroppedRules) {
  auto c = lintText("const a = b\n"
                    "const b = a\n"
                    "list l = [l, \"/x\"]\n\n"
                    "policy p {\n"
                    "  rule uses_const {\n    on net.connect\n    when net.dport == a\n    deny\n  }\n\n"
                    "  rule uses_list {\n    on file.open\n    when file.path in l\n    deny\n  }\n"
                    "}\n");
  ASSERT_EQ(c->semaResult().policies.size(), 1u);
  size_t rules = c->semaResult().policies[0].ir.rules.size();
  EXPECT_TRUE(c->diags().errorCount() > 0 || rules == 2)
      << "no error, yet " << 2 - rules << " of 2 rules were dropped:\n" << all(*c);
  EXPECT_GE(codesAt(*c, 1).size() + codesAt(*c, 2).size(), 1u) << "the const cycle is not reported:\n" << all(*c);
  EXPECT_EQ(codesAt(*c, 3).size(), 1u) << "the list cycle is not reported:\n" << all(*c);
}

// E0017's column was computed in the unescaped message, so an escape before the bad
// `{field}` shifted the caret left by one per escape (here 2: it pointed into `hi\"`).
TEST(KnownFrontEndBugs, MessageTemplateColumnCountsEscapes) {
  auto c = lintText("policy p {\n  rule r {\n    on file.open\n    deny \"say \\\"hi\\\" {file.nope}\"\n  }\n}\n");
  ASSERT_EQ(c->diags().all().size(), 1u) << all(*c);
  EXPECT_EQ(c->diags().all()[0].loc.column, 22u) << "the '{' of {file.nope} is at column 22:\n" << all(*c);
}

// Found by the fuzzer after the fix below: sequences that look like UTF-8 but are overlong,
// surrogates or above U+10FFFF also made ANTLR's decoder throw.
TEST(KnownFrontEndBugs, StrictUtf8OverlongSurrogateAndOutOfRangeAreSyntaxErrors) {
  for (const std::string bad : {"\xe0\x80\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xf0\x80\x80\x80"}) {
    std::unique_ptr<Compilation> c;
    ASSERT_NO_THROW(c = lintText("policy p {\n  # x" + bad + "\n}\n"));
    auto at2 = codesAt(*c, 2);
    ASSERT_EQ(at2.size(), 1u) << all(*c);
    EXPECT_EQ(at2[0].substr(0, 5), "E0001");
  }
}

// Found by the fuzzer: bytes that are not UTF-8 (a Latin-1 'é' in a comment) made the
// ANTLR input stream throw std::range_error ("wstring_convert::from_bytes") out of
// parseFile; bulwarkc reported "internal error" and exited 3. Now an E0001 at the offending
// byte (exit 1), and parseFile does not throw.
TEST(KnownFrontEndBugs, InvalidUtf8IsASyntaxErrorNotAnException) {
  const std::string text = "policy p {\n  # caf\xe9\n}\n";
  std::unique_ptr<Compilation> c;
  ASSERT_NO_THROW(c = lintText(text));
  auto at2 = codesAt(*c, 2);
  ASSERT_EQ(at2.size(), 1u) << all(*c);
  EXPECT_EQ(at2[0].substr(0, 5), "E0001");
}

} // namespace
} // namespace bulwark::test
