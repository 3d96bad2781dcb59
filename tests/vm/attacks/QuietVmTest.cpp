// Opens kept as quiet (bw_quiet): when every program of a file_open lane said no rule of its
// policy can hold for an open, the dispatcher skips the lane for the next open with the same
// key. An attacker opens a file until it is kept (three times), then changes something the key must
// hold — links the file into a protected directory or to a protected name, opens it for
// writing, opens it as another user or from inside a policy's cgroup, or the operator loads or
// swaps a policy — and opens it again: a kept answer from before the change would let it
// through. Beside each attack, the same file or another opens where no rule holds. As root and
// as uid 1000 in a user namespace where the case allows, on CPU 0 (its entries are per CPU).
//
// Policies: tests/vm/attacks/policies/attack_quiet*.bw. Three are loaded, so the lane has three
// programs; QuietAlone loads one at a time into an instance of its own, a lane of one (keyed
// only when its program's decision can be quiet). Everything lives under /tmp/bw-quiet.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>

#include <bpf/bpf.h>
#include <arpa/inet.h>
#include <bpf/libbpf.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>

#include "Attacker.h"
#include "bw_abi.h"

namespace bulwark::attacks {
namespace {

const std::string kBase = "/tmp/bw-quiet";
const std::string kPinRoot = "/sys/fs/bpf/bw-quiet";
const std::string kScope = "/sys/fs/cgroup/bw-quiet-scope";
const std::string kAloneRoot = "/sys/fs/bpf/bw-quiet-alone";

std::string Bundle(const std::string &name) { return guest::GuestFile("attack-bundles/" + name + ".bwb"); }

class LoadedPolicies : public ::testing::Environment {
public:
  void SetUp() override {
    ASSERT_TRUE(guest::InGuest());
    // QuietHits reads bw_quiet from this process, which the guard refuses to anyone but the
    // runtime (rt_vm_self_protect tests the guard).
    ::setenv("BULWARK_TEST_UNGUARDED", "1", 1);
    for (const char *d : {"", "/protected", "/late", "/late2", "/nomap", "/latemap", "/alone-protected", "/marked"})
      ASSERT_NO_THROW(FreshSharedDir(kBase + d));
    guest::WriteFile(kBase + "/protected/premise", "data\n"); /* before the load denies it */
    guest::WriteFile(kBase + "/locked", "data\n");
    guest::WriteFile(kBase + "/secret", "data\n");
    guest::WriteFile(kBase + "/labelled-root", "data\n");
    guest::WriteFile(kBase + "/labelled-user", "data\n");
    guest::WriteFile(kBase + "/alone-exact", "data\n"); /* attack_quiet_exact's object, at its load */
    guest::WriteFile(kBase + "/arm", "data\n");         /* a chmod of it marks the process */
    guest::WriteFile(kBase + "/arm-net", "data\n");     /* and of this one, for its connects */
    ASSERT_EQ(chown((kBase + "/arm-net").c_str(), 1000, 1000), 0);
    guest::WriteFile(kBase + "/trust-net", "data\n"); /* a chmod of it lets connects through a while */
    ASSERT_EQ(chown((kBase + "/trust-net").c_str(), 1000, 1000), 0);
    guest::WriteFile(kBase + "/marked/file", "data\n");
    ASSERT_EQ(chown((kBase + "/arm").c_str(), 1000, 1000), 0); /* the user chmods it */
    ASSERT_EQ(chmod((kBase + "/marked/file").c_str(), 0644), 0);
    ASSERT_EQ(chown((kBase + "/labelled-user").c_str(), 1000, 1000), 0); /* the user links and unlinks it */
    ASSERT_EQ(chmod((kBase + "/locked").c_str(), 0666), 0);
    ASSERT_EQ(chmod((kBase + "/secret").c_str(), 0644), 0);
    rmdir(kScope.c_str());
    ASSERT_EQ(mkdir(kScope.c_str(), 0755), 0) << std::strerror(errno);
    for (const char *p : {"attack_quiet", "attack_quiet_scoped", "attack_quiet_marked", "attack_quiet_connect"}) {
      auto r = Bulwark(kPinRoot, {"load", Bundle(p)});
      ASSERT_EQ(r.exit_code, 0) << r.output;
    }
    ASSERT_NO_THROW(OnCpu(0));
  }
  void TearDown() override {
    for (const char *p : {"attack_quiet_late", "attack_quiet_connect_late", "attack_quiet_connect",
                          "attack_quiet_marked", "attack_quiet_scoped", "attack_quiet"})
      Bulwark(kPinRoot, {"unload", p});
    RemoveTree(kBase);
    rmdir(kScope.c_str());
  }
};
[[maybe_unused]] auto *const kEnv = ::testing::AddGlobalTestEnvironment(new LoadedPolicies);

// CPU 0's copy of each of the first `count` entries of the per-CPU shared map `name` of the
// instance at `root` (the kept ones; the pending entry after them is not read).
template <class Entry>
std::vector<Entry> CpuZeroEntries(const std::string &root, const std::string &name, bw_u32 count) {
  std::vector<Entry> entries;
  int fd = bpf_obj_get((root + "/shared/" + name).c_str());
  if (fd < 0)
    return entries;
  int cpus = libbpf_num_possible_cpus();
  size_t stride = (sizeof(Entry) + 7) / 8 * 8;
  std::vector<uint8_t> values(stride * size_t(cpus > 0 ? cpus : 1));
  for (bw_u32 i = 0; i < count; ++i) {
    if (bpf_map_lookup_elem(fd, &i, values.data()) != 0)
      continue;
    Entry e;
    std::memcpy(&e, values.data(), sizeof e);  // CPU 0's copy
    entries.push_back(e);
  }
  close(fd);
  return entries;
}

// CPU 0's kept entries of bw_quiet of the instance at `root`.
std::vector<bw_quiet_entry> QuietEntries(const std::string &root = kPinRoot) {
  return CpuZeroEntries<bw_quiet_entry>(root, "bw_quiet", BW_QUIET_ENTRIES);
}

// Opens that skipped a lane by a kept entry, on CPU 0 (bw_quiet's hits, summed over entries).
uint64_t QuietHits(const std::string &root = kPinRoot) {
  uint64_t hits = 0;
  for (const auto &e : QuietEntries(root))
    hits += e.hits;
  return hits;
}

// The nonzero entries among the `count` from `first` of the shared map `name` at `root`.
std::vector<bw_u32> EntriesSet(const std::string &root, const std::string &name, bw_u32 first, bw_u32 count) {
  std::vector<bw_u32> set;
  int fd = bpf_obj_get((root + "/shared/" + name).c_str());
  for (bw_u32 i = first; fd >= 0 && i < first + count; ++i) {
    bw_u32 v = 0;
    if (bpf_map_lookup_elem(fd, &i, &v) == 0 && v != 0)
      set.push_back(v);
  }
  if (fd >= 0)
    close(fd);
  return set;
}

// file_open programs at `root` whose decision can be quiet (bw_quiet_progs has BW_KEYED).
size_t KeyedPrograms(const std::string &root) {
  auto words = EntriesSet(root, "bw_quiet_progs", 0, BW_PROG_ARRAY_SIZE);
  return size_t(std::count_if(words.begin(), words.end(), [](bw_u32 w) { return (w & BW_KEYED) != 0; }));
}

// The keyed words of the file_open lanes at `root` that have one (bw_next_FILE_OPEN).
std::vector<bw_u32> LaneWords(const std::string &root) {
  return EntriesSet(root, "bw_next_FILE_OPEN", BW_NEXT_KEYED, BW_MAX_LANES);
}



// On CPU 0, whether the entry of the inode at `path` has an mmap_file lane's bit (a mapping
// kept as quiet).
bool MappingKept(const std::string &path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0)
    return false;
  auto entries = QuietEntries();
  return std::any_of(entries.begin(), entries.end(), [&](const bw_quiet_entry &e) {
    return e.key.ino == st.st_ino && (e.lanes >> BW_QUIET_MMAP_LANES) != 0;
  });
}

int OpenWrite(const std::string &path) {
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return errno;
  close(fd);
  return 0;
}

// `op()` (an errno) in a child that joined `cgroup` first, in this process's mount namespace
// and root (so an open's key differs by the cgroup alone).
int InCgroup(const std::string &cgroup, const std::function<int()> &op) {
  pid_t pid = fork();
  if (pid < 0)
    return errno;
  if (pid == 0) {
    try {
      WriteText(cgroup + "/cgroup.procs", std::to_string(getpid()));
    } catch (const std::exception &) {
      _exit(255);
    }
    _exit(op());
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 255;
}

int OpenInCgroup(const std::string &path, const std::string &cgroup) {
  return InCgroup(cgroup, [&] { return OpenRead(path); });
}

// A case's own directory under kBase (1777, so the attacker can make its own).
std::string CaseDir() { return MakeTempDir(kBase); }

std::string FileIn(const std::string &dir, const std::string &name = "file") {
  guest::WriteFile(dir + "/" + name, "data\n");
  return dir + "/" + name;
}

void ExpectResults(const std::vector<int> &got, const std::vector<int> &want, Who who) {
  ASSERT_EQ(got.size(), want.size()) << Name(who);
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_EQ(Describe(got[i]), Describe(want[i])) << Name(who) << ", open " << i;
}

// Opens `path` for reading, each open allowed, until one skips the lane: at most three (the
// first may take the inode's entry for reading, the next decides and keeps, the next skips).
void OpenUntilKept(const std::string &path) {
  for (int i = 0; i < 3; ++i) {
    uint64_t before = QuietHits();
    ASSERT_EQ(OpenRead(path), 0) << path << ", open " << i;
    if (QuietHits() == before + 1)
      return;
  }
  FAIL() << "the premise: " << path << " was not kept in three opens";
}

// The premise: a file no rule matches is kept by its second open for reading (the first takes
// its inode's entry for reading: its creation took it for writing), and its third and later
// opens skip the lane (the other tests would pass without the cache; this one would not).
TEST(Quiet, AFileOpenedAgainSkipsTheLane) {
  // a lane of three, keyed; its key holds the ancestors (prefix rules on the object), not the
  // view (no rule matches the path's string)
  EXPECT_EQ(LaneWords(kPinRoot), std::vector<bw_u32>{BW_KEYED | BW_KEY_ANCESTORS | BW_KEY_CGROUP})
      << "attack_quiet_scoped is in the lane";
  std::string d = CaseDir();
  std::string f = FileIn(d);
  uint64_t before = QuietHits();
  ASSERT_EQ(OpenRead(f), 0);
  ASSERT_EQ(OpenRead(f), 0);
  EXPECT_EQ(QuietHits(), before) << "the first read takes the entry, the second decides and keeps";
  ASSERT_EQ(OpenRead(f), 0);
  ASSERT_EQ(OpenRead(f), 0);
  EXPECT_EQ(QuietHits(), before + 2);
  auto status = Bulwark(kPinRoot, {"status"});
  auto at = status.output.find("quiet opens: ");
  ASSERT_NE(at, std::string::npos) << status.output;
  EXPECT_GE(std::stoull(status.output.substr(at + 13)), before + 2) << "bulwark status counts them";
  std::string p = kBase + "/protected/premise";
  before = QuietHits();
  ASSERT_EQ(OpenRead(p), EPERM);
  ASSERT_EQ(OpenRead(p), EPERM);
  EXPECT_EQ(QuietHits(), before) << "a denied open is never kept";
}

// A file opened for reading is kept for reading only: its write open is decided, and denied.
TEST(Quiet, AWriteOpenIsNotAKeptReadOpen) {
  std::string locked = kBase + "/locked";
  OpenUntilKept(locked);
  EXPECT_EQ(Describe(OpenWrite(locked)), Describe(EPERM));
  EXPECT_EQ(Describe(OpenRead(locked)), Describe(0));
}

// A rule that tests more than the key (the user) makes its file's opens never quiet: root's
// opens are allowed and not kept, and uid 1000's is denied after them.
TEST(Quiet, ARuleBeyondTheKeyIsDecidedEveryTime) {
  std::string secret = kBase + "/secret";
  uint64_t before = QuietHits();
  ASSERT_EQ(OpenRead(secret), 0);
  ASSERT_EQ(OpenRead(secret), 0);
  ASSERT_EQ(OpenRead(secret), 0);
  EXPECT_EQ(QuietHits(), before) << "an open a rule's path test matched is not kept";
  SKIP_IF_NO_USERNS(Who::User);
  auto got = AsAttacker(Who::User, [secret] { return std::vector<int>{OpenRead(secret), OpenRead(secret)}; });
  ExpectResults(got, {EPERM, EPERM}, Who::User);
  EXPECT_EQ(Describe(OpenRead(secret)), Describe(0));
}

// Kept by a process outside attack_quiet_scoped's cgroup, the open of the same file by a
// process inside it is decided, and denied.
TEST(Quiet, AnOpenKeptOutsideAPolicysCgroupIsDecidedInsideIt) {
  std::string f = FileIn(CaseDir());
  OpenUntilKept(f); /* outside the scope */
  EXPECT_EQ(Describe(OpenInCgroup(f, kScope)), Describe(EPERM));
  EXPECT_EQ(Describe(OpenInCgroup(f, kScope)), Describe(EPERM));
  EXPECT_EQ(Describe(OpenRead(f)), Describe(0)) << "outside it again";
}

// Maps `path` executable (its open, then the mapping), each allowed, until the mapping is kept:
// at most three times.
void MapUntilKept(const std::string &path) {
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(Describe(MmapExec(path)), Describe(0)) << path << ", mapping " << i;
    if (MappingKept(path))
      return;
  }
  FAIL() << "the premise: the mapping of " << path << " was not kept in three";
}

// The premise for mappings: an executable mapping of a file no rule matches is kept (its
// lane's bit in the inode's entry, beside the open's), and the next one skips the lane: one
// open and its mapping count two hits. A mapping the rule denies is never kept.
TEST(QuietMmap, AFileMappedAgainSkipsTheLane) {
  std::string f = FileIn(CaseDir());
  MapUntilKept(f);
  ASSERT_EQ(Describe(MmapExec(f)), Describe(0)); /* its open is kept now too */
  uint64_t before = QuietHits();
  ASSERT_EQ(Describe(MmapExec(f)), Describe(0));
  EXPECT_EQ(QuietHits(), before + 2) << "the open and the mapping both skip their lanes";
  std::string denied = FileIn(kBase + "/nomap", "premise");
  ASSERT_EQ(Describe(MmapExec(denied)), Describe(EPERM));
  ASSERT_EQ(Describe(MmapExec(denied)), Describe(EPERM));
  EXPECT_FALSE(MappingKept(denied)) << "a denied mapping is never kept";
  EXPECT_EQ(Describe(OpenRead(denied)), Describe(0)) << "its open is allowed";
}

class Attack : public ::testing::TestWithParam<Who> {};

// A kept mapping's directory renamed into the directory whose files may not be mapped, and a
// kept file hard-linked there: the rename changes rename_lock's count and the labels (the
// moved directory is learned), the link is a new name, so each is decided again, and denied.
// A file kept beside them still maps.
TEST_P(Attack, AKeptMappingMovedWhereMappingIsDeniedIsDenied) {
  SKIP_IF_NO_USERNS(GetParam());
  uint64_t before = QuietHits();
  auto got = AsAttacker(GetParam(), [] {
    std::string d = CaseDir(), e = CaseDir(), c = CaseDir();
    std::string f = FileIn(d), g = FileIn(e), h = FileIn(c, "control");
    std::vector<int> r;
    for (const auto &file : {f, g, h})
      for (int i = 0; i < 3; ++i)
        r.push_back(MmapExec(file));
    std::string moved = kBase + "/nomap/" + d.substr(d.rfind('/') + 1);
    Check(rename(d.c_str(), moved.c_str()), "rename into nomap");
    r.push_back(MmapExec(moved + "/file"));
    std::string linked = kBase + "/nomap/" + e.substr(e.rfind('/') + 1) + "-link";
    Check(link(g.c_str(), linked.c_str()), "link into nomap");
    r.push_back(MmapExec(linked));
    r.push_back(MmapExec(h));
    Check(unlink(linked.c_str()), "unlink the link");
    return r;
  });
  ExpectResults(got, {0, 0, 0, 0, 0, 0, 0, 0, 0, EPERM, EPERM, 0}, GetParam());
  // three maps of a file: its third open and its second and third mappings skip (the opens
  // alone would be one hit a file)
  EXPECT_GE(QuietHits(), before + 9) << "the premise: the mappings were kept";
}

// The kept file hard-linked into the protected directory, and another to the protected name.
// A link moves nothing, so no rename count changes: the new name is its own key, and denied;
// and the file, protected by its new name, is denied by its old name too (the label the link
// learned is counted: bw_hint's BW_HINT_DECISIONS). A file kept beside them still opens.
TEST_P(Attack, AKeptFileLinkedToAProtectedPlaceIsDenied) {
  SKIP_IF_NO_USERNS(GetParam());
  uint64_t before = QuietHits();
  std::string named = kBase + "/named";
  auto got = AsAttacker(GetParam(), [named] {
    std::string d = CaseDir();
    std::string f = FileIn(d), g = FileIn(d, "other"), h = FileIn(d, "control");
    std::string in = kBase + "/protected/" + d.substr(d.rfind('/') + 1);
    std::vector<int> r;
    for (const auto &file : {f, g, h})
      for (int i = 0; i < 3; ++i)
        r.push_back(OpenRead(file));
    Check(link(f.c_str(), in.c_str()), "link into protected");
    r.push_back(OpenRead(in));
    r.push_back(OpenRead(f));
    Check(link(g.c_str(), named.c_str()), "link to the protected name");
    r.push_back(OpenRead(named));
    r.push_back(OpenRead(g));
    r.push_back(OpenRead(h));
    Check(unlink(named.c_str()), "unlink the protected name");
    return r;
  });
  ExpectResults(got, {0, 0, 0, 0, 0, 0, 0, 0, 0, EPERM, EPERM, EPERM, EPERM, 0}, GetParam());
  EXPECT_GE(QuietHits(), before + 3) << "the premise: the files were kept";
}

// A process opens a file of the directory only a marked process may not open, three times, all
// allowed; then it gains the mark (a chmod of the arming file), which no quiet key holds: its
// next open of the file is decided, and denied. Beside it, the marked process opens another
// file, and an unmarked one the same file, both allowed.
TEST_P(Attack, AMarkGainedAfterAnOpenWasKeptIsDecided) {
  SKIP_IF_NO_USERNS(GetParam());
  std::string marked = kBase + "/marked/file", arm = kBase + "/arm";
  auto got = AsAttacker(GetParam(), [marked, arm] {
    std::string other = FileIn(CaseDir());
    std::vector<int> r;
    for (int i = 0; i < 3; ++i)
      r.push_back(OpenRead(marked));
    Check(chmod(arm.c_str(), 0600), "chmod the arming file");
    r.push_back(OpenRead(marked));
    r.push_back(OpenRead(other));
    return r;
  });
  ExpectResults(got, {0, 0, 0, EPERM, 0}, GetParam());
  EXPECT_EQ(Describe(OpenRead(marked)), Describe(0)) << "an unmarked process";
}

// bw_hint's count word `w` (BW_HINT_CHANGES, BW_HINT_DECISIONS).
uint64_t HintCount(bw_u32 w) {
  int fd = bpf_obj_get((kPinRoot + "/shared/bw_hint").c_str());
  uint64_t v = 0;
  if (fd >= 0 && bpf_map_lookup_elem(fd, &w, &v) != 0)
    v = 0;
  if (fd >= 0)
    close(fd);
  return v;
}

// A kept file that has a label already (labelled_write's, at load) hard-linked to the protected
// name: the label the link learns sets no new hint bit (the premise: bw_hint's count of bits
// is the same after the link), so only the count of label changes (BW_HINT_DECISIONS) can tell
// its kept read opens are stale. The file is denied by its old name; a file kept beside it
// still opens.
TEST_P(Attack, AKeptLabelledFileLinkedToAProtectedNameIsDenied) {
  SKIP_IF_NO_USERNS(GetParam());
  std::string labelled = kBase + (GetParam() == Who::Root ? "/labelled-root" : "/labelled-user");
  std::string named = kBase + "/named";
  uint64_t bits = HintCount(BW_HINT_CHANGES), labels = HintCount(BW_HINT_DECISIONS), before = QuietHits();
  auto got = AsAttacker(GetParam(), [labelled, named] {
    std::string h = FileIn(CaseDir(), "control");
    std::vector<int> r;
    for (const auto &file : {labelled, h})
      for (int i = 0; i < 3; ++i)
        r.push_back(OpenRead(file));
    Check(link(labelled.c_str(), named.c_str()), "link to the protected name");
    r.push_back(OpenRead(labelled));
    r.push_back(OpenRead(h));
    Check(unlink(named.c_str()), "unlink the protected name");
    return r;
  });
  ExpectResults(got, {0, 0, 0, 0, 0, 0, EPERM, 0}, GetParam());
  EXPECT_GE(QuietHits(), before + 2) << "the premise: both files were kept";
  EXPECT_EQ(HintCount(BW_HINT_CHANGES), bits) << "the premise: the link set no new hint bit";
  EXPECT_GT(HintCount(BW_HINT_DECISIONS), labels) << "the label the link learned is counted";
}

// One policy loaded alone into an instance of its own (kAloneRoot), a lane of one, unloaded at
// the end of the test.
class Alone {
public:
  explicit Alone(std::string policy) : policy_(std::move(policy)) {
    auto load = Bulwark(kAloneRoot, {"load", Bundle(policy_)});
    loaded_ = load.exit_code == 0;
    EXPECT_TRUE(loaded_) << load.output;
  }
  ~Alone() {
    if (loaded_) {
      EXPECT_EQ(Bulwark(kAloneRoot, {"unload", policy_}).exit_code, 0);
    }
  }
  bool loaded() const { return loaded_; }

private:
  std::string policy_;
  bool loaded_ = false;
};

// The lone lane's keyed word at kAloneRoot (BW_KEYED and the key parts; 0: not keyed).
bw_u32 AloneWord() {
  auto words = LaneWords(kAloneRoot);
  EXPECT_LE(words.size(), 1u) << "one policy, one lane";
  return words.empty() ? 0 : words[0];
}

// Opens `f` four times, all allowed, and checks that the lone lane kept it (the third and fourth
// skip it).
void ExpectKeptAlone(const std::string &f) {
  uint64_t before = QuietHits(kAloneRoot);
  for (int i = 0; i < 4; ++i)
    ASSERT_EQ(OpenRead(f), 0) << f << ", open " << i;
  EXPECT_EQ(QuietHits(kAloneRoot), before + 2) << "the third and fourth opens skip the lane of one";
}

// A lane of one program is keyed when its decision can be quiet (bw_quiet_progs, from the
// bundle's `quiet`), with the key parts it reads: attack_quiet_alone's prefix rule reads the
// file's ancestors (rename_lock), not the view. A kept file linked into the protected
// directory, and a kept file whose directory is renamed into it, are denied (the main
// instance has no rule there, so the denial is the lane of one's); a kept file beside them
// still opens.
TEST(QuietAlone, APrefixLaneOfOneKeysTheAncestors) {
  Alone alone("attack_quiet_alone");
  ASSERT_TRUE(alone.loaded());
  EXPECT_EQ(KeyedPrograms(kAloneRoot), 1u);
  EXPECT_EQ(AloneWord(), BW_KEYED | BW_KEY_ANCESTORS);
  std::string d = CaseDir();
  ASSERT_EQ(mkdir((d + "/moved").c_str(), 0755), 0) << std::strerror(errno);
  std::string f = FileIn(d), inMoved = FileIn(d + "/moved"), control = FileIn(d, "control");
  ExpectKeptAlone(f);
  ExpectKeptAlone(inMoved);
  ExpectKeptAlone(control);
  std::string linked = kBase + "/alone-protected/linked";
  ASSERT_EQ(link(f.c_str(), linked.c_str()), 0) << std::strerror(errno);
  EXPECT_EQ(Describe(OpenRead(linked)), Describe(EPERM)) << "the kept file under the protected name";
  EXPECT_EQ(Describe(OpenRead(f)), Describe(EPERM)) << "and under its own (the object is in the directory)";
  unlink(linked.c_str());
  std::string movedTo = kBase + "/alone-protected/moved";
  ASSERT_EQ(rename((d + "/moved").c_str(), movedTo.c_str()), 0) << std::strerror(errno);
  EXPECT_EQ(Describe(OpenRead(movedTo + "/file")), Describe(EPERM)) << "a kept file whose directory moved in";
  EXPECT_EQ(Describe(OpenRead(control)), Describe(0)) << "the kept file beside them";
  RemoveTree(movedTo);
}

// An exact rule on the object reads the file alone: its lane's key holds neither the view nor
// the ancestors. The protected file moved away keeps its label, and a kept file linked to the
// protected name gains one: both are denied, by either name; a kept file beside them still
// opens.
TEST(QuietAlone, AnExactLaneOfOneKeysTheFileAlone) {
  Alone alone("attack_quiet_exact");
  ASSERT_TRUE(alone.loaded());
  EXPECT_EQ(AloneWord(), BW_KEYED);
  std::string d = CaseDir();
  std::string f = FileIn(d), control = FileIn(d, "control");
  ExpectKeptAlone(f);
  ExpectKeptAlone(control);
  std::string named = kBase + "/alone-exact", away = kBase + "/alone-exact-away";
  ASSERT_EQ(Describe(OpenRead(named)), Describe(EPERM)) << "the premise: the protected file";
  ASSERT_EQ(rename(named.c_str(), away.c_str()), 0) << std::strerror(errno);
  ASSERT_EQ(link(f.c_str(), named.c_str()), 0) << std::strerror(errno);
  EXPECT_EQ(Describe(OpenRead(named)), Describe(EPERM)) << "the kept file under the protected name";
  EXPECT_EQ(Describe(OpenRead(f)), Describe(EPERM)) << "and under its own (the object has the name)";
  EXPECT_EQ(Describe(OpenRead(away)), Describe(EPERM)) << "the protected file moved away";
  EXPECT_EQ(Describe(OpenRead(control)), Describe(0)) << "the kept file beside them";
  unlink(named.c_str());
  rename(away.c_str(), named.c_str());
}

// A policy whose rule tests the user alone is never quiet: its lane is not keyed (an open would
// pay the key for nothing) and keeps nothing.
TEST(QuietAlone, ALaneOfOneThatIsNeverQuietIsNotKeyed) {
  Alone alone("attack_quiet_unkeyed");
  ASSERT_TRUE(alone.loaded());
  EXPECT_EQ(KeyedPrograms(kAloneRoot), 0u);
  EXPECT_EQ(AloneWord(), 0u);
  std::string g = FileIn(CaseDir());
  uint64_t before = QuietHits(kAloneRoot);
  for (int i = 0; i < 4; ++i)
    ASSERT_EQ(OpenRead(g), 0) << "open " << i;
  EXPECT_EQ(QuietHits(kAloneRoot), before) << "a lane not keyed keeps nothing";
}

INSTANTIATE_TEST_SUITE_P(Quiet, Attack, ::testing::Values(Who::Root, Who::User),
                         [](const auto &info) { return std::string(info.param == Who::Root ? "Root" : "User"); });

// `bulwark load` run on CPU 1, so CPU 0's entries stay as they were.
guest::ChildResult LoadOnCpu1(const std::string &bundle) {
  OnCpu(1);
  auto r = Bulwark(kPinRoot, {"load", bundle});
  OnCpu(0);
  return r;
}

// A policy loaded after an open (and a mapping) was kept, and then its next version swapped in:
// each changes the chain, so the kept open or mapping is decided again and denied. The load
// and the swap run on CPU 1, so CPU 0's entry stays as it was (the next open would not meet it
// otherwise).
TEST(QuietChain, ALoadAndASwapDecideKeptOpensAgain) {
  ASSERT_GE(sysconf(_SC_NPROCESSORS_ONLN), 2) << "the test needs a second CPU for the load (run-vm --smp 2)";
  std::string late = FileIn(kBase + "/late", "kept");
  std::string late2 = FileIn(kBase + "/late2", "kept");
  std::string mapped = FileIn(kBase + "/latemap", "kept");
  OpenUntilKept(late);
  OpenUntilKept(late2);
  MapUntilKept(mapped);
  auto load = LoadOnCpu1(Bundle("attack_quiet_late"));
  ASSERT_EQ(load.exit_code, 0) << load.output;
  EXPECT_EQ(Describe(OpenRead(late)), Describe(EPERM)) << "denied by the policy loaded after it was kept";
  EXPECT_EQ(Describe(MmapExec(mapped)), Describe(EPERM)) << "a mapping kept before the load";
  EXPECT_EQ(Describe(OpenRead(mapped)), Describe(0)) << "whose open the policy allows";
  OpenUntilKept(late2); /* under the loaded version */
  auto swap = LoadOnCpu1(Bundle("v2/attack_quiet_late"));
  ASSERT_EQ(swap.exit_code, 0) << swap.output;
  EXPECT_EQ(Describe(OpenRead(late2)), Describe(EPERM)) << "denied by the version swapped in after it was kept";
  EXPECT_EQ(Describe(OpenRead(late)), Describe(0)) << "which no longer denies the first directory";
  auto unload = Bulwark(kPinRoot, {"unload", "attack_quiet_late"});
  ASSERT_EQ(unload.exit_code, 0) << unload.output;
  EXPECT_EQ(Describe(OpenRead(late2)), Describe(0)) << "unloaded";
}

// Connects kept as quiet (bw_net_quiet): attack_quiet_connect's lane of one program, every one
// of whose decisions can be quiet, is keyed. Nothing listens on the ports below: a connect the
// policies let through is refused by the kernel (ConnectLoopback's 0).
const uint16_t kKeptPort = 47, kLatePort = 48, kScopedPort = 49, kDiscardPort = 9, kTrustedPort = 50;

// A TCP connect to 127.0.0.1:`port`: 0 when the policies let it through (refused, as nothing
// listens), else its errno.
int ConnectLoopback(uint16_t port) {
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0)
    return errno;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int rc = connect(s, reinterpret_cast<const sockaddr *>(&a), sizeof a) == 0 ? 0 : errno;
  close(s);
  return rc == ECONNREFUSED ? 0 : rc;
}

