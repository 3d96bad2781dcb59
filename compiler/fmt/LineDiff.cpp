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
  struct Op { char kind; size_t ai, bi; };
  std::vector<Op> ops;
  // Common head and tail first: formatting changes are usually local.
  size_t head = 0;
  while (head < n && head < m && a[head] == b[head]) ++head;
  size_t tail = 0;
  while (tail < n - head && tail < m - head && a[n - 1 - tail] == b[m - 1 - tail]) ++tail;
  for (size_t k = 0; k < head; ++k) ops.push_back({' ', k, k});
  size_t an = n - head - tail, bm = m - head - tail;
  if (an * bm <= 4'000'000) {
    // LCS over the middle.
    std::vector<std::vector<uint32_t>> lcs(an + 1, std::vector<uint32_t>(bm + 1, 0));
    for (size_t i = an; i-- > 0;)
      for (size_t j = bm; j-- > 0;)
        lcs[i][j] = a[head + i] == b[head + j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
    size_t i = 0, j = 0;
    while (i < an || j < bm) {
      if (i < an && j < bm && a[head + i] == b[head + j]) { ops.push_back({' ', head + i++, head + j++}); }
      else if (j < bm && (i == an || lcs[i][j + 1] >= lcs[i + 1][j])) { ops.push_back({'+', head + i, head + j++}); }
      else { ops.push_back({'-', head + i++, head + j}); }
    }
  } else {
    // Too large to align line by line in bounded memory: one replacement block.
    for (size_t i = 0; i < an; ++i) ops.push_back({'-', head + i, head});
    for (size_t j = 0; j < bm; ++j) ops.push_back({'+', head + an, head + j});
  }
  for (size_t k = 0; k < tail; ++k) ops.push_back({' ', n - tail + k, m - tail + k});
  std::string rel = path.rfind('/', 0) == 0 ? path.substr(1) : path;  // a/abs/path, not a//abs/path
  std::string out = "--- a/" + rel + "\n+++ b/" + rel + "\n";
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
