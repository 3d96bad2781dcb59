// Thin slice: bulwark loads the fixture policy, the kernel denies open() of the protected
// file (EPERM) and nothing else, unload restores access and removes every pin.
#include <gtest/gtest.h>

#include "RuntimeVmUtil.h"

namespace bulwark::rttest {
namespace {

class LoadUnload : public ::testing::Test {
protected:
  void SetUp() override { ASSERT_TRUE(guest::InGuest()) << "refusing to load LSM programs outside the run-vm guest"; }
  TempDir tmp;
  PinRoot root;
};

TEST_F(LoadUnload, DeniesProtectedFileUntilUnloaded) {
  std::string protectedFile = tmp.CreateFile("protected", "secret");
  std::string otherFile = tmp.CreateFile("other", "fine");
  BundleSpec spec;
  spec.deny = {IdOf(protectedFile)};
  std::string bundle = MakeBundle(tmp.path(), spec);

  auto r = Bulwark(root, {"load", bundle});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("loaded policy deny-test"), std::string::npos) << r.output;

  EXPECT_EQ(guest::OpenErrno(protectedFile), EPERM);
  EXPECT_EQ(guest::OpenErrno(otherFile), 0);
  // Another process is denied too (the policy has host scope).
  auto child = guest::RunInChild([&] { return guest::OpenErrno(protectedFile); });
  EXPECT_EQ(child.exit_code, EPERM);

  EXPECT_TRUE(Exists(root.path() + "/deny-test/state"));
  EXPECT_TRUE(Exists(root.path() + "/dispatch/file_open-0"));
  EXPECT_TRUE(Exists(root.path() + "/shared/bw_progs_FILE_OPEN"));

  auto u = Bulwark(root, {"unload", "deny-test"});
  ASSERT_EQ(u.exit_code, 0) << u.output;
  EXPECT_EQ(guest::OpenErrno(protectedFile), 0);
  EXPECT_FALSE(Exists(root.path() + "/deny-test"));
  EXPECT_FALSE(Exists(root.path() + "/dispatch/file_open-0"));
}

}  // namespace
}  // namespace bulwark::rttest
