// End to end with the real compiler: bundles bulwarkc compiled from tests/vm/runtime/policies
// (shipped as /bulwark/files/e2e-v1.bwb and e2e-v2.bwb) load through bulwark, enforce,
// report events and counters, hot-swap (also changing the hook set and the mode), chain
// with a hand-written fixture policy, and unload cleanly.
#include <gtest/gtest.h>

#include <dirent.h>

#include <regex>

#include "RuntimeVmUtil.h"

namespace bulwark::rttest {
namespace {

const std::string kDir = "/tmp/bw-rt-e2e";
int ChmodErrno(const std::string &path) { return ::chmod(path.c_str(), 0600) == 0 ? 0 : errno; }

class Compiled : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_TRUE(guest::InGuest());
    for (const char *d : {"", "/deny", "/deny2", "/audit", "/keep"})
      std::filesystem::create_directories(kDir + d);
    for (const char *f : {"/deny/x", "/deny2/y", "/audit/z", "/keep/k1", "/keep/k2", "/other"})
      guest::WriteFile(kDir + f, "data");
    v1 = GuestFile("e2e-v1.bwb");
    v2 = GuestFile("e2e-v2.bwb");
  }
  void TearDown() override {
    Bulwark(root, {"unload", "rt_e2e"});
    Bulwark(root, {"unload", "fixture"});
    std::filesystem::remove_all(kDir);
  }
  // Hits of rule `rule` (with its id) in `bulwark status rt_e2e`; {-1, -1} if it has no row.
  std::pair<int, long long> RuleHits(const std::string &rule) {
    auto st = Bulwark(root, {"status", "rt_e2e"});
    std::smatch m;
    if (!std::regex_search(st.output, m, std::regex("\n +([0-9]+) " + rule + " +[a-z.]+ +[a-z]+ +([0-9]+)")))
      return {-1, -1};
    return {std::stoi(m[1]), std::stoll(m[2])};
  }
  // "timing: load+verify X ms" of a load command's output.
  static double LoadMs(const std::string &out) {
    std::smatch m;
    return std::regex_search(out, m, std::regex(R"(load\+verify ([0-9.]+) ms)")) ? std::stod(m[1]) : -1;
  }
  PinRoot root;
  TempDir tmp;
  std::string v1, v2;
};

