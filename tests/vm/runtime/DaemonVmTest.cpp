// The daemon (`bulwark run --config`) against the real kernel: a bundle directory in the
// Kubernetes ConfigMap layout (entries are symlinks into ..data, swapped by an atomic
// rename) is kept loaded; new versions are hot-swapped, a broken version keeps the previous
// one enforcing, removed bundles are unloaded, plain directories and in-place edits work,
// decisions are written as JSON lines, metrics are served, and a stopped daemon leaves the
// policies enforcing for a restarted one to adopt.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <fstream>
#include <regex>

#include "RuntimeVmUtil.h"

namespace bulwark::rttest {
namespace {
namespace fs = std::filesystem;

constexpr int kPort = 19737;


std::string Slurp(const std::string &path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

// The value of an unlabelled sample `name` in a Prometheus text page; -1 when absent.
double MetricValue(const std::string &page, const std::string &name) {
  std::smatch m;
  if (!std::regex_search(page, m, std::regex("(^|\n)" + name + " ([0-9.e+-]+)")))
    return -1;
  return std::stod(m[2].str());
}

class DaemonTest : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_TRUE(guest::InGuest());
    dir = tmp.path() + "/bundles";
    fs::create_directories(dir);
    a = tmp.CreateFile("a");
    b = tmp.CreateFile("b");
    c = tmp.CreateFile("c");
    cfg = tmp.path() + "/bulwark.yaml";
    std::ofstream(cfg) << "bundle_dir: bundles\n"
                       << "pin_root: " << root.path() << "\n"
                       << "metrics: 127.0.0.1:" << kPort << "\n"
                       << "events: events.jsonl\n"
                       << "debounce_seconds: 0.2\n"
                       << "resync_seconds: 30\n";
  }
  void TearDown() override {
    Stop();
    Bulwark(root, {"unload", "deny-test"});
    Bulwark(root, {"unload", "plain"});
  }

  // Publishes a version the way the kubelet updates a ConfigMap volume.
  void Publish(const BundleSpec &s) {
    std::string ts = "..ts_" + std::to_string(++version);
    fs::create_directories(dir + "/" + ts);
    MakeBundle(dir + "/" + ts, s, "deny-test.bwb");
    fs::create_directory_symlink(ts, dir + "/..data_tmp");
    fs::rename(dir + "/..data_tmp", dir + "/..data");  // the atomic swap
    if (!fs::is_symlink(dir + "/deny-test.bwb"))
      fs::create_directory_symlink("..data/deny-test.bwb", dir + "/deny-test.bwb");
    if (version > 1)
      fs::remove_all(dir + "/..ts_" + std::to_string(version - 1));
  }
  // A corrupt version, published the same way.
  void PublishCorrupt(const BundleSpec &s) {
    std::string ts = "..ts_" + std::to_string(++version);
    fs::create_directories(dir + "/" + ts);
    std::string p = MakeBundle(dir + "/" + ts, s, "deny-test.bwb");
    fs::resize_file(p + "/policy.bpf.o", 100);
    fs::create_directory_symlink(ts, dir + "/..data_tmp");
    fs::rename(dir + "/..data_tmp", dir + "/..data");
  }

  void Start() {
    log = tmp.path() + "/daemon." + std::to_string(++starts) + ".log";
    pid = fork();
    if (pid == 0) {
      int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(fd, 1);
      dup2(fd, 2);
      execlp("bulwark", "bulwark", "run", "--config", cfg.c_str(), nullptr);
      _exit(127);
    }
    ASSERT_TRUE(WaitFor([&] { return HttpGet(kPort, "/metrics").find("bulwark_up 1") != std::string::npos; }))
        << Slurp(log);
  }
  // Whether the daemon's log shows `text`, waiting for it: the daemon logs a change after
  // it took effect, so what a test observes can come first.
  bool Logged(const std::string &text) {
    return WaitFor([&] { return Slurp(log).find(text) != std::string::npos; });
  }
  int Stop() {
    if (pid <= 0)
      return -1;
    kill(pid, SIGTERM);
    int st = 0;
    waitpid(pid, &st, 0);
    pid = -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }

