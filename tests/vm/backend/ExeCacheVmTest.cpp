// Runs in the run-vm guest (6.1): process.exe cached per task and exec in the task storage
// map bw_exe. The exec helper (lsm/bprm_committed_creds) fills it at exec; every hook reads
// it while the task's self_exec_id and mm->exe_file are unchanged, and walks mm->exe_file
// otherwise (tasks that exec'd before the policy loaded), refreshing the entry. Also
// measures the effect on the program's run time (bpf_stats) and verifier instructions.
#include "GuestBundle.h"
#include "GuestUtil.h"
#include "bw_match.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

using namespace bwguest;

const std::string kDeep = "/tmp/bwexe/a/b/c/d/e/f/g/h/i/j/k/tool";
const std::string kOther = "/tmp/bwexe/other/tool";
const std::string kTarget = "/tmp/bwexe/target";
const std::string kAllowed = "/tmp/bwexe/allowed";
const char *kPolicy = "/bulwark/files/exe/vmexe.bwb";
const char *kScoped = "/bulwark/files/exe/vmexescope.bwb";

void fixtures() {
  ASSERT_EQ(system("mkdir -p /tmp/bwexe/a/b/c/d/e/f/g/h/i/j/k /tmp/bwexe/other"), 0);
  ASSERT_EQ(system(("cp /bulwark/bin/bw-make-event " + kDeep + " && cp /bulwark/bin/bw-make-event " +
                    kOther).c_str()),
            0);
  bulwark::guest::WriteFile(kTarget, "x");
  bulwark::guest::WriteFile(kAllowed, "x");
}

// A producer started with --sync [--hold]: it has exec'd and waits before its action.
struct Child {
  pid_t pid = -1;
  int in = -1, out = -1;  // its stdin (we write), its stdout (we read)
  ~Child() {
    if (in >= 0)
      close(in);
    if (out >= 0)
      close(out);
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  }
  char readByte() {
    char c = 0;
    return read(out, &c, 1) == 1 ? c : static_cast<char>(-1);
  }
  void go() {
    char c = 'g';
    ASSERT_EQ(write(in, &c, 1), 1);
  }
  int wait() {
    int st = 0;
    waitpid(pid, &st, 0);
    pid = -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 200;
  }
};

void spawn(Child &c, const std::string &exe, std::vector<std::string> args) {
  int toChild[2], fromChild[2];
  ASSERT_EQ(pipe(toChild), 0);
  ASSERT_EQ(pipe(fromChild), 0);
  c.pid = fork();
  if (c.pid == 0) {
    dup2(toChild[0], 0);
    dup2(fromChild[1], 1);
    std::vector<char *> argv;
    argv.push_back(const_cast<char *>(exe.c_str()));
    for (auto &a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(exe.c_str(), argv.data());
    _exit(127);
  }
  close(toChild[0]);
  close(fromChild[1]);
  c.in = toChild[1];
  c.out = fromChild[0];
  ASSERT_EQ(c.readByte(), 'r') << "producer did not start";
}

int pidfdOf(pid_t pid) { return static_cast<int>(syscall(SYS_pidfd_open, pid, 0)); }

// The task storage entry of `pid`, looked up from user space with a pidfd.
bool cacheEntry(const Loaded &l, pid_t pid, bw_exe_cache &out) {
  int pfd = pidfdOf(pid);
  if (pfd < 0)
    return false;
  bool ok = bpf_map_lookup_elem(l.mapFd("bw_exe"), &pfd, &out) == 0;
  close(pfd);
  return ok;
}

bool setCacheEntry(const Loaded &l, pid_t pid, const bw_exe_cache &v) {
  int pfd = pidfdOf(pid);
  bool ok = pfd >= 0 && bpf_map_update_elem(l.mapFd("bw_exe"), &pfd, &v, BPF_EXIST) == 0;
  if (pfd >= 0)
    close(pfd);
  return ok;
}

} // namespace