// Connects that skipped a lane by a kept entry, on CPU 0 (bw_net_quiet's hits).
uint64_t QuietConnects() {
  uint64_t hits = 0;
  for (const auto &e : CpuZeroEntries<bw_net_quiet_entry>(kPinRoot, "bw_net_quiet", BW_NET_QUIET_ENTRIES))
    hits += e.hits;
  return hits;
}

// The premise: the first connect to a destination no rule matches is kept, the next skip the
// lane (the other tests would pass without the cache; this one would not). A connect a rule
// denies is never kept.
TEST(QuietConnect, AConnectAgainSkipsTheLane) {
  EXPECT_EQ(EntriesSet(kPinRoot, "bw_next_NET_CONNECT", BW_NEXT_KEYED, BW_MAX_LANES),
            std::vector<bw_u32>{BW_KEYED | BW_KEY_CGROUP})
      << "attack_quiet_scoped is in the lane";
  uint64_t before = QuietConnects();
  for (int i = 0; i < 3; ++i)
    ASSERT_EQ(Describe(ConnectLoopback(kKeptPort)), Describe(0)) << "connect " << i;
  EXPECT_EQ(QuietConnects(), before + 2) << "the first decides and keeps, the next two skip";
  before = QuietConnects();
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(Describe(ConnectLoopback(kDiscardPort)), Describe(EPERM)) << "connect " << i;
  EXPECT_EQ(QuietConnects(), before) << "a denied connect is never kept";
  auto status = Bulwark(kPinRoot, {"status"});
  EXPECT_NE(status.output.find("quiet connects: "), std::string::npos) << status.output;
}