  // open() of a file that only deny-test denies, counting the denials: each is one hit of
  // its rule deny-protected, whichever version the daemon has loaded.
  int Open(const std::string &path) {
    int e = guest::OpenErrno(path);
    denials += e == EPERM;
    return e;
  }

  TempDir tmp;
  PinRoot root;
  std::string dir, cfg, log, a, b, c;
  long long denials = 0;
  pid_t pid = -1;
  int version = 0, starts = 0;
};

// The daemon checks the wiring at every reconcile: a policy whose kernel state differs from what
// was loaded is counted, logged and loaded again from its bundle. The tampering here (the slot
// mode cleared, by this process with the guard off) changes no decision, so nothing else fails.
TEST_F(DaemonTest, RepairsATamperedPolicy) {
  ::setenv("BULWARK_TEST_UNGUARDED", "1", 1);
  BundleSpec v1;
  v1.deny = {IdOf(a)};
  Publish(v1);
  Start();
  ASSERT_TRUE(WaitFor([&] { return Open(a) == EPERM; })) << Slurp(log);
  EXPECT_NE(HttpGet(kPort, "/metrics").find("bulwark_integrity_failures_total 0"), std::string::npos);
  int fd = bpf_obj_get((root.path() + "/shared/bw_slot_mode").c_str());
  ASSERT_GE(fd, 0);
  uint32_t slot = 0, empty = 0;
  ASSERT_EQ(bpf_map_update_elem(fd, &slot, &empty, BPF_ANY), 0);
  kill(pid, SIGHUP);  // (a reconcile the publication scheduled may find it first)
  ASSERT_TRUE(WaitFor([&] { return HttpGet(kPort, "/metrics").find("bulwark_integrity_failures_total 1") != std::string::npos; }))
      << Slurp(log);
  ASSERT_TRUE(Logged("tampered: repairing from the bundle"))
      << Slurp(log);
  EXPECT_TRUE(Logged("integrity: policy deny-test TAMPERED: bw_slot_mode[0] is 0, loaded 1"))
      << Slurp(log);
  uint32_t mode = 0;
  // enforce (1) in the low bits, the repairing load's instance above them
  ASSERT_TRUE(WaitFor([&] {
    return bpf_map_lookup_elem(fd, &slot, &mode) == 0 && (mode & BW_SLOT_MODE_MASK) == BW_SLOT_ENFORCE &&
           mode >> BW_SLOT_MODE_BITS != 0;
  })) << Slurp(log);
  ::close(fd);
  auto st = Bulwark(root, {"status", "deny-test"});
  EXPECT_EQ(st.output.find("TAMPERED"), std::string::npos) << st.output;
  EXPECT_EQ(Open(a), EPERM);
  ::unsetenv("BULWARK_TEST_UNGUARDED");
}

TEST_F(DaemonTest, KeepsTheDirectoryLoaded) {
  BundleSpec v1, v2, broken;
  v1.deny = {IdOf(a)};
  v2.deny = {IdOf(b)};
  broken.deny = {IdOf(c)};
  Publish(v1);
  Start();
  ASSERT_TRUE(WaitFor([&] { return Open(a) == EPERM; })) << Slurp(log);

  Publish(v2);  // hot swap through the ..data rename
  ASSERT_TRUE(WaitFor([&] { return Open(b) == EPERM && Open(a) == 0; })) << Slurp(log);

  PublishCorrupt(broken);  // must keep v2
  ASSERT_TRUE(WaitFor([&] { return HttpGet(kPort, "/metrics").find("bulwark_bundle_errors{bundle=") != std::string::npos; }))
      << Slurp(log);
  EXPECT_EQ(Open(b), EPERM) << Slurp(log);
  EXPECT_EQ(guest::OpenErrno(c), 0) << Slurp(log);
  EXPECT_TRUE(Logged("is not loadable: corrupt bundle")) << Slurp(log);

  Publish(v1);  // fixed again
  ASSERT_TRUE(WaitFor([&] { return Open(a) == EPERM && Open(b) == 0; })) << Slurp(log);

  // A plain directory (not a ConfigMap) next to it, then edited in place.
  BundleSpec plain;
  plain.name = "plain";
  plain.deny = {IdOf(c)};
  MakeBundle(dir, plain, "plain.bwb");
  ASSERT_TRUE(WaitFor([&] { return guest::OpenErrno(c) == EPERM; })) << Slurp(log);
  plain.deny = {};
  plain.audit = {IdOf(c)};
  MakeBundle(tmp.path(), plain, "plain-v2.bwb");
  fs::copy_file(tmp.path() + "/plain-v2.bwb/maps/deny_inodes.bin", dir + "/plain.bwb/maps/deny_inodes.bin",
                fs::copy_options::overwrite_existing);
  ASSERT_TRUE(WaitFor([&] { return guest::OpenErrno(c) == 0; })) << "in-place edit not picked up\n" << Slurp(log);

  // Events and metrics.
  Open(a);
  ASSERT_TRUE(WaitFor([&] {
    return Slurp(tmp.path() + "/events.jsonl").find("\"policy\":\"deny-test\",\"rule\":\"deny-protected\",\"action\":\"deny\"") !=
           std::string::npos;
  })) << Slurp(tmp.path() + "/events.jsonl");
  std::string m = HttpGet(kPort, "/metrics");
  std::printf("%s", m.substr(m.find("\r\n\r\n") + 4).c_str());
  EXPECT_NE(m.find("HTTP/1.0 200 OK"), std::string::npos);
  std::smatch hit;
  EXPECT_TRUE(std::regex_search(
      m, hit,
      std::regex(R"(bulwark_rule_hits_total\{policy="deny-test",rule="deny-protected",hook="file.open",action="deny"\} ([0-9]+))")))
      << m;
  // The counter continued across the daemon's three loads of deny-test (v1, v2, v1).
  if (hit.size() > 1) {
    EXPECT_EQ(std::stoll(hit[1]), denials) << m;
  }
  EXPECT_NE(m.find("bulwark_loads_total{policy=\"deny-test\",result=\"ok\"} 3"), std::string::npos) << m << Slurp(log);
  EXPECT_NE(m.find("bulwark_loads_total{policy=\"plain\",result=\"ok\"} 2"), std::string::npos) << m << Slurp(log);
  EXPECT_NE(m.find("bulwark_policy_info{policy=\"deny-test\",slot=\"0\""), std::string::npos) << m;
  EXPECT_NE(m.find("bulwark_events_total{action=\"deny\"}"), std::string::npos) << m;
  EXPECT_NE(HttpGet(kPort, "/nope").find("404"), std::string::npos);

  // Stopping leaves everything enforcing.
  EXPECT_EQ(Stop(), 0) << Slurp(log);
  EXPECT_EQ(guest::OpenErrno(a), EPERM);
  // A restarted daemon adopts both without reloading.
  Start();
  ASSERT_TRUE(Logged("adopted policy plain")) << Slurp(log);
  EXPECT_TRUE(Logged("adopted policy deny-test")) << Slurp(log);
  EXPECT_EQ(Slurp(log).find("loaded policy"), std::string::npos) << Slurp(log);
  EXPECT_EQ(Slurp(log).find("replaced policy"), std::string::npos) << Slurp(log);
  EXPECT_EQ(guest::OpenErrno(a), EPERM);

  // Removing a bundle unloads its policy; the other stays.
  fs::remove(dir + "/deny-test.bwb");
  ASSERT_TRUE(WaitFor([&] { return guest::OpenErrno(a) == 0; })) << Slurp(log);
  ASSERT_TRUE(WaitFor([&] { return !Exists(root.path() + "/deny-test"); })) << Slurp(log);
  // The pins go before the daemon logs it.
  EXPECT_TRUE(Logged("unloaded policy deny-test (its bundle left"))
      << Slurp(log);
  EXPECT_TRUE(Exists(root.path() + "/plain"));
  fs::remove_all(dir + "/plain.bwb");
  ASSERT_TRUE(WaitFor([&] { return !Exists(root.path() + "/plain"); })) << Slurp(log);
  // The last unload drops the guard, and with it the dispatchers it keeps (lane 0 of file_open
  // and path_unlink), after the policy's own pins.
  EXPECT_TRUE(WaitFor([&] { return CountLinks("bw_dispatch_") == 0; })) << Slurp(log);
  // This daemon attaches the dispatchers itself and drops them again: nothing may stay attached
  // behind its back (a leaked link fd would keep the program attached after unpinning).
  Publish(v1);
  ASSERT_TRUE(WaitFor([&] { return guest::OpenErrno(a) == EPERM; })) << Slurp(log);
  EXPECT_EQ(CountLinks("bw_dispatch_"), 2) << "file_open's and path_unlink's of lane 0\n" << Slurp(log);
  fs::remove(dir + "/deny-test.bwb");
  ASSERT_TRUE(WaitFor([&] { return !Exists(root.path() + "/deny-test"); })) << Slurp(log);
  EXPECT_EQ(guest::OpenErrno(a), 0) << Slurp(log);
  EXPECT_TRUE(WaitFor([&] { return CountLinks("bw_dispatch_") == 0; })) << Slurp(log);
  EXPECT_EQ(Stop(), 0) << Slurp(log);
}

// A daemon with nothing to do does nothing: the watches it renews after a reconcile (their
// IN_IGNORED events) do not start the next reconcile. A change still does. A daemon that
// reconciled in a loop would never settle (one pass per debounce period); how long a settled
// one takes to get there depends on the load of the machine, so the test waits for it.
TEST_F(DaemonTest, ReconcilesOnlyOnChanges) {
  std::string base = Slurp(cfg);
  std::ofstream(cfg) << std::regex_replace(base, std::regex("resync_seconds: [0-9]+"), "resync_seconds: 3600");
  BundleSpec v1, v2;
  v1.deny = {IdOf(a)};
  v2.deny = {IdOf(b)};
  Publish(v1);
  Start();
  ASSERT_TRUE(WaitFor([&] { return Open(a) == EPERM; })) << Slurp(log);
  auto reconciles = [&] { return MetricValue(HttpGet(kPort, "/metrics"), "bulwark_reconciles_total"); };
  // The count once it held for 1.5 s (seven debounce periods); -1 if it never did.
  auto settled = [&] {
    double before = -2, now = reconciles();
    for (int i = 0; i < 40 && now != before; i++) {
      before = now;
      usleep(1500 * 1000);
      now = reconciles();
    }
    return now == before ? now : -1;
  };
  double quiet = settled();
  ASSERT_GE(quiet, 1) << Slurp(log);
  usleep(2000 * 1000);  // ten debounce periods
  EXPECT_EQ(reconciles(), quiet) << Slurp(log);

  Publish(v2);
  ASSERT_TRUE(WaitFor([&] { return Open(b) == EPERM && Open(a) == 0; })) << Slurp(log);
  double afterChange = settled();
  EXPECT_GT(afterChange, quiet) << Slurp(log);
  usleep(2000 * 1000);
  EXPECT_EQ(reconciles(), afterChange) << Slurp(log);
  EXPECT_EQ(Stop(), 0) << Slurp(log);
}

// switch: on_signal: a changed bundle is staged while the loaded version keeps enforcing, and
// SIGUSR1 switches to it; a restarted daemon still holds it, and a bundle that goes back to
// the enforcing version drops what was staged.
TEST_F(DaemonTest, SwitchesToStagedVersionsOnSignal) {
  std::ofstream(cfg, std::ios::app) << "switch: on_signal\n";
  BundleSpec v1, v2;
  v1.deny = {IdOf(a)};
  v2.deny = {IdOf(b)};
  Publish(v1);
  Start();
  ASSERT_TRUE(WaitFor([&] { return Open(a) == EPERM; })) << "a first load is not held\n" << Slurp(log);

  Publish(v2);
  ASSERT_TRUE(Logged("staged policy deny-test (changed"))
      << Slurp(log);
  EXPECT_NE(HttpGet(kPort, "/metrics").find("bulwark_policy_staged_for_signal{policy=\"deny-test\"} 1"),
            std::string::npos);
  EXPECT_NE(Bulwark(root, {"status"}).output.find("STAGED"), std::string::npos);
  EXPECT_EQ(Open(a), EPERM) << "v1 enforces until the signal";
  EXPECT_EQ(guest::OpenErrno(b), 0);

  EXPECT_EQ(Stop(), 0) << Slurp(log);
  Start();  // a restarted daemon holds the staged version, it does not stage it again
  ASSERT_TRUE(Logged("staged: switched on SIGUSR1"))
      << Slurp(log);
  EXPECT_EQ(Slurp(log).find("staged policy"), std::string::npos) << Slurp(log);
  EXPECT_EQ(Open(a), EPERM);

  kill(pid, SIGUSR1);
  ASSERT_TRUE(WaitFor([&] { return Open(b) == EPERM && guest::OpenErrno(a) == 0; })) << Slurp(log);
  EXPECT_TRUE(Logged("switched policy deny-test to its staged version (SIGUSR1")) << Slurp(log);
  EXPECT_EQ(Bulwark(root, {"status"}).output.find("STAGED"), std::string::npos);

  Publish(v1);  // staged again, then the bundle goes back to what enforces
  ASSERT_TRUE(Logged("staged policy deny-test (changed"))
      << Slurp(log);
  Publish(v2);
  ASSERT_TRUE(Logged("dropping the version staged"))
      << Slurp(log);
  EXPECT_EQ(Bulwark(root, {"status"}).output.find("STAGED"), std::string::npos);
  kill(pid, SIGUSR1);
  ASSERT_TRUE(Logged("SIGUSR1: no staged version"))
      << Slurp(log);
  EXPECT_EQ(Open(b), EPERM);
  EXPECT_EQ(guest::OpenErrno(a), 0);
  EXPECT_EQ(Stop(), 0) << Slurp(log);
}

// The daemon checks a staged version when it stages it (armed), so SIGUSR1 only confirms and
// switches. What changed since the check is found by the switch: a staged version dropped by
// hand is not switched to (nothing half-switched: v1 keeps enforcing, every other file opens),
// and one staged again by hand is the one switched to, after the full checks.
TEST_F(DaemonTest, ArmedSwitchSeesChangesSinceItWasChecked) {
  std::ofstream(cfg, std::ios::app) << "switch: on_signal\n";
  BundleSpec v1, v2, v3;
  v1.deny = {IdOf(a)};
  v2.deny = {IdOf(b)};
  v3.deny = {IdOf(c)};
  v3.name = "deny-test";
  Publish(v1);
  Start();
  ASSERT_TRUE(WaitFor([&] { return Open(a) == EPERM; })) << Slurp(log);
  Publish(v2);
  ASSERT_TRUE(Logged("staged policy deny-test (changed"))
      << Slurp(log);

  ASSERT_EQ(Bulwark(root, {"unstage", "deny-test"}).exit_code, 0);
  kill(pid, SIGUSR1);
  ASSERT_TRUE(Logged("switching on SIGUSR1 failed"))
      << Slurp(log);
  EXPECT_TRUE(Logged("has no staged version")) << Slurp(log);
  EXPECT_EQ(Open(a), EPERM) << Slurp(log);
  EXPECT_EQ(guest::OpenErrno(b), 0) << Slurp(log);
  EXPECT_EQ(guest::OpenErrno(c), 0) << Slurp(log);

  // The failure stages v2 again; a version staged by hand over it is what the signal switches to.
  ASSERT_TRUE(WaitFor([&] {
    std::string l = Slurp(log);
    return l.find("staged policy deny-test (changed") != l.rfind("staged policy deny-test (changed");
  })) << Slurp(log);
  auto byHand = Bulwark(root, {"load", "--stage", MakeBundle(tmp.path(), v3)});
  ASSERT_EQ(byHand.exit_code, 0) << byHand.output;
  kill(pid, SIGUSR1);
  ASSERT_TRUE(WaitFor([&] { return Open(c) == EPERM; })) << Slurp(log);
  EXPECT_EQ(guest::OpenErrno(a), 0) << Slurp(log);
  EXPECT_EQ(guest::OpenErrno(b), 0) << Slurp(log);
  EXPECT_TRUE(Logged("switched policy deny-test to its staged version (SIGUSR1"))
      << Slurp(log);
  EXPECT_EQ(Stop(), 0) << Slurp(log);
}

}  // namespace
}  // namespace bulwark::rttest
