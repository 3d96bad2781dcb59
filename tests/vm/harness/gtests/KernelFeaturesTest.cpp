// What Bulwark needs from the guest kernel: BPF as an active LSM, vmlinux BTF, and program
// types that load and attach. A failure here means the VM is not a valid test bed.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <sstream>
#include <string>

#include "GuestUtil.h"
#include "ProgProbe.h"

namespace {

using namespace bulwark::vmprobe;

class GuestKernel : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(bulwark::guest::InGuest()) << "refusing to load LSM/kprobe programs outside the run-vm guest";
  }
};

TEST_F(GuestKernel, BpfIsAnActiveLsm) {
  const std::string lsm = bulwark::guest::ReadFile("/sys/kernel/security/lsm");
  std::istringstream names(lsm);
  bool found = false;
  for (std::string name; std::getline(names, name, ',');) found = found || name == "bpf";
  EXPECT_TRUE(found) << "/sys/kernel/security/lsm is '" << lsm << "'";
}

TEST_F(GuestKernel, VmlinuxBtfIsPresent) {
  struct stat st {};
  ASSERT_EQ(stat("/sys/kernel/btf/vmlinux", &st), 0);
  EXPECT_GT(st.st_size, 1024 * 1024) << "suspiciously small vmlinux BTF";
}

TEST_F(GuestKernel, LsmProgramLoadsAndAttaches) {
  auto known = ProbeProgTypeKnown(BPF_PROG_TYPE_LSM);
  EXPECT_TRUE(known.ok) << known.detail;
  auto attach = LoadAndAttachLsm("file_open");
  EXPECT_TRUE(attach.ok) << attach.detail;
}

TEST_F(GuestKernel, FentryProgramLoadsAndAttaches) {
  auto attach = LoadAndAttachFentry("security_file_open");
  EXPECT_TRUE(attach.ok) << attach.detail;
}

TEST_F(GuestKernel, KprobeProgramLoadsAndAttaches) {
  auto attach = LoadAndAttachKprobe("security_file_open");
  EXPECT_TRUE(attach.ok) << attach.detail;
}

TEST_F(GuestKernel, TracepointProgramLoadsAndAttaches) {
  auto attach = LoadAndAttachTracepoint("sched", "sched_process_exec");
  EXPECT_TRUE(attach.ok) << attach.detail;
}

TEST_F(GuestKernel, CgroupSkbProgramAttachesToChildCgroup) {
  bulwark::guest::ChildCgroup cgroup("kernel-features");
  auto attach = LoadAndAttachCgroupSkb(cgroup.path());
  EXPECT_TRUE(attach.ok) << attach.detail;
}

TEST_F(GuestKernel, MissingLsmHookIsReported) {
  // The probe must be able to fail, or the passing tests above prove nothing.
  auto attach = LoadAndAttachLsm("no_such_hook");
  EXPECT_FALSE(attach.ok);
  EXPECT_NE(attach.detail.find("no BTF function"), std::string::npos) << attach.detail;
}

}  // namespace
