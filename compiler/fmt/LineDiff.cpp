#include "LineDiff.h"

#include <algorithm>
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

std::string unifiedDiff(const std::string &path, const std::string &before, const std::string &after, int context) {
  if (before == after) return {};
  auto a = splitLines(before), b = splitLines(after);
  size_t n = a.size(), m = b.size();
  // LCS table: policy files are small, O(n*m) is fine.
  std::vector<std::vector<uint32_t>> lcs(n + 1, std::vector<uint32_t>(m + 1, 0));
  for (size_t i = n; i-- > 0;)
    for (size_t j = m; j-- > 0;)
      lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
  struct Op { char kind; size_t ai, bi; };
  std::vector<Op> ops;
  size_t i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] == b[j]) { ops.push_back({' ', i++, j++}); }
    else if (j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j])) { ops.push_back({'+', i, j++}); }
    else { ops.push_back({'-', i++, j}); }
  }
  std::string out = "--- a/" + path + "\n+++ b/" + path + "\n";
  size_t k = 0;
  while (k < ops.size()) {
    if (ops[k].kind == ' ') { ++k; continue; }
    size_t start = k >= static_cast<size_t>(context) ? k - context : 0;
    size_t end = k;
    // Extend the hunk while changes are within 2*context of each other.
    size_t last = k;
    while (end < ops.size()) {
      if (ops[end].kind != ' ') last = end;
      else if (end - last > static_cast<size_t>(2 * context)) break;
      ++end;
    }
    end = std::min(ops.size(), last + context + 1);
    size_t aStart = ops[start].ai, bStart = ops[start].bi, aLen = 0, bLen = 0;
    for (size_t x = start; x < end; ++x) {
      if (ops[x].kind != '+') ++aLen;
      if (ops[x].kind != '-') ++bLen;
    }
    out += "@@ -" + std::to_string(aLen ? aStart + 1 : aStart) + "," + std::to_string(aLen) + " +" +
           std::to_string(bLen ? bStart + 1 : bStart) + "," + std::to_string(bLen) + " @@\n";
    for (size_t x = start; x < end; ++x)
      out += std::string(1, ops[x].kind) + (ops[x].kind == '+' ? b[ops[x].bi] : a[ops[x].ai]) + "\n";
    k = end;
  }
  return out;
}

} // namespace bulwark
