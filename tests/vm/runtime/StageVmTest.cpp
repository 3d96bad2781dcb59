// Staged loads: `load --stage` loads, verifies and wires a new version without letting it
// decide; `switch` makes it enforce with one write; `unstage` drops it. The loaded version
// keeps enforcing until the switch, and after a failed stage, an unstage or a switch that
// finds the staged version damaged.
#include <gtest/gtest.h>

#include <cstdlib>
#include <regex>

#include "RuntimeVmUtil.h"

namespace bulwark::rttest {
namespace {

class Stage : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_TRUE(guest::InGuest());
    a = tmp.CreateFile("a");
    b = tmp.CreateFile("b");
    c = tmp.CreateFile("c");
    BundleSpec v1, v2, v3;
    v1.deny = {IdOf(a)};
    v2.deny = {IdOf(b)};
    v3.deny = {IdOf(c)};
    v1.digest = "v1";
    v2.digest = "v2";
    v3.digest = "v3";
    b1 = MakeBundle(tmp.path(), v1, "v1.bwb");
    b2 = MakeBundle(tmp.path(), v2, "v2.bwb");
    b3 = MakeBundle(tmp.path(), v3, "v3.bwb");
  }
  void TearDown() override { Bulwark(root, {"unload", "deny-test"}); }

  void LoadV1() {
    auto r = Bulwark(root, {"load", b1});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    ASSERT_EQ(guest::OpenErrno(a), EPERM);
  }
  // Which of a, b, c are denied, as "a", "b", "c" (empty: none).
  std::string Denied() {
    std::string out;
    for (auto [name, path] : {std::pair{"a", a}, {"b", b}, {"c", c}})
      if (guest::OpenErrno(path) == EPERM)
        out += name;
    return out;
  }
  int GenDirs() { return Exists(root.path() + "/deny-test/gen0") + Exists(root.path() + "/deny-test/gen1"); }

  TempDir tmp;
  PinRoot root;
  std::string a, b, c, b1, b2, b3;
};

