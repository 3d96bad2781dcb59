// File identity (bw_m_ident): rules on exact and prefix paths also hold for every other
// name of a protected file. The bundle is compiled by bulwarkc from
// tests/vm/runtime/policies/rt_identity.bw and loaded by bulwark; everything happens on files
// under /tmp/bw-ident (one tmpfs, so hard links work) and a private pin root.
#include <gtest/gtest.h>

#include <bpf/bpf.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <regex>

#include "RuntimeVmUtil.h"
#include "bw_match.h"

namespace bulwark::rttest {
namespace {

const std::string kDir = "/tmp/bw-ident";
const std::string kManyDir = "/tmp/bw-many";  // policies/many-prefixes.sh
const std::string kViewDirs[] = {"/var/tmp/bw-views", "/run/bw-views"};  // policies/rt_identity_views.bw

void Link(const std::string &from, const std::string &to) {
  ASSERT_EQ(::link(from.c_str(), to.c_str()), 0) << from << " -> " << to << ": " << std::strerror(errno);
}
void Rename(const std::string &from, const std::string &to) {
  ASSERT_EQ(::rename(from.c_str(), to.c_str()), 0) << from << " -> " << to << ": " << std::strerror(errno);
}

class Identity : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_TRUE(guest::InGuest());
    // These tests count the entries of the policy's bw_m_ident from this process, which the
    // self-protection guard refuses to anyone but the runtime (rt_vm_self_protect tests it).
    ::setenv("BULWARK_TEST_UNGUARDED", "1", 1);
    std::filesystem::remove_all(kDir);
    for (const auto &d : kViewDirs)  // they must not exist at load
      std::filesystem::remove_all(d);
    for (const char *d : {"", "/vault", "/out", "/keep"})
      std::filesystem::create_directories(kDir + d);
    for (const char *f : {"/secret", "/vault/key", "/vault/doc", "/vault/tmp", "/plain"})
      guest::WriteFile(kDir + f, "data");
    Link(kDir + "/secret", kDir + "/out/secret-before");  // an alias from before the load
    guest::WriteFile(kDir + "/target", "data");
    // process.exe of a rule, a hard link of it and a copy (busybox picks its applet by the
    // name it runs under, so every name ends in "busybox")
    for (const char *d : {"/bin", "/copy"})
      std::filesystem::create_directories(kDir + d);
    std::filesystem::copy_file("/bin/busybox", kDir + "/bin/busybox");
    Link(kDir + "/bin/busybox", kDir + "/out/busybox");
    std::filesystem::copy_file("/bin/busybox", kDir + "/copy/busybox");
    bundle = GuestFile("rt-identity.bwb");
  }
  void TearDown() override {
    Bulwark(root, {"unload", "rt_identity"});
    Bulwark(root, {"unload", "rt_many_prefixes"});
    Bulwark(root, {"unload", "rt_identity_learn"});
    Bulwark(root, {"unload", "rt_identity_outside"});
    Bulwark(root, {"unload", "rt_identity_views"});
    std::filesystem::remove_all(kDir);
    for (const auto &d : kViewDirs)
      std::filesystem::remove_all(d);
    std::filesystem::remove_all(kManyDir);
  }
  void Load() {
    auto r = Bulwark(root, {"load", bundle});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    // secret, target and bin/busybox exist, absent and later/secret do not
    EXPECT_NE(r.output.find("identity: 3 of 5 protected paths exist"), std::string::npos) << r.output;
    // later/ does not exist either: its group also reads path strings, the prefix group not
    EXPECT_NE(r.output.find("paths without an object at load are also matched by name"), std::string::npos)
        << r.output;
  }
  // Labels of single files (BW_IDENT_SELF) in the enforcing generation's bw_m_ident.
  int IdentityEntries(const std::string &policy = "rt_identity") {
    for (const char *gen : {"gen0", "gen1"}) {
      std::string pin = root.path() + "/" + policy + "/" + gen + "/bw_m_ident";
      int fd = bpf_obj_get(pin.c_str());
      if (fd < 0)
        continue;
      int n = 0;
      bw_ident_key k{}, next{};
      for (void *cur = nullptr; bpf_map_get_next_key(fd, cur, &next) == 0; cur = &k, k = next)
        n += next.name == BW_IDENT_SELF && next.ino != 0;
      ::close(fd);
      return n;
    }
    return -1;
  }
  // The entries of the shared map bw_unlink_quiet that say their program decides nothing.
  int QuietUnlinkPrograms() {
    int fd = bpf_obj_get((root.path() + "/shared/bw_unlink_quiet").c_str());
    if (fd < 0)
      return -1;
    int n = 0;
    for (uint32_t i = 0; i < BW_PROG_ARRAY_SIZE; ++i) {
      uint32_t v = 0;
      n += bpf_map_lookup_elem(fd, &i, &v) == 0 && v == 1;
    }
    ::close(fd);
    return n;
  }
  // The bit of `path`'s inode, of `kind`, in the shared bw_hint.
  bool Hinted(const std::string &path, uint64_t kind = BW_IDENT_SELF) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    uint32_t dev = (major(st.st_dev) << 20) | minor(st.st_dev);
    uint32_t b = bw_hint_bit(dev, st.st_ino, kind), w = b >> 6;
    int fd = bpf_obj_get((root.path() + "/shared/bw_hint").c_str());
    EXPECT_GE(fd, 0);
    uint64_t word = 0;
    EXPECT_EQ(bpf_map_lookup_elem(fd, &w, &word), 0);
    ::close(fd);
    return (word >> (b & 63)) & 1;
  }
  PinRoot root;
  std::string bundle;
};

