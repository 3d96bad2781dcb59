// What `status` adds to the memlock kernels before 6.4 report for a map (their 6.1 layouts).
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include "Memory.h"

namespace bulwark::rt {
namespace {

TEST(MapLayout, HashCountsElementHeadersSpareElementsAndBuckets) {
  MapShape m{BPF_MAP_TYPE_HASH, 16, 8, 1000, 0};
  // memlock: 1000 x (16 + 8) rounded to a page; allocated: 1002 elements of 48 + 16 + 8 bytes
  // (one spare per CPU) and 1024 buckets of 16 bytes.
  EXPECT_EQ(mapLayoutExtra(m, 24576, 2), 1002u * 72 + 1024 * 16 - 24576);
}

TEST(MapLayout, NothingAddedWhenTheKernelCountsWhatItUses) {
  MapShape m{BPF_MAP_TYPE_HASH, 16, 8, 1000, 0};
  EXPECT_EQ(mapLayoutExtra(m, 90000, 2), 0u);  // 6.4 and later: memlock is the map's own count
}

TEST(MapLayout, TrieNodesTakeTheirKmallocSizeClass) {
  MapShape m{BPF_MAP_TYPE_LPM_TRIE, 4 + 256, 8, 100, BPF_F_NO_PREALLOC};
  // memlock: 100 x 272 rounded to a page; a node: 40 + 256 + 8 = 304 bytes, from kmalloc-512.
  EXPECT_EQ(mapLayoutExtra(m, 28672, 2), 100u * 512 - 28672);
}

TEST(MapLayout, ArraysAndSmallPerCpuHashesAddNothing) {
  EXPECT_EQ(mapLayoutExtra(MapShape{BPF_MAP_TYPE_PERCPU_ARRAY, 4, 32, 10, 0}, 4096, 4), 0u);
  EXPECT_EQ(mapLayoutExtra(MapShape{BPF_MAP_TYPE_ARRAY, 4, 8, 1000, 0}, 12288, 4), 0u);
  EXPECT_EQ(mapLayoutExtra(MapShape{BPF_MAP_TYPE_PERCPU_HASH, 8, 16, 10, 0}, 4096, 4), 0u);
}

TEST(JitImage, SixtyFourByteUnits) {
  EXPECT_EQ(jitImageSize(1), 64u);
  EXPECT_EQ(jitImageSize(64), 64u);
  EXPECT_EQ(jitImageSize(65), 128u);
}

TEST(KernelMemory, TotalIsTheSumOfItsParts) {
  KernelMemory a{1, 2, 3, 4, 5, 6}, b{10, 20, 30, 40, 50, 60};
  a += b;
  EXPECT_EQ(a.total(), 231u);
}

}  // namespace
}  // namespace bulwark::rt