// A process outside attack_quiet_scoped's cgroup connects until its connect is kept, then
// moves into that cgroup (a connect's key holds the process, so it must be the same one) and
// connects again: decided, and denied, as the lane's key holds the cgroup (BW_KEY_CGROUP: a
// policy out of its cgroup scope is quiet). Moved back out, it is let through again.
TEST(QuietConnect, AConnectKeptOutsideAPolicysCgroupIsDecidedInsideIt) {
  uint64_t before = QuietConnects();
  auto got = AsAttacker(Who::Root, [] {
    std::string home = guest::ChildCgroup::CurrentCgroupDir();
    std::vector<int> r;
    for (int i = 0; i < 3; ++i)
      r.push_back(ConnectLoopback(kScopedPort));
    WriteText(kScope + "/cgroup.procs", std::to_string(getpid()));
    r.push_back(ConnectLoopback(kScopedPort));
    r.push_back(ConnectLoopback(kScopedPort));
    WriteText(home + "/cgroup.procs", std::to_string(getpid()));
    r.push_back(ConnectLoopback(kScopedPort));
    return r;
  });
  ExpectResults(got, {0, 0, 0, EPERM, EPERM, 0}, Who::Root);
  EXPECT_GE(QuietConnects(), before + 2) << "the premise: kept outside the scope";
}

