#include "DiagnosticRender.h"

#include "Json.h"

#include <cstdio>
#include <set>

namespace bulwark {

namespace {

const char *kBold = "\033[1m", *kRed = "\033[1;31m", *kYellow = "\033[1;33m", *kCyan = "\033[1;36m",
           *kGreen = "\033[1;32m", *kReset = "\033[0m";

std::string locString(const SourceManager &sm, const SourceLoc &l) {
  if (!l.valid()) return {};
  return sm.file(l.file).path() + ":" + std::to_string(l.line) + ":" + std::to_string(l.column);
}

// The source line, then a caret under the column and tildes under the rest of the token.
void snippet(const SourceManager &sm, const SourceLoc &l, bool color, std::string &out) {
  if (!l.valid() || l.file >= sm.size()) return;
  std::string_view line = sm.file(l.file).lineText(l.line);
  std::string num = std::to_string(l.line);
  std::string pad(num.size(), ' ');
  out += " " + pad + " |\n";
  out += " " + num + " | " + std::string(line) + "\n";
  std::string marker;
  for (uint32_t i = 1; i < l.column && i - 1 < line.size(); ++i)
    marker += line[i - 1] == '\t' ? '\t' : ' ';
  uint32_t len = l.length == 0 ? 1 : l.length;
  if (l.column - 1 + len > line.size() && line.size() >= l.column) len = static_cast<uint32_t>(line.size() - l.column + 1);
  if (len == 0) len = 1;
  std::string underline = "^" + std::string(len - 1, '~');
  out += " " + pad + " | " + marker + (color ? kGreen : "") + underline + (color ? kReset : "") + "\n";
}

std::string renderText(const SourceManager &sm, const std::vector<Diagnostic> &diags, bool color) {
  std::string out;
  for (const auto &d : diags) {
    std::string where = locString(sm, d.loc);
    const char *sevColor = d.severity == Severity::Error ? kRed : kYellow;
    if (color) out += kBold;
    if (!where.empty()) out += where + ": ";
    if (color) out += sevColor;
    out += std::string(severityName(d.severity)) + "[" + std::string(d.code()) + "]";
    if (color) out += kReset + std::string(kBold);
    out += ": " + d.message;
    if (color) out += kReset;
    out += "\n";
    snippet(sm, d.loc, color, out);
    for (const auto &n : d.notes) {
      std::string nw = locString(sm, n.loc);
      out += (color ? std::string(kCyan) : "") + "note" + (color ? kReset : "") + ": " + (nw.empty() ? "" : nw + ": ") + n.message + "\n";
      snippet(sm, n.loc, color, out);
    }
    if (!d.help.empty())
      out += (color ? std::string(kCyan) : "") + "help" + (color ? kReset : "") + ": " + d.help + "\n";
    out += "\n";
  }
  size_t errors = 0, warnings = 0;
  for (const auto &d : diags) (d.severity == Severity::Error ? errors : warnings) += d.severity != Severity::Note;
  if (errors || warnings) {
    out += std::to_string(errors) + (errors == 1 ? " error" : " errors") + ", " + std::to_string(warnings) +
           (warnings == 1 ? " warning" : " warnings") + " generated.\n";
  }
  return out;
}

void jsonLoc(JsonWriter &w, const SourceManager &sm, const SourceLoc &l) {
  if (!l.valid()) { w.null(); return; }
  w.beginObject()
      .key("file").value(sm.file(l.file).path())
      .key("line").value(l.line)
      .key("column").value(l.column)
      .key("length").value(l.length)
      .endObject();
}

std::string renderJson(const SourceManager &sm, const std::vector<Diagnostic> &diags) {
  JsonWriter w;
  w.beginObject().key("diagnostics").beginArray();
  for (const auto &d : diags) {
    w.beginObject()
        .key("code").value(d.code())
        .key("severity").value(severityName(d.severity))
        .key("title").value(diagKind(d.id).title)
        .key("message").value(d.message)
        .key("location");
    jsonLoc(w, sm, d.loc);
    w.key("notes").beginArray();
    for (const auto &n : d.notes) {
      w.beginObject().key("message").value(n.message).key("location");
      jsonLoc(w, sm, n.loc);
      w.endObject();
    }
    w.endArray();
    if (!d.help.empty()) w.key("help").value(d.help);
    w.endObject();
  }
  w.endArray();
  size_t errors = 0, warnings = 0;
  for (const auto &d : diags) (d.severity == Severity::Error ? errors : warnings)++;
  w.key("errors").value(static_cast<uint64_t>(errors)).key("warnings").value(static_cast<uint64_t>(warnings)).endObject();
  return w.str() + "\n";
}

std::string renderSarif(const SourceManager &sm, const std::vector<Diagnostic> &diags, const RenderOptions &opts) {
  JsonWriter w;
  w.beginObject()
      .key("$schema").value("https://json.schemastore.org/sarif-2.1.0.json")
      .key("version").value("2.1.0")
      .key("runs").beginArray().beginObject()
      .key("tool").beginObject().key("driver").beginObject()
      .key("name").value("bulwarkc")
      .key("version").value(opts.toolVersion)
      .key("informationUri").value("https://github.com/bulwark-policy/bulwark")
      .key("rules").beginArray();
  // Every kind is listed so ruleIndex is stable across runs.
  auto kinds = allDiagKinds();
  for (const auto &k : kinds) {
    w.beginObject()
        .key("id").value(k.code)
        .key("name").value(k.title)
        .key("shortDescription").beginObject().key("text").value(k.title).endObject()
        .key("fullDescription").beginObject().key("text").value(k.explanation).endObject()
        .key("defaultConfiguration").beginObject().key("level").value(k.severity == Severity::Error ? "error" : "warning").endObject()
        .endObject();
  }
  w.endArray().endObject().endObject();
  w.key("results").beginArray();
  for (const auto &d : diags) {
    w.beginObject()
        .key("ruleId").value(d.code())
        .key("ruleIndex").value(static_cast<uint64_t>(d.id))
        .key("level").value(d.severity == Severity::Error ? "error" : d.severity == Severity::Warning ? "warning" : "note")
        .key("message").beginObject().key("text").value(d.message + (d.help.empty() ? "" : " (help: " + d.help + ")")).endObject();
    w.key("locations").beginArray();
    if (d.loc.valid()) {
      w.beginObject().key("physicalLocation").beginObject()
          .key("artifactLocation").beginObject().key("uri").value(sm.file(d.loc.file).path()).endObject()
          .key("region").beginObject()
          .key("startLine").value(d.loc.line)
          .key("startColumn").value(d.loc.column)
          .key("endColumn").value(d.loc.column + (d.loc.length ? d.loc.length : 1))
          .endObject().endObject().endObject();
    }
    w.endArray();
    w.key("partialFingerprints").beginObject().key("bulwarkDiagnostic/v1").value(diagnosticFingerprint(sm, d)).endObject();
    w.endObject();
  }
  w.endArray().endObject().endArray().endObject();
  return w.str() + "\n";
}

// GitHub workflow commands: properties and messages escape %, CR, LF (and , : in properties).
std::string ghEscape(std::string_view s, bool property) {
  std::string out;
  for (char c : s) {
    if (c == '%') out += "%25";
    else if (c == '\r') out += "%0D";
    else if (c == '\n') out += "%0A";
    else if (property && c == ':') out += "%3A";
    else if (property && c == ',') out += "%2C";
    else out += c;
  }
  return out;
}

std::string renderGithub(const SourceManager &sm, const std::vector<Diagnostic> &diags) {
  std::string out;
  for (const auto &d : diags) {
    out += "::" + std::string(d.severity == Severity::Error ? "error" : d.severity == Severity::Warning ? "warning" : "notice");
    if (d.loc.valid())
      out += " file=" + ghEscape(sm.file(d.loc.file).path(), true) + ",line=" + std::to_string(d.loc.line) + ",col=" + std::to_string(d.loc.column);
    out += ",title=" + ghEscape(std::string(d.code()) + " " + std::string(diagKind(d.id).title), true);
    out += "::" + ghEscape(d.message + (d.help.empty() ? "" : " (help: " + d.help + ")"), false) + "\n";
  }
  return out;
}

} // namespace

std::string diagnosticFingerprint(const SourceManager &sm, const Diagnostic &d) {
  std::string key = std::string(d.code()) + "|" + d.message;
  if (d.loc.valid()) key += "|" + sm.file(d.loc.file).path() + "|" + std::string(sm.file(d.loc.file).lineText(d.loc.line));
  // FNV-1a, 64-bit: stable across runs and platforms.
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : key) { h ^= c; h *= 1099511628211ull; }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::string renderDiagnostics(const SourceManager &sm, const std::vector<Diagnostic> &diags, DiagFormat format,
                              const RenderOptions &opts) {
  switch (format) {
  case DiagFormat::Text: return renderText(sm, diags, opts.color);
  case DiagFormat::Json: return renderJson(sm, diags);
  case DiagFormat::Sarif: return renderSarif(sm, diags, opts);
  case DiagFormat::Github: return renderGithub(sm, diags);
  }
  return {};
}

} // namespace bulwark