TEST_F(Stage, StagedVersionEnforcesOnlyAfterSwitch) {
  LoadV1();
  auto r = Bulwark(root, {"load", "--stage", b2});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("staged policy deny-test"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("not enforcing until 'bulwark switch deny-test'"), std::string::npos) << r.output;
  EXPECT_EQ(Denied(), "a") << "the staged version decides before its switch";
  EXPECT_EQ(GenDirs(), 2);

  auto l = Bulwark(root, {"list"});
  EXPECT_NE(l.output.find("(staged "), std::string::npos) << l.output;
  EXPECT_NE(l.output.find("v2.bwb"), std::string::npos) << l.output;
  EXPECT_EQ(l.output.find("BROKEN"), std::string::npos) << l.output;
  auto st = Bulwark(root, {"status", "deny-test"});
  EXPECT_TRUE(std::regex_search(st.output, std::regex(R"(\nstaged: +generation [01], 20[0-9-]+T.*v2\.bwb, content hash [0-9a-f]{16})")))
      << st.output;
  auto j = Bulwark(root, {"status", "deny-test", "--format", "json"});
  EXPECT_NE(j.output.find("\"staged\":{\"generation\":"), std::string::npos) << j.output;
  auto all = Bulwark(root, {"status"});
  EXPECT_NE(all.output.find(" STAGED"), std::string::npos) << all.output;

  r = Bulwark(root, {"switch", "deny-test"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("switched policy deny-test"), std::string::npos) << r.output;
  EXPECT_EQ(Denied(), "b");
  EXPECT_EQ(GenDirs(), 1) << "the replaced generation is retired";
  l = Bulwark(root, {"list", "--format", "json"});
  EXPECT_NE(l.output.find("\"staged\":null"), std::string::npos) << l.output;
  EXPECT_NE(l.output.find("\"healthy\":true"), std::string::npos) << l.output;

  r = Bulwark(root, {"switch", "deny-test"});
  EXPECT_EQ(r.exit_code, 7) << r.output;
  EXPECT_NE(r.output.find("has no staged version"), std::string::npos) << r.output;
  EXPECT_EQ(Denied(), "b");
}

TEST_F(Stage, UnstageLeavesTheLoadedVersionEnforcing) {
  LoadV1();
  ASSERT_EQ(Bulwark(root, {"load", "--stage", b2}).exit_code, 0);
  auto r = Bulwark(root, {"unstage", "deny-test"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(Denied(), "a");
  EXPECT_EQ(GenDirs(), 1);
  auto l = Bulwark(root, {"list"});
  EXPECT_EQ(l.output.find("staged"), std::string::npos) << l.output;
  EXPECT_EQ(Bulwark(root, {"unstage", "deny-test"}).exit_code, 7);
  EXPECT_EQ(Bulwark(root, {"switch", "deny-test"}).exit_code, 7);
  EXPECT_EQ(Bulwark(root, {"switch", "no-such-policy"}).exit_code, 7);
  // The next load is an ordinary hot swap.
  ASSERT_EQ(Bulwark(root, {"load", b3}).exit_code, 0);
  EXPECT_EQ(Denied(), "c");
}

TEST_F(Stage, FailedStageLeavesThePreviousVersionEnforcing) {
  LoadV1();
  BundleSpec bad;
  bad.object = "rejected.bpf.o";
  auto r = Bulwark(root, {"load", "--stage", MakeBundle(tmp.path(), bad, "bad.bwb")});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_EQ(Denied(), "a");
  EXPECT_EQ(GenDirs(), 1);
  EXPECT_EQ(Bulwark(root, {"switch", "deny-test"}).exit_code, 7);
}

TEST_F(Stage, SecondStageReplacesTheFirst) {
  LoadV1();
  ASSERT_EQ(Bulwark(root, {"load", "--stage", b2}).exit_code, 0);
  auto r = Bulwark(root, {"load", "--stage", b3});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("dropped the version staged before"), std::string::npos) << r.output;
  EXPECT_EQ(Denied(), "a");
  ASSERT_EQ(Bulwark(root, {"switch", "deny-test"}).exit_code, 0);
  EXPECT_EQ(Denied(), "c");
}

// A plain load while a version is staged drops it; a hook only the staged version used
// (file.unlink) must not stay wired into the generation the load switches to.
TEST_F(Stage, LoadWhileStagedDropsTheStagedVersion) {
  LoadV1();
  std::string u = tmp.CreateFile("u");
  BundleSpec withUnlink;
  withUnlink.object = "deny_inode_unlink.bpf.o";
  withUnlink.unlinkHook = true;
  withUnlink.deny = {IdOf(b), IdOf(u)};
  ASSERT_EQ(Bulwark(root, {"load", "--stage", MakeBundle(tmp.path(), withUnlink, "unlink.bwb")}).exit_code, 0);
  EXPECT_TRUE(Exists(root.path() + "/dispatch/path_unlink-0"));
  auto r = Bulwark(root, {"load", b3});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("dropped the version staged before"), std::string::npos) << r.output;
  EXPECT_EQ(Denied(), "c");
  EXPECT_EQ(guest::UnlinkErrno(u), 0) << "the dropped staged version's file.unlink program decides";
  auto st = Bulwark(root, {"status", "deny-test"});
  EXPECT_NE(st.output.find("hooks:      file.open (file_open)\n"), std::string::npos) << st.output;
  EXPECT_EQ(Bulwark(root, {"switch", "deny-test"}).exit_code, 7);
}

TEST_F(Stage, FirstLoadStagedEnforcesNothingUntilSwitch) {
  auto r = Bulwark(root, {"load", "--stage", b1});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(Denied(), "");
  auto l = Bulwark(root, {"list"});
  EXPECT_NE(l.output.find("nothing enforces before"), std::string::npos) << l.output;
  EXPECT_EQ(l.output.find("BROKEN"), std::string::npos) << l.output;
  ASSERT_EQ(Bulwark(root, {"switch", "deny-test"}).exit_code, 0);
  EXPECT_EQ(Denied(), "a");
  ASSERT_EQ(Bulwark(root, {"unload", "deny-test"}).exit_code, 0);

  // Unstaging a policy that has nothing but a staged version removes it.
  ASSERT_EQ(Bulwark(root, {"load", "--stage", b1}).exit_code, 0);
  ASSERT_EQ(Bulwark(root, {"unstage", "deny-test"}).exit_code, 0);
  EXPECT_FALSE(Exists(root.path() + "/deny-test"));
  EXPECT_EQ(Denied(), "");
}

TEST_F(Stage, UnloadRemovesTheStagedVersionToo) {
  LoadV1();
  ASSERT_EQ(Bulwark(root, {"load", "--stage", b2}).exit_code, 0);
  ASSERT_EQ(Bulwark(root, {"unload", "deny-test"}).exit_code, 0);
  EXPECT_EQ(Denied(), "");
  EXPECT_FALSE(Exists(root.path() + "/deny-test"));
  EXPECT_EQ(Bulwark(root, {"switch", "deny-test"}).exit_code, 7);
}

// `switch` dies just before its bw_gen write: the loaded version still enforces and the
// next load is an ordinary hot swap (the state is that of a load interrupted there).
TEST_F(Stage, SwitchInterruptedBeforeTheWrite) {
  LoadV1();
  ASSERT_EQ(Bulwark(root, {"load", "--stage", b2}).exit_code, 0);
  setenv("BULWARK_FAULT", "before-switch", 1);
  auto r = Bulwark(root, {"switch", "deny-test"});
  unsetenv("BULWARK_FAULT");
  EXPECT_EQ(r.exit_code, 70) << r.output;
  EXPECT_EQ(Denied(), "a");
  auto l = Bulwark(root, {"list"});
  EXPECT_EQ(l.output.find("BROKEN"), std::string::npos) << l.output;
  ASSERT_EQ(Bulwark(root, {"load", b3}).exit_code, 0);
  EXPECT_EQ(Denied(), "c");
  EXPECT_EQ(GenDirs(), 1);
}

// A staged version whose program pin was removed is not switched to (run unguarded: the
// guard would stop this test from removing the pin).
TEST_F(Stage, DamagedStagedVersionIsNotSwitchedTo) {
  setenv("BULWARK_TEST_UNGUARDED", "1", 1);
  LoadV1();
  ASSERT_EQ(Bulwark(root, {"load", "--stage", b2}).exit_code, 0);
  auto st = Bulwark(root, {"status", "deny-test"});
  std::smatch m;
  ASSERT_TRUE(std::regex_search(st.output, m, std::regex(R"(\nstaged: +generation ([01]))"))) << st.output;
  std::string pin = root.path() + "/deny-test/gen" + m[1].str() + "/prog_file_open";
  ASSERT_EQ(unlink(pin.c_str()), 0) << pin;
  auto r = Bulwark(root, {"switch", "deny-test"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("is not intact"), std::string::npos) << r.output;
  EXPECT_EQ(Denied(), "a");
  ASSERT_EQ(Bulwark(root, {"unstage", "deny-test"}).exit_code, 0);
  EXPECT_EQ(Denied(), "a");
  EXPECT_EQ(GenDirs(), 1);
  Bulwark(root, {"unload", "deny-test"});
  unsetenv("BULWARK_TEST_UNGUARDED");
}

}  // namespace
}  // namespace bulwark::rttest
