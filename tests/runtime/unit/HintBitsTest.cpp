// Where bw_hint_bit (abi/bw_match.h) puts each kind's bits in the shared bw_hint, how full the
// labels of many policies leave it, and the size of a policy's own bw_m_hint
// (bw_policy_hint_quarter_for, set by the runtime at load through bw_cfg_hint_quarter).
#include "bw_match.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace {

// Fraction of the UNDER quarter's bits that `labels` ancestors set.
double underFill(uint32_t labels) {
  std::vector<bool> set(size_t(4) * BW_HINT_QUARTER);
  for (uint32_t i = 0; i < labels; ++i)
    set[bw_hint_bit(0x800001, 1000 + 7ull * i, BW_IDENT_UNDER)] = true;
  size_t n = 0;
  for (size_t b = 2 * size_t(BW_HINT_QUARTER); b < 3 * size_t(BW_HINT_QUARTER); ++b)
    n += set[b];
  return double(n) / BW_HINT_QUARTER;
}

} // namespace

TEST(HintBits, TheMapHoldsFourQuartersOfBits) {
  EXPECT_EQ(uint64_t(BW_HINT_WORDS) * 64, 4ull * BW_HINT_QUARTER);
  EXPECT_EQ(BW_HINT_QUARTER & (BW_HINT_QUARTER - 1), 0u);  // a power of two: bits placed by a mask
}

TEST(HintBits, SmallPoliciesKeepTheSmallestOwnMapAndLargeOnesGrowToTheCap) {
  EXPECT_EQ(bw_policy_hint_quarter_for(0), BW_POLICY_HINT_QUARTER);
  EXPECT_EQ(bw_policy_hint_quarter_for(1024), BW_POLICY_HINT_QUARTER);
  EXPECT_EQ(bw_policy_hint_quarter_for(1025), 2 * BW_POLICY_HINT_QUARTER);
  EXPECT_EQ(bw_policy_hint_quarter_for(10000), 1u << 20);
  EXPECT_EQ(bw_policy_hint_quarter_for(100000000), BW_POLICY_HINT_QUARTER_MAX);
}

TEST(HintBits, EachKindStaysInItsPartOfAnOwnMap) {
  for (uint32_t quarter : {BW_POLICY_HINT_QUARTER, 1u << 20, BW_POLICY_HINT_QUARTER_MAX})
    for (uint64_t ino = 1; ino < 5000; ino += 13) {
      EXPECT_LT(bw_ident_hint(3, ino, BW_IDENT_SELF, quarter), 2 * quarter) << quarter;
      uint32_t under = bw_ident_hint(3, ino, BW_IDENT_UNDER, quarter);
      EXPECT_GE(under, 2 * quarter) << quarter;
      EXPECT_LT(under, 3 * quarter) << quarter;
      EXPECT_GE(bw_ident_hint(3, ino, BW_HINT_NAMES, quarter), 3 * quarter) << quarter;
    }
}

TEST(HintBits, EachKindStaysInItsPartOfTheMap) {
  constexpr uint32_t q = BW_HINT_QUARTER;
  for (uint64_t ino = 1; ino < 5000; ino += 13) {
    EXPECT_LT(bw_hint_bit(3, ino, BW_IDENT_SELF), 2 * q);
    uint32_t under = bw_hint_bit(3, ino, BW_IDENT_UNDER);
    EXPECT_GE(under, 2 * q);
    EXPECT_LT(under, 3 * q);
    EXPECT_GE(bw_hint_bit(3, ino, BW_HINT_NAMES), 3 * q);
    EXPECT_LT(bw_hint_bit(3, ino, BW_HINT_NAMES), 4 * q);
  }
}

TEST(HintBits, ManyPoliciesOfListedDirectoriesLeaveFewBitsSet) {
  EXPECT_LT(underFill(10000), 0.005);  // one 10,000-prefix policy: an ancestor in 200 hinted at most
  EXPECT_LT(underFill(40000), 0.02);
  EXPECT_GT(underFill(40000), 0.01);   // the fill is real: 40,000 bits set among 2^21
}
