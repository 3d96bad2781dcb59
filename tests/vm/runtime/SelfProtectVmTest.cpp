// Self-protection and fail closed (docs/security.md, "Self-protection"). Attacks come from
// bw_tamper, a plain C tool issuing raw bpf() calls as root, and from a copy of the bulwark
// binary: each fails with EPERM and the protected file stays protected, while the runtime
// itself still loads, swaps and unloads. With the guard off (test hook), a program removed
// from its prog-array slot, or a generation word pointed at the empty generation, denies for an
// enforce-mode policy, is recorded for an audit-mode one, and status reports TAMPERED; so does a
// forged scope entry that would pass over a policy.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/wait.h>

#include "RuntimeVmUtil.h"

namespace bulwark::rttest {
namespace {

constexpr int kGuardPrograms = 12;

int Tamper(std::vector<std::string> args) {
  args.insert(args.begin(), "bw_tamper");
  auto r = RunCommand(args);
  std::printf("bw_tamper %s %s -> %d %s", args[1].c_str(), args.size() > 2 ? args[2].c_str() : "", r.exit_code,
              r.output.c_str());
  return r.exit_code;
}

class SelfProtect : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_TRUE(guest::InGuest()) << "refusing to load LSM programs outside the run-vm guest";
    protectedFile = tmp.CreateFile("protected", "secret");
    BundleSpec spec;
    spec.object = "deny_inode_unlink.bpf.o";
    spec.unlinkHook = true;
    spec.deny = {IdOf(protectedFile)};
    bundle = MakeBundle(tmp.path(), spec);
    spec.mode = "audit";
    auditBundle = MakeBundle(tmp.path(), spec, "audit.bwb");
  }
  void TearDown() override {
    ::unsetenv("BULWARK_TEST_UNGUARDED");
    Bulwark(root, {"unload", "deny-test"});
  }
  std::string Pin(const std::string &rel) const { return root.path() + "/" + rel; }
  std::string Gen() const { return Exists(Pin("deny-test/gen1")) ? "1" : "0"; }

  TempDir tmp;
  PinRoot root;
  std::string protectedFile, bundle, auditBundle;
};