TEST_F(Identity, HardLinksAndRenamesOfProtectedFilesStayProtected) {
  ASSERT_NO_FATAL_FAILURE(Load());
  Bulwark(root, {"events"});  // drain
  // the paths themselves, and the control
  EXPECT_EQ(guest::OpenErrno(kDir + "/secret"), EPERM);
  EXPECT_EQ(guest::OpenErrno(kDir + "/vault/key"), EPERM);
  EXPECT_EQ(guest::OpenErrno(kDir + "/plain"), 0);

  // 1. a hard link made before the load: seeded from lstat at load
  EXPECT_EQ(guest::OpenErrno(kDir + "/out/secret-before"), EPERM);
  // 2. a hard link made now, of an exact path and of a file under the prefix: learned
  Link(kDir + "/secret", kDir + "/out/secret-now");
  Link(kDir + "/vault/key", kDir + "/out/key-now");
  EXPECT_EQ(guest::OpenErrno(kDir + "/out/secret-now"), EPERM);
  EXPECT_EQ(guest::OpenErrno(kDir + "/out/key-now"), EPERM);
  // ... but not a link of an unprotected file
  Link(kDir + "/plain", kDir + "/out/plain-now");
  EXPECT_EQ(guest::OpenErrno(kDir + "/out/plain-now"), 0);
  // 3. a new file renamed onto the protected path (as passwd replaces /etc/shadow): a name
  //    it had before the rename is protected from then on
  guest::WriteFile(kDir + "/secret.new", "new data");
  Link(kDir + "/secret.new", kDir + "/out/new-alias");
  EXPECT_EQ(guest::OpenErrno(kDir + "/out/new-alias"), 0) << "not protected before the rename";
  Rename(kDir + "/secret.new", kDir + "/secret");
  EXPECT_EQ(guest::OpenErrno(kDir + "/out/new-alias"), EPERM);
  EXPECT_EQ(guest::OpenErrno(kDir + "/secret"), EPERM);
  // 4. a protected file moved away from the prefix keeps its protection
  Rename(kDir + "/vault/doc", kDir + "/out/doc");
  EXPECT_EQ(guest::OpenErrno(kDir + "/out/doc"), EPERM);

  // events name the rule and the name actually opened
  auto ev = Bulwark(root, {"events", "--format", "json"});
  ASSERT_EQ(ev.exit_code, 0) << ev.output;
  EXPECT_TRUE(std::regex_search(ev.output, std::regex(R"("rule":"secret".*"object":"/tmp/bw-ident/out/secret-before")")))
      << ev.output;
  EXPECT_TRUE(std::regex_search(ev.output, std::regex(R"("rule":"vault".*"object":"/tmp/bw-ident/out/key-now")")))
      << ev.output;

  // after unload every name opens again
  ASSERT_EQ(Bulwark(root, {"unload", "rt_identity"}).exit_code, 0);
  for (const char *f : {"/secret", "/out/secret-before", "/out/key-now", "/out/new-alias", "/out/doc"})
    EXPECT_EQ(guest::OpenErrno(kDir + f), 0) << f;
}

