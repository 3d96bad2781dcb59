// Events an auditor can trust: a record names the policy instance that made it, so a policy
// unloaded (or replaced) with records unread keeps them, and the policy that takes its slot
// never gets them. Events carry the rendered message, enum names, hostname, boot id and the
// schema version; every JSON line is printed with the prefix "EVENT-JSON: " so that
// rt_events_schema validates it on the host against docs/events.schema.json.
#include <gtest/gtest.h>

#include <linux/bpf.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <csignal>
#include <cstring>
#include <fstream>
#include <regex>
#include <thread>
#include <sstream>

#include "RuntimeVmUtil.h"

namespace bulwark::rttest {
namespace {

const std::string kDir = "/tmp/bw-ev";


// The JSON lines of `bulwark events --format json` (printed for the schema check).
std::vector<std::string> JsonEvents(const PinRoot &root, std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"events", "--format", "json"};
  args.insert(args.end(), extra.begin(), extra.end());
  auto r = Bulwark(root, args);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  auto lines = Lines(r.output);
  for (const auto &l : lines)
    std::printf("EVENT-JSON: %s\n", l.c_str());
  return lines;
}

// The line containing every one of `parts`, or "".
std::string Find(const std::vector<std::string> &lines, std::vector<std::string> parts) {
  for (const auto &l : lines) {
    bool all = true;
    for (const auto &p : parts)
      all = all && l.find(p) != std::string::npos;
    if (all)
      return l;
  }
  return "";
}

std::string Member(const std::string &line, const std::string &key) {
  std::smatch m;
  if (std::regex_search(line, m, std::regex("\"" + key + "\":(\"(?:[^\"\\\\]|\\\\.)*\"|[0-9]+)")))
    return m[1];
  return "";
}

// Runs fn in a child whose comm is bw-ev-actor (the name policy B's rules match).
int AsActor(const std::function<int()> &fn) {
  return guest::RunInChild([&] {
           prctl(PR_SET_NAME, "bw-ev-actor");
           return fn();
         }).exit_code;
}

class Events : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_TRUE(guest::InGuest());
    std::filesystem::create_directories(kDir + "/a");
    guest::WriteFile(kDir + "/a/x", "data");
    guest::WriteFile(kDir + "/other", "data");
  }
  void TearDown() override {
    for (const char *p : {"rt_events_a", "rt_events_b", "rt_e2e", "rt_scope"})
      Bulwark(root, {"unload", p});
    std::filesystem::remove_all(kDir);
  }
  PinRoot root;
};