TEST_F(SelfProtect, TamperAttacksFailWhileTheRuntimeKeepsControl) {
  auto r = Bulwark(root, {"load", bundle});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ASSERT_EQ(guest::OpenErrno(protectedFile), EPERM);
  EXPECT_EQ(CountLinks("bw_guard_"), kGuardPrograms);
  std::string gen = Gen();
  std::string index = std::to_string(0 * 2 + std::stoi(gen));

  // Every mutating map command, on the generation word, a prog array, a lane chain, the slot
  // modes and scopes and a per-policy map (compiled policies name theirs bw_*, as the fixture's counters;
  // its hand-written match map deny_inodes is not a Bulwark name): the attacker cannot even
  // get an fd (nor a read-only one).
  for (const std::string &pin : {Pin("shared/bw_gen"), Pin("shared/bw_progs_FILE_OPEN"), Pin("shared/bw_next_FILE_OPEN"),
                                 Pin("shared/bw_slot_mode"), Pin("shared/bw_slot_scope"),
                                 Pin("deny-test/gen" + gen + "/bw_counters")}) {
    for (const char *attack : {"update", "update-batch", "delete", "delete-batch", "lookup-delete",
                               "lookup-delete-batch", "freeze"})
      EXPECT_EQ(Tamper({attack, pin, index}), EPERM) << attack << " " << pin;
    EXPECT_EQ(Tamper({"get-ro", pin}), EPERM) << pin;
  }
  // By id (BPF_MAP_GET_FD_BY_ID): every Bulwark map is refused.
  auto byId = RunCommand({"bw_tamper", "maps-by-id"});
  EXPECT_EQ(byId.output.find("opened bw map"), std::string::npos) << byId.output;
  int refused = -1;
  ASSERT_EQ(std::sscanf(byId.output.c_str() + byId.output.find("refused"), "refused %d", &refused), 1);
  EXPECT_GE(refused, 8) << byId.output;
  // Links and programs: the dispatcher, the guard itself, the policy's program.
  for (const std::string &pin : {Pin("dispatch/file_open-0"), Pin("guard/bw_guard_bpf")}) {
    EXPECT_EQ(Tamper({"link-detach", pin}), EPERM) << pin;
    EXPECT_EQ(Tamper({"link-update", pin}), EPERM) << pin;
  }
  EXPECT_EQ(Tamper({"prog-detach", Pin("deny-test/gen" + gen + "/prog_file_open")}), EPERM);
  // Pins: unlink, rename, rmdir, mounting over the pin root, unmounting bpffs.
  for (const std::string &pin : {Pin("shared/bw_gen"), Pin("dispatch/file_open-0"), Pin("deny-test/state"),
                                 Pin("guard/bw_guard_map"), Pin("deny-test/gen" + gen + "/prog_path_unlink")})
    EXPECT_EQ(Tamper({"unlink", pin}), EPERM) << pin;
  EXPECT_EQ(Tamper({"rename", Pin("deny-test")}), EPERM);
  EXPECT_EQ(Tamper({"rename", Pin("guard")}), EPERM);
  EXPECT_EQ(Tamper({"rmdir", Pin("dispatch")}), EPERM);
  EXPECT_EQ(Tamper({"mount-over", root.path()}), EPERM);
  EXPECT_EQ(Tamper({"mount-over", Pin("shared")}), EPERM);
  EXPECT_EQ(Tamper({"umount", "/sys/fs/bpf"}), EPERM);
  // The runtime's executable cannot be rewritten in place.
  std::string bulwarkBin = Which("bulwark");
  EXPECT_EQ(Tamper({"write", bulwarkBin}), EPERM) << bulwarkBin;
  EXPECT_EQ(Tamper({"rename", bulwarkBin}), EPERM) << bulwarkBin;
  EXPECT_EQ(Tamper({"unlink", bulwarkBin}), EPERM) << bulwarkBin;

  // A running runtime process cannot be attached to (code injection, pidfd_getfd); another
  // process can.
  {
    pid_t follower = fork();
    ASSERT_GE(follower, 0);
    if (follower == 0) {
      execlp("bulwark", "bulwark", "events", "--follow", "--timeout", "60", "--pin-root", root.path().c_str(),
             (char *)nullptr);
      _exit(127);
    }
    pid_t sleeper = fork();
    ASSERT_GE(sleeper, 0);
    if (sleeper == 0) {  // this test binary: not the runtime
      for (;;)
        pause();
    }
    usleep(1500 * 1000);
    EXPECT_EQ(Tamper({"ptrace", std::to_string(follower)}), EPERM);
    EXPECT_EQ(Tamper({"ptrace", std::to_string(sleeper)}), 0);
    for (pid_t p : {follower, sleeper}) {
      kill(p, SIGKILL);
      waitpid(p, nullptr, 0);
    }
  }

  // A copy of the bulwark binary is not the runtime: it is told so, and changes nothing.
  std::string copy = tmp.path() + "/bulwark-copy";
  ASSERT_EQ(RunCommand({"cp", bulwarkBin, copy}).exit_code, 0);
  auto c = RunCommand({copy, "unload", "deny-test", "--pin-root", root.path()});
  EXPECT_NE(c.exit_code, 0) << c.output;
  EXPECT_NE(c.output.find("guarded for another bulwark executable"), std::string::npos) << c.output;

  // Nothing changed: the file is protected, the wiring intact.
  EXPECT_EQ(guest::OpenErrno(protectedFile), EPERM);
  EXPECT_EQ(guest::UnlinkErrno(protectedFile), EPERM);
  EXPECT_EQ(guest::OpenErrno(tmp.CreateFile("other", "x")), 0);
  auto st = Bulwark(root, {"status", "deny-test"});
  EXPECT_EQ(st.exit_code, 0) << st.output;
  EXPECT_EQ(st.output.find("TAMPERED"), std::string::npos) << st.output;
  auto all = Bulwark(root, {"status"});
  EXPECT_NE(all.output.find("self-protection: on (12 programs and the file_open and path_unlink dispatchers; trusts the executable on device"), std::string::npos)
      << all.output;

  // The runtime keeps control: hot swap, status, unload; the guard goes with the last policy.
  r = Bulwark(root, {"load", auditBundle});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(Gen(), gen);
  EXPECT_EQ(CountLinks("bw_guard_"), kGuardPrograms);
  auto u = Bulwark(root, {"unload", "deny-test"});
  ASSERT_EQ(u.exit_code, 0) << u.output;
  EXPECT_EQ(guest::OpenErrno(protectedFile), 0);
  EXPECT_EQ(CountLinks("bw_guard_"), 0);
  EXPECT_FALSE(Exists(Pin("guard")));
}

// An fd taken before the guard was attached (a load without it) is refused at use.
TEST_F(SelfProtect, AnFdHeldFromBeforeIsRefusedAtUse) {
  ::setenv("BULWARK_TEST_UNGUARDED", "1", 1);
  auto r = Bulwark(root, {"load", bundle});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ASSERT_EQ(CountLinks("bw_guard_"), 0);
  std::string ready = tmp.path() + "/ready", go = tmp.path() + "/go";
  ::setenv("BW_TAMPER_READY", ready.c_str(), 1);
  ::setenv("BW_TAMPER_GO", go.c_str(), 1);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    execlp("bw_tamper", "bw_tamper", "held-update-batch", Pin("shared/bw_gen").c_str(), "0", "0", (char *)nullptr);
    _exit(127);
  }
  for (int i = 0; i < 3000 && !Exists(ready); i++)
    usleep(10000);
  ASSERT_TRUE(Exists(ready));
  ::unsetenv("BULWARK_TEST_UNGUARDED");
  r = Bulwark(root, {"load", auditBundle});  // the same policy in audit mode, guarded now
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ASSERT_EQ(CountLinks("bw_guard_"), kGuardPrograms);
  ::close(::open(go.c_str(), O_CREAT | O_WRONLY, 0644));
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), EPERM);
  auto st = Bulwark(root, {"status", "deny-test"});
  EXPECT_EQ(st.output.find("TAMPERED"), std::string::npos) << st.output;
}

