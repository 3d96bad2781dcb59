// Hot swaps between versions that use different hooks (file.open only ↔ file.open +
// file.unlink): the added hook enforces from the switch on, the removed one stops, its
// dispatcher goes when no policy of the lane uses the hook, and a second policy chained
// behind it keeps enforcing throughout.
#include <gtest/gtest.h>

#include "RuntimeVmUtil.h"

namespace bulwark::rttest {
namespace {

// bw_unlink_deciders of `root`: {path_unlink programs that decide, counted (1)}; {-1, -1}
// when the map is not pinned.
std::pair<int64_t, int64_t> UnlinkDeciders(const PinRoot &root) {
  int fd = bpf_obj_get((root.path() + "/shared/bw_unlink_deciders").c_str());
  if (fd < 0)
    return {-1, -1};
  __u32 k0 = 0, k1 = 1, n = 0, counted = 0;
  bpf_map_lookup_elem(fd, &k0, &n);
  bpf_map_lookup_elem(fd, &k1, &counted);
  close(fd);
  return {n, counted};
}

TEST(HookSets, SwapAddsAndRemovesHooks) {
  ASSERT_TRUE(guest::InGuest());
  // This test reads bw_unlink_deciders from this process, which the self-protection guard
  // refuses to anyone but the runtime (rt_vm_self_protect tests it).
  struct Unguarded {
    Unguarded() { ::setenv("BULWARK_TEST_UNGUARDED", "1", 1); }
    ~Unguarded() { ::unsetenv("BULWARK_TEST_UNGUARDED"); }
  } unguarded;
  TempDir tmp;
  PinRoot root;
  std::string a = tmp.CreateFile("a"), b = tmp.CreateFile("b");
  std::string u1 = tmp.CreateFile("u1"), u2 = tmp.CreateFile("u2");
  BundleSpec other;  // slot 0, lane 0: denies open(b), file.open only
  other.name = "other";
  other.deny = {IdOf(b)};
  ASSERT_EQ(Bulwark(root, {"load", MakeBundle(tmp.path(), other)}).exit_code, 0);

  BundleSpec v1;  // slot 1: file.open only
  v1.deny = {IdOf(a), IdOf(u1), IdOf(u2)};
  BundleSpec v2 = v1;  // file.open + file.unlink
  v2.object = "deny_inode_unlink.bpf.o";
  v2.unlinkHook = true;
  std::string b1 = MakeBundle(tmp.path(), v1, "v1.bwb"), b2 = MakeBundle(tmp.path(), v2, "v2.bwb");
  const std::string unlinkDispatcher = root.path() + "/dispatch/path_unlink-0";

  ASSERT_EQ(Bulwark(root, {"load", b1}).exit_code, 0);
  EXPECT_EQ(guest::OpenErrno(a), EPERM);
  EXPECT_EQ(guest::OpenErrno(b), EPERM);
  EXPECT_FALSE(Exists(unlinkDispatcher));

  auto r = Bulwark(root, {"load", b2});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("hooks file.open,file.unlink"), std::string::npos) << r.output;
  EXPECT_TRUE(Exists(unlinkDispatcher));
  EXPECT_EQ(UnlinkDeciders(root), std::make_pair(int64_t(1), int64_t(1))) << "v2's path_unlink program decides";
  EXPECT_EQ(guest::UnlinkErrno(u1), EPERM);
  EXPECT_EQ(guest::OpenErrno(a), EPERM);
  EXPECT_EQ(guest::OpenErrno(b), EPERM);

  r = Bulwark(root, {"load", b1});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_FALSE(Exists(unlinkDispatcher)) << "no policy of lane 0 uses file.unlink any more";
  EXPECT_EQ(UnlinkDeciders(root).first, 0) << "v2's program went out with the swap";
  EXPECT_EQ(guest::UnlinkErrno(u1), 0);
  EXPECT_EQ(guest::OpenErrno(a), EPERM);
  EXPECT_EQ(guest::OpenErrno(b), EPERM);

  ASSERT_EQ(Bulwark(root, {"load", b2}).exit_code, 0);
  EXPECT_EQ(UnlinkDeciders(root), std::make_pair(int64_t(1), int64_t(1)));
  EXPECT_EQ(guest::UnlinkErrno(u2), EPERM);
  auto st = Bulwark(root, {"status", "deny-test"});
  EXPECT_NE(st.output.find("hooks:      file.open (file_open), file.unlink (path_unlink)\n"), std::string::npos) << st.output;