TEST(BackendVmExeCache, FilledAtExecReadByHooksAndValidated) {
  ASSERT_TRUE(bulwark::guest::InGuest());
  ASSERT_NO_FATAL_FAILURE(fixtures());
  Loaded l;
  ASSERT_NO_FATAL_FAILURE(loadBundle(l, kPolicy));
  ASSERT_EQ(l.bundle.manifest.helpers.size(), 1u);
  ASSERT_TRUE(l.attach("bw_exe_exec")) << std::strerror(errno);
  Records recs(l);
  recs.take();

  // 1. Only the exec helper is attached while the producer execs: its entry comes from it.
  Child a;
  ASSERT_NO_FATAL_FAILURE(spawn(a, kDeep, {"--sync", "open", kTarget}));
  bw_exe_cache e{};
  ASSERT_TRUE(cacheEntry(l, a.pid, e)) << "no bw_exe entry after exec: " << std::strerror(errno);
  EXPECT_EQ(e.valid, 1u);
  EXPECT_EQ(std::string(e.path), kDeep);
  EXPECT_EQ(e.len, kDeep.size());
  ASSERT_TRUE(l.attach("bw_file_open"));
  a.go();
  EXPECT_EQ(a.wait(), EPERM) << "the deep tool may not open the target";

  // 2. Hooks read the cache, and the cached path is a view: it may add a denial (the other
  // tool's entry poisoned with the deep tool's path is denied) ...
  auto poison = [&](Child &ch, uint32_t execIdDelta) {
    ASSERT_TRUE(cacheEntry(l, ch.pid, e));
    bw_exe_cache p = e;
    p.exec_id = e.exec_id - execIdDelta;
    std::snprintf(p.path, sizeof p.path, "%s", kDeep.c_str());
    p.len = static_cast<uint32_t>(kDeep.size());
    ASSERT_TRUE(setCacheEntry(l, ch.pid, p)) << std::strerror(errno);
  };
  Child b;
  ASSERT_NO_FATAL_FAILURE(spawn(b, kOther, {"--sync", "open", kTarget}));
  ASSERT_NO_FATAL_FAILURE(poison(b, 0));
  b.go();
  EXPECT_EQ(b.wait(), EPERM) << "the decision did not use the cached path";

  // ... but never take one away: the deep tool's entry poisoned with another path is still
  // denied, by the executable's identity.
  Child b2;
  ASSERT_NO_FATAL_FAILURE(spawn(b2, kDeep, {"--sync", "open", kTarget}));
  ASSERT_TRUE(cacheEntry(l, b2.pid, e));
  bw_exe_cache elsewhere = e;
  std::snprintf(elsewhere.path, sizeof elsewhere.path, "/poisoned/tool");
  elsewhere.len = static_cast<uint32_t>(std::strlen(elsewhere.path));
  ASSERT_TRUE(setCacheEntry(l, b2.pid, elsewhere)) << std::strerror(errno);
  b2.go();
  EXPECT_EQ(b2.wait(), EPERM) << "a cached path took the denial away";

  // 3. An entry of another exec (exec id differs) is not trusted: walk, the other tool's
  // own path, allowed.
  Child c;
  ASSERT_NO_FATAL_FAILURE(spawn(c, kOther, {"--sync", "open", kTarget}));
  ASSERT_NO_FATAL_FAILURE(poison(c, 1));
  c.go();
  EXPECT_EQ(c.wait(), 0) << "a stale entry was trusted";

  // 4. Records carry the cached process.exe.
  Child d;
  ASSERT_NO_FATAL_FAILURE(spawn(d, kOther, {"--sync", "open", kTarget}));
  d.go();
  EXPECT_EQ(d.wait(), 0);
  l.detachAll();
  auto rs = recs.take();
  bool deepDenied = false, otherAudited = false;
  for (const auto &r : rs) {
    std::string exe = r.strs.count(1) ? r.strs.at(1) : "";
    deepDenied = deepDenied || (r.rule == 0 && exe == kDeep);
    otherAudited = otherAudited || (r.rule == 1 && exe == kOther);
  }
  EXPECT_TRUE(deepDenied);
  EXPECT_TRUE(otherAudited);
}

TEST(BackendVmExeCache, TasksFromBeforeTheLoadWalkOnceThenHit) {
  ASSERT_TRUE(bulwark::guest::InGuest());
  ASSERT_NO_FATAL_FAILURE(fixtures());
  Child a;  // exec'd before the policy exists
  ASSERT_NO_FATAL_FAILURE(spawn(a, kDeep, {"--sync", "--hold", "open", kTarget}));
  Loaded l;
  ASSERT_NO_FATAL_FAILURE(loadBundle(l, kPolicy));
  ASSERT_TRUE(l.attach("bw_file_open"));
  bw_exe_cache e{};
  EXPECT_FALSE(cacheEntry(l, a.pid, e)) << "entry before any event";
  a.go();
  EXPECT_EQ(a.readByte(), EPERM) << "the walk fallback decides";
  ASSERT_TRUE(cacheEntry(l, a.pid, e)) << "the walk did not fill the cache";
  EXPECT_EQ(std::string(e.path), kDeep);
  a.go();
  EXPECT_EQ(a.wait(), EPERM);
}

