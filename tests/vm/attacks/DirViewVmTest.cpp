// The view of a file's path taken from its directory's, kept per CPU between events
// (bw_dirpath): an attacker opens a file so that its directory's view is kept, then changes
// what that view would be — renames the directory or its parent, moves the mount it is on,
// binds it elsewhere, changes root — and opens a file whose new path the policy denies. A path
// kept from before the change would let that open through. Beside each attack, a file whose
// path the policy does not match opens. As root and as uid 1000 in a user namespace, on CPU 0,
// so every open of a case meets the same entry.
//
// Policy: tests/vm/attacks/policies/attack_dir_view.bw (globs: the process's view).
// Everything lives under /tmp/bw-dirview; mounts are made in the attacker's own mount
// namespace and go away with it.
#include <gtest/gtest.h>

#include <bpf/bpf.h>
#include <sched.h>

#include "Attacker.h"
#include "bw_abi.h"

namespace bulwark::attacks {
namespace {

const std::string kBase = "/tmp/bw-dirview";
const std::string kPinRoot = "/sys/fs/bpf/bw-dirview";
const std::string kBundle = "attack-bundles/attack_dir_view.bwb";
const std::string kLateBundle = "attack-bundles/attack_dir_facts_late.bwb";

class LoadedPolicy : public ::testing::Environment {
public:
  void SetUp() override {
    ASSERT_TRUE(guest::InGuest());
    // KeptView reads bw_dirpath from this process, which the self-protection guard refuses to
    // anyone but the runtime (rt_vm_self_protect tests the guard).
    ::setenv("BULWARK_TEST_UNGUARDED", "1", 1);
    ASSERT_NO_THROW(FreshSharedDir(kBase));
    ASSERT_NO_THROW(MkDir(kBase + "/protected")); /* the policy's prefix group labels it */
    ASSERT_NO_THROW(MkDir(kBase + "/hinted"));    /* and its exact group this one */
    auto r = Bulwark(kPinRoot, {"load", guest::GuestFile(kBundle)});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    ASSERT_NO_THROW(OnCpu(0));
  }
  void TearDown() override {
    Bulwark(kPinRoot, {"unload", "attack_dir_view"});
    RemoveTree(kBase);
  }
};
[[maybe_unused]] auto *const kEnv = ::testing::AddGlobalTestEnvironment(new LoadedPolicy);

// Entry `key` of the shared map `name` into `out`: 0, or the errno of opening or reading it.
template <class V> int SharedEntry(const char *name, bw_u32 key, V &out) {
  int fd = bpf_obj_get((kPinRoot + "/shared/" + name).c_str());
  if (fd < 0)
    return errno;
  int err = bpf_map_lookup_elem(fd, &key, &out) == 0 ? 0 : errno;
  close(fd);
  return err;
}

// CPU 0's entry of bw_dirpath: the directory view it holds ("" for none).
std::string KeptView() {
  bw_dir_path e{};
  if (int err = SharedEntry("bw_dirpath", 0, e))
    return std::string("no entry: ") + std::strerror(err);
  return e.key.dir == 0 ? "" : std::string(e.data, e.len);
}

// CPU 0's entry of bw_dirfacts: the inode number of the directory whose facts it holds (0 for
// none), and its count of hinted ancestors.
std::pair<uint64_t, uint32_t> KeptFacts() {
  bw_dir_facts e{};
  if (SharedEntry("bw_dirfacts", 0, e) != 0 || e.dir == 0)
    return {0, 0};
  return {e.ino, e.nunder};
}

// bw_hint's count of bits set (BW_HINT_CHANGES).
uint64_t HintChanges() {
  bw_u64 n = 0;
  return SharedEntry("bw_hint", BW_HINT_CHANGES, n) == 0 ? n : 0;
}

uint64_t InodeOf(const std::string &path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

// A case's own directory under kBase (1777, so the attacker can make its own).
std::string CaseDir() { return MakeTempDir(kBase); }

std::string Secret(const std::string &dir) {
  guest::WriteFile(dir + "/secret", "data\n");
  return dir + "/secret";
}

// Expected results of an attack, in order, against what the attacker saw.
void ExpectResults(const std::vector<int> &got, const std::vector<int> &want, Who who) {
  ASSERT_EQ(got.size(), want.size()) << Name(who);
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_EQ(Describe(got[i]), Describe(want[i])) << Name(who) << ", open " << i;
}

// The premise: an open keeps its directory's view, and the next file there is not the only
// path to it (the other tests would pass without the entry, this one would not).
TEST(DirView, AnOpenKeepsItsDirectorysView) {
  std::string d = CaseDir();
  MkDir(d + "/a");
  std::string f = Secret(d + "/a");
  ASSERT_EQ(OpenRead(f), 0);
  EXPECT_EQ(KeptView(), d + "/a");
  ASSERT_EQ(rename((d + "/a").c_str(), (d + "/b").c_str()), 0);
  ASSERT_EQ(OpenRead(d + "/b/secret"), 0);
  EXPECT_EQ(KeptView(), d + "/b") << "a rename makes the next open build the view again";
}

// A directory's identity facts kept by an open, then a policy loaded that labels the
// directory's parent: the next open of a file there is denied (the facts were worked out before
// the label: bw_hint's count of bits set tells the entry is stale), and a file elsewhere opens.
// The load runs on CPU 1: its own opens on CPU 0 would replace the entry, and the open after it
// would then work the facts out afresh whether or not the count were checked.
TEST(DirFacts, ALabelSetAfterTheFactsWereKeptIsSeen) {
  ASSERT_GE(sysconf(_SC_NPROCESSORS_ONLN), 2) << "the test needs a second CPU for the load (run-vm --smp 2)";
  MkDir(kBase + "/late");
  MkDir(kBase + "/late/x");
  std::string f = Secret(kBase + "/late/x");
  std::string d = CaseDir();
  std::string control = Secret(d);
  ASSERT_EQ(OpenRead(f), 0);
  ASSERT_EQ(OpenRead(f), 0);
  EXPECT_EQ(KeptFacts(), (std::pair<uint64_t, uint32_t>{InodeOf(kBase + "/late/x"), 0}))
      << "the premise: an open keeps its directory's facts (no hinted ancestor yet)";
  OnCpu(1);
  auto r = Bulwark(kPinRoot, {"load", guest::GuestFile(kLateBundle)});
  OnCpu(0);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(KeptFacts(), (std::pair<uint64_t, uint32_t>{InodeOf(kBase + "/late/x"), 0}))
      << "the load left CPU 0's entry as it was";
  EXPECT_EQ(Describe(OpenRead(f)), Describe(EPERM)) << "a file under the directory labelled after the facts were kept";
  EXPECT_EQ(Describe(OpenRead(control)), Describe(0));
  EXPECT_EQ(KeptFacts(), (std::pair<uint64_t, uint32_t>{InodeOf(d), 0}));
  EXPECT_EQ(Describe(OpenRead(f)), Describe(EPERM)) << "and again, from facts worked out with the label";
  EXPECT_EQ(KeptFacts().second, 1u) << "the labelled ancestor is kept among the directory's facts";
  Bulwark(kPinRoot, {"unload", "attack_dir_facts_late"});
  EXPECT_EQ(Describe(OpenRead(f)), Describe(0)) << "unloaded";
}

// A directory whose facts were kept, moved under the protected directory: the next open of a
// file in it is denied, from facts worked out again, and the entry then holds the protected
// ancestor. The rename runs on CPU 1: its own programs work out facts, which on CPU 0 would
// replace the entry. Both counts change here (rename_lock, and the hint of the label the move
// learns), so dropping only the rename check still passes: the next test isolates it.
TEST(DirFacts, ADirectoryMovedUnderAProtectedOneIsProtectedAtOnce) {
  ASSERT_GE(sysconf(_SC_NPROCESSORS_ONLN), 2) << "the test needs a second CPU for the rename (run-vm --smp 2)";
  std::string d = CaseDir();
  MkDir(d + "/a");
  MkDir(d + "/a/x");
  std::string f = Secret(d + "/a/x");
  ASSERT_EQ(OpenRead(f), 0);
  ASSERT_EQ(KeptFacts(), (std::pair<uint64_t, uint32_t>{InodeOf(d + "/a/x"), 0}))
      << "the premise: the open kept the directory's facts";
  std::string moved = kBase + "/protected/" + d.substr(d.rfind('/') + 1);
  OnCpu(1);
  int renamed = rename((d + "/a").c_str(), moved.c_str());
  OnCpu(0);
  ASSERT_EQ(renamed, 0) << std::strerror(errno);
  EXPECT_EQ(KeptFacts(), (std::pair<uint64_t, uint32_t>{InodeOf(moved + "/x"), 0}))
      << "the rename left CPU 0's entry as it was";
  EXPECT_EQ(Describe(OpenRead(moved + "/x/secret")), Describe(EPERM));
  EXPECT_EQ(KeptFacts(), (std::pair<uint64_t, uint32_t>{InodeOf(moved + "/x"), 1}));
}

// As above, for a rename that sets no new hint bit: the moved directory had a label already (of
// another group: hint bits do not tell groups apart), so only rename_lock's sequence tells the
// entry is stale. Dropping that check makes this test fail.
TEST(DirFacts, ARenameThatSetsNoNewHintIsSeen) {
  ASSERT_GE(sysconf(_SC_NPROCESSORS_ONLN), 2) << "the test needs a second CPU for the rename (run-vm --smp 2)";
  std::string hinted = kBase + "/hinted";
  MkDir(hinted + "/x");
  std::string f = Secret(hinted + "/x");
  ASSERT_EQ(OpenRead(f), 0);
  ASSERT_EQ(KeptFacts(), (std::pair<uint64_t, uint32_t>{InodeOf(hinted + "/x"), 0}))
      << "the premise: the open kept the directory's facts";
  uint64_t hints = HintChanges();
  ASSERT_NE(hints, 0u);
  std::string moved = kBase + "/protected/hinted";
  OnCpu(1);
  int renamed = rename(hinted.c_str(), moved.c_str());
  OnCpu(0);
  ASSERT_EQ(renamed, 0) << std::strerror(errno);
  ASSERT_EQ(HintChanges(), hints) << "the premise: the move set no new hint bit";
  EXPECT_EQ(KeptFacts(), (std::pair<uint64_t, uint32_t>{InodeOf(moved + "/x"), 0}))
      << "the rename left CPU 0's entry as it was";
  EXPECT_EQ(Describe(OpenRead(moved + "/x/secret")), Describe(EPERM));
  EXPECT_EQ(KeptFacts(), (std::pair<uint64_t, uint32_t>{InodeOf(moved + "/x"), 1}));
  std::string control = Secret(CaseDir());
  EXPECT_EQ(Describe(OpenRead(control)), Describe(0));
}

class Attack : public ::testing::TestWithParam<Who> {};

// The file's directory, and the directory above it, renamed after an open kept the view.
TEST_P(Attack, RenamedDirectoryIsSeenByItsNewName) {
  SKIP_IF_NO_USERNS(GetParam());
  auto got = AsAttacker(GetParam(), [] {
    std::string d = CaseDir();
    MkDir(d + "/plain");
    MkDir(d + "/plain/x");
    std::string f = Secret(d + "/plain/x");
    const std::string kLong = "/secret-whose-name-is-longer-than-a-dentry-holds";
    guest::WriteFile(d + "/plain/x" + kLong, "data\n");
    std::vector<int> r{OpenRead(f), OpenRead(f), OpenRead(d + "/plain/x" + kLong)};
    Check(rename((d + "/plain").c_str(), (d + "/renamed").c_str()), "rename the parent");
    r.push_back(OpenRead(d + "/renamed/x/secret"));
    r.push_back(OpenRead(d + "/renamed/x" + kLong));
    Check(rename((d + "/renamed").c_str(), (d + "/plain").c_str()), "rename it back");
    r.push_back(OpenRead(f));
    MkDir(d + "/own");
    std::string g = Secret(d + "/own");
    r.push_back(OpenRead(g));
    Check(rename((d + "/own").c_str(), (d + "/dir-renamed").c_str()), "rename the directory");
    r.push_back(OpenRead(d + "/dir-renamed/secret"));
    return r;
  });
  ExpectResults(got, {0, 0, 0, EPERM, EPERM, 0, 0, EPERM}, GetParam());
}

// The mount the directory is on moved elsewhere (its dentry, mount and root unchanged). On 6.1
// the move changes the rename sequence as well as the mount sequence (the place it moves to
// becomes a mount point), so either check catches it.
TEST_P(Attack, MovedMountIsSeenAtItsNewPlace) {
  SKIP_IF_NO_USERNS(GetParam());
  auto got = AsAttacker(GetParam(), [] {
    std::string d = CaseDir();
    MkDir(d + "/m");
    MkDir(d + "/moved");
    Check(mount("tmpfs", (d + "/m").c_str(), "tmpfs", 0, "mode=0755"), "tmpfs on " + d + "/m");
    MkDir(d + "/m/x");
    std::string f = Secret(d + "/m/x");
    std::vector<int> r{OpenRead(f)};
    Check(mount((d + "/m").c_str(), (d + "/moved").c_str(), nullptr, MS_MOVE, nullptr), "move the mount");
    r.push_back(OpenRead(d + "/moved/x/secret"));
    Check(umount((d + "/moved").c_str()), "umount");
    return r;
  });
  ExpectResults(got, {0, EPERM}, GetParam());
}

// The directory bound elsewhere: the same dentry, seen in another mount.
TEST_P(Attack, BoundDirectoryIsSeenWhereItIsBound) {
  SKIP_IF_NO_USERNS(GetParam());
  auto got = AsAttacker(GetParam(), [] {
    std::string d = CaseDir();
    MkDir(d + "/src");
    MkDir(d + "/src/x");
    MkDir(d + "/bound");
    std::string f = Secret(d + "/src/x");
    std::vector<int> r{OpenRead(f)};
    Check(mount((d + "/src").c_str(), (d + "/bound").c_str(), nullptr, MS_BIND, nullptr), "bind");
    r.push_back(OpenRead(d + "/bound/x/secret"));
    r.push_back(OpenRead(f));
    return r;
  });
  ExpectResults(got, {0, EPERM, 0}, GetParam());
}

// Another root: the directory is the process's root after chroot, so its file is "/secret"
// there; and the test process, outside the jail, still sees that file by its full path.
TEST_P(Attack, ChrootSeesItsOwnRoot) {
  SKIP_IF_NO_USERNS(GetParam());
  std::string jail = CaseDir();
  ASSERT_EQ(chmod(jail.c_str(), 0777), 0);
  auto got = AsAttacker(GetParam(), [jail] {
    std::string f = Secret(jail);
    std::vector<int> r{OpenRead(f), OpenRead(f)};
    Check(chroot(jail.c_str()), "chroot " + jail);
    Check(chdir("/"), "chdir /");
    r.push_back(OpenRead("/secret"));
    return r;
  });
  ExpectResults(got, {0, 0, EPERM}, GetParam());
  EXPECT_EQ(Describe(OpenRead(jail + "/secret")), Describe(0)) << "a view kept inside the jail";
}

INSTANTIATE_TEST_SUITE_P(DirView, Attack, ::testing::Values(Who::Root, Who::User),
                         [](const auto &info) { return std::string(info.param == Who::Root ? "Root" : "User"); });

}  // namespace
}  // namespace bulwark::attacks
