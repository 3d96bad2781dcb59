// The real-object attack suite: every way a process can shape its view of the filesystem
// (chroot, pivot_root, bind mounts, overlayfs, renames, depth, length) or run code without
// a path (mprotect, memfd) is tried against compiled policies loaded by bulwark, as root
// and as uid 1000 in a user namespace. Each attack must be denied, and a legitimate action
// beside it (same view, same attacker) must still work.
//
// Policies: tests/vm/attacks/policies (attack_protect, attack_allowlist, attack_fileless when
// bulwarkc knows exec.fileless). Everything lives under /srv/bw-attack*, /tmp/bw-attack and
// the cgroup bw-attack-allow; mounts are made in the attacker's own mount namespace and go
// away with it.
#include <gtest/gtest.h>

#include <sys/mman.h>
#include <sys/stat.h>

#include <filesystem>
#include <map>

#include "Attacker.h"

namespace bulwark::attacks {
namespace {

const std::string kTop = "/srv/bw-attack";       // protected tree (and its controls)
const std::string kOut = "/srv/bw-attack-out";   // where attackers move things (1777)
const std::string kJail = "/srv/bw-attack-jail"; // attackers' roots and mount points (1777)
const std::string kTmp = "/tmp/bw-attack";       // payloads in /tmp (1777)
const std::string kAllowCgroup = "/sys/fs/cgroup/bw-attack-allow";
const std::string kBusybox = "/bin/busybox";     // static: runs in any root
const std::string kPinRoot = "/sys/fs/bpf/bw-attacks";

std::string Bundle(const std::string &name) { return guest::GuestFile("attack-bundles/" + name + ".bwb"); }

const std::vector<std::pair<std::string, std::string>> kLinkedBeforeLoad = {
    {kTop + "/secret", kOut + "/pre-secret"},
    {kTop + "/data/file", kOut + "/pre-data"},
    {kTop + "/free/file", kOut + "/pre-free"},
};

// ---- the tree, made before the policies load (exact and prefix objects are stat'ed then) ----

void MakeTree() {
  for (const auto &d : {kTop, kOut, kJail, kTmp})
    RemoveTree(d);
  MkDir("/srv");
  struct Dir {
    std::string path;
    mode_t mode;
    uid_t owner;
  };
  // data/ and free/ belong to uid 1000, so the unprivileged attacker can build and move in them.
  for (const Dir &d : std::vector<Dir>{{kTop, 0755, 0},           {kTop + "/data", 0755, kUser},
                                       {kTop + "/data/sub", 0755, kUser}, {kTop + "/free", 0755, kUser},
                                       {kTop + "/drop", 01777, 0}, {kTop + "/bin", 0755, 0},
                                       {kOut, 01777, 0},           {kJail, 01777, 0},
                                       {kTmp, 01777, 0}}) {
    MkDir(d.path);
    Check(chmod(d.path.c_str(), d.mode), "chmod " + d.path);
    Check(chown(d.path.c_str(), d.owner, d.owner), "chown " + d.path);
  }
  for (const char *f : {"/secret", "/data/file", "/data/sub/file", "/free/file"})
    guest::WriteFile(kTop + f, "data\n");
  for (const auto &[to, mode] : std::vector<std::pair<std::string, mode_t>>{
           {kTop + "/free/busybox", 0755}, {kTop + "/drop/payload", 0755}, {kTop + "/bin/busybox", 0755},
           {kTmp + "/payload", 0755}})
    CopyFile(kBusybox, to, mode);
  // other names made before the load: a hard link of the exact file, of a file under the
  // prefix, and of a control file
  for (const auto &[from, to] : kLinkedBeforeLoad)
    Check(link(from.c_str(), to.c_str()), "link " + from + " " + to);
}

class LoadedPolicies : public ::testing::Environment {
public:
  void SetUp() override {
    ASSERT_TRUE(guest::InGuest());
    ASSERT_NO_THROW(MakeTree());
    MkDir(kAllowCgroup);
    for (const char *p : {"attack_protect", "attack_allowlist", "attack_fileless"}) {
      if (!std::filesystem::exists(Bundle(p))) {
        std::string why;
        try {
          why = guest::ReadFile(guest::GuestFile("attack-bundles/" + std::string(p) + ".unsupported"));
        } catch (const std::runtime_error &) {
        }
        std::printf("note: no bundle %s; bulwarkc said: %s\n", p, why.c_str());
        continue;
      }
      auto r = Bulwark(kPinRoot, {"load", Bundle(p)});
      ASSERT_EQ(r.exit_code, 0) << r.output;
      loaded_.push_back(p);
    }
  }
  void TearDown() override {
    for (const auto &p : loaded_)
      Bulwark(kPinRoot, {"unload", p});
    rmdir(kAllowCgroup.c_str());
    for (const auto &d : {kTop, kOut, kJail, kTmp})
      RemoveTree(d);
  }

private:
  std::vector<std::string> loaded_;
};
[[maybe_unused]] auto *const kEnv = ::testing::AddGlobalTestEnvironment(new LoadedPolicies);

// ---- views an attacker can shape: each maps a real path to the path it sees ----

using Mapping = std::vector<std::pair<std::string, std::string>>;  // real prefix -> seen prefix

std::optional<std::string> Seen(const Mapping &m, const std::string &real) {
  for (const auto &[from, to] : m)
    if (real.rfind(from, 0) == 0)
      return to + real.substr(from.size());
  return std::nullopt;
}

// A new root that holds the whole real tree at /host (a recursive bind of /).
std::string RootWithHost() {
  std::string j = MakeTempDir(kJail);
  MkDir(j + "/host");
  Check(mount("/", (j + "/host").c_str(), nullptr, MS_BIND | MS_REC, nullptr), "rbind / on " + j + "/host");
  return j;
}

// pivot_root needs the current root to be a mount with a parent, which the initramfs's
// rootfs is not. As switch_root does, a recursive bind of / is moved on top of / first; the
// attacker then pivots into a tmpfs it made, holding the real tree at /host. The new root
// takes the place of the old one (on top of rootfs), as it would on a disk-booted system.
void PivotRootWithHost() {
  std::string r = MakeTempDir(kJail);
  Check(mount("/", r.c_str(), nullptr, MS_BIND | MS_REC, nullptr), "rbind / on " + r);
  Check(chdir(r.c_str()), "chdir " + r);
  Check(mount(r.c_str(), "/", nullptr, MS_MOVE, nullptr), "move " + r + " on /");
  Check(chroot("."), "chroot .");
  Check(chdir("/"), "chdir /");
  std::string n = MakeTempDir(kJail);
  Check(mount("tmpfs", n.c_str(), "tmpfs", 0, "mode=0755"), "tmpfs on " + n);
  MkDir(n + "/host");
  MkDir(n + "/old");
  Check(mount("/", (n + "/host").c_str(), nullptr, MS_BIND | MS_REC, nullptr), "rbind / on " + n + "/host");
  Check(syscall(SYS_pivot_root, n.c_str(), (n + "/old").c_str()), "pivot_root " + n);
  Check(chdir("/"), "chdir /");
}

std::string Bind(const std::string &src) {
  std::string at = MakeTempDir(kJail);
  Check(mount(src.c_str(), at.c_str(), nullptr, MS_BIND | MS_REC, nullptr), "bind " + src + " on " + at);
  return at;
}

// A read-only overlay whose upper lower layer is `lower` (no upper layer: nothing to set up
// for an unprivileged user, whose tmpfs has no user xattrs on 6.1).
std::string Overlay(const std::string &lower) {
  std::string at = MakeTempDir(kJail);
  std::string empty = MakeTempDir(kJail);
  std::string opts = "lowerdir=" + lower + ":" + empty;
  Check(mount("overlay", at.c_str(), "overlay", 0, opts.c_str()), "overlay " + opts + " on " + at);
  return at;
}

// A writable overlay over `lower`: upper and work directories on a tmpfs the attacker
// mounts, so a metadata change copies a file up to a filesystem the attacker owns.
std::string WritableOverlay(const std::string &lower) {
  std::string at = MakeTempDir(kJail);
  std::string t = MakeTempDir(kJail);
  Check(mount("tmpfs", t.c_str(), "tmpfs", 0, "mode=0755"), "tmpfs on " + t);
  MkDir(t + "/upper");
  MkDir(t + "/work");
  std::string opts = "lowerdir=" + lower + ",upperdir=" + t + "/upper,workdir=" + t + "/work";
  Check(mount("overlay", at.c_str(), "overlay", 0, opts.c_str()), "overlay " + opts + " on " + at);
  return at;
}

struct View {
  const char *name;
  bool needsOverlay;
  std::function<Mapping()> setUp;  // runs in the attacker process
};

const std::vector<View> kViews = {
    {"direct", false, [] { return Mapping{{"/", "/"}}; }},
    {"chroot_protected_parent", false,
     [] {
       Check(chroot(kTop.c_str()), "chroot " + kTop);
       Check(chdir("/"), "chdir /");
       return Mapping{{kTop + "/", "/"}};
     }},
    {"chroot_rbind_root", false,
     [] {
       std::string j = RootWithHost();
       Check(chroot(j.c_str()), "chroot " + j);
       Check(chdir("/"), "chdir /");
       return Mapping{{"/", "/host/"}};
     }},
    {"pivot_root", false,
     [] {
       PivotRootWithHost();
       return Mapping{{"/", "/host/"}};
     }},
    {"bind_mounts", false,
     [] { return Mapping{{kTop + "/", Bind(kTop) + "/"}, {kTmp + "/", Bind(kTmp) + "/"}}; }},
    {"overlay_lower", true,
     [] { return Mapping{{kTop + "/", Overlay(kTop) + "/"}, {kTmp + "/", Overlay(kTmp) + "/"}}; }},
    {"overlay_writable", true, [] { return Mapping{{kTop + "/", WritableOverlay(kTop) + "/"}}; }},
};

enum class Expect { Denied, Works };

// chmod first: through a writable overlay it copies the file up (the kernel reads the
// lower file to do so), then the open. The chmod's own result does not matter.
int ChmodThenOpen(const std::string &path) {
  chmod(path.c_str(), 0644);
  return OpenRead(path);
}

struct Case {
  const char *what;
  int (*action)(const std::string &);
  std::string path;  // real path; the attacker uses the path its view shows
  Expect expect;
};

const std::vector<Case> kCases = {
    {"open exact", OpenRead, kTop + "/secret", Expect::Denied},
    {"open under prefix", OpenRead, kTop + "/data/file", Expect::Denied},
    {"open two below prefix", OpenRead, kTop + "/data/sub/file", Expect::Denied},
    {"open control", OpenRead, kTop + "/free/file", Expect::Works},
    {"chmod (copy-up) then open exact", ChmodThenOpen, kTop + "/secret", Expect::Denied},
    {"chmod (copy-up) then open under prefix", ChmodThenOpen, kTop + "/data/file", Expect::Denied},
    {"chmod (copy-up) then open control", ChmodThenOpen, kTop + "/free/file", Expect::Works},
    {"exec from /tmp", Exec, kTmp + "/payload", Expect::Denied},
    {"exec from drop", Exec, kTop + "/drop/payload", Expect::Denied},
    {"exec control", Exec, kTop + "/free/busybox", Expect::Works},
    {"mmap exec from /tmp", MmapExec, kTmp + "/payload", Expect::Denied},
    {"mmap exec control", MmapExec, kTop + "/free/busybox", Expect::Works},
    {"mprotect exec from /tmp", MprotectExec, kTmp + "/payload", Expect::Denied},
    {"mprotect exec from drop", MprotectExec, kTop + "/drop/payload", Expect::Denied},
    {"mprotect exec control", MprotectExec, kTop + "/free/busybox", Expect::Works},
};

bool Met(Expect e, int err) { return e == Expect::Works ? err == 0 : Denied(err); }
const char *Text(Expect e) { return e == Expect::Works ? "works" : "denied"; }

// Runs every case the view can express; one result line per case.
void RunCases(Who who, const View &view, const std::vector<Case> &cases, const std::string &cgroup = {}) {
  std::vector<std::string> seen(cases.size());
  std::vector<int> results = AsAttacker(
      who,
      [&] {
        Mapping m = view.setUp();
        std::vector<int> out;
        for (size_t i = 0; i < cases.size(); ++i) {
          auto p = Seen(m, cases[i].path);
          out.push_back(p ? cases[i].action(*p) : -1);
        }
        return out;
      },
      cgroup);
  ASSERT_EQ(results.size(), cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    if (results[i] == -1)
      continue;  // not visible in this view
    EXPECT_TRUE(Met(cases[i].expect, results[i]))
        << view.name << ", " << Name(who) << ": " << cases[i].what << " " << cases[i].path << ": expected "
        << Text(cases[i].expect) << ", got " << Describe(results[i]);
  }
}

using ViewParam = std::tuple<size_t, Who>;
class Views : public ::testing::TestWithParam<ViewParam> {};

// Process root, bind mounts, overlayfs; mmap and mprotect to executable.
TEST_P(Views, ProtectedObjectsStayProtected) {
  auto [index, who] = GetParam();
  const View &view = kViews[index];
  SKIP_IF_NO_USERNS(who);
  if (view.needsOverlay && !FilesystemKnown("overlay"))
    GTEST_SKIP() << "overlayfs is not available in this kernel (run-vm --module overlay)";
  RunCases(who, view, kCases);
}

std::string ViewName(const ::testing::TestParamInfo<ViewParam> &info) {
  return std::string(kViews[std::get<0>(info.param)].name) + (std::get<1>(info.param) == Who::Root ? "_root" : "_user");
}
INSTANTIATE_TEST_SUITE_P(Attacks, Views,
                         ::testing::Combine(::testing::Range<size_t>(0, kViews.size()),
                                            ::testing::Values(Who::Root, Who::User)),
                         ViewName);

// ---- an allowlist entry is the program that was at the path, not the path ----

// A copy of busybox (another file) at <root>/srv/bw-attack/bin/busybox.
std::string FakeAllowedTree(const std::string &root, const std::string &busybox = kBusybox) {
  for (const char *d : {"/srv", "/srv/bw-attack", "/srv/bw-attack/bin"})
    MkDir(root + d);
  CopyFile(busybox, root + "/srv/bw-attack/bin/busybox");
  return root;
}

const std::vector<View> kAllowViews = {
    {"direct", false, [] { return Mapping{{"/", "/"}}; }},
    {"chroot_fake_tree", false,
     [] {
       std::string j = FakeAllowedTree(MakeTempDir(kJail));
       Check(chroot(j.c_str()), "chroot " + j);
       Check(chdir("/"), "chdir /");
       return Mapping{{kTop + "/bin/", "/srv/bw-attack/bin/"}};
     }},
    {"pivot_root_fake_tree", false,
     [] {
       PivotRootWithHost();
       FakeAllowedTree("", "/host" + kBusybox);
       return Mapping{{kTop + "/bin/", "/srv/bw-attack/bin/"}};
     }},
    {"bind_over_allowed", false,
     [] {
       std::string fake = FakeAllowedTree(MakeTempDir(kJail)) + "/srv/bw-attack/bin/busybox";
       std::string allowed = kTop + "/bin/busybox";
       Check(mount(fake.c_str(), allowed.c_str(), nullptr, MS_BIND, nullptr), "bind " + fake + " on " + allowed);
       return Mapping{{kTop + "/bin/", kTop + "/bin/"}};
     }},
    {"overlay_over_allowed", true,
     [] {
       std::string fake = FakeAllowedTree(MakeTempDir(kJail)) + "/srv/bw-attack/bin";
       std::string opts = "lowerdir=" + fake + ":" + kTop + "/bin";
       Check(mount("overlay", (kTop + "/bin").c_str(), "overlay", 0, opts.c_str()), "overlay on " + kTop + "/bin");
       return Mapping{{kTop + "/bin/", kTop + "/bin/"}};
     }},
};

class Allowlist : public ::testing::TestWithParam<ViewParam> {};

TEST_P(Allowlist, OnlyTheListedProgramRuns) {
  auto [index, who] = GetParam();
  const View &view = kAllowViews[index];
  SKIP_IF_NO_USERNS(who);
  if (view.needsOverlay && !FilesystemKnown("overlay"))
    GTEST_SKIP() << "overlayfs is not available in this kernel (run-vm --module overlay)";
  // Seen from the attacker, the allowlisted path is the real program only in the direct view.
  Expect atAllowedPath = index == 0 ? Expect::Works : Expect::Denied;
  std::vector<Case> cases = {
      {"exec at the allowlisted path", Exec, kTop + "/bin/busybox", atAllowedPath},
      {"exec of an unlisted program", Exec, kTop + "/free/busybox", Expect::Denied},
  };
  RunCases(who, view, cases, kAllowCgroup);
}

std::string AllowViewName(const ::testing::TestParamInfo<ViewParam> &info) {
  return std::string(kAllowViews[std::get<0>(info.param)].name) +
         (std::get<1>(info.param) == Who::Root ? "_root" : "_user");
}
INSTANTIATE_TEST_SUITE_P(Attacks, Allowlist,
                         ::testing::Combine(::testing::Range<size_t>(0, kAllowViews.size()),
                                            ::testing::Values(Who::Root, Who::User)),
                         AllowViewName);

// ---- renaming a parent, or moving a directory out of a protected place ----

struct Move {
  const char *what;
  std::string from, to;  // real paths, renamed as the attacker
  Case check;            // on the moved object (path relative to `to`)
};

// Moves, checks, moves back. A move the policy denies keeps the object where it was: that
// is also a blocked attack.
void RunMoves(Who who, const std::vector<Move> &moves) {
  std::vector<int> results = AsAttacker(who, [&] {
    std::vector<int> out;
    for (const auto &m : moves) {
      int moved = Errno(rename(m.from.c_str(), m.to.c_str()));
      out.push_back(moved);
      out.push_back(m.check.action(moved == 0 ? m.to + m.check.path : m.from + m.check.path));
      if (moved == 0)
        rename(m.to.c_str(), m.from.c_str());
    }
    return out;
  });
  ASSERT_EQ(results.size(), 2 * moves.size());
  for (size_t i = 0; i < moves.size(); ++i) {
    int moved = results[2 * i], err = results[2 * i + 1];
    const Move &m = moves[i];
    EXPECT_TRUE(moved == 0 || Denied(moved)) << m.what << ": rename " << m.from << " " << m.to << ": " << Describe(moved);
    EXPECT_TRUE(Met(m.check.expect, err))
        << Name(who) << ": " << m.what << " (rename " << Describe(moved) << "), then " << m.check.what << " "
        << (moved == 0 ? m.to : m.from) << m.check.path << ": expected " << Text(m.check.expect) << ", got "
        << Describe(err);
  }
}

TEST(Renames, ParentOfProtectedPlacesRenamedByRoot) {
  RunMoves(Who::Root, {
      {"rename the parent", kTop, "/srv/bw-moved", {"open exact", OpenRead, "/secret", Expect::Denied}},
      {"rename the parent", kTop, "/srv/bw-moved", {"open under prefix", OpenRead, "/data/sub/file", Expect::Denied}},
      {"rename the parent", kTop, "/srv/bw-moved", {"exec from drop", Exec, "/drop/payload", Expect::Denied}},
      {"rename the parent", kTop, "/srv/bw-moved", {"open control", OpenRead, "/free/file", Expect::Works}},
      {"rename the parent", kTop, "/srv/bw-moved", {"exec control", Exec, "/free/busybox", Expect::Works}},
      {"move the prefix out", kTop + "/data", kOut + "/data", {"open", OpenRead, "/sub/file", Expect::Denied}},
      {"move drop out", kTop + "/drop", kOut + "/drop", {"exec", Exec, "/payload", Expect::Denied}},
  });
}

TEST(Renames, DirectoriesMovedOutByUnprivilegedUser) {
  SKIP_IF_NO_USERNS(Who::User);
  // The user's own directory holding a payload in the writable place.
  std::string udir = kTop + "/drop/udir";
  MkDir(udir);
  CopyFile(kBusybox, udir + "/payload");
  Check(chown(udir.c_str(), kUser, kUser), "chown");
  Check(chown((udir + "/payload").c_str(), kUser, kUser), "chown");
  RunMoves(Who::User, {
      {"move a directory out of the prefix", kTop + "/data/sub", kOut + "/sub", {"open", OpenRead, "/file", Expect::Denied}},
      {"move a payload directory out of drop", udir, kOut + "/udir", {"exec", Exec, "/payload", Expect::Denied}},
      {"move a payload directory out of drop", udir, kOut + "/udir", {"mmap exec", MmapExec, "/payload", Expect::Denied}},
  });
  RemoveTree(udir);
}

// ---- other names from before the load, and what was learned, across a hot swap ----

TEST(Aliases, LinksFromBeforeTheLoadAndMovesSurviveAHotSwap) {
  std::string moved = kOut + "/sub-swapped";
  int err = Errno(rename((kTop + "/data/sub").c_str(), moved.c_str()));
  ASSERT_TRUE(err == 0 || Denied(err)) << Describe(err);
  if (err != 0)
    moved = kTop + "/data/sub";  // the move was refused: the file stays under the prefix
  auto swap = Bulwark(kPinRoot, {"load", Bundle("attack_protect")});  // replaces the loaded version
  ASSERT_EQ(swap.exit_code, 0) << swap.output;
  std::vector<Case> cases = {
      {"open a link of the exact file made before load", OpenRead, kOut + "/pre-secret", Expect::Denied},
      {"open a link of a prefix file made before load", OpenRead, kOut + "/pre-data", Expect::Denied},
      {"open a file moved out of the prefix before the hot swap", OpenRead, moved + "/file", Expect::Denied},
      {"open a link of a control file", OpenRead, kOut + "/pre-free", Expect::Works},
  };
  for (Who who : {Who::Root, Who::User})
    if (who == Who::Root || UserNs())
      RunCases(who, kViews[0], cases);
  if (err == 0)
    rename(moved.c_str(), (kTop + "/data/sub").c_str());
}

// ---- depth and length ----

struct Deep {
  const char *where;
  std::string base;  // real directory the chain starts in
  int depth;
  size_t nameLength;
  bool exec;         // exec a payload at the bottom, else open a file there
  Expect expect;
};

// Builds the chain with *at() calls (O_PATH: directory opens are not file opens) and acts
// on the last entry relative to its directory, so no path string limits the attacker.
int AtDepth(const Deep &d) {
  int fd = open(d.base.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return errno;
  std::string top = "deep" + std::to_string(getpid()) + "-" + std::to_string(d.depth) + "-" + std::to_string(d.nameLength);
  for (int i = 0; i < d.depth; ++i) {
    std::string name = i == 0 ? top : std::string(d.nameLength, 'd');
    if (mkdirat(fd, name.c_str(), 0755) != 0)
      throw SetupError("mkdirat at depth " + std::to_string(i));
    int next = openat(fd, name.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (next < 0)
      throw SetupError("openat at depth " + std::to_string(i));
    close(fd);
    fd = next;
  }
  int rc;
  if (d.exec) {
    int out = openat(fd, "payload", O_WRONLY | O_CREAT | O_CLOEXEC, 0755);
    if (out < 0 && Denied(errno)) {  // past the walk bound even writing the payload is refused
      int err = errno;
      close(fd);
      return err;
    }
    int in = open(kBusybox.c_str(), O_RDONLY | O_CLOEXEC);
    bool ok = out >= 0 && CopyFd(in, out);
    close(in);
    if (!ok)
      throw SetupError("create payload at depth");
    close(out);
    rc = ExecFd(fd, "payload", 0);
  } else {
    if (mknodat(fd, "file", S_IFREG | 0644, 0) != 0)
      throw SetupError("mknodat at depth");
    int f = openat(fd, "file", O_RDONLY | O_CLOEXEC);
    rc = f < 0 ? errno : 0;
    if (f >= 0)
      close(f);
  }
  close(fd);
  RemoveTreeAt(AT_FDCWD, d.base + "/" + top);
  return rc;
}

class Depth : public ::testing::TestWithParam<Who> {};

TEST_P(Depth, DeepAndLongPathsDoNotEscapeRules) {
  Who who = GetParam();
  SKIP_IF_NO_USERNS(who);
  const std::string data = kTop + "/data", free = kTop + "/free";
  std::vector<Deep> cases;
  // depth 100 and 300 (short names), and depth 100 with names making the path > PATH_MAX
  for (auto [depth, len] : std::vector<std::pair<int, size_t>>{{100, 1}, {300, 1}, {100, 60}}) {
    cases.push_back({"open under prefix", data, depth, len, false, Expect::Denied});
    cases.push_back({"open control", free, depth, len, false, Expect::Works});
    cases.push_back({"exec from /tmp", kTmp, depth, len, true, Expect::Denied});
    cases.push_back({"exec control", free, depth, len, true, Expect::Works});
  }
  // Past the 4,096 ancestors a walk reads, the answer is unknown: deny rules must hold.
  // The control stays below that bound.
  cases.push_back({"open under prefix past the walk bound", data, 4100, 1, false, Expect::Denied});
  cases.push_back({"exec from /tmp past the walk bound", kTmp, 4100, 1, true, Expect::Denied});
  cases.push_back({"open control below the walk bound", free, 4000, 1, false, Expect::Works});
  std::vector<int> results = AsAttacker(who, [&] {
    std::vector<int> out;
    for (const auto &c : cases)
      out.push_back(AtDepth(c));
    return out;
  });
  ASSERT_EQ(results.size(), cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    const Deep &c = cases[i];
    EXPECT_TRUE(Met(c.expect, results[i]))
        << Name(who) << ": " << c.where << " " << c.base << " at depth " << c.depth << " (names of " << c.nameLength
        << ", path " << (c.base.size() + static_cast<size_t>(c.depth) * (c.nameLength + 1)) << " chars): expected "
        << Text(c.expect) << ", got " << Describe(results[i]);
  }
}
INSTANTIATE_TEST_SUITE_P(Attacks, Depth, ::testing::Values(Who::Root, Who::User),
                         [](const auto &info) { return std::string(info.param == Who::Root ? "root" : "user"); });

// ---- filling whatever tracks moved objects ----

// uid 1000 moves thousands of payloads out of the writable place: each move either keeps
// the file's exec denied or is itself denied; never is a payload runnable.
TEST(MapFilling, ThousandsOfMovesNeverLoseProtection) {
  SKIP_IF_NO_USERNS(Who::User);
  constexpr int kFiles = 5000;
  std::vector<int> r = AsAttacker(Who::User, [&] {
    std::string from = MakeTempDir(kTop + "/drop"), to = MakeTempDir(kOut);
    const std::string script = "#!/bin/busybox true\n";
    for (int i = 0; i < kFiles; ++i) {
      int fd = open((from + "/p" + std::to_string(i)).c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0755);
      Check(fd, "create payload " + std::to_string(i));
      Check(write(fd, script.data(), script.size()), "write payload");
      close(fd);
    }
    int moved = 0, moveDenied = 0, moveFailed = 0, ran = 0, runFailed = 0, firstRan = -1;
    for (int i = 0; i < kFiles; ++i) {
      std::string name = "/p" + std::to_string(i);
      int err = Errno(rename((from + name).c_str(), (to + name).c_str()));
      moved += err == 0;
      moveDenied += Denied(err);
      moveFailed += err != 0 && !Denied(err);
      int x = Exec((err == 0 ? to : from) + name);
      if (x == 0 && firstRan < 0)
        firstRan = i;
      ran += x == 0;
      runFailed += x != 0 && !Denied(x);
    }
    RemoveTree(from);
    RemoveTree(to);
    return std::vector<int>{moved, moveDenied, moveFailed, ran, runFailed, firstRan};
  });
  ASSERT_EQ(r.size(), 6u);
  std::printf("%d files: %d moved, %d moves denied, %d payloads ran\n", kFiles, r[0], r[1], r[3]);
  EXPECT_EQ(r[2], 0) << "moves failed other than by a denial";
  EXPECT_EQ(r[3], 0) << r[3] << " of " << kFiles << " payloads ran after the move; the first was number " << r[5];
  EXPECT_EQ(r[4], 0) << "execs failed other than by a denial";
}

// ---- fileless execution ----

int ExecMemfd() {
  int fd = static_cast<int>(syscall(SYS_memfd_create, "payload", 0));
  if (fd < 0)
    return errno;
  std::string self = "/proc/self/fd/" + std::to_string(fd);
  CopyFile(kBusybox, self);
  int rc = ExecFd(fd, "", AT_EMPTY_PATH);
  close(fd);
  return rc;
}

// A file with no name: written through one fd, executed through a read-only one.
int ExecNameless(bool tmpfile) {
  std::string dir = kTop + "/free", gone = dir + "/gone" + std::to_string(getpid());
  int w = tmpfile ? open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0755)
                  : open(gone.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0755);
  if (w < 0)
    return errno;
  CopyFile(kBusybox, "/proc/self/fd/" + std::to_string(w));
  int r = open(("/proc/self/fd/" + std::to_string(w)).c_str(), O_RDONLY | O_CLOEXEC);
  close(w);
  if (!tmpfile)
    unlink(gone.c_str());
  if (r < 0)
    return errno;
  int rc = ExecFd(r, "", AT_EMPTY_PATH);
  close(r);
  return rc;
}

class Fileless : public ::testing::TestWithParam<Who> {};

TEST_P(Fileless, ProgramsWithoutANameDoNotRun) {
  Who who = GetParam();
  SKIP_IF_NO_USERNS(who);
  struct FCase {
    const char *what;
    std::function<int()> run;
    Expect expect;
  };
  std::vector<FCase> cases = {
      {"memfd_create + execveat(AT_EMPTY_PATH)", ExecMemfd, Expect::Denied},
      {"O_TMPFILE + execveat(AT_EMPTY_PATH)", [] { return ExecNameless(true); }, Expect::Denied},
      {"deleted file + execveat(AT_EMPTY_PATH)", [] { return ExecNameless(false); }, Expect::Denied},
      {"exec control", [] { return Exec(kTop + "/free/busybox"); }, Expect::Works},
  };
  std::vector<int> results = AsAttacker(who, [&] {
    std::vector<int> out;
    for (const auto &c : cases)
      out.push_back(c.run());
    return out;
  });
  ASSERT_EQ(results.size(), cases.size());
  for (size_t i = 0; i < cases.size(); ++i)
    EXPECT_TRUE(Met(cases[i].expect, results[i]))
        << Name(who) << ": " << cases[i].what << ": expected " << Text(cases[i].expect) << ", got "
        << Describe(results[i]);
}
INSTANTIATE_TEST_SUITE_P(Attacks, Fileless, ::testing::Values(Who::Root, Who::User),
                         [](const auto &info) { return std::string(info.param == Who::Root ? "root" : "user"); });

}  // namespace
}  // namespace bulwark::attacks
