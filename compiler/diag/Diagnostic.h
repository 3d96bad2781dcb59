// Diagnostics: one registry of kinds (DiagnosticKinds.def), one engine that collects them.
#pragma once

#include "SourceManager.h"

#include <string>
#include <string_view>
#include <vector>

namespace bulwark {

enum class Severity { Error, Warning, Note };

enum class DiagId : uint32_t {
#define DIAG(code, severity, title, explanation) code,
#include "DiagnosticKinds.def"
};

struct DiagKindInfo {
  DiagId id;
  std::string_view code;
  Severity severity;
  std::string_view title;
  std::string_view explanation;
};

const DiagKindInfo &diagKind(DiagId id);
const DiagKindInfo *findDiagKind(std::string_view code);
std::vector<DiagKindInfo> allDiagKinds();
std::string_view severityName(Severity s);

struct DiagNote {
  SourceLoc loc;  // may be invalid: a note without a location
  std::string message;
};

struct Diagnostic {
  DiagId id;
  Severity severity;
  SourceLoc loc;
  std::string message;
  std::vector<DiagNote> notes;
  std::string help;  // a suggested fix, optional

  std::string_view code() const { return diagKind(id).code; }
};

class DiagnosticEngine {
public:
  Diagnostic &report(DiagId id, SourceLoc loc, std::string message);
  const std::vector<Diagnostic> &all() const { return diags_; }
  Diagnostic &at(size_t i) { return diags_.at(i); }
  size_t errorCount() const;
  size_t warningCount() const;
  // Stable order for output: by file, line, column, then code.
  void sort();

private:
  std::vector<Diagnostic> diags_;
};

} // namespace bulwark
