// Rule counters on a guest of two CPUs: each CPU counts into its own copy of bw_counters (a
// per-CPU map), and `status` sums the copies, so every decision is counted once, under its own
// rule, whichever CPU made it; a hot swap carries the sums over by rule name.
#include <gtest/gtest.h>

#include <sched.h>

#include "RuntimeVmUtil.h"

namespace bulwark::rttest {
namespace {
namespace fs = std::filesystem;

const std::string kDir = "/tmp/bw-rt-e2e";

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
  EXPECT_EQ(Hits(root, "rt_e2e", "deny_marked"), 8u);
  EXPECT_EQ(Hits(root, "rt_e2e", "audit_marked"), 0u);

  ASSERT_EQ(Bulwark(root, {"load", GuestFile("e2e-v2.bwb")}).exit_code, 0);
  EXPECT_EQ(OpenOnCpu(1, kDir + "/deny2/x", 4), 0);
  EXPECT_EQ(OpenOnCpu(0, kDir + "/deny2/x", 2), 0);
  EXPECT_EQ(Hits(root, "rt_e2e", "deny_marked"), 14u);
  EXPECT_EQ(Hits(root, "rt_e2e", "keep_files"), 0u);
}

} // namespace
} // namespace bulwark::rttest