// A listed path whose directory did not exist at load has no object to label: its name, as
// the process sees it, still denies. Controls: another file in that directory, and the
// prefix group (every path had an object: decided on objects alone, no string built) still
// denies and its record carries the name opened.
TEST_F(Identity, PathsWithoutAnObjectAtLoadAreDeniedByName) {
  ASSERT_NO_FATAL_FAILURE(Load());
  Bulwark(root, {"events"});  // drain
  std::filesystem::create_directories(kDir + "/later");
  guest::WriteFile(kDir + "/later/staged", "data");  // writing it in place would be denied
  Rename(kDir + "/later/staged", kDir + "/later/secret");
  guest::WriteFile(kDir + "/later/other", "data");
  EXPECT_EQ(guest::OpenErrno(kDir + "/later/secret"), EPERM);
  EXPECT_EQ(guest::OpenErrno(kDir + "/later/other"), 0);
  guest::WriteFile(kDir + "/staged", "data");
  Rename(kDir + "/staged", kDir + "/vault/new");
  EXPECT_EQ(guest::OpenErrno(kDir + "/vault/new"), EPERM);
  auto ev = Bulwark(root, {"events", "--format", "json"});
  ASSERT_EQ(ev.exit_code, 0) << ev.output;
  EXPECT_TRUE(std::regex_search(ev.output, std::regex(R"("rule":"secret".*"object":"/tmp/bw-ident/later/secret")")))
      << ev.output;
  EXPECT_TRUE(std::regex_search(ev.output, std::regex(R"("rule":"vault".*"object":"/tmp/bw-ident/vault/new")")))
      << ev.output;
}

// Two policies whose paths without an object at load start with other bytes (rt_identity:
// "/tmp/bw-", rt_identity_views: "/var/tmp" and "/run/bw-"): a string that starts with none of
// the view heads of the policy that runs first in the chain is still compared with the other's;
// within rt_identity_views, each group is matched by name with its own heads. Controls: a file
// beside each protected one.
TEST_F(Identity, EachPolicyAndGroupMatchesItsOwnPathsByName) {
  ASSERT_NO_FATAL_FAILURE(Load());
  auto r = Bulwark(root, {"load", GuestFile("rt-identity-views.bwb")});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("paths without an object at load are also matched by name"), std::string::npos) << r.output;
  struct Case {
    std::string denied, staged, beside;  // staged: written there, then renamed to `denied`
  };
  const Case cases[] = {
      {kDir + "/later/secret", kDir + "/later/secret.staged", kDir + "/later/other"},
      {"/var/tmp/bw-views/secret", "/var/tmp/bw-views/secret.staged", "/var/tmp/bw-views/other"},
      {"/run/bw-views/later/key", "/run/bw-views/key.staged", "/run/bw-views/other"},
  };
  for (const auto &c : cases) {
    std::filesystem::create_directories(std::filesystem::path(c.denied).parent_path());
    guest::WriteFile(c.staged, "data");  // writing it in place would be denied
    Rename(c.staged, c.denied);
    guest::WriteFile(c.beside, "data");
  }
  for (const auto &c : cases) {
    EXPECT_EQ(guest::OpenErrno(c.denied), EPERM) << c.denied;
    EXPECT_EQ(guest::OpenErrno(c.beside), 0) << c.beside;
  }
}

// A list used only where its holding leads to allow (under `not` in a deny rule) decides on
// objects alone: a directory made after the load at one of its paths is not taken for the
// listed one by its name, as a view must never grant an allow, and the load says no path is
// matched by name. Controls: the listed directory that existed at load, and a read open.
TEST_F(Identity, AListThatOnlyExceptsIsDecidedOnObjectsAlone) {
  auto r = Bulwark(root, {"load", GuestFile("rt-identity-outside.bwb")});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("identity: 1 of 2 protected directories exist"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("matched by name"), std::string::npos) << r.output;
  std::filesystem::create_directories(kDir + "/made-later");
  guest::WriteFile(kDir + "/made-later/log", "data");
  guest::WriteFile(kDir + "/out/log", "data");
  EXPECT_EQ(guest::OpenErrno(kDir + "/out/log", O_WRONLY | O_APPEND), 0);
  EXPECT_EQ(guest::OpenErrno(kDir + "/made-later/log", O_WRONLY | O_APPEND), EPERM);
  EXPECT_EQ(guest::OpenErrno(kDir + "/plain", O_WRONLY | O_APPEND), EPERM);
  EXPECT_EQ(guest::OpenErrno(kDir + "/made-later/log"), 0);
  ASSERT_EQ(Bulwark(root, {"unload", "rt_identity_outside"}).exit_code, 0);
  EXPECT_EQ(guest::OpenErrno(kDir + "/made-later/log", O_WRONLY | O_APPEND), 0);
}

