// The canonical formatter: `bulwarkc fmt`. Deterministic and idempotent; every comment
// is kept (own-line comments stay above the item that follows them, trailing comments
// stay on their line). Blank lines between items are kept, at most one in a row.
#pragma once

#include "Ast.h"

#include <string>

namespace bulwark {

struct FormatOptions {
  size_t maxWidth = 100;
};

// The file must have parsed without syntax errors.
std::string formatFile(const SourceFile &src, const ast::File &file, const FormatOptions &opts = {});

std::string escapeString(std::string_view value);

} // namespace bulwark