// With the guard off, the test process itself removes the policy's unlink program from its
// prog-array slot: every unlink is denied (the policy's enforce mode), status names it, and a
// load repairs it.
TEST_F(SelfProtect, MissingProgramFailsClosed) {
  ::setenv("BULWARK_TEST_UNGUARDED", "1", 1);
  auto r = Bulwark(root, {"load", bundle});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::string other = tmp.CreateFile("other", "x");
  std::string other2 = tmp.CreateFile("other2", "x");
  ASSERT_EQ(guest::UnlinkErrno(other), 0);
  uint32_t index = 0 * 2 + uint32_t(std::stoi(Gen()));
  EXPECT_EQ(Tamper({"delete", Pin("shared/bw_progs_FILE_UNLINK"), std::to_string(index)}), 0);
  EXPECT_EQ(guest::UnlinkErrno(other2), EPERM);
  EXPECT_EQ(guest::OpenErrno(other2), 0);  // file.open's program is still there
  EXPECT_EQ(guest::OpenErrno(protectedFile), EPERM);
  auto st = Bulwark(root, {"status", "deny-test"});
  EXPECT_NE(st.output.find("TAMPERED"), std::string::npos) << st.output;
  EXPECT_NE(st.output.find("bw_progs_FILE_UNLINK[" + std::to_string(index) + "] is empty"), std::string::npos)
      << st.output;
  auto l = Bulwark(root, {"list"});
  EXPECT_NE(l.output.find("TAMPERED"), std::string::npos) << l.output;
  auto ev = Bulwark(root, {"events"});
  EXPECT_NE(ev.output.find("(missing program)"), std::string::npos) << ev.output;
  // sent by the dispatcher, which knows only the slot: the instance comes from bw_slot_mode
  EXPECT_NE(ev.output.find("policy=deny-test rule=\"(missing program)\""), std::string::npos) << ev.output;
  auto doc = Bulwark(root, {"doctor"});
  EXPECT_NE(doc.output.find("deny-test TAMPERED: bw_progs_FILE_UNLINK[" + std::to_string(index) + "] is empty"),
            std::string::npos)
      << doc.output;
  EXPECT_NE(doc.output.find("not attached: other processes can change"), std::string::npos) << doc.output;

  r = Bulwark(root, {"load", auditBundle});  // repair: a load wires every hook again
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(guest::UnlinkErrno(other2), 0);
  st = Bulwark(root, {"status", "deny-test"});
  EXPECT_EQ(st.output.find("TAMPERED"), std::string::npos) << st.output;
}

// A policy program's chain step fails closed too: the program of the policy behind it in the
// lane is missing.
TEST_F(SelfProtect, MissingProgramBehindAnotherPolicyFailsClosed) {
  ::setenv("BULWARK_TEST_UNGUARDED", "1", 1);
  auto r = Bulwark(root, {"load", bundle});  // slot 0
  ASSERT_EQ(r.exit_code, 0) << r.output;
  BundleSpec second;
  second.name = "deny-second";
  second.object = "deny_inode_unlink.bpf.o";
  second.unlinkHook = true;
  r = Bulwark(root, {"load", MakeBundle(tmp.path(), second)});  // slot 1, now the head of lane 0
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::string other = tmp.CreateFile("other", "x");
  uint32_t index = 0 * 2 + uint32_t(std::stoi(Gen()));
  EXPECT_EQ(Tamper({"delete", Pin("shared/bw_progs_FILE_UNLINK"), std::to_string(index)}), 0);
  EXPECT_EQ(guest::UnlinkErrno(other), EPERM);
  auto st = Bulwark(root, {"list"});
  EXPECT_NE(st.output.find("TAMPERED"), std::string::npos) << st.output;
  ASSERT_EQ(Bulwark(root, {"unload", "deny-test"}).exit_code, 0);  // takes slot 0 out of the chain
  EXPECT_EQ(guest::UnlinkErrno(other), 0);
  EXPECT_EQ(Bulwark(root, {"unload", "deny-second"}).exit_code, 0);
}

