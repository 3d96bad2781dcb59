// Interrupted commands (bulwark dies at a point, as on a crash or kill -9; BULWARK_FAULT
// test hook): the previous state keeps enforcing or the policy is reported BROKEN, and the
// next load or unload repairs everything from what is pinned.
#include <gtest/gtest.h>

#include <cstdlib>
#include <regex>

#include "RuntimeVmUtil.h"

namespace bulwark::rttest {
namespace {

class Crash : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_TRUE(guest::InGuest());
    a = tmp.CreateFile("a");
    b = tmp.CreateFile("b");
    BundleSpec s1, s2;
    s1.deny = {IdOf(a)};
    s2.deny = {IdOf(b)};
    v1 = MakeBundle(tmp.path(), s1, "v1.bwb");
    v2 = MakeBundle(tmp.path(), s2, "v2.bwb");
  }
  void TearDown() override {
    unsetenv("BULWARK_FAULT");
    Bulwark(root, {"unload", "deny-test"});
  }
  ChildResult Dying(const std::string &point, std::vector<std::string> args) {
    setenv("BULWARK_FAULT", point.c_str(), 1);
    auto r = Bulwark(root, std::move(args));
    unsetenv("BULWARK_FAULT");
    EXPECT_EQ(r.exit_code, 70) << r.output;
    return r;
  }
  // Hits of deny-protected in `bulwark status`; -1 if the row is missing.
  long long DenyHits() {
    auto st = Bulwark(root, {"status", "deny-test"});
    std::smatch m;
    if (!std::regex_search(st.output, m, std::regex(R"(\n +0 deny-protected +file\.open +deny +([0-9]+))")))
      return -1;
    return std::stoll(m[1]);
  }
  // Opens path n times, expecting EPERM each time.
  void Deny(const std::string &path, int n) {
    for (int i = 0; i < n; i++)
      EXPECT_EQ(guest::OpenErrno(path), EPERM) << path;
  }
  int GenDirs() { return Exists(root.path() + "/deny-test/gen0") + Exists(root.path() + "/deny-test/gen1"); }
  std::string List() { return Bulwark(root, {"list"}).output; }
  void ExpectCleanAfterUnload() {
    ASSERT_EQ(Bulwark(root, {"unload", "deny-test"}).exit_code, 0);
    EXPECT_FALSE(Exists(root.path() + "/deny-test"));
    EXPECT_FALSE(Exists(root.path() + "/dispatch/file_open-0"));
    EXPECT_EQ(guest::OpenErrno(a), 0);
    EXPECT_EQ(guest::OpenErrno(b), 0);
  }
  TempDir tmp;
  PinRoot root;
  std::string a, b, v1, v2;
};

TEST_F(Crash, SwapDiesBeforeTheSwitch) {
  ASSERT_EQ(Bulwark(root, {"load", v1}).exit_code, 0);
  Deny(a, 3);
  Dying("before-switch", {"load", v2});
  EXPECT_EQ(guest::OpenErrno(a), EPERM) << "v1 must still enforce";
  EXPECT_EQ(guest::OpenErrno(b), 0);
  EXPECT_EQ(List().find("BROKEN"), std::string::npos) << List();
  EXPECT_EQ(GenDirs(), 2);  // the half-loaded v2 is still pinned
  EXPECT_EQ(DenyHits(), 4);
  auto r = Bulwark(root, {"load", v2});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(guest::OpenErrno(a), 0);
  EXPECT_EQ(guest::OpenErrno(b), EPERM);
  EXPECT_EQ(GenDirs(), 1);
  EXPECT_EQ(DenyHits(), 5);
  ExpectCleanAfterUnload();
}

TEST_F(Crash, SwapDiesAfterTheSwitch) {
  ASSERT_EQ(Bulwark(root, {"load", v1}).exit_code, 0);
  Deny(a, 3);
  Dying("after-switch", {"load", v2});
  EXPECT_EQ(guest::OpenErrno(a), 0);
  EXPECT_EQ(guest::OpenErrno(b), EPERM) << "the switch happened: v2 enforces";
  EXPECT_EQ(List().find("BROKEN"), std::string::npos) << List();
  EXPECT_EQ(GenDirs(), 2);  // v1 not cleaned up yet
  // v1's counts are not folded into v2 yet: status adds them.
  EXPECT_EQ(DenyHits(), 4);
  Deny(b, 2);
  EXPECT_EQ(DenyHits(), 6);
  // The next load folds them (once) before it reuses v1's generation.
  ASSERT_EQ(Bulwark(root, {"load", v1}).exit_code, 0);
  EXPECT_EQ(guest::OpenErrno(a), EPERM);
  EXPECT_EQ(guest::OpenErrno(b), 0);
  EXPECT_EQ(GenDirs(), 1);
  EXPECT_EQ(DenyHits(), 7);
  ExpectCleanAfterUnload();
}

TEST_F(Crash, SwapDiesAfterFoldingTheCounters) {
  ASSERT_EQ(Bulwark(root, {"load", v1}).exit_code, 0);
  Deny(a, 3);
  Dying("after-counter-fold", {"load", v2});
  EXPECT_EQ(guest::OpenErrno(b), EPERM);
  EXPECT_EQ(GenDirs(), 2);  // v1's pins stay, but its counts are in v2's base already
  EXPECT_EQ(DenyHits(), 4);
  ASSERT_EQ(Bulwark(root, {"load", v1}).exit_code, 0);
  EXPECT_EQ(GenDirs(), 1);
  EXPECT_EQ(DenyHits(), 4);
  Deny(a, 1);
  EXPECT_EQ(DenyHits(), 5);
  ExpectCleanAfterUnload();
}

TEST_F(Crash, FirstLoadDiesBeforeTheSwitch) {
  Dying("before-switch", {"load", v1});
  EXPECT_EQ(guest::OpenErrno(a), 0) << "not switched: the slot only has stand-ins";
  std::string l = List();
  EXPECT_NE(l.find("BROKEN: no valid record for the enforcing generation"), std::string::npos) << l;
  ASSERT_EQ(Bulwark(root, {"load", v1}).exit_code, 0);
  EXPECT_EQ(guest::OpenErrno(a), EPERM);
  EXPECT_EQ(List().find("BROKEN"), std::string::npos) << List();
  ExpectCleanAfterUnload();
}

TEST_F(Crash, FirstLoadDiesAfterLoadingTheObject) {
  Dying("after-load", {"load", v1});
  EXPECT_EQ(guest::OpenErrno(a), 0);
  EXPECT_NE(List().find("BROKEN"), std::string::npos) << List();
  ExpectCleanAfterUnload();
}

TEST_F(Crash, UnloadDiesAfterUnlinking) {
  ASSERT_EQ(Bulwark(root, {"load", v1}).exit_code, 0);
  Dying("unload-after-unlink", {"unload", "deny-test"});
  EXPECT_EQ(guest::OpenErrno(a), 0);
  std::string l = List();
  EXPECT_NE(l.find("BROKEN: file.open is not linked into lane 0"), std::string::npos) << l;
  // Loading again re-links it.
  ASSERT_EQ(Bulwark(root, {"load", v1}).exit_code, 0);
  EXPECT_EQ(guest::OpenErrno(a), EPERM);
  EXPECT_EQ(List().find("BROKEN"), std::string::npos) << List();
  // And an interrupted unload finishes when run again.
  Dying("unload-after-unlink", {"unload", "deny-test"});
  ExpectCleanAfterUnload();
}

}  // namespace
}  // namespace bulwark::rttest
