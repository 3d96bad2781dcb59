// Source text → AST. Syntax errors are reported as E0001 with recovery, so one run
// shows several; the returned File is best-effort and marked hasSyntaxErrors.
#pragma once

#include "Ast.h"
#include "Diagnostic.h"

namespace bulwark {

std::unique_ptr<ast::File> parseFile(const SourceManager &sm, FileId file, DiagnosticEngine &diags);

// Unescapes the body of a string literal (without quotes). On a bad escape returns false
// and sets *badOffset to the offset of the backslash within `body`.
bool unescapeString(std::string_view body, std::string *out, size_t *badOffset);

} // namespace bulwark