// A process connects three times, all let through (kept, then skipped), then gains the mark
// the policy denies connects to (a chmod of the arming file), which is in no field of the key
// but changes the count of its marks' changes the key holds: its next connects are decided,
// and denied. Beside it, an unmarked process connects to the same destination.
TEST_P(Attack, AMarkGainedAfterAConnectWasKeptIsDecided) {
  SKIP_IF_NO_USERNS(GetParam());
  std::string arm = kBase + "/arm-net";
  uint64_t before = QuietConnects();
  auto got = AsAttacker(GetParam(), [arm] {
    std::vector<int> r;
    for (int i = 0; i < 3; ++i)
      r.push_back(ConnectLoopback(kKeptPort));
    Check(chmod(arm.c_str(), 0600), "chmod the arming file");
    r.push_back(ConnectLoopback(kKeptPort));
    r.push_back(ConnectLoopback(kKeptPort));
    return r;
  });
  ExpectResults(got, {0, 0, 0, EPERM, EPERM}, GetParam());
  EXPECT_GE(QuietConnects(), before + 2) << "the premise: the connects were kept";
  EXPECT_EQ(Describe(ConnectLoopback(kKeptPort)), Describe(0)) << "an unmarked process";
}

// A mark renewed while it is live changes nothing a test of it sees, so it leaves the count of
// mark changes, and the process's kept connects, as they were: a process that writes files
// under a policy that marks every write keeps its connects.
TEST(QuietConnect, ARenewedMarkLeavesKeptConnectsKept) {
  std::string trust = kBase + "/trust-net";
  uint64_t before = QuietConnects();
  auto got = AsAttacker(Who::Root, [trust] {
    std::vector<int> r;
    Check(chmod(trust.c_str(), 0600), "chmod the trust file");
    r.push_back(ConnectLoopback(kKeptPort));
    Check(chmod(trust.c_str(), 0600), "chmod the trust file again");
    r.push_back(ConnectLoopback(kKeptPort));
    r.push_back(ConnectLoopback(kKeptPort));
    return r;
  });
  ExpectResults(got, {0, 0, 0}, Who::Root);
  EXPECT_EQ(QuietConnects(), before + 2) << "the connects after the renewal skipped the lane";
}

