// A unified diff of two texts by lines (three lines of context), for `bulwarkc fmt --check`,
// computed by dtl (libdtl-dev).
#pragma once

#include <string>

namespace bulwark {

// Empty when equal. Headers name `path` as a/ and b/.
std::string unifiedDiff(const std::string &path, const std::string &before, const std::string &after);

} // namespace bulwark