// More labelled ancestors than the per-event facts keep (directories moved out of the vault
// one by one, then nested): every ancestor is still looked up. A file below them is the
// vault's; the unlink rule's group, which none of those labels are for, does not fail closed
// because of them.
TEST_F(Identity, ManyLabelledAncestorsAreAllLookedUp) {
  ASSERT_NO_FATAL_FAILURE(Load());
  guest::WriteFile(kDir + "/keep/x", "data");
  EXPECT_EQ(guest::UnlinkErrno(kDir + "/keep/x"), EPERM) << "the unlink rule holds";
  constexpr int kNested = 2 * BW_FACT_UNDER;
  for (int i = 0; i < kNested; ++i) {  // each leaves the vault on its own: each is labelled
    std::string name = "/nest" + std::to_string(i);
    std::filesystem::create_directories(kDir + "/vault" + name);
    Rename(kDir + "/vault" + name, kDir + "/out" + name);
  }
  std::string chain = kDir + "/out/nest0";
  for (int i = 1; i < kNested; ++i) {
    std::string name = "/nest" + std::to_string(i);
    Rename(kDir + "/out" + name, chain + name);
    chain += name;
  }
  guest::WriteFile(kDir + "/staged", "data");
  Rename(kDir + "/staged", chain + "/f");
  EXPECT_EQ(guest::OpenErrno(chain + "/f"), EPERM) << "below directories of the vault";
  EXPECT_EQ(guest::OpenErrno(kDir + "/plain"), 0);
  EXPECT_EQ(guest::UnlinkErrno(chain + "/f"), 0);
}