// A process that chmods the trust file is let through to the trusted port for three seconds:
// its connects there decide nothing, but they depend on a mark the process holds, which
// expires without a change the key sees (the count of mark changes counts the marks set). After
// it expired, the process's connect is decided, and denied. Beside it, a process never trusted
// is denied at once.
TEST_P(Attack, AMarkThatExpiredAfterAConnectWasLetThroughIsDecided) {
  SKIP_IF_NO_USERNS(GetParam());
  std::string trust = kBase + "/trust-net";
  auto got = AsAttacker(GetParam(), [trust] {
    std::vector<int> r;
    Check(chmod(trust.c_str(), 0600), "chmod the trust file");
    for (int i = 0; i < 3; ++i)
      r.push_back(ConnectLoopback(kTrustedPort));
    sleep(4);
    r.push_back(ConnectLoopback(kTrustedPort));
    r.push_back(ConnectLoopback(kTrustedPort));
    return r;
  });
  ExpectResults(got, {0, 0, 0, EPERM, EPERM}, GetParam());
  EXPECT_EQ(Describe(ConnectLoopback(kTrustedPort)), Describe(EPERM)) << "a process never trusted";
}

// A policy loaded after connects to its port were kept: the load changes the chain, which the
// key holds, so the next connect is decided and denied; unloaded, it is let through again. The
// load runs on CPU 1, so CPU 0's entry stays as it was.
TEST(QuietConnect, ALoadDecidesKeptConnectsAgain) {
  ASSERT_GE(sysconf(_SC_NPROCESSORS_ONLN), 2) << "the test needs a second CPU for the load (run-vm --smp 2)";
  uint64_t before = QuietConnects();
  for (int i = 0; i < 3; ++i)
    ASSERT_EQ(Describe(ConnectLoopback(kLatePort)), Describe(0)) << "connect " << i;
  ASSERT_EQ(QuietConnects(), before + 2) << "the premise: kept";
  auto load = LoadOnCpu1(Bundle("attack_quiet_connect_late"));
  ASSERT_EQ(load.exit_code, 0) << load.output;
  EXPECT_EQ(Describe(ConnectLoopback(kLatePort)), Describe(EPERM)) << "denied by the policy loaded after it was kept";
  EXPECT_EQ(Describe(ConnectLoopback(kKeptPort)), Describe(0)) << "another port";
  auto unload = Bulwark(kPinRoot, {"unload", "attack_quiet_connect_late"});
  ASSERT_EQ(unload.exit_code, 0) << unload.output;
  EXPECT_EQ(Describe(ConnectLoopback(kLatePort)), Describe(0)) << "unloaded";
}

}  // namespace
}  // namespace bulwark::attacks
