// A bundle that cannot be loaded changes nothing: the previous version keeps enforcing,
// no stale pins are left, and the error names the cause with its exit code.
#include <gtest/gtest.h>

#include <algorithm>
#include <regex>

#include <fstream>
#include <sys/stat.h>

#include <bpf/bpf.h>

#include "RuntimeVmUtil.h"

namespace bulwark::rttest {
namespace {

class Failures : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_TRUE(guest::InGuest());
    a = tmp.CreateFile("a");
    b = tmp.CreateFile("b");
    BundleSpec v1;
    v1.deny = {IdOf(a)};
    auto r = Bulwark(root, {"load", MakeBundle(tmp.path(), v1, "v1.bwb")});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    ASSERT_EQ(guest::OpenErrno(a), EPERM);
    next.deny = {IdOf(b)};  // what a successful v2 would do
  }
  void TearDown() override { Bulwark(root, {"unload", "deny-test"}); }

  // v1 still enforces and nothing of the failed attempt is left.
  void ExpectV1Intact() {
    EXPECT_EQ(guest::OpenErrno(a), EPERM);
    EXPECT_EQ(guest::OpenErrno(b), 0);
    int gens = Exists(root.path() + "/deny-test/gen0") + Exists(root.path() + "/deny-test/gen1");
    EXPECT_EQ(gens, 1) << "a failed load left a generation pinned";
    auto l = Bulwark(root, {"list"});
    EXPECT_EQ(l.exit_code, 0);
    EXPECT_EQ(l.output.find("BROKEN"), std::string::npos) << l.output;
  }

  TempDir tmp;
  PinRoot root;
  std::string a, b;
  BundleSpec next;
};

TEST_F(Failures, VerifierRejectedBundleKeepsPreviousVersion) {
  next.object = "rejected.bpf.o";
  auto r = Bulwark(root, {"load", MakeBundle(tmp.path(), next, "bad.bwb")});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("verifier rejected"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("map_value_or_null"), std::string::npos) << "no verifier log excerpt:\n" << r.output;
  ExpectV1Intact();
}

TEST_F(Failures, TruncatedObjectKeepsPreviousVersion) {
  std::string dir = MakeBundle(tmp.path(), next, "trunc.bwb");
  std::filesystem::resize_file(dir + "/policy.bpf.o", 200);
  auto r = Bulwark(root, {"load", dir});
  EXPECT_EQ(r.exit_code, 4) << r.output;
  EXPECT_NE(r.output.find("corrupt bundle"), std::string::npos) << r.output;
  ExpectV1Intact();
}

TEST_F(Failures, WrongMapDataSizeKeepsPreviousVersion) {
  std::string dir = MakeBundle(tmp.path(), next, "short.bwb");
  std::ofstream(dir + "/maps/deny_inodes.bin", std::ios::app) << "x";
  auto r = Bulwark(root, {"load", dir});
  EXPECT_EQ(r.exit_code, 4) << r.output;
  EXPECT_NE(r.output.find("maps/deny_inodes.bin"), std::string::npos) << r.output;
  ExpectV1Intact();
}

TEST_F(Failures, OtherAbiIsRefused) {
  next.abi = 99;
  auto r = Bulwark(root, {"load", MakeBundle(tmp.path(), next, "abi99.bwb")});
  EXPECT_EQ(r.exit_code, 4) << r.output;
  EXPECT_NE(r.output.find("kernel ABI 99"), std::string::npos) << r.output;
  ExpectV1Intact();
}

TEST_F(Failures, OtherCompilerVersionIsRefused) {
  next.compiler = "bulwarkc 0.9.0";
  auto r = Bulwark(root, {"load", MakeBundle(tmp.path(), next, "newer.bwb")});
  EXPECT_EQ(r.exit_code, 4) << r.output;
  EXPECT_NE(r.output.find("compiler bulwarkc 0.9.0"), std::string::npos) << r.output;
  ExpectV1Intact();
}

TEST_F(Failures, GarbageManifestKeepsPreviousVersion) {
  std::string dir = MakeBundle(tmp.path(), next, "garbage.bwb");
  std::ofstream(dir + "/manifest.yaml", std::ios::trunc) << "{{{ not yaml";
  auto r = Bulwark(root, {"load", dir});
  EXPECT_EQ(r.exit_code, 4) << r.output;
  ExpectV1Intact();
}

TEST(PinConflict, ForeignMapAtASharedPinIsReported) {
  ASSERT_TRUE(guest::InGuest());
  TempDir tmp;
  PinRoot root;
  std::filesystem::create_directories(root.path() + "/shared");
  // Something else owns <root>/shared/bw_gen: a hash map of another shape.
  int fd = bpf_map_create(BPF_MAP_TYPE_HASH, "foreign", 8, 8, 16, nullptr);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(bpf_obj_pin(fd, (root.path() + "/shared/bw_gen").c_str()), 0);
  close(fd);
  BundleSpec s;
  s.deny = {IdOf(tmp.CreateFile("x"))};
  auto r = Bulwark(root, {"load", MakeBundle(tmp.path(), s)});
  EXPECT_EQ(r.exit_code, 8) << r.output;
  EXPECT_NE(r.output.find("shared/bw_gen is taken"), std::string::npos) << r.output;
  EXPECT_FALSE(Exists(root.path() + "/deny-test"));
  EXPECT_FALSE(Exists(root.path() + "/dispatch/file_open-0"));
}

TEST(Privilege, UnprivilegedLoadIsRefusedWithExit6) {
  ASSERT_TRUE(guest::InGuest());
  TempDir tmp;
  PinRoot root;
  chmod(tmp.path().c_str(), 0755);
  BundleSpec s;
  s.deny = {IdOf(tmp.CreateFile("a"))};
  std::string bundle = MakeBundle(tmp.path(), s);
  std::filesystem::permissions(bundle, std::filesystem::perms::all, std::filesystem::perm_options::add);
  auto child = guest::RunInChild([&] {
    if (setgid(65534) != 0 || setuid(65534) != 0)
      return 100;
    auto r = Bulwark(root, {"load", bundle});
    std::fprintf(stderr, "%s", r.output.c_str());
    return r.exit_code == 6 && r.output.find("missing privilege") != std::string::npos ? 0 : 1;
  });
  EXPECT_EQ(child.exit_code, 0);
  EXPECT_FALSE(Exists(root.path() + "/deny-test"));
}

TEST(NotLoaded, UnloadOfUnknownPolicyIsNotFound) {
  ASSERT_TRUE(guest::InGuest());
  PinRoot root;
  auto r = Bulwark(root, {"unload", "nothing-here"});
  EXPECT_EQ(r.exit_code, 7) << r.output;
  auto s = Bulwark(root, {"status", "nothing-here"});
  EXPECT_EQ(s.exit_code, 7) << s.output;
}

}  // namespace
}  // namespace bulwark::rttest
