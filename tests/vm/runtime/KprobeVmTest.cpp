// kprobe "fn" hooks end to end: bundles bulwarkc compiled from tests/vm/runtime/policies/
// rt_kprobe_v{1,2}.bw (shipped as /bulwark/files/kprobe-v1.bwb and kprobe-v2.bwb) load
// through bulwark, attach kprobe links pinned under the policy, record audit events with
// the rule and an argument, SIGKILL on a kill rule (the call itself still completes),
// hot-swap (attach new, then detach old), unload, audit mode, and fail cleanly on an
// unprobeable function and on a kernel without kprobes.
#include <gtest/gtest.h>

#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#include <csignal>

#include "RuntimeVmUtil.h"

namespace bulwark::rttest {
namespace {

const std::string kDir = "/tmp/bw-kp";
const std::string kPolicy = "rt_kprobe";
// Kernel program names are cut at 15 characters.
const std::string kMkdirProg = "bw_kp_do_mkdira";
const std::string kChmodProg = "bw_kp_do_fchmod";

// mkdir(path, mode) in a child named `comm`: its exit code (0) or the signal that ended it.
ChildResult MkdirInChild(const std::string &comm, const std::string &path, mode_t mode) {
  return guest::RunInChild([&] {
    prctl(PR_SET_NAME, comm.c_str());
    return ::mkdir(path.c_str(), mode) == 0 ? 0 : 2;
  });
}

bool IsDir(const std::string &path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

class Kprobe : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_TRUE(guest::InGuest());
    std::filesystem::remove_all(kDir);
    std::filesystem::create_directories(kDir);
    guest::WriteFile(kDir + "/audited", "data");
    guest::WriteFile("/tmp/bw-kp-other", "data");
    v1 = GuestFile("kprobe-v1.bwb");
    v2 = GuestFile("kprobe-v2.bwb");
  }
  void TearDown() override {
    Bulwark(root, {"unload", kPolicy});
    std::filesystem::remove_all(kDir);
    std::filesystem::remove("/tmp/bw-kp-other");
  }
  PinRoot root;
  std::string v1, v2;
};

TEST_F(Kprobe, AuditKillSwapUnload) {
  auto load = Bulwark(root, {"load", v1});
  ASSERT_EQ(load.exit_code, 0) << load.output;
  std::printf("load v1: %s", load.output.c_str());
  EXPECT_NE(load.output.find("kprobe/do_mkdirat"), std::string::npos) << load.output;
  EXPECT_EQ(CountLinks(kMkdirProg), 1);
  EXPECT_EQ(CountLinks(kChmodProg), 1);
  EXPECT_TRUE(Exists(root.path() + "/" + kPolicy + "/gen1/kprobe_do_mkdirat")) << "link pinned under the policy";

  // what the 6.1 verifier made of the programs (printed for docs/operations.md)
  for (const char *fn : {"do_mkdirat", "do_fchmodat"}) {
    int fd = bpf_obj_get((root.path() + "/" + kPolicy + "/gen1/prog_kprobe_" + fn).c_str());
    ASSERT_GE(fd, 0) << fn;
    bpf_prog_info info{};
    __u32 len = sizeof info;
    ASSERT_EQ(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
    EXPECT_EQ(info.type, BPF_PROG_TYPE_KPROBE) << fn;
    std::printf("kprobe program on %s: %u insns verified, %u xlated\n", fn, info.verified_insns,
                info.xlated_prog_len / 8);
    ::close(fd);
  }

  auto list = Bulwark(root, {"list"});
  ASSERT_EQ(list.exit_code, 0) << list.output;
  EXPECT_NE(list.output.find("kprobe/do_fchmodat"), std::string::npos) << list.output;
  EXPECT_NE(list.output.find("kprobe/do_mkdirat"), std::string::npos) << list.output;
  EXPECT_EQ(list.output.find("BROKEN"), std::string::npos) << list.output;
  Bulwark(root, {"events"});  // drain

  // audit: a chmod under /tmp/bw-kp/ is recorded with the rule and the path argument (a
  // user-space string); one elsewhere is not.
  ASSERT_EQ(::chmod((kDir + "/audited").c_str(), 0600), 0);
  ASSERT_EQ(::chmod("/tmp/bw-kp-other", 0600), 0);
  // kill: the victim's mkdir with mode 0701 gets SIGKILL, and the directory is still made
  // (a kprobe only observes: the kill arrives when the call returns).
  auto killed = MkdirInChild("bw-kp-victim", kDir + "/killed", 0701);
  EXPECT_EQ(killed.signal, SIGKILL) << "exit " << killed.exit_code;
  EXPECT_TRUE(IsDir(kDir + "/killed")) << "the call the kill fired on completed";
  // the rule's other conditions: another mode, or another process, is not killed
  auto otherMode = MkdirInChild("bw-kp-victim", kDir + "/mode0700", 0700);
  EXPECT_TRUE(otherMode.exited && otherMode.exit_code == 0) << "signal " << otherMode.signal;
  auto otherComm = MkdirInChild("bw-kp-bystand", kDir + "/bystander", 0701);
  EXPECT_TRUE(otherComm.exited && otherComm.exit_code == 0) << "signal " << otherComm.signal;

  auto ev = Bulwark(root, {"events", "--format", "json"});
  ASSERT_EQ(ev.exit_code, 0) << ev.output;
  std::printf("events v1:\n%s", ev.output.c_str());
  EXPECT_NE(ev.output.find("\"policy\":\"rt_kprobe\",\"rule\":\"audit_chmod\",\"action\":\"audit\",\"hook\":\"kprobe\""),
            std::string::npos) << ev.output;
  // the kernel function of the rule; a kprobe argument placeholder stays as written
  EXPECT_NE(ev.output.find("\"hook\":\"kprobe\",\"function\":\"do_fchmodat\",\"message\":\""), std::string::npos)
      << ev.output;
  EXPECT_NE(ev.output.find(" chmod {arg1}\""), std::string::npos) << ev.output;
  EXPECT_NE(ev.output.find("\"function\":\"do_mkdirat\""), std::string::npos) << ev.output;
  EXPECT_NE(ev.output.find("\"object\":\"" + kDir + "/audited\""), std::string::npos) << ev.output;
  EXPECT_EQ(ev.output.find("bw-kp-other"), std::string::npos) << ev.output;
  // the kill record: do_mkdirat has no string argument, so the object is arg0, dfd =
  // AT_FDCWD, sign-extended from the int
  EXPECT_NE(ev.output.find("\"rule\":\"kill_mkdir\",\"action\":\"kill\",\"hook\":\"kprobe\""), std::string::npos)
      << ev.output;
  EXPECT_NE(ev.output.find("\"comm\":\"bw-kp-victim\""), std::string::npos) << ev.output;
  EXPECT_NE(ev.output.find("\"object\":\"-100\""), std::string::npos) << ev.output;
  EXPECT_EQ(std::count(ev.output.begin(), ev.output.end(), '\n'), 2) << ev.output;

  auto st = Bulwark(root, {"status", kPolicy});
  ASSERT_EQ(st.exit_code, 0) << st.output;
  std::printf("%s", st.output.c_str());
  EXPECT_NE(st.output.find("kprobe/do_mkdirat"), std::string::npos) << st.output;
  EXPECT_NE(st.output.find("kprobe_do_fchmodat"), std::string::npos) << "the link pin is listed\n" << st.output;

  // hot swap to v2 (do_fchmodat only): the new links are attached, the old ones detached
  auto swap = Bulwark(root, {"load", v2});
  ASSERT_EQ(swap.exit_code, 0) << swap.output;
  std::printf("load v2: %s", swap.output.c_str());
  EXPECT_EQ(CountLinks(kMkdirProg), 0);
  EXPECT_EQ(CountLinks(kChmodProg), 1);
  auto spared = MkdirInChild("bw-kp-victim", kDir + "/spared", 0701);
  EXPECT_TRUE(spared.exited && spared.exit_code == 0) << "signal " << spared.signal;
  ASSERT_EQ(::chmod((kDir + "/audited").c_str(), 0640), 0);
  auto ev2 = Bulwark(root, {"events", "--format", "json"});
  ASSERT_EQ(ev2.exit_code, 0) << ev2.output;
  EXPECT_NE(ev2.output.find("\"rule\":\"audit_chmod_v2\""), std::string::npos) << ev2.output;
  EXPECT_EQ(ev2.output.find("kill_mkdir"), std::string::npos) << ev2.output;
  auto list2 = Bulwark(root, {"list"});
  EXPECT_EQ(list2.output.find("kprobe/do_mkdirat"), std::string::npos) << list2.output;
  EXPECT_NE(list2.output.find("kprobe/do_fchmodat"), std::string::npos) << list2.output;

  auto un = Bulwark(root, {"unload", kPolicy});
  ASSERT_EQ(un.exit_code, 0) << un.output;
  EXPECT_EQ(CountLinks(kMkdirProg), 0);
  EXPECT_EQ(CountLinks(kChmodProg), 0);
  EXPECT_FALSE(Exists(root.path() + "/" + kPolicy));
  auto after = MkdirInChild("bw-kp-victim", kDir + "/after", 0701);
  EXPECT_TRUE(after.exited && after.exit_code == 0) << "signal " << after.signal;
}

// --mode audit: a kprobe kill rule records a would-be kill and sends no signal.
TEST_F(Kprobe, AuditModeRecordsTheKillWithoutKilling) {
  auto load = Bulwark(root, {"load", v1, "--mode", "audit"});
  ASSERT_EQ(load.exit_code, 0) << load.output;
  Bulwark(root, {"events"});  // drain
  auto victim = MkdirInChild("bw-kp-victim", kDir + "/audited-kill", 0701);
  EXPECT_TRUE(victim.exited && victim.exit_code == 0) << "signal " << victim.signal;
  auto ev = Bulwark(root, {"events", "--format", "json"});
  ASSERT_EQ(ev.exit_code, 0) << ev.output;
  EXPECT_NE(ev.output.find("\"rule\":\"kill_mkdir\",\"action\":\"would-deny\",\"hook\":\"kprobe\""),
            std::string::npos) << ev.output;
}

// A function in the kernel's BTF that kprobes refuse (exc_int3, noinstr): the load names it,
// fails, and detaches the kprobe it had attached before (do_fchmodat); nothing stays pinned.
TEST_F(Kprobe, UnprobeableFunctionFailsTheLoadAndUndoesIt) {
  auto load = Bulwark(root, {"load", GuestFile("kprobe-unprobeable.bwb")});
  std::printf("load of the unprobeable bundle: %s", load.output.c_str());
  EXPECT_EQ(load.exit_code, 1) << load.output;
  EXPECT_NE(load.output.find("cannot attach kprobe program bw_kp_exc_int3 to kernel function exc_int3"),
            std::string::npos) << load.output;
  EXPECT_EQ(CountLinks(kChmodProg), 0);
  EXPECT_EQ(CountLinks("bw_kp_exc_int3"), 0);
  EXPECT_FALSE(Exists(root.path() + "/rt_kprobe_unprobeable"));
  auto list = Bulwark(root, {"list"});
  EXPECT_EQ(list.output.find("rt_kprobe_unprobeable"), std::string::npos) << list.output;
}

// A kernel without kprobes, made by hiding both ways libbpf attaches kprobes (the perf
// "kprobe" event source and tracefs kprobe_events) in a private mount namespace: the load
// names the cause, exits 5 (unsupported), and leaves nothing loaded or pinned.
TEST_F(Kprobe, KernelWithoutKprobesIsAClearErrorAndNothingIsApplied) {
  std::string out = "/tmp/bw-kp-noprobes.out";  // not on bpffs: that holds pins only
  auto child = guest::RunInChild([&] {
    if (unshare(CLONE_NEWNS) != 0 || mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
      return 90;
    for (const char *d : {"/sys/bus/event_source/devices", "/sys/kernel/tracing", "/sys/kernel/debug"})
      if (::access(d, F_OK) == 0 && mount("none", d, "tmpfs", 0, nullptr) != 0)
        return 91;
    int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
      return 92;
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    execlp("bulwark", "bulwark", "load", v1.c_str(), "--pin-root", root.path().c_str(), nullptr);
    return 93;
  });
  std::string text = guest::ReadFile(out);
  std::filesystem::remove(out);
  ASSERT_TRUE(child.exited) << "signal " << child.signal;
  EXPECT_EQ(child.exit_code, 5) << text;
  EXPECT_NE(text.find("this kernel has no kprobes"), std::string::npos) << text;
  EXPECT_NE(text.find("kprobe/do_"), std::string::npos) << "names the hook\n" << text;
  EXPECT_FALSE(Exists(root.path() + "/" + kPolicy));
  EXPECT_EQ(CountLinks(kMkdirProg), 0);
  EXPECT_EQ(CountLinks(kChmodProg), 0);
}

}  // namespace
}  // namespace bulwark::rttest
