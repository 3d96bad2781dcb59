// The size of bw_m_hint (abi/bw_match.h bw_hint_bits_for, set by the runtime at load through
// bw_cfg_hint_bits) and where bw_ident_hint puts each kind's bits in a map of that size.
#include "bw_match.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace {

// Fraction of the UNDER quarter's bits that `labels` ancestors set in a map of `bits`.
double underFill(uint32_t labels, uint32_t bits) {
  std::vector<bool> set(size_t(1) << bits);
  for (uint32_t i = 0; i < labels; ++i)
    set[bw_ident_hint(0x800001, 1000 + 7ull * i, BW_IDENT_UNDER, bits)] = true;
  size_t n = 0;
  for (size_t b = size_t(1) << (bits - 1); b < (size_t(3) << (bits - 2)); ++b)
    n += set[b];
  return double(n) / double(size_t(1) << (bits - 2));
}

} // namespace

TEST(HintBits, SmallPoliciesKeepTheSmallestMapAndLargeOnesGrowToTheCap) {
  EXPECT_EQ(bw_hint_bits_for(0), BW_HINT_BITS);
  EXPECT_EQ(bw_hint_bits_for(1024), BW_HINT_BITS);
  EXPECT_EQ(bw_hint_bits_for(1025), BW_HINT_BITS + 1);
  EXPECT_EQ(bw_hint_bits_for(10000), 22u);
  EXPECT_EQ(bw_hint_bits_for(100000000), BW_HINT_BITS_MAX);
}

TEST(HintBits, EachKindStaysInItsPartOfTheMap) {
  for (uint32_t bits : {BW_HINT_BITS, 22u, BW_HINT_BITS_MAX}) {
    uint32_t half = 1u << (bits - 1), quarter = 1u << (bits - 2);
    for (uint64_t ino = 1; ino < 5000; ino += 13) {
      EXPECT_LT(bw_ident_hint(3, ino, BW_IDENT_SELF, bits), half) << bits;
      uint32_t under = bw_ident_hint(3, ino, BW_IDENT_UNDER, bits);
      EXPECT_GE(under, half) << bits;
      EXPECT_LT(under, half + quarter) << bits;
      EXPECT_GE(bw_ident_hint(3, ino, BW_HINT_NAMES, bits), half + quarter) << bits;
      EXPECT_LT(bw_ident_hint(3, ino, BW_HINT_NAMES, bits), 2 * half) << bits;
    }
  }
}

TEST(HintBits, AnOutOfRangeSizeMeansTheSmallestMap) {
  // The programs read bw_cfg_hint_bits; an object whose rodata was never set must agree with
  // a runtime that sized the map as the smallest.
  EXPECT_EQ(bw_ident_hint(1, 42, BW_IDENT_UNDER, 0), bw_ident_hint(1, 42, BW_IDENT_UNDER, BW_HINT_BITS));
  EXPECT_EQ(bw_ident_hint(1, 42, BW_IDENT_SELF, 99), bw_ident_hint(1, 42, BW_IDENT_SELF, BW_HINT_BITS));
}

TEST(HintBits, TenThousandListedDirectoriesLeaveFewBitsSet) {
  EXPECT_GT(underFill(10000, BW_HINT_BITS), 0.12);  // the fixed map: about one ancestor in seven hinted
  EXPECT_LT(underFill(10000, bw_hint_bits_for(10000)), 0.02);
}
