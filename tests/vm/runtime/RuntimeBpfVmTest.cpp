// The runtime's own bpf() calls are not decided by policies (bpf/runtime/dispatcher.bpf.c):
// a kernel.bpf rule that denies creating maps to every process stops this test process,
// while the runtime that loaded it, run from a path no policy lists, still replaces and
// unloads it (both create or remove BPF objects). And the guard's checks of write opens of
// the runtime's executable and of unlinks of pins, made by the file_open and path_unlink
// dispatchers of lane 0, hold while the only policy loaded has no file.open or file.unlink rule.
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

TEST(RuntimeBpf, TheRuntimeAndItsPinsAreGuardedWithoutAFileOpenOrUnlinkPolicy) {
  ASSERT_TRUE(guest::InGuest()) << "refusing to load LSM programs outside the run-vm guest";
  PinRoot root;
  TempDir tmp;
  std::string exe = Which("bulwark"), other = tmp.CreateFile("other", "x");
  ASSERT_TRUE(Exists(exe)) << exe;
  ASSERT_EQ(guest::OpenErrno(exe, O_WRONLY), 0) << "before the load: root may open it for writing";
  auto r = Bulwark(root, {"load", GuestFile("rt-foreign-bpf.bwb")});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(Exists(root.path() + "/dispatch/file_open-0")) << "the guard's file_open dispatcher";
  EXPECT_EQ(guest::OpenErrno(exe, O_WRONLY), EPERM) << "the attack: rewriting the runtime in place";
  EXPECT_EQ(guest::OpenErrno(exe, O_RDWR), EPERM);
  EXPECT_EQ(guest::OpenErrno(exe, O_RDONLY), 0) << "reading it is not denied";
  EXPECT_EQ(guest::OpenErrno(other, O_WRONLY), 0) << "writing another file is not denied";
  EXPECT_TRUE(Exists(root.path() + "/dispatch/path_unlink-0")) << "the guard's path_unlink dispatcher";
  EXPECT_EQ(guest::UnlinkErrno(root.path() + "/shared/bw_gen"), EPERM) << "the attack: removing a pin";
  EXPECT_EQ(guest::UnlinkErrno(root.path() + "/dispatch/path_unlink-0"), EPERM) << "or the check's own link";
  EXPECT_EQ(guest::UnlinkErrno(other), 0) << "removing another file is not denied";
  auto st = Bulwark(root, {"status"});
  EXPECT_NE(st.output.find("self-protection: on (12 programs and the file_open and path_unlink dispatchers"), std::string::npos)
      << st.output;
  r = Bulwark(root, {"unload", "rt_foreign_bpf"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_FALSE(Exists(root.path() + "/dispatch/file_open-0")) << "it goes with the guard";
  EXPECT_FALSE(Exists(root.path() + "/dispatch/path_unlink-0")) << "and so does this one";
  EXPECT_EQ(guest::OpenErrno(exe, O_WRONLY), 0) << "after the unload";
}

} // namespace
} // namespace bulwark::rttest