// A policy listing more directories than the smallest own hint map is sized for: the runtime
// grows its bw_m_hint and tells the programs its size, and sets each directory's bit there and
// in the shared bw_hint, where the programs look for them. A file below a listed directory is
// denied, also after that directory moved elsewhere; a file beside them is not.
TEST_F(Identity, ManyListedDirectoriesAreHintedWhereTheProgramsLook) {
  for (int i = 0; i < BULWARK_MANY_PREFIXES; ++i)
    std::filesystem::create_directories(kManyDir + "/d" + std::to_string(i));
  std::filesystem::create_directories(kManyDir + "/other");
  for (const char *f : {"/d0/f", "/d777/f", "/d1099/f", "/other/f"})
    guest::WriteFile(kManyDir + f, "data");
  auto r = Bulwark(root, {"load", GuestFile("rt-many-prefixes.bwb")});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  int fd = bpf_obj_get((root.path() + "/shared/bw_hint").c_str());
  ASSERT_GE(fd, 0) << "no pinned bw_hint";
  bpf_map_info info{};
  uint32_t len = sizeof info;
  ASSERT_EQ(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
  ::close(fd);
  EXPECT_EQ(info.max_entries, BW_HINT_MAP_WORDS);
  fd = -1;
  for (const char *gen : {"gen0", "gen1"})
    if (fd < 0)
      fd = bpf_obj_get((root.path() + "/rt_many_prefixes/" + gen + "/bw_m_hint").c_str());
  ASSERT_GE(fd, 0) << "no pinned bw_m_hint";
  info = {};
  len = sizeof info;
  ASSERT_EQ(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
  ::close(fd);
  EXPECT_EQ(info.max_entries, bw_policy_hint_quarter_for(BULWARK_MANY_PREFIXES) / 16);
  EXPECT_GT(info.max_entries, BW_POLICY_HINT_WORDS);
  for (const char *d : {"/d0", "/d777", "/d1099"})
    EXPECT_TRUE(Hinted(kManyDir + d, BW_IDENT_UNDER)) << d;
  for (const char *f : {"/d0/f", "/d777/f", "/d1099/f"})
    EXPECT_EQ(guest::OpenErrno(kManyDir + f), EPERM) << f;
  EXPECT_EQ(guest::OpenErrno(kManyDir + "/other/f"), 0);
  Rename(kManyDir + "/d777", kManyDir + "/other/moved");
  EXPECT_EQ(guest::OpenErrno(kManyDir + "/other/moved/f"), EPERM) << "the directory, not its name";
  EXPECT_EQ(guest::OpenErrno(kManyDir + "/other/f"), 0);
}

// process.exe is a path field too: the program run under another name (a hard link) is the
// listed program; a copy is another file. Two opens in one process: the first walks
// mm->exe_file and fills the exe cache, the second takes path and identity from the cache.
TEST_F(Identity, ProgramRunUnderAnotherNameIsTheListedProgram) {
  ASSERT_NO_FATAL_FAILURE(Load());
  std::string target = kDir + "/target";
  auto alias = guest::RunCommand({kDir + "/out/busybox", "cat", target, target}, std::chrono::seconds(30));
  EXPECT_NE(alias.exit_code, 0) << alias.output;
  size_t denied = 0;
  for (size_t at = 0; (at = alias.output.find("not permitted", at)) != std::string::npos; ++at)
    ++denied;
  EXPECT_EQ(denied, 2u) << alias.output;
  auto copy = guest::RunCommand({kDir + "/copy/busybox", "cat", target, target}, std::chrono::seconds(30));
  EXPECT_EQ(copy.exit_code, 0) << copy.output;
}

// `scope executable` is about the program too: the listed busybox run under another name is
// in scope, a copy of it (another file) is not, even when run from a chroot where it sits at
// the listed path.
TEST_F(Identity, ExecutableScopeIsTheProgramNotItsPath) {
  auto r = Bulwark(root, {"load", GuestFile("rt-identity-scope.bwb")});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::string plain = kDir + "/plain";
  auto listed = guest::RunCommand({kDir + "/bin/busybox", "cat", plain}, std::chrono::seconds(30));
  EXPECT_NE(listed.exit_code, 0) << listed.output;
  auto alias = guest::RunCommand({kDir + "/out/busybox", "cat", plain}, std::chrono::seconds(30));
  EXPECT_NE(alias.exit_code, 0) << "a hard link is the listed program: " << alias.output;
  auto copy = guest::RunCommand({kDir + "/copy/busybox", "cat", plain}, std::chrono::seconds(30));
  EXPECT_EQ(copy.exit_code, 0) << "a copy is another program: " << copy.output;
  Bulwark(root, {"unload", "rt_identity_scope"});
}

// An inode is forgotten when its last link goes, so a later file that gets the same inode
// number is not taken for it; while another link remains it stays protected.
TEST_F(Identity, LastUnlinkForgetsTheInode) {
  ASSERT_NO_FATAL_FAILURE(Load());
  int seeded = IdentityEntries();
  ASSERT_EQ(seeded, 3);  // secret, target, bin/busybox
  // /vault/tmp is under the prefix: protected by its directory, it needs no label of its own
  Link(kDir + "/vault/tmp", kDir + "/out/tmp-alias");
  EXPECT_EQ(IdentityEntries(), seeded + 1);
  EXPECT_EQ(guest::OpenErrno(kDir + "/out/tmp-alias"), EPERM);
  ASSERT_EQ(::unlink((kDir + "/vault/tmp").c_str()), 0);  // one link left: still protected
  EXPECT_EQ(IdentityEntries(), seeded + 1);
  EXPECT_EQ(guest::OpenErrno(kDir + "/out/tmp-alias"), EPERM);
  ASSERT_EQ(::unlink((kDir + "/out/tmp-alias").c_str()), 0);  // the last link
  EXPECT_EQ(IdentityEntries(), seeded);
  // status shows how full the label map is (a full map denies links and renames needing one)
  auto st = Bulwark(root, {"status", "rt_identity"});
  EXPECT_TRUE(std::regex_search(st.output, std::regex(R"(object labels: \d+ of \d+\n)"))) << st.output;
}

// Labels a version learned (a protected file linked out of the vault) stay with the policy
// across hot swaps: a load carries them, a stage carries them and its switch carries those
// learned since the stage. A switch with none learned since its stage does not read the
// labels again (bw_learned), and they stay all the same.
TEST_F(Identity, LearnedLabelsSurviveHotSwaps) {
  const std::string kept = "labels learned by the replaced version kept";
  ASSERT_NO_FATAL_FAILURE(Load());
  Link(kDir + "/vault/key", kDir + "/out/key-1");
  auto r = Bulwark(root, {"load", bundle});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find(kept), std::string::npos) << r.output;
  EXPECT_EQ(guest::OpenErrno(kDir + "/out/key-1"), EPERM) << "carried by the load";
  // learned after the stage: the switch carries it
  ASSERT_EQ(Bulwark(root, {"load", "--stage", bundle}).exit_code, 0);
  Link(kDir + "/vault/doc", kDir + "/out/doc-2");
  r = Bulwark(root, {"switch", "rt_identity"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find(kept), std::string::npos) << "learned since the stage: " << r.output;
  EXPECT_EQ(guest::OpenErrno(kDir + "/out/doc-2"), EPERM);
  // nothing learned between stage and switch: no second read, nothing lost
  ASSERT_EQ(Bulwark(root, {"load", "--stage", bundle}).exit_code, 0);
  r = Bulwark(root, {"switch", "rt_identity"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.find(kept), std::string::npos) << "nothing learned since the stage: " << r.output;
  for (const char *f : {"/out/key-1", "/out/doc-2", "/out/secret-before"})
    EXPECT_EQ(guest::OpenErrno(kDir + f), EPERM) << f;
  EXPECT_EQ(guest::OpenErrno(kDir + "/plain"), 0);
}

// A lane whose policies have no file.unlink rule: its path_unlink dispatcher skips their
// programs for an inode no policy labelled, or one with links left. The last unlink of a
// labelled inode still runs them, whether the runtime set the label at load or a program
// learned it, so a later file with its number is not taken for it.
TEST_F(Identity, LaneWithoutUnlinkRulesStillForgetsLabelledInodes) {
  auto r = Bulwark(root, {"load", GuestFile("rt-identity-learn.bwb")});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string policy = "rt_identity_learn";
  int seeded = IdentityEntries(policy);
  ASSERT_EQ(seeded, 3);  // secret, target, bin/busybox
  EXPECT_EQ(QuietUnlinkPrograms(), 1) << "the policy's path_unlink program decides nothing";
  EXPECT_TRUE(Hinted(kDir + "/target")) << "the runtime hints what it labels at load";
  EXPECT_FALSE(Hinted(kDir + "/plain"));
  // a label set at load: kept while a link remains, forgotten with the last
  Link(kDir + "/target", kDir + "/out/target-alias");
  ASSERT_EQ(::unlink((kDir + "/target").c_str()), 0);
  EXPECT_EQ(IdentityEntries(policy), seeded);
  EXPECT_EQ(guest::OpenErrno(kDir + "/out/target-alias"), EPERM);
  ASSERT_EQ(::unlink((kDir + "/out/target-alias").c_str()), 0);
  EXPECT_EQ(IdentityEntries(policy), seeded - 1);
  // a label a program learned (a link out of the vault) sets its shared bit too
  Link(kDir + "/vault/tmp", kDir + "/out/tmp-alias");
  EXPECT_EQ(IdentityEntries(policy), seeded);
  EXPECT_TRUE(Hinted(kDir + "/out/tmp-alias"));
  ASSERT_EQ(::unlink((kDir + "/vault/tmp").c_str()), 0);
  EXPECT_EQ(guest::OpenErrno(kDir + "/out/tmp-alias"), EPERM);
  ASSERT_EQ(::unlink((kDir + "/out/tmp-alias").c_str()), 0);
  EXPECT_EQ(IdentityEntries(policy), seeded - 1);
  // control: an unlabelled file goes as ever
  EXPECT_EQ(guest::UnlinkErrno(kDir + "/plain"), 0);
}

// A policy with file.unlink rules in the same lane makes the chain run: its rule decides
// whatever the inode. Once it is unloaded the lane is quiet again.
TEST_F(Identity, UnlinkRulesBesideLearnOnlyPoliciesDecide) {
  auto r = Bulwark(root, {"load", GuestFile("rt-identity-learn.bwb")});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ASSERT_NO_FATAL_FAILURE(Load());
  EXPECT_EQ(QuietUnlinkPrograms(), 1) << "rt_identity's path_unlink program decides";
  guest::WriteFile(kDir + "/keep/x", "data");
  guest::WriteFile(kDir + "/out/y", "data");
  EXPECT_EQ(guest::UnlinkErrno(kDir + "/keep/x"), EPERM) << "the unlink rule holds";
  EXPECT_EQ(guest::UnlinkErrno(kDir + "/out/y"), 0);
  ASSERT_EQ(Bulwark(root, {"unload", "rt_identity"}).exit_code, 0);
  EXPECT_EQ(QuietUnlinkPrograms(), 1);
  EXPECT_EQ(guest::UnlinkErrno(kDir + "/keep/x"), 0);
}

} // namespace
} // namespace bulwark::rttest
