// The runtime's own bpf() calls are not decided by policies (bpf/runtime/dispatcher.bpf.c):
// a kernel.bpf rule that denies creating maps to every process stops this test process,
// while the runtime that loaded it, run from a path no policy lists, still replaces and
// unloads it (both create or remove BPF objects).
#include <gtest/gtest.h>

#include <bpf/bpf.h>
#include <unistd.h>

#include <cerrno>

#include "RuntimeVmUtil.h"

namespace bulwark::rttest {
namespace {

// errno of creating a small array map from this process; 0 when it was created.
int MapCreateErrno() {
  int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "bwtest_foreign", 4, 8, 1, nullptr);
  if (fd < 0)
    return errno;
  ::close(fd);
  return 0;
}

TEST(RuntimeBpf, AForeignBpfRuleLeavesTheRuntimeInControl) {
  ASSERT_TRUE(guest::InGuest()) << "refusing to load LSM programs outside the run-vm guest";
  PinRoot root;
  std::string bundle = GuestFile("rt-foreign-bpf.bwb");
  ASSERT_EQ(MapCreateErrno(), 0) << "before the load";
  auto r = Bulwark(root, {"load", bundle});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(MapCreateErrno(), EPERM) << "the attack: a process other than the runtime";
  r = Bulwark(root, {"load", bundle});  // a hot swap creates the new version's maps
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(MapCreateErrno(), EPERM) << "the new version enforces";
  r = Bulwark(root, {"unload", "rt_foreign_bpf"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(MapCreateErrno(), 0) << "after the unload";
}

} // namespace
} // namespace bulwark::rttest
