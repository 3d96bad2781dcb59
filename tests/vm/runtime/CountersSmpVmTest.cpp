// Rule counters on a guest of two CPUs: each CPU counts into its own run of bw_counters
// (BW_COUNTER_INDEX), and `status` sums the runs, so every decision is counted once, under its
// own rule, whichever CPU made it; a hot swap carries the sums over by rule name.
#include <gtest/gtest.h>

#include <sched.h>

#include <regex>

#include "RuntimeVmUtil.h"

namespace bulwark::rttest {
namespace {
namespace fs = std::filesystem;

const std::string kDir = "/tmp/bw-rt-e2e";

uint64_t Number(const std::string &text, const std::string &key) {
  std::smatch m;
  return std::regex_search(text, m, std::regex("\"" + key + "\":([0-9]+)")) ? std::stoull(m[1]) : 0;
}

// `status --format json`: the hits of one rule of rt_e2e.
uint64_t Hits(const PinRoot &root, const std::string &rule) {
  auto r = Bulwark(root, {"status", "rt_e2e", "--format", "json"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  std::smatch m;
  std::regex one("\\{[^{}]*\"rule\":\"" + rule + "\"[^{}]*\\}");
  return std::regex_search(r.output, m, one) ? Number(m[0], "hits") : 0;
}

// Opens `path` n times from a child bound to `cpu`; 0 when every open was denied there.
int OpenOnCpu(int cpu, const std::string &path, int n) {
  return guest::RunInChild([&] {
           cpu_set_t set;
           CPU_ZERO(&set);
           CPU_SET(cpu, &set);
           if (sched_setaffinity(0, sizeof set, &set) != 0 || sched_getcpu() != cpu)
             return 2;
           for (int i = 0; i < n; i++)
             if (guest::OpenErrno(path) != EPERM || sched_getcpu() != cpu)
               return 1;
           return 0;
         }).exit_code;
}

class CountersSmp : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_TRUE(guest::InGuest());
    ASSERT_GE(sysconf(_SC_NPROCESSORS_ONLN), 2) << "the test needs a guest of two CPUs (--smp 2)";
    fs::create_directories(kDir + "/deny");
    fs::create_directories(kDir + "/deny2");
    guest::WriteFile(kDir + "/deny/x", "data");
    guest::WriteFile(kDir + "/deny2/x", "data");
  }
  void TearDown() override {
    Bulwark(root, {"unload", "rt_e2e"});
    fs::remove_all(kDir);
  }
  PinRoot root;
};

// rt_e2e v1 has deny_marked as rule 0, v2 as rule 1 (after keep_files): both CPUs' decisions
// count under deny_marked, before and after the swap, and none under the other rules.
TEST_F(CountersSmp, EachCpuCountsItsOwnDecisionsUnderTheirRule) {
  ASSERT_EQ(Bulwark(root, {"load", GuestFile("e2e-v1.bwb")}).exit_code, 0);
  EXPECT_EQ(OpenOnCpu(0, kDir + "/deny/x", 3), 0);
  EXPECT_EQ(OpenOnCpu(1, kDir + "/deny/x", 5), 0);
  EXPECT_EQ(Hits(root, "deny_marked"), 8u);
  EXPECT_EQ(Hits(root, "audit_marked"), 0u);

  ASSERT_EQ(Bulwark(root, {"load", GuestFile("e2e-v2.bwb")}).exit_code, 0);
  EXPECT_EQ(OpenOnCpu(1, kDir + "/deny2/x", 4), 0);
  EXPECT_EQ(OpenOnCpu(0, kDir + "/deny2/x", 2), 0);
  EXPECT_EQ(Hits(root, "deny_marked"), 14u);
  EXPECT_EQ(Hits(root, "keep_files"), 0u);
}

} // namespace
} // namespace bulwark::rttest
