#include "GoldenExpectations.h"

#include <algorithm>
#include <charconv>
#include <filesystem>

namespace bulwark::test {

namespace {

std::vector<std::string_view> splitLines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view l = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    lines.push_back(l);
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  if (!lines.empty() && lines.back().empty() && !text.empty() && text.back() == '\n') lines.pop_back();
  return lines;
}

size_t skipSpace(std::string_view s, size_t i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  return i;
}

bool parseNumber(std::string_view s, uint32_t *v) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
  return ec == std::errc() && p == s.data() + s.size() && *v != 0;
}

// "error[E0006]: message" → severity, code, message.
bool parseBody(std::string_view body, DiagKey *k, std::string *why) {
  size_t open = body.find('[');
  size_t close = body.find("]: ");
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) {
    *why = "expected 'severity[CODE]: message' after the position";
    return false;
  }
  k->severity = std::string(body.substr(0, open));
  k->code = std::string(body.substr(open + 1, close - open - 1));
  k->message = std::string(body.substr(close + 3));
  if (k->severity != "error" && k->severity != "warning") {
    *why = "severity must be 'error' or 'warning', not '" + k->severity + "'";
    return false;
  }
  if (!findDiagKind(k->code)) {
    *why = "'" + k->code + "' is not a code in DiagnosticKinds.def";
    return false;
  }
  if (k->message.empty()) {
    *why = "the message is empty";
    return false;
  }
  return true;
}

} // namespace

ParsedExpectations parseExpectations(std::string_view text) {
  ParsedExpectations out;
  auto lines = splitLines(text);
  uint32_t lastCodeLine = 0;
  for (size_t idx = 0; idx < lines.size(); ++idx) {
    std::string_view l = lines[idx];
    uint32_t lineNo = static_cast<uint32_t>(idx + 1);
    size_t hash = skipSpace(l, 0);
    if (hash >= l.size() || l[hash] != '#') {
      lastCodeLine = lineNo;
      continue;
    }
    size_t after = skipSpace(l, hash + 1);
    auto fail = [&](const std::string &why) { out.errors.push_back("line " + std::to_string(lineNo) + ": " + why); };
    if (after < l.size() && l[after] == '^') {
      DiagKey k;
      if (lastCodeLine == 0) {
        fail("a caret expectation needs a code line above it");
        continue;
      }
      if (after + 1 >= l.size() || l[after + 1] != ' ') {
        fail("expected one space after '^'");
        continue;
      }
      k.line = lastCodeLine;
      k.column = static_cast<uint32_t>(after + 1);
      std::string why;
      if (!parseBody(l.substr(after + 2), &k, &why)) fail(why);
      else out.expected.push_back(std::move(k));
      continue;
    }
    if (l.substr(after).rfind("expect:", 0) == 0) {
      size_t p = skipSpace(l, after + 7);
      size_t sp = l.find(' ', p);
      if (sp == std::string_view::npos) {
        fail("expected 'expect: [FILE:]LINE:COL severity[CODE]: message'");
        continue;
      }
      std::string_view pos = l.substr(p, sp - p);
      DiagKey k;
      // LINE:COL, or FILE:LINE:COL (the last two ':' separate line and column).
      size_t c2 = pos.rfind(':');
      size_t c1 = c2 == std::string_view::npos || c2 == 0 ? std::string_view::npos : pos.rfind(':', c2 - 1);
      std::string_view lineText = c2 == std::string_view::npos ? std::string_view{}
                                  : c1 == std::string_view::npos ? pos.substr(0, c2)
                                                                 : pos.substr(c1 + 1, c2 - c1 - 1);
      uint32_t line = 0, col = 0;
      if (c2 == std::string_view::npos || !parseNumber(lineText, &line) || !parseNumber(pos.substr(c2 + 1), &col)) {
        fail("cannot read the position '" + std::string(pos) + "' (want LINE:COL or FILE:LINE:COL)");
        continue;
      }
      if (c1 != std::string_view::npos) k.file = std::string(pos.substr(0, c1));
      k.line = line;
      k.column = col;
      std::string why;
      if (!parseBody(l.substr(sp + 1), &k, &why)) fail(why);
      else out.expected.push_back(std::move(k));
      continue;
    }
    // An ordinary comment is not an expectation: like any other line, it anchors carets below it.
    lastCodeLine = lineNo;
  }
  return out;
}

std::string describe(const DiagKey &d) {
  return (d.file.empty() ? "" : d.file + ":") + std::to_string(d.line) + ":" + std::to_string(d.column) + " " + d.severity + "[" +
         d.code + "]: " + d.message;
}

std::string asExpectationLine(const DiagKey &d) {
  std::string body = d.severity + "[" + d.code + "]: " + d.message;
  if (!d.file.empty() || d.column < 2) return "# expect: " + describe(d);
  return "#" + std::string(d.column - 2, ' ') + "^ " + body + "    (line " + std::to_string(d.line) + ")";
}

std::string diffDiagnostics(std::vector<DiagKey> expected, std::vector<DiagKey> actual) {
  std::sort(expected.begin(), expected.end());
  std::sort(actual.begin(), actual.end());
  std::vector<DiagKey> missing, unexpected;
  std::set_difference(expected.begin(), expected.end(), actual.begin(), actual.end(), std::back_inserter(missing));
  std::set_difference(actual.begin(), actual.end(), expected.begin(), expected.end(), std::back_inserter(unexpected));
  if (missing.empty() && unexpected.empty()) return {};
  std::string out;
  if (!missing.empty()) {
    out += "expected but not reported:\n";
    for (const auto &d : missing) out += "  - " + describe(d) + "\n";
  }
  if (!unexpected.empty()) {
    out += "reported but not expected:\n";
    for (const auto &d : unexpected) out += "  + " + describe(d) + "\n";
    out += "as expectation lines (check them before pasting):\n";
    for (const auto &d : unexpected) out += "    " + asExpectationLine(d) + "\n";
  }
  return out;
}

std::vector<DiagKey> keysOf(const SourceManager &sm, const std::vector<Diagnostic> &diags, FileId mainFile,
                            const std::string &relativeTo) {
  std::vector<DiagKey> out;
  for (const auto &d : diags) {
    if (d.severity == Severity::Note) continue;
    DiagKey k;
    if (d.loc.file != mainFile && d.loc.file < sm.size()) {
      std::error_code ec;
      auto rel = std::filesystem::relative(sm.file(d.loc.file).path(), relativeTo, ec);
      k.file = ec || rel.empty() ? sm.file(d.loc.file).path() : rel.string();
    }
    k.line = d.loc.line;
    k.column = d.loc.column;
    k.severity = std::string(severityName(d.severity));
    k.code = std::string(d.code());
    k.message = d.message;
    out.push_back(std::move(k));
  }
  return out;
}

} // namespace bulwark::test
