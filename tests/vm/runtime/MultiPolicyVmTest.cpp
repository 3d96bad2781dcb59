// Several policies at once: each enforces, each unloads on its own; more than one lane.
#include <gtest/gtest.h>

#include <algorithm>
#include <regex>

#include "RuntimeVmUtil.h"

namespace bulwark::rttest {
namespace {

TEST(MultiPolicy, TwoPoliciesUnloadIndependently) {
  ASSERT_TRUE(guest::InGuest());
  TempDir tmp;
  PinRoot root;
  std::string a = tmp.CreateFile("a"), b = tmp.CreateFile("b"), c = tmp.CreateFile("c");
  BundleSpec p1, p2;
  p1.name = "policy-one";
  p1.deny = {IdOf(a)};
  p2.name = "policy-two";
  p2.deny = {IdOf(b)};
  ASSERT_EQ(Bulwark(root, {"load", MakeBundle(tmp.path(), p1)}).exit_code, 0);
  auto r = Bulwark(root, {"load", MakeBundle(tmp.path(), p2)});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("slot 1, lane 0"), std::string::npos) << r.output;

  EXPECT_EQ(guest::OpenErrno(a), EPERM);
  EXPECT_EQ(guest::OpenErrno(b), EPERM);
  EXPECT_EQ(guest::OpenErrno(c), 0);
  auto l = Bulwark(root, {"list"});
  EXPECT_NE(l.output.find("policy-one"), std::string::npos) << l.output;
  EXPECT_NE(l.output.find("policy-two"), std::string::npos) << l.output;

  // Unload the head of the chain first, then the other.
  ASSERT_EQ(Bulwark(root, {"unload", "policy-two"}).exit_code, 0);
  EXPECT_EQ(guest::OpenErrno(a), EPERM);
  EXPECT_EQ(guest::OpenErrno(b), 0);
  EXPECT_TRUE(Exists(root.path() + "/dispatch/file_open-0"));
  ASSERT_EQ(Bulwark(root, {"unload", "policy-one"}).exit_code, 0);
  EXPECT_EQ(guest::OpenErrno(a), 0);
  EXPECT_FALSE(Exists(root.path() + "/dispatch/file_open-0"));

  // Again, unloading the tail first.
  ASSERT_EQ(Bulwark(root, {"load", MakeBundle(tmp.path(), p1)}).exit_code, 0);
  ASSERT_EQ(Bulwark(root, {"load", MakeBundle(tmp.path(), p2)}).exit_code, 0);
  ASSERT_EQ(Bulwark(root, {"unload", "policy-one"}).exit_code, 0);
  EXPECT_EQ(guest::OpenErrno(a), 0);
  EXPECT_EQ(guest::OpenErrno(b), EPERM);
  ASSERT_EQ(Bulwark(root, {"unload", "policy-two"}).exit_code, 0);
  EXPECT_EQ(guest::OpenErrno(b), 0);
}

TEST(MultiPolicy, FortyPoliciesSpanTwoLanes) {
  ASSERT_TRUE(guest::InGuest());
  TempDir tmp;
  PinRoot root;
  constexpr int kN = 40;  // lane 0 holds 32
  std::vector<std::string> files;
  for (int i = 0; i < kN; i++) {
    files.push_back(tmp.CreateFile("f" + std::to_string(i)));
    BundleSpec s;
    s.name = "p" + std::to_string(i);
    s.deny = {IdOf(files.back())};
    auto r = Bulwark(root, {"load", MakeBundle(tmp.path(), s)});
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  EXPECT_TRUE(Exists(root.path() + "/dispatch/file_open-0"));
  EXPECT_TRUE(Exists(root.path() + "/dispatch/file_open-1"));
  for (int i = 0; i < kN; i++)
    EXPECT_EQ(guest::OpenErrno(files[i]), EPERM) << "policy p" << i;
  std::string other = tmp.CreateFile("other");
  EXPECT_EQ(guest::OpenErrno(other), 0);
  // Unload lane 1 completely: its dispatcher goes, lane 0 keeps enforcing.
  for (int i = 32; i < kN; i++)
    ASSERT_EQ(Bulwark(root, {"unload", "p" + std::to_string(i)}).exit_code, 0);
  EXPECT_FALSE(Exists(root.path() + "/dispatch/file_open-1"));
  EXPECT_EQ(guest::OpenErrno(files[35]), 0);
  EXPECT_EQ(guest::OpenErrno(files[0]), EPERM);
  EXPECT_EQ(guest::OpenErrno(files[31]), EPERM);
  for (int i = 0; i < 32; i++)
    ASSERT_EQ(Bulwark(root, {"unload", "p" + std::to_string(i)}).exit_code, 0);
  EXPECT_EQ(guest::OpenErrno(files[0]), 0);
  EXPECT_FALSE(Exists(root.path() + "/dispatch/file_open-0"));
}

}  // namespace
}  // namespace bulwark::rttest
