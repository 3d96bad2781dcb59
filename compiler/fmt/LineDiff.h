// A unified diff of two texts by lines, for `bulwarkc fmt --check`.
#pragma once

#include <string>

namespace bulwark {

// Empty when equal. Headers name `path` as a/ and b/.
std::string unifiedDiff(const std::string &path, const std::string &before, const std::string &after, int context = 3);

} // namespace bulwark
