#include "LineDiff.h"

#include <dtl/dtl.hpp>

#include <sstream>
#include <vector>

namespace bulwark {

namespace {
std::vector<std::string> splitLines(const std::string &s) {
  std::vector<std::string> lines;
  size_t pos = 0;
  while (pos < s.size()) {
    size_t nl = s.find('\n', pos);
    if (nl == std::string::npos) { lines.push_back(s.substr(pos)); break; }
    lines.push_back(s.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return lines;
}
} // namespace

std::string unifiedDiff(const std::string &path, const std::string &before, const std::string &after) {
  if (before == after) return {};
  dtl::Diff<std::string, std::vector<std::string>> diff(splitLines(before), splitLines(after));
  diff.compose();
  diff.composeUnifiedHunks();
  std::string rel = path.rfind('/', 0) == 0 ? path.substr(1) : path;  // a/abs/path, not a//abs/path
  std::ostringstream out;
  out << "--- a/" << rel << "\n+++ b/" << rel << "\n";
  diff.printUnifiedFormat(out);
  std::string text = out.str();
  // dtl numbers an empty side's range from 1; diff(1) and patch(1) use 0 ("-0,0").
  auto fix = [&text](const std::string &from, const std::string &to) {
    if (auto at = text.find(from); at != std::string::npos) text.replace(at, from.size(), to);
  };
  if (before.empty()) fix("@@ -1,0 ", "@@ -0,0 ");
  if (after.empty()) fix(" +1,0 @@", " +0,0 @@");
  return text;
}

} // namespace bulwark
