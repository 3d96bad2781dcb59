#include "Diagnostic.h"

#include <algorithm>

namespace bulwark {

namespace {
const std::vector<DiagKindInfo> &registry() {
  static const std::vector<DiagKindInfo> kinds = {
#define DIAG(code, severity, title, explanation) {DiagId::code, #code, Severity::severity, title, explanation},
#include "DiagnosticKinds.def"
  };
  return kinds;
}
} // namespace

const DiagKindInfo &diagKind(DiagId id) { return registry()[static_cast<size_t>(id)]; }

const DiagKindInfo *findDiagKind(std::string_view code) {
  for (const auto &k : registry())
    if (k.code == code)
      return &k;
  return nullptr;
}

std::vector<DiagKindInfo> allDiagKinds() { return registry(); }

std::string_view severityName(Severity s) {
  switch (s) {
  case Severity::Error: return "error";
  case Severity::Warning: return "warning";
  case Severity::Note: return "note";
  }
  return "error";
}

Diagnostic &DiagnosticEngine::report(DiagId id, SourceLoc loc, std::string message) {
  diags_.push_back({id, diagKind(id).severity, loc, std::move(message), {}, {}});
  return diags_.back();
}

size_t DiagnosticEngine::errorCount() const {
  return std::count_if(diags_.begin(), diags_.end(), [](const Diagnostic &d) { return d.severity == Severity::Error; });
}

size_t DiagnosticEngine::warningCount() const {
  return std::count_if(diags_.begin(), diags_.end(), [](const Diagnostic &d) { return d.severity == Severity::Warning; });
}

void DiagnosticEngine::sort() {
  std::stable_sort(diags_.begin(), diags_.end(), [](const Diagnostic &a, const Diagnostic &b) {
    if (a.loc.file != b.loc.file) return a.loc.file < b.loc.file;
    if (a.loc.line != b.loc.line) return a.loc.line < b.loc.line;
    if (a.loc.column != b.loc.column) return a.loc.column < b.loc.column;
    return a.code() < b.code();
  });
}

} // namespace bulwark