TEST(BackendVmExeCache, OffSwitchWalksEveryTime) {
  ASSERT_TRUE(bulwark::guest::InGuest());
  ASSERT_NO_FATAL_FAILURE(fixtures());
  Loaded l;
  ASSERT_NO_FATAL_FAILURE(loadBundle(l, kPolicy, [](bpf_object *o) {
    ASSERT_TRUE(setRodataU32(o, "bw_cfg_exe_cache", 0));
  }));
  ASSERT_TRUE(l.attach("bw_exe_exec"));
  ASSERT_TRUE(l.attach("bw_file_open"));
  Child a;
  ASSERT_NO_FATAL_FAILURE(spawn(a, kDeep, {"--sync", "--hold", "open", kTarget}));
  a.go();
  EXPECT_EQ(a.readByte(), EPERM);
  bw_exe_cache e{};
  EXPECT_FALSE(cacheEntry(l, a.pid, e)) << "cache written although switched off";
  a.go();
  a.wait();
}

TEST(BackendVmExeCache, ExecutableScopeUsesTheCache) {
  ASSERT_TRUE(bulwark::guest::InGuest());
  ASSERT_NO_FATAL_FAILURE(fixtures());
  Loaded l;
  ASSERT_NO_FATAL_FAILURE(loadBundle(l, kScoped));
  ASSERT_TRUE(l.attach("bw_exe_exec"));
  ASSERT_TRUE(l.attach("bw_file_open"));
  Child in, out;
  ASSERT_NO_FATAL_FAILURE(spawn(in, kDeep, {"--sync", "open", kTarget}));
  ASSERT_NO_FATAL_FAILURE(spawn(out, kOther, {"--sync", "open", kTarget}));
  in.go();
  out.go();
  EXPECT_EQ(in.wait(), EPERM) << "in scope";
  EXPECT_EQ(out.wait(), 0) << "out of scope";
  EXPECT_EQ(bulwark::guest::OpenErrno(kTarget), 0) << "the test binary is out of scope";
}

// Run time of bw_file_open per event (bpf_stats), process.exe read at every open, for a
// 13-component executable path: walked every time vs cached. Printed, not asserted.
TEST(BackendVmExeCache, MeasureRunTime) {
  ASSERT_TRUE(bulwark::guest::InGuest());
  ASSERT_NO_FATAL_FAILURE(fixtures());
  int stats = bpf_enable_stats(BPF_STATS_RUN_TIME);
  ASSERT_GE(stats, 0) << std::strerror(errno);
  const int n = 20000;
  std::map<std::string, double> nsPerEvent;
  std::map<std::string, uint32_t> insns;
  for (const char *mode : {"walk", "cache", "walk", "cache"}) {
    bool cache = std::string(mode) == "cache";
    Loaded l;
    ASSERT_NO_FATAL_FAILURE(loadBundle(l, kPolicy, [&](bpf_object *o) {
      ASSERT_TRUE(setRodataU32(o, "bw_cfg_exe_cache", cache ? 1 : 0));
    }));
    insns[mode] = verifiedInsns(l.prog("bw_file_open"));
    ASSERT_TRUE(l.attach("bw_exe_exec"));
    ASSERT_TRUE(l.attach("bw_file_open"));
    Child a;
    ASSERT_NO_FATAL_FAILURE(spawn(a, kDeep, {"--sync", "open", kAllowed, "r", std::to_string(n)}));
    auto before = progStats(l.prog("bw_file_open"));
    a.go();
    EXPECT_EQ(a.wait(), 0);
    auto after = progStats(l.prog("bw_file_open"));
    uint64_t runs = after.runCnt - before.runCnt;
    ASSERT_GE(runs, static_cast<uint64_t>(n));
    double ns = static_cast<double>(after.runTimeNs - before.runTimeNs) / static_cast<double>(runs);
    // keep the better of two runs (TCG timing is noisy)
    if (!nsPerEvent.count(mode) || ns < nsPerEvent[mode])
      nsPerEvent[mode] = ns;
  }
  close(stats);
  std::printf("exe cache: bw_file_open reading process.exe of %s (%zu bytes, 13 components), %d opens:\n",
              kDeep.c_str(), kDeep.size(), n);
  std::printf("exe cache:   walk every event: %8.0f ns/event (verifier %u insns)\n", nsPerEvent["walk"],
              insns["walk"]);
  std::printf("exe cache:   cached:           %8.0f ns/event (verifier %u insns)\n", nsPerEvent["cache"],
              insns["cache"]);
  std::printf("exe cache:   ratio %.2f\n", nsPerEvent["walk"] / nsPerEvent["cache"]);
  // informational only: no timing assertions (TCG, shared machine); correctness is above
}