TEST_F(Events, SlotReuseWithUnreadRecordsKeepsTheAttribution) {
  auto r = Bulwark(root, {"load", GuestFile("rt-events-a.bwb")});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  Bulwark(root, {"events"});  // drain
  auto list = Bulwark(root, {"list", "--format", "json"});
  ASSERT_EQ(list.exit_code, 0) << list.output;
  std::string instA = Member(list.output, "instance");
  EXPECT_NE(list.output.find("\"policy\":\"rt_events_a\",\"slot\":0"), std::string::npos) << list.output;

  EXPECT_EQ(AsActor([] { return guest::OpenErrno(kDir + "/a/x"); }), EPERM);
  // Unloaded with its record unread; B takes slot 0.
  ASSERT_EQ(Bulwark(root, {"unload", "rt_events_a"}).exit_code, 0);
  EXPECT_TRUE(Exists(root.path() + "/instances/" + instA)) << "the retired instance keeps its names until read";
  r = Bulwark(root, {"load", GuestFile("rt-events-b.bwb")});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  list = Bulwark(root, {"list", "--format", "json"});
  EXPECT_NE(list.output.find("\"policy\":\"rt_events_b\",\"slot\":0"), std::string::npos) << list.output;
  std::string instB = Member(list.output, "instance");
  EXPECT_NE(instA, instB);

  // B's three rules, as the actor; an attack and the controls beside it.
  EXPECT_EQ(AsActor([] {
              int fd = socket(AF_PACKET, SOCK_RAW, 0);
              if (fd >= 0)
                close(fd);
              return fd < 0 ? errno : 0;
            }),
            EPERM);
  EXPECT_EQ(AsActor([] {
              int fd = socket(AF_INET, SOCK_DGRAM, 0);
              if (fd >= 0)
                close(fd);
              return fd < 0 ? errno : 0;
            }),
            0);
  EXPECT_EQ(AsActor([] {
              union bpf_attr attr {};
              attr.map_id = 0x7fffffff;
              long rc = syscall(SYS_bpf, BPF_MAP_GET_FD_BY_ID, &attr, sizeof attr);
              return rc < 0 ? errno : 0;
            }),
            EPERM);
  EXPECT_EQ(AsActor([] {
              std::signal(SIGUSR1, SIG_IGN);
              return kill(getpid(), SIGUSR1) == 0 ? 0 : errno;
            }),
            0);
  EXPECT_EQ(guest::OpenErrno(kDir + "/a/x"), 0) << "A is unloaded";

  auto lines = JsonEvents(root);
  // A's record: A's policy, rule and instance, although B holds the slot now.
  std::string a = Find(lines, {"\"object\":\"/tmp/bw-ev/a/x\""});
  ASSERT_FALSE(a.empty()) << lines.size() << " events, none of A";
  EXPECT_NE(a.find("\"policy\":\"rt_events_a\",\"rule\":\"deny_marked\",\"action\":\"deny\",\"hook\":\"file.open\""),
            std::string::npos) << a;
  EXPECT_EQ(Member(a, "instance"), instA) << a;
  EXPECT_NE(a.find("\"message\":\"bw-ev-actor opened /tmp/bw-ev/a/x\""), std::string::npos) << a;
  EXPECT_NE(a.find("\"slot\":0"), std::string::npos) << a;
  for (const auto &l : lines) {
    if (l != a) {
      EXPECT_NE(l.find("\"policy\":\"rt_events_b\""), std::string::npos) << l;
    }
  }

  // B's records: enum names in objects, fields and messages.
  std::string sock = Find(lines, {"\"rule\":\"no_packet\""});
  EXPECT_NE(sock.find("\"object\":\"AF_PACKET\""), std::string::npos) << sock;
  EXPECT_NE(sock.find("\"message\":\"bw-ev-actor opened a AF_PACKET SOCK_RAW socket\""), std::string::npos) << sock;
  EXPECT_EQ(Member(sock, "instance"), instB) << sock;
  std::string bpf = Find(lines, {"\"rule\":\"no_map_by_id\""});
  EXPECT_NE(bpf.find("\"object\":\"BPF_MAP_GET_FD_BY_ID\""), std::string::npos) << bpf;
  EXPECT_NE(bpf.find("\"message\":\"bw-ev-actor called bpf BPF_MAP_GET_FD_BY_ID\""), std::string::npos) << bpf;
  std::string sig = Find(lines, {"\"rule\":\"usr1\""});
  EXPECT_NE(sig.find("\"action\":\"audit\""), std::string::npos) << sig;
  EXPECT_NE(sig.find("\"signal.sig\":\"SIGUSR1\""), std::string::npos) << sig;
  EXPECT_NE(sig.find("\"message\":\"bw-ev-actor sent SIGUSR1 to "), std::string::npos) << sig;
  // Who and where.
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  std::string boot = guest::ReadFile("/proc/sys/kernel/random/boot_id");
  boot.erase(boot.find_last_not_of("\n") + 1);
  EXPECT_EQ(Member(sig, "hostname"), "\"" + std::string(host) + "\"") << sig;
  EXPECT_EQ(Member(sig, "boot_id"), "\"" + boot + "\"") << sig;
  EXPECT_EQ(sig.rfind("{\"schema\":1,", 0), 0u) << sig;

  // A's records are all read: its names are dropped, B's (enforcing) stay.
  EXPECT_FALSE(Exists(root.path() + "/instances/" + instA));
  EXPECT_TRUE(Exists(root.path() + "/instances/" + instB));
}

// A hot swap with records unread: the replaced version's rule ids mean other rules in the new
// version (rt_e2e v1 has deny_marked as rule 0, v2 has keep_files there).
TEST_F(Events, HotSwapWithUnreadRecordsKeepsTheReplacedVersionsNames) {
  std::filesystem::create_directories("/tmp/bw-rt-e2e/deny");
  guest::WriteFile("/tmp/bw-rt-e2e/deny/x", "data");
  ASSERT_EQ(Bulwark(root, {"load", GuestFile("e2e-v1.bwb")}).exit_code, 0);
  Bulwark(root, {"events"});
  EXPECT_EQ(guest::OpenErrno("/tmp/bw-rt-e2e/deny/x"), EPERM);
  ASSERT_EQ(Bulwark(root, {"load", GuestFile("e2e-v2.bwb")}).exit_code, 0);
  auto lines = JsonEvents(root, {"--policy", "rt_e2e"});
  std::string e = Find(lines, {"\"object\":\"/tmp/bw-rt-e2e/deny/x\""});
  EXPECT_NE(e.find("\"rule\":\"deny_marked\""), std::string::npos) << e;
  EXPECT_EQ(Find(lines, {"keep_files"}), "");
  std::filesystem::remove_all("/tmp/bw-rt-e2e");
}

