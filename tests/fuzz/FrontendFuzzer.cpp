// libFuzzer target over the whole front end: the input bytes are a .bw source, run through
// Compilation with lint (parse, module loading, sema, lint) exactly as `bulwarkc lint`
// does; the diagnostics are rendered in every format (JSON and SARIF must be valid JSON);
// and when the source parses without errors (what `bulwarkc fmt` requires) it is
// formatted, and the result must parse, keep every comment, be a fixed point of fmt and
// mean the same: linting it reports the same diagnostics (code and message; positions move).
// Any violation abort()s, which libFuzzer reports as a crash with the input saved.
//
// Built only with -DBULWARK_FUZZ=ON and clang (tests/fuzz/fuzz-smoke does that); see
// docs/testing.md, "Fuzzing".
#include "Compilation.h"
#include "DiagnosticRender.h"
#include "Formatter.h"
#include "LineDiff.h"
#include "MiniJson.h"
#include "Parser.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

[[noreturn]] void fail(const char *what, const std::string &detail) {
  std::fprintf(stderr, "\n=== bulwark front-end fuzzer: %s\n%s\n", what, detail.c_str());
  std::abort();
}

void renderEverything(bulwark::Compilation &c) {
  bulwark::RenderOptions opts;
  opts.toolVersion = "fuzz";
  for (auto format : {bulwark::DiagFormat::Text, bulwark::DiagFormat::Github, bulwark::DiagFormat::Json,
                      bulwark::DiagFormat::Sarif}) {
    std::string out = bulwark::renderDiagnostics(c.sources(), c.diags().all(), format, opts);
    if (format == bulwark::DiagFormat::Json || format == bulwark::DiagFormat::Sarif) {
      std::string error;
      if (!bulwark::test::parseJson(out, &error)) fail("renderer wrote invalid JSON", error + "\n" + out);
    }
  }
  opts.color = true;
  (void)bulwark::renderDiagnostics(c.sources(), c.diags().all(), bulwark::DiagFormat::Text, opts);
}

// Diagnostics without positions, sorted: what must not change when only layout changes.
std::vector<std::string> findings(bulwark::Compilation &c) {
  std::vector<std::string> out;
  for (const auto &d : c.diags().all()) out.push_back(std::string(d.code()) + ": " + d.message);
  std::sort(out.begin(), out.end());
  return out;
}

std::string joined(const std::vector<std::string> &v) {
  std::string out;
  for (const auto &s : v) out += "  " + s + "\n";
  return out;
}

void checkFormatter(const std::string &text, const std::vector<std::string> &before) {
  bulwark::SourceManager sm;
  bulwark::DiagnosticEngine diags;
  bulwark::FileId id = sm.add("fuzz.bw", text);
  auto file = bulwark::parseFile(sm, id, diags);
  if (diags.errorCount() != 0) return;  // bulwarkc fmt refuses such files
  std::string once = bulwark::formatFile(sm.file(id), *file);

  bulwark::SourceManager sm2;
  bulwark::DiagnosticEngine diags2;
  bulwark::FileId id2 = sm2.add("fmt1.bw", once);
  auto file2 = bulwark::parseFile(sm2, id2, diags2);
  if (diags2.errorCount() != 0)
    fail("fmt output does not parse",
         "--- input:\n" + text + "\n--- fmt(input):\n" + once + "\n--- errors:\n" +
             bulwark::renderDiagnostics(sm2, diags2.all(), bulwark::DiagFormat::Text, {}));
  if (file2->comments.size() != file->comments.size())
    fail("fmt changed the number of comments", "--- input:\n" + text + "\n--- fmt(input):\n" + once);
  std::string twice = bulwark::formatFile(sm2.file(id2), *file2);
  if (twice != once)
    fail("fmt is not idempotent",
         "--- input:\n" + text + "\n--- fmt(input):\n" + once + "\n--- diff fmt(fmt(input)):\n" +
             bulwark::unifiedDiff("fmt1.bw", once, twice));

  bulwark::Compilation formatted;
  formatted.addSource("fuzz.bw", once);
  formatted.lint();
  auto after = findings(formatted);
  if (after != before)
    fail("fmt changed what the policy means",
         "--- input:\n" + text + "\n--- fmt(input):\n" + once + "\n--- lint(input):\n" + joined(before) +
             "--- lint(fmt(input)):\n" + joined(after));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  // Policies are text of modest size; very large inputs only slow the search down.
  if (size > 16 * 1024) return -1;
  std::string text(reinterpret_cast<const char *>(data), size);

  bulwark::Compilation c;
  c.addSource("fuzz.bw", text);
  c.lint();  // must not throw: invalid UTF-8 and every other input is a diagnostic
  c.diags().sort();
  renderEverything(c);

  checkFormatter(text, findings(c));
  return 0;
}
