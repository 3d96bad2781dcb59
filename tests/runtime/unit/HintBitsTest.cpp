// The size of bw_m_hint (abi/bw_match.h bw_hint_quarter_for, set by the runtime at load
// through bw_cfg_hint_quarter) and where bw_ident_hint puts each kind's bits in a map of that size.
#include "bw_match.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace {

// Fraction of the UNDER quarter's bits that `labels` ancestors set in a map of `quarter`.
double underFill(uint32_t labels, uint32_t quarter) {
  std::vector<bool> set(size_t(4) * quarter);
  for (uint32_t i = 0; i < labels; ++i)
    set[bw_ident_hint(0x800001, 1000 + 7ull * i, BW_IDENT_UNDER, quarter)] = true;
  size_t n = 0;
  for (size_t b = 2 * size_t(quarter); b < 3 * size_t(quarter); ++b)
    n += set[b];
  return double(n) / quarter;
}

} // namespace

TEST(HintBits, SmallPoliciesKeepTheSmallestMapAndLargeOnesGrowToTheCap) {
  EXPECT_EQ(bw_hint_quarter_for(0), BW_HINT_QUARTER);
  EXPECT_EQ(bw_hint_quarter_for(1024), BW_HINT_QUARTER);
  EXPECT_EQ(bw_hint_quarter_for(1025), 2 * BW_HINT_QUARTER);
  EXPECT_EQ(bw_hint_quarter_for(10000), 1u << 20);
  EXPECT_EQ(bw_hint_quarter_for(100000000), BW_HINT_QUARTER_MAX);
}

TEST(HintBits, EachKindStaysInItsPartOfTheMap) {
  for (uint32_t quarter : {BW_HINT_QUARTER, 1u << 20, BW_HINT_QUARTER_MAX}) {
    for (uint64_t ino = 1; ino < 5000; ino += 13) {
      EXPECT_LT(bw_ident_hint(3, ino, BW_IDENT_SELF, quarter), 2 * quarter) << quarter;
      uint32_t under = bw_ident_hint(3, ino, BW_IDENT_UNDER, quarter);
      EXPECT_GE(under, 2 * quarter) << quarter;
      EXPECT_LT(under, 3 * quarter) << quarter;
      EXPECT_GE(bw_ident_hint(3, ino, BW_HINT_NAMES, quarter), 3 * quarter) << quarter;
      EXPECT_LT(bw_ident_hint(3, ino, BW_HINT_NAMES, quarter), 4 * quarter) << quarter;
    }
  }
}

TEST(HintBits, TenThousandListedDirectoriesLeaveFewBitsSet) {
  EXPECT_GT(underFill(10000, BW_HINT_QUARTER), 0.12);  // the smallest map: about one ancestor in seven hinted
  EXPECT_LT(underFill(10000, bw_hint_quarter_for(10000)), 0.02);
}