// --policy, --rule, --action and --since select what is printed; --format is the same
// option on list, status and doctor.
TEST_F(Events, FiltersAndFormats) {
  ASSERT_EQ(Bulwark(root, {"load", GuestFile("rt-events-b.bwb")}).exit_code, 0);
  Bulwark(root, {"events"});
  auto act = [] {
    return AsActor([] {
      std::signal(SIGUSR1, SIG_IGN);
      kill(getpid(), SIGUSR1);
      int fd = socket(AF_PACKET, SOCK_RAW, 0);
      return fd < 0 ? 0 : 1;
    });
  };
  ASSERT_EQ(act(), 0);
  auto lines = JsonEvents(root, {"--action", "audit"});
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("\"rule\":\"usr1\""), std::string::npos) << lines[0];
  ASSERT_EQ(act(), 0);
  lines = JsonEvents(root, {"--rule", "no_packet", "--since", "1h"});
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("\"object\":\"AF_PACKET\""), std::string::npos) << lines[0];
  ASSERT_EQ(act(), 0);
  EXPECT_TRUE(JsonEvents(root, {"--policy", "nope"}).empty());
  ASSERT_EQ(act(), 0);
  EXPECT_TRUE(JsonEvents(root, {"--since", "2999-01-01T00:00:00Z"}).empty());
  auto bad = Bulwark(root, {"events", "--since", "yesterday"});
  EXPECT_EQ(bad.exit_code, 2) << bad.output;

  auto st = Bulwark(root, {"status", "--format", "json"});
  ASSERT_EQ(st.exit_code, 0) << st.output;
  EXPECT_EQ(st.output.rfind("{\"pin_root\":", 0), 0u) << st.output;
  EXPECT_NE(st.output.find("{\"id\":0,\"rule\":\"no_packet\",\"hook\":\"net.socket\",\"action\":\"deny\",\"hits\":"),
            std::string::npos) << st.output;
  auto doc = Bulwark(root, {"doctor", "--format", "json"});
  EXPECT_EQ(doc.output.rfind("{", 0), 0u) << doc.output;
}


// A cgroup scope follows its cgroup: removed, the policy says its scope matches no cgroup;
// created again (a restarted service), the policy says so (BROKEN, "stale") and, loaded
// again, enforces in the new cgroup. The daemon does that by itself within its scope check.
const std::string kCg = "/sys/fs/cgroup/bw-scope-test";

// open() of the marked file from a child in `cgroup` (empty: stays where it is).
int OpenIn(const std::string &cgroup) {
  return guest::RunInChild([&] {
           if (!cgroup.empty())
             guest::WriteFile(cgroup + "/cgroup.procs", std::to_string(getpid()));
           return guest::OpenErrno(kDir + "/a/x");
         }).exit_code;
}

bool WaitUntil(const std::function<bool()> &cond, double seconds) {
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(int(seconds * 1000));
  while (std::chrono::steady_clock::now() < end) {
    if (cond())
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return cond();
}

// A policy loaded while its scope cgroup does not exist holds no process: not the ones in
// shallower cgroups either (the root cgroup here), for which the kernel's ancestor id at the
// scope's level is 0, as is a missing cgroup's. Created, and loaded again, it holds its own.
TEST_F(Events, AMissingScopeCgroupHoldsNoProcess) {
  ASSERT_TRUE(WaitUntil([] { return rmdir(kCg.c_str()) == 0 || errno == ENOENT; }, 10)) << strerror(errno);
  auto r = Bulwark(root, {"load", GuestFile("rt-scope.bwb")});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("does not exist"), std::string::npos) << r.output;
  EXPECT_EQ(guest::ReadFile("/proc/self/cgroup"), "0::/\n") << "the control runs in the root cgroup";
  EXPECT_EQ(OpenIn(""), 0) << "a process in the root cgroup is not in a scope that does not exist";
  ASSERT_EQ(mkdir(kCg.c_str(), 0755), 0) << strerror(errno);
  EXPECT_EQ(OpenIn(kCg), 0) << "loaded before the cgroup existed";
  r = Bulwark(root, {"load", GuestFile("rt-scope.bwb")});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(OpenIn(kCg), EPERM);
  EXPECT_EQ(OpenIn(""), 0);
  ASSERT_EQ(Bulwark(root, {"unload", "rt_scope"}).exit_code, 0);
  ASSERT_TRUE(WaitUntil([] { return rmdir(kCg.c_str()) == 0; }, 10)) << strerror(errno);
}

