// Renders diagnostics for people (clang-style text), tools (JSON), code scanning
// (SARIF 2.1.0) and GitHub Actions (workflow commands).
#pragma once

#include "Diagnostic.h"

#include <string>

namespace bulwark {

enum class DiagFormat { Text, Json, Sarif, Github };

struct RenderOptions {
  bool color = false;
  std::string toolVersion;
};

std::string renderDiagnostics(const SourceManager &sm, const std::vector<Diagnostic> &diags, DiagFormat format,
                              const RenderOptions &opts);

// A stable fingerprint for SARIF: code + file + the offending line's text (not its number,
// so unrelated edits above it do not change it) + message.
std::string diagnosticFingerprint(const SourceManager &sm, const Diagnostic &d);

} // namespace bulwark
