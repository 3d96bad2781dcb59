// unifiedDiff (fmt --check's diff): applying its hunks to the old text gives the new text,
// over random line edits, and the header and hunk form are those patch(1) reads.
#include "LineDiff.h"

#include <gtest/gtest.h>

#include <random>
#include <sstream>
#include <vector>

namespace bulwark::test {
namespace {

std::vector<std::string> lines(const std::string &s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

// Applies a unified diff strictly: context and removed lines must match the old text.
std::string applyDiff(const std::string &before, const std::string &diff) {
  auto a = lines(before), d = lines(diff);
  std::vector<std::string> out;
  size_t next = 0;  // next old line to copy
  for (size_t k = 2; k < d.size();) {
    long oldStart = 0, oldLen = 0, newStart = 0, newLen = 0;
    EXPECT_EQ(std::sscanf(d[k].c_str(), "@@ -%ld,%ld +%ld,%ld @@", &oldStart, &oldLen, &newStart, &newLen), 4) << d[k];
    size_t from = oldLen ? size_t(oldStart - 1) : size_t(oldStart);
    if (from > a.size() || from < next) {
      ADD_FAILURE() << "hunk " << d[k] << " starts outside the old text";
      return {};
    }
    while (next < from) out.push_back(a[next++]);
    for (++k; k < d.size() && d[k].rfind("@@", 0) != 0; ++k) {
      char kind = d[k][0];
      std::string text = d[k].substr(1);
      if (kind == '+') { out.push_back(text); continue; }
      if (next >= a.size()) {
        ADD_FAILURE() << "the diff removes or keeps a line past the end of the old text";
        return {};
      }
      EXPECT_EQ(a[next], text) << "at old line " << next + 1;
      if (kind == ' ') out.push_back(text);
      ++next;
    }
  }
  while (next < a.size()) out.push_back(a[next++]);
  std::string s;
  for (auto &l : out) s += l + "\n";
  return s;
}

TEST(LineDiff, HunksApplyToTheOldText) {
  std::mt19937 rng(17);
  for (int trial = 0; trial < 300; ++trial) {
    std::vector<std::string> a;
    for (int i = 0, n = int(rng() % 40); i < n; ++i) a.push_back("line " + std::to_string(i));
    auto b = a;
    for (int e = 0, edits = 1 + int(rng() % 6); e < edits; ++e) {
      int op = int(rng() % 3);
      if (op == 0 || b.empty()) b.insert(b.begin() + long(rng() % (b.size() + 1)), "new " + std::to_string(rng() % 1000));
      else if (op == 1) b.erase(b.begin() + long(rng() % b.size()));
      else b[rng() % b.size()] = "changed";
    }
    std::string before, after;
    for (auto &l : a) before += l + "\n";
    for (auto &l : b) after += l + "\n";
    std::string diff = unifiedDiff("/p.bw", before, after);
    if (before == after) {
      EXPECT_EQ(diff, "");
      continue;
    }
    ASSERT_EQ(diff.rfind("--- a/p.bw\n+++ b/p.bw\n@@ -", 0), 0u) << diff;
    EXPECT_EQ(applyDiff(before, diff), after) << "trial " << trial << "\n" << diff;
  }
}

} // namespace
} // namespace bulwark::test