  ASSERT_EQ(Bulwark(root, {"unload", "deny-test"}).exit_code, 0);
  EXPECT_FALSE(Exists(unlinkDispatcher));
  EXPECT_EQ(UnlinkDeciders(root).first, 0) << "unloaded with its policy";
  EXPECT_EQ(guest::OpenErrno(a), 0);
  EXPECT_EQ(guest::OpenErrno(b), EPERM);
  EXPECT_EQ(guest::UnlinkErrno(u2), 0);
  ASSERT_EQ(Bulwark(root, {"unload", "other"}).exit_code, 0);
  EXPECT_EQ(guest::OpenErrno(b), 0);
}

TEST(HookSets, FirstLoadOfAMultiHookPolicy) {
  ASSERT_TRUE(guest::InGuest());
  TempDir tmp;
  PinRoot root;
  std::string u = tmp.CreateFile("u");
  BundleSpec v2;
  v2.object = "deny_inode_unlink.bpf.o";
  v2.unlinkHook = true;
  v2.deny = {IdOf(u)};
  ASSERT_EQ(Bulwark(root, {"load", MakeBundle(tmp.path(), v2)}).exit_code, 0);
  EXPECT_EQ(guest::OpenErrno(u), EPERM);
  EXPECT_EQ(guest::UnlinkErrno(u), EPERM);
  ASSERT_EQ(Bulwark(root, {"unload", "deny-test"}).exit_code, 0);
  EXPECT_EQ(guest::UnlinkErrno(u), 0);
}

uint64_t ExecCount(const std::string &mapPin) {
  int fd = bpf_obj_get(mapPin.c_str());
  if (fd < 0)
    return 0;
  __u32 key = 0;
  __u64 v = 0;
  bpf_map_lookup_elem(fd, &key, &v);
  close(fd);
  return v;
}

TEST(HookSets, HelperProgramsFollowTheirVersion) {
  ASSERT_TRUE(guest::InGuest());
  TempDir tmp;
  PinRoot root;
  BundleSpec plain, withHelper;
  plain.deny = {IdOf(tmp.CreateFile("a"))};
  withHelper = plain;
  withHelper.object = "deny_inode_helper.bpf.o";
  withHelper.helper = true;
  std::string bPlain = MakeBundle(tmp.path(), plain, "plain.bwb"), bHelper = MakeBundle(tmp.path(), withHelper, "helper.bwb");
  ASSERT_EQ(CountLinks("bw_exec_helper"), 0);

  auto r = Bulwark(root, {"load", bHelper});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::string gen = Exists(root.path() + "/deny-test/gen1") ? "gen1" : "gen0";
  EXPECT_TRUE(Exists(root.path() + "/deny-test/" + gen + "/helper_bw_exec_helper"));
  EXPECT_EQ(CountLinks("bw_exec_helper"), 1);
  EXPECT_FALSE(Exists(root.path() + "/dispatch/bprm_committed_creds-0")) << "helpers are not dispatched";
  uint64_t before = ExecCount(root.path() + "/deny-test/" + gen + "/exec_count");
  ASSERT_EQ(guest::RunCommand({"sh", "-c", "true"}).exit_code, 0);
  EXPECT_GT(ExecCount(root.path() + "/deny-test/" + gen + "/exec_count"), before);

  // Swap to a version without the helper: its link goes with its generation.
  ASSERT_EQ(Bulwark(root, {"load", bPlain}).exit_code, 0);
  EXPECT_EQ(CountLinks("bw_exec_helper"), 0);
  // And back; then unload.
  ASSERT_EQ(Bulwark(root, {"load", bHelper}).exit_code, 0);
  ASSERT_EQ(Bulwark(root, {"load", bHelper}).exit_code, 0);  // helper → helper swap
  EXPECT_EQ(CountLinks("bw_exec_helper"), 1);
  ASSERT_EQ(Bulwark(root, {"unload", "deny-test"}).exit_code, 0);
  EXPECT_EQ(CountLinks("bw_exec_helper"), 0);
  EXPECT_EQ(CountLinks("bw_dispatch_"), 0);
}

}  // namespace
}  // namespace bulwark::rttest
