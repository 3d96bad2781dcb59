// The guest booted with an lsm= list without "bpf" (RUNNER_ARGS --append): the kernel has
// BPF LSM built in but inactive. doctor must say so, and load must refuse with exit 5 and
// name the cause instead of attaching programs that would never run.
#include <gtest/gtest.h>

#include "RuntimeVmUtil.h"

namespace bulwark::rttest {
namespace {

TEST(NoBpfLsm, DoctorAndLoadNameTheCause) {
  ASSERT_TRUE(guest::InGuest());
  std::string lsms = guest::ReadFile("/sys/kernel/security/lsm");
  ASSERT_EQ(lsms.find("bpf"), std::string::npos) << "this test needs a guest booted without the bpf LSM: " << lsms;
  TempDir tmp;
  PinRoot root;
  auto d = Bulwark(root, {"doctor"});
  EXPECT_EQ(d.exit_code, 5) << d.output;
  EXPECT_NE(d.output.find("[FAIL] bpf-lsm          bpf is not an active LSM"), std::string::npos) << d.output;
  EXPECT_NE(d.output.find("verdict: NOT SUPPORTED"), std::string::npos) << d.output;
  EXPECT_NE(d.output.find("the BPF LSM is not active"), std::string::npos) << d.output;

  BundleSpec s;
  s.deny = {IdOf(tmp.CreateFile("a"))};
  auto r = Bulwark(root, {"load", MakeBundle(tmp.path(), s)});
  EXPECT_EQ(r.exit_code, 5) << r.output;
  EXPECT_NE(r.output.find("the BPF LSM is not active in this kernel"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("hint: boot with lsm="), std::string::npos) << r.output;
  EXPECT_FALSE(Exists(root.path() + "/deny-test"));
}

}  // namespace
}  // namespace bulwark::rttest
