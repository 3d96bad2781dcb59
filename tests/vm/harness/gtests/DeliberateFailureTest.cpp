// A guest payload that must fail: the harness self-test (vm_harness_reports_gtest_failure)
// boots it and checks that run-vm exits non-zero and shows this assertion.
// Never register it with bulwark_add_vm_test directly.
#include <gtest/gtest.h>

TEST(HarnessSelfCheck, PassesNormally) { EXPECT_EQ(2 + 2, 4); }

TEST(HarnessSelfCheck, DeliberatelyFails) {
  EXPECT_EQ(2 + 2, 5) << "deliberate failure: the harness must report this";
}
