// bpfKind tells a BPF map from other file descriptors without opening a file (no kernel
// programs: a map is created, nothing is loaded).
#include "Bpf.h"

#include <bpf/bpf.h>
#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace bulwark::rt {
namespace {

TEST(BpfKind, MapsAndOtherDescriptors) {
  Fd map(bpf_map_create(BPF_MAP_TYPE_ARRAY, "bw_kind_test", 4, 4, 1, nullptr));
  if (!map)
    GTEST_SKIP() << "cannot create a BPF map here (no privilege?)";
  EXPECT_EQ(bpfKind(map.get()), BpfKind::Map);
  auto info = mapInfo(map.get());
  ASSERT_TRUE(info);
  EXPECT_EQ(info->type, uint32_t(BPF_MAP_TYPE_ARRAY));
  EXPECT_FALSE(progInfo(map.get()));
  EXPECT_FALSE(linkInfo(map.get()));

  Fd file(::open("/proc/self/status", O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(file);
  EXPECT_EQ(bpfKind(file.get()), BpfKind::Other);
  EXPECT_FALSE(mapInfo(file.get()));
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  Fd r(p[0]), w(p[1]);
  EXPECT_EQ(bpfKind(r.get()), BpfKind::Other);
}

}  // namespace
}  // namespace bulwark::rt