TEST_F(Events, ReCreatedScopeCgroupIsEnforcedAgain) {
  rmdir(kCg.c_str());
  ASSERT_EQ(mkdir(kCg.c_str(), 0755), 0) << strerror(errno);
  auto r = Bulwark(root, {"load", GuestFile("rt-scope.bwb")});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(OpenIn(kCg), EPERM);
  EXPECT_EQ(OpenIn(""), 0) << "outside the scope";

  ASSERT_TRUE(WaitUntil([] { return rmdir(kCg.c_str()) == 0; }, 10)) << strerror(errno);  // exited tasks leave it
  auto list = Bulwark(root, {"list"});
  EXPECT_NE(list.output.find("(scope /bw-scope-test matches no cgroup)"), std::string::npos)
      << list.output;
  list = Bulwark(root, {"list", "--format", "json"});
  EXPECT_NE(list.output.find("\"state\":\"missing\""), std::string::npos) << list.output;

  // Created again: a new cgroup id, which the loaded programs do not know.
  ASSERT_EQ(mkdir(kCg.c_str(), 0755), 0) << strerror(errno);
  list = Bulwark(root, {"list"});
  EXPECT_NE(list.output.find("BROKEN: scope cgroup /bw-scope-test was created again since the load"),
            std::string::npos) << list.output;
  auto st = Bulwark(root, {"status", "rt_scope"});
  EXPECT_NE(st.output.find("scope:      /bw-scope-test (STALE: created again since the load)"),
            std::string::npos) << st.output;
  EXPECT_EQ(OpenIn(kCg), 0) << "stale: not enforced, and said so above";
  r = Bulwark(root, {"load", GuestFile("rt-scope.bwb")});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(OpenIn(kCg), EPERM);
  EXPECT_EQ(OpenIn(""), 0);
  list = Bulwark(root, {"list", "--format", "json"});
  EXPECT_NE(list.output.find("\"healthy\":true"), std::string::npos) << list.output;
  EXPECT_NE(list.output.find("\"state\":\"ok\""), std::string::npos) << list.output;
  ASSERT_EQ(Bulwark(root, {"unload", "rt_scope"}).exit_code, 0);

  // The daemon reloads by itself once the cgroup is created again.
  TempDir t;
  std::string bundles = t.path() + "/bundles";
  std::filesystem::create_directories(bundles);
  std::filesystem::copy(GuestFile("rt-scope.bwb"), bundles + "/rt-scope.bwb", std::filesystem::copy_options::recursive);
  std::string cfg = t.path() + "/bulwark.yaml";
  std::ofstream(cfg) << "bundle_dir: bundles\npin_root: " << root.path()
                     << "\nevents: none\nresync_seconds: 600\nscope_check_seconds: 0.5\n"
                     << "debounce_seconds: 60\n";  // only the scope check reconciles within the test
  std::string log = t.path() + "/daemon.log";
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    execlp("bulwark", "bulwark", "run", "--config", cfg.c_str(), nullptr);
    _exit(127);
  }
  EXPECT_TRUE(WaitUntil([&] { return OpenIn(kCg) == EPERM; }, 60)) << guest::ReadFile(log);
  ASSERT_TRUE(WaitUntil([] { return rmdir(kCg.c_str()) == 0; }, 10)) << strerror(errno);  // exited tasks leave it
  ASSERT_EQ(mkdir(kCg.c_str(), 0755), 0) << strerror(errno);
  EXPECT_TRUE(WaitUntil([&] { return OpenIn(kCg) == EPERM; }, 60)) << guest::ReadFile(log);
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  std::string dlog = guest::ReadFile(log);
  std::printf("daemon log:\n%s", dlog.c_str());
  EXPECT_NE(dlog.find("scope cgroup created again for rt_scope: reconciling"), std::string::npos) << dlog;
  Bulwark(root, {"unload", "rt_scope"});
  rmdir(kCg.c_str());
}

}  // namespace
}  // namespace bulwark::rttest