// The generation word pointed at the empty generation: both hooks of the slot fail closed.
// Done from this process with fds it holds, because every open is denied meanwhile.
TEST_F(SelfProtect, EmptyGenerationFailsClosed) {
  ::setenv("BULWARK_TEST_UNGUARDED", "1", 1);
  auto r = Bulwark(root, {"load", bundle});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::string other = tmp.CreateFile("other", "x");
  int fd = bpf_obj_get(Pin("shared/bw_gen").c_str());
  ASSERT_GE(fd, 0);
  uint32_t slot = 0, gen = 0;
  ASSERT_EQ(bpf_map_lookup_elem(fd, &slot, &gen), 0);
  uint32_t empty = gen ^ 1;
  ASSERT_EQ(bpf_map_update_elem(fd, &slot, &empty, BPF_ANY), 0);
  int unlinkErr = guest::UnlinkErrno(other), openErr = guest::OpenErrno(other);
  ASSERT_EQ(bpf_map_update_elem(fd, &slot, &gen, BPF_ANY), 0);
  ::close(fd);
  EXPECT_EQ(unlinkErr, EPERM);
  EXPECT_EQ(openErr, EPERM);
  EXPECT_EQ(guest::OpenErrno(other), 0);
  EXPECT_EQ(guest::UnlinkErrno(other), 0);
}

// With the guard off, the test process writes a cgroup scope into the bw_slot_scope entry of
// the policy's active generation: the dispatchers then pass over it for every task outside that
// cgroup (here: all of them), so its denial is skipped. status, list and doctor name the entry,
// and a load repairs it (its new generation's entry is written before its programs).
TEST_F(SelfProtect, AForgedScopeEntryIsReportedAndRepaired) {
  ::setenv("BULWARK_TEST_UNGUARDED", "1", 1);
  auto r = Bulwark(root, {"load", bundle});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ASSERT_EQ(guest::OpenErrno(protectedFile), EPERM);
  auto st = Bulwark(root, {"status", "deny-test"});
  EXPECT_EQ(st.output.find("TAMPERED"), std::string::npos) << "a host policy's entry as loaded: " << st.output;
  uint32_t index = 0 * 2 + uint32_t(std::stoi(Gen()));
  int fd = bpf_obj_get(Pin("shared/bw_slot_scope").c_str());
  ASSERT_GE(fd, 0);
  bw_slot_scope forged{};
  forged.kind = BW_SLOT_SCOPE_CGROUP;
  forged.count = 1;
  forged.level[0] = 1;
  forged.id[0] = 0x7fffffff; /* no cgroup: it holds no task */
  ASSERT_EQ(bpf_map_update_elem(fd, &index, &forged, BPF_ANY), 0);
  ::close(fd);
  EXPECT_EQ(guest::OpenErrno(protectedFile), 0) << "the premise: the forged entry passes over the policy";
  std::string entry = "bw_slot_scope[" + std::to_string(index) + "] passes over the policy outside 1 cgroup(s)";
  st = Bulwark(root, {"status", "deny-test"});
  EXPECT_NE(st.output.find("TAMPERED"), std::string::npos) << st.output;
  EXPECT_NE(st.output.find(entry), std::string::npos) << st.output;
  auto doc = Bulwark(root, {"doctor"});
  EXPECT_NE(doc.output.find("deny-test TAMPERED: " + entry), std::string::npos) << doc.output;
  r = Bulwark(root, {"load", auditBundle});  // repair: the next generation's entry as loaded
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = Bulwark(root, {"load", bundle});  // and enforcing again
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(guest::OpenErrno(protectedFile), EPERM);
  st = Bulwark(root, {"status", "deny-test"});
  EXPECT_EQ(st.output.find("TAMPERED"), std::string::npos) << st.output;
}

// Audit mode records instead of denying.
TEST_F(SelfProtect, MissingProgramOfAnAuditPolicyIsRecorded) {
  ::setenv("BULWARK_TEST_UNGUARDED", "1", 1);
  auto r = Bulwark(root, {"load", auditBundle});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  Bulwark(root, {"events"});  // drain
  std::string other = tmp.CreateFile("other", "x");
  uint32_t index = 0 * 2 + uint32_t(std::stoi(Gen()));
  ASSERT_EQ(Tamper({"delete", Pin("shared/bw_progs_FILE_UNLINK"), std::to_string(index)}), 0);
  EXPECT_EQ(guest::UnlinkErrno(other), 0);
  auto ev = Bulwark(root, {"events"});
  EXPECT_NE(ev.output.find("(missing program)"), std::string::npos) << ev.output;
  EXPECT_NE(ev.output.find("would-deny"), std::string::npos) << ev.output;
  auto st = Bulwark(root, {"status", "deny-test"});
  EXPECT_NE(st.output.find("TAMPERED"), std::string::npos) << st.output;
}

}  // namespace
}  // namespace bulwark::rttest