TEST_F(Compiled, LoadEnforceObserveSwapUnload) {
  auto r = Bulwark(root, {"load", v1});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::printf("compiled v1: %s", r.output.c_str());
  // A hand-written policy in the same lane: the walk goes through both.
  std::string fixtureFile = tmp.CreateFile("fixture-denied");
  BundleSpec fx;
  fx.name = "fixture";
  fx.deny = {IdOf(fixtureFile)};
  ASSERT_EQ(Bulwark(root, {"load", MakeBundle(tmp.path(), fx)}).exit_code, 0);
  Bulwark(root, {"events"});  // drain

  EXPECT_EQ(guest::OpenErrno(kDir + "/deny/x"), EPERM);
  EXPECT_EQ(guest::OpenErrno(kDir + "/deny2/y"), 0);
  EXPECT_EQ(guest::OpenErrno(kDir + "/audit/z"), 0);
  EXPECT_EQ(guest::OpenErrno(kDir + "/other"), 0);
  EXPECT_EQ(guest::OpenErrno(fixtureFile), EPERM);
  EXPECT_EQ(ChmodErrno(kDir + "/keep/k1"), 0);  // v1 has no file.chmod rule

  auto ev = Bulwark(root, {"events", "--format", "json"});
  ASSERT_EQ(ev.exit_code, 0) << ev.output;
  std::printf("events:\n%s", ev.output.c_str());
  EXPECT_NE(ev.output.find("\"policy\":\"rt_e2e\",\"rule\":\"deny_marked\",\"action\":\"deny\",\"hook\":\"file.open\""),
            std::string::npos) << ev.output;
  EXPECT_NE(ev.output.find("\"object\":\"/tmp/bw-rt-e2e/deny/x\""), std::string::npos) << ev.output;
  EXPECT_NE(ev.output.find("\"exe\":\"/bulwark/bin/rt_vm_compiled_test\""), std::string::npos) << ev.output;
  EXPECT_NE(ev.output.find("\"rule\":\"audit_marked\",\"action\":\"audit\""), std::string::npos) << ev.output;
  EXPECT_NE(ev.output.find("\"policy\":\"fixture\",\"rule\":\"deny-protected\""), std::string::npos) << ev.output;

  auto st = Bulwark(root, {"status", "rt_e2e"});
  ASSERT_EQ(st.exit_code, 0) << st.output;
  std::printf("%s", st.output.c_str());
  std::smatch m;
  ASSERT_TRUE(std::regex_search(st.output, m, std::regex(R"(\n +0 deny_marked +file\.open +deny +([0-9]+))")))
      << st.output;
  EXPECT_GE(std::stoi(m[1]), 1);
  long long denyHits = std::stoll(m[1]);  // only this test opens files under deny/
  auto auditHits = RuleHits("audit_marked");
  EXPECT_EQ(auditHits.second, 1);

  // v2: other directory, plus file.chmod. (Both versions have file.link, file.rename and
  // file.unlink programs: they keep the identities of files under their prefixes current.)
  r = Bulwark(root, {"load", v2});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::printf("compiled v2: %s", r.output.c_str());
  EXPECT_NE(r.output.find("hooks file.open,file.unlink,file.rename,file.chmod,file.link"), std::string::npos)
      << r.output;
  EXPECT_EQ(guest::OpenErrno(kDir + "/deny/x"), 0);
  EXPECT_EQ(guest::OpenErrno(kDir + "/deny2/y"), EPERM);
  EXPECT_EQ(ChmodErrno(kDir + "/keep/k2"), EPERM);
  EXPECT_EQ(guest::OpenErrno(fixtureFile), EPERM);
  // Counters continue across the swap by rule name, although deny_marked's id changed.
  EXPECT_EQ(RuleHits("deny_marked"), std::make_pair(1, denyHits + 1));
  EXPECT_EQ(RuleHits("keep_files"), std::make_pair(0, 1LL));

  // The same version in audit mode: records, no denials.
  r = Bulwark(root, {"load", v2, "--mode", "audit"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  Bulwark(root, {"events"});
  EXPECT_EQ(guest::OpenErrno(kDir + "/deny2/y"), 0);
  ev = Bulwark(root, {"events"});
  EXPECT_NE(ev.output.find("rule=deny_marked action=would-deny"), std::string::npos) << ev.output;

  // Back to v1: file.chmod is gone again.
  r = Bulwark(root, {"load", v1});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // deny_marked: v1's hits, v2's one denial and the audit-mode would-deny. audit_marked was
  // not in v2, so its count went with it; keep_files is not in v1.
  EXPECT_EQ(RuleHits("deny_marked"), std::make_pair(0, denyHits + 2));
  EXPECT_EQ(RuleHits("audit_marked"), std::make_pair(1, 0LL));
  EXPECT_EQ(RuleHits("keep_files").first, -1);
  EXPECT_FALSE(Exists(root.path() + "/dispatch/path_chmod-0"));
  EXPECT_EQ(ChmodErrno(kDir + "/keep/k2"), 0);
  EXPECT_EQ(guest::OpenErrno(kDir + "/deny/x"), EPERM);

  ASSERT_EQ(Bulwark(root, {"unload", "rt_e2e"}).exit_code, 0);
  EXPECT_EQ(guest::OpenErrno(kDir + "/deny/x"), 0);
  EXPECT_EQ(guest::OpenErrno(fixtureFile), EPERM);
  ASSERT_EQ(Bulwark(root, {"unload", "fixture"}).exit_code, 0);
  EXPECT_EQ(guest::OpenErrno(fixtureFile), 0);
  EXPECT_FALSE(Exists(root.path() + "/dispatch/file_open-0"));
}

TEST_F(Compiled, HotSwapTiming) {
  ASSERT_EQ(Bulwark(root, {"load", v1}).exit_code, 0);
  std::vector<double> loadMs;
  for (int i = 0; i < 10; i++) {
    auto r = Bulwark(root, {"load", i % 2 ? v1 : v2});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    loadMs.push_back(LoadMs(r.output));
  }
  std::sort(loadMs.begin(), loadMs.end());
  std::printf("compiled bundle swaps: open+verify+load median %.1f ms (min %.1f, max %.1f)\n",
              loadMs[loadMs.size() / 2], loadMs.front(), loadMs.back());
}

}  // namespace
}  // namespace bulwark::rttest
