// In-kernel aggregation and the daemon's event log against the real kernel: `bulwark top`
// counts every decision that is not allow per rule, executable and cgroup in the kernel (so
// its numbers equal the rule counters, records rate limited or not), a full map is counted per
// rule, counts continue across a hot swap; the daemon writes every event to a size-capped
// rotating log that survives its restart, and `bulwark events` reads history from it.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "RuntimeVmUtil.h"

namespace bulwark::rttest {
namespace {
namespace fs = std::filesystem;

const std::string kDir = "/tmp/bw-ev";
const std::string kDenied = kDir + "/a/x";  // rt_events_a's rule deny_marked denies opening it
constexpr int kPort = 19738;

struct TopView {
  std::vector<std::string> entries;
  uint64_t sum = 0, unaggregated = 0, used = 0, max = 0;
};

// `top --format json` of one policy and rule: its entries, their counts and what was not counted in one.
TopView TopOf(const PinRoot &root, const std::string &policy, const std::string &rule) {
  auto r = Bulwark(root, {"top", "--format", "json", "--policy", policy, "--rule", rule});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  std::printf("TOP: %s\n", r.output.c_str());
  TopView v;
  v.entries = Objects(r.output, "entries");
  for (const auto &e : v.entries)
    v.sum += Number(e, "count");
  for (const auto &u : Objects(r.output, "unaggregated"))
    v.unaggregated += Number(u, "count");
  auto pol = r.output.substr(r.output.find("\"policies\":"));
  v.used = Number(pol, "entries");
  v.max = Number(pol, "max_entries");
  return v;
}

std::string Find(const std::vector<std::string> &lines, const std::string &part) {
  for (const auto &l : lines)
    if (l.find(part) != std::string::npos)
      return l;
  return "";
}

int OpenTimes(int n) {
  int denied = 0;
  for (int i = 0; i < n; i++)
    denied += guest::OpenErrno(kDenied) == EPERM;
  return denied;
}

// Opens the denied file n times from a child in cgroup `cg`.
int OpenInCgroup(const guest::ChildCgroup &cg, int n) {
  return guest::RunInChild([&] {
           cg.AddProcess(getpid());
           return OpenTimes(n) == n ? 0 : 1;
         }).exit_code;
}

std::string SelfExe() { return fs::read_symlink("/proc/self/exe").string(); }

class Top : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_TRUE(guest::InGuest());
    fs::create_directories(kDir + "/a");
    guest::WriteFile(kDenied, "data");
  }
  void TearDown() override {
    for (const char *p : {"rt_events_a", "rt_e2e"})
      Bulwark(root, {"unload", p});
    fs::remove_all(kDir);
  }
  PinRoot root;
};

// Many denials from one executable (more than the record rate limit lets through), some from
// another cgroup and some from another executable: top's entries add up to the rule's hits.
TEST_F(Top, CountsEqualTheRuleCounters) {
  ASSERT_EQ(Bulwark(root, {"load", GuestFile("rt-events-a.bwb")}).exit_code, 0);
  EXPECT_EQ(OpenTimes(1500), 1500);
  guest::ChildCgroup one("bw-top-one");  // kept until top has named it
  EXPECT_EQ(OpenInCgroup(one, 3), 0);
  for (int i = 0; i < 2; i++)
    EXPECT_NE(guest::RunCommand({"cat", kDenied}).exit_code, 0);

  uint64_t hits = Hits(root, "rt_events_a", "deny_marked");
  EXPECT_EQ(hits, 1505u);
  TopView v = TopOf(root, "rt_events_a", "deny_marked");
  EXPECT_EQ(v.sum, hits);
  EXPECT_EQ(v.unaggregated, 0u);
  EXPECT_EQ(v.used, 3u);
  EXPECT_EQ(v.max, 4096u);
  ASSERT_EQ(v.entries.size(), 3u);
  // Most first: this executable in its cgroup, then the child's cgroup, then cat.
  EXPECT_EQ(Number(v.entries[0], "count"), 1500u) << v.entries[0];
  EXPECT_NE(v.entries[0].find("\"exe\":\"" + SelfExe() + "\""), std::string::npos) << v.entries[0];
  EXPECT_NE(v.entries[0].find("\"action\":\"deny\""), std::string::npos) << v.entries[0];
  EXPECT_EQ(Number(v.entries[1], "count"), 3u) << v.entries[1];
  EXPECT_NE(v.entries[1].find("\"cgroup\":\"/bw-top-one."), std::string::npos) << v.entries[1];
  EXPECT_NE(v.entries[1].find("\"cgroup_id\":" + std::to_string(one.id())), std::string::npos) << v.entries[1];
  EXPECT_EQ(Number(v.entries[2], "count"), 2u) << v.entries[2];
  EXPECT_EQ(v.entries[2].find(SelfExe()), std::string::npos) << v.entries[2];
  EXPECT_EQ(v.entries[2].find("\"exe\":\"\""), std::string::npos) << "the kernel knows cat's path: " << v.entries[2];

  auto text = Bulwark(root, {"top"});
  EXPECT_EQ(text.exit_code, 0) << text.output;
  EXPECT_NE(text.output.find("COUNT"), std::string::npos) << text.output;
  EXPECT_NE(text.output.find("rt_events_a: 3 of 4096 entries"), std::string::npos) << text.output;
  EXPECT_EQ(Bulwark(root, {"top", "--policy", "not_loaded"}).exit_code, 7);
}

// A map of two entries and four executable/cgroup combinations: what does not fit is counted
// per rule, and entries plus that still equal the hits.
TEST_F(Top, AFullMapIsCountedNotSilent) {
  auto r = Bulwark(root, {"load", GuestFile("rt-events-a.bwb"), "--top-entries", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(OpenTimes(4), 4);
  guest::ChildCgroup two("bw-top-two"), three("bw-top-three");
  EXPECT_EQ(OpenInCgroup(two, 5), 0);
  EXPECT_EQ(OpenInCgroup(three, 6), 0);
  EXPECT_NE(guest::RunCommand({"cat", kDenied}).exit_code, 0);
  uint64_t hits = Hits(root, "rt_events_a", "deny_marked");
  EXPECT_EQ(hits, 16u);
  TopView v = TopOf(root, "rt_events_a", "deny_marked");
  EXPECT_EQ(v.used, 2u);
  EXPECT_EQ(v.max, 2u);
  EXPECT_EQ(v.entries.size(), 2u);
  EXPECT_EQ(v.sum, 9u) << "the first two combinations";
  EXPECT_EQ(v.unaggregated, 7u);
  EXPECT_EQ(v.sum + v.unaggregated, hits);
  auto text = Bulwark(root, {"top", "--policy", "rt_events_a"});
  EXPECT_NE(text.output.find("2 of 2 entries FULL"), std::string::npos) << text.output;
  EXPECT_NE(text.output.find("7 decisions of rule deny_marked not in an entry (map full)"), std::string::npos)
      << text.output;
}

// rt_e2e v1 has deny_marked as rule 0, v2 as rule 1: the counts continue by rule name.
TEST_F(Top, CountsContinueAcrossAHotSwap) {
  fs::create_directories("/tmp/bw-rt-e2e/deny");
  fs::create_directories("/tmp/bw-rt-e2e/deny2");
  guest::WriteFile("/tmp/bw-rt-e2e/deny/x", "data");
  guest::WriteFile("/tmp/bw-rt-e2e/deny2/x", "data");
  ASSERT_EQ(Bulwark(root, {"load", GuestFile("e2e-v1.bwb")}).exit_code, 0);
  for (int i = 0; i < 3; i++)
    EXPECT_EQ(guest::OpenErrno("/tmp/bw-rt-e2e/deny/x"), EPERM);
  ASSERT_EQ(Bulwark(root, {"load", GuestFile("e2e-v2.bwb")}).exit_code, 0);
  for (int i = 0; i < 2; i++)
    EXPECT_EQ(guest::OpenErrno("/tmp/bw-rt-e2e/deny2/x"), EPERM);
  uint64_t hits = Hits(root, "rt_e2e", "deny_marked");
  EXPECT_EQ(hits, 5u);
  TopView v = TopOf(root, "rt_e2e", "deny_marked");
  EXPECT_EQ(v.sum, hits);
  ASSERT_EQ(v.entries.size(), 1u);
  EXPECT_EQ(Number(v.entries[0], "count"), 5u);
  fs::remove_all("/tmp/bw-rt-e2e");
}

// ---- the daemon's event log ---------------------------------------------------------------

class EventLog : public Top {
protected:
  void SetUp() override {
    Top::SetUp();
    fs::create_directories(tmp.path() + "/bundles");
    fs::copy(GuestFile("rt-events-a.bwb"), tmp.path() + "/bundles/rt_events_a.bwb", fs::copy_options::recursive);
    log = tmp.path() + "/log/events.jsonl";
    cfg = tmp.path() + "/bulwark.yaml";
    std::ofstream(cfg) << "bundle_dir: bundles\npin_root: " << root.path() << "\nmetrics: 127.0.0.1:" << kPort
                       << "\nevents: none\nevent_log: log/events.jsonl\nevent_log_max_bytes: 8192\n";
  }
  void TearDown() override {
    Stop();
    Top::TearDown();
  }
  void Start() {
    std::string out = tmp.path() + "/daemon." + std::to_string(++starts) + ".out";
    pid = fork();
    if (pid == 0) {
      int fd = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(fd, 1);
      dup2(fd, 2);
      execlp("bulwark", "bulwark", "run", "--config", cfg.c_str(), nullptr);
      _exit(127);
    }
    ASSERT_TRUE(WaitFor([&] { return HttpGet(kPort, "/metrics").find("bulwark_policy_info{policy=\"rt_events_a\"") != std::string::npos; }))
        << guest::ReadFile(out);
  }
  void Stop() {
    if (pid <= 0)
      return;
    kill(pid, SIGTERM);
    int st = 0;
    waitpid(pid, &st, 0);
    pid = -1;
  }
  std::vector<std::string> Events(std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"events", "--log", log, "--format", "json"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = Bulwark(root, args);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return Lines(r.output);
  }
  size_t LoggedLines() { return Lines(guest::ReadFile(log)).size(); }

  TempDir tmp;
  std::string log, cfg;
  pid_t pid = -1;
  int starts = 0;
};

TEST_F(EventLog, HistoryIsReadFromTheRotatingLogAndSurvivesARestart) {
  Start();
  EXPECT_EQ(OpenTimes(3), 3);
  ASSERT_TRUE(WaitFor([&] { return fs::exists(log) && LoggedLines() == 3; })) << LoggedLines();
  // Two readers one after the other see the same history; the filters apply.
  auto first = Events();
  EXPECT_EQ(first.size(), 3u);
  EXPECT_EQ(Events(), first);
  EXPECT_EQ(Events({"--rule", "deny_marked", "--count", "2"}).size(), 2u);
  EXPECT_TRUE(Events({"--rule", "other"}).empty());
  auto text = Bulwark(root, {"events", "--log", log});
  EXPECT_NE(text.output.find("policy=rt_events_a rule=deny_marked action=deny hook=file.open"), std::string::npos)
      << text.output;
  // The daemon exports the aggregates.
  std::string metrics = HttpGet(kPort, "/metrics");
  EXPECT_NE(metrics.find("bulwark_top_decisions_total{policy=\"rt_events_a\",rule=\"deny_marked\",action=\"deny\",exe=\"" +
                         SelfExe() + "\""),
            std::string::npos) << metrics;
  EXPECT_NE(metrics.find("bulwark_top_entries_max{policy=\"rt_events_a\"} 4096"), std::string::npos);

  // Past the cap (8 KiB) the log is rotated to .1; both are read.
  EXPECT_EQ(OpenTimes(30), 30);
  ASSERT_TRUE(WaitFor([&] { return fs::exists(log + ".1"); }));
  WaitFor([&] { return Events().size() == Lines(guest::ReadFile(log + ".1")).size() + LoggedLines(); }, 5);
  size_t kept = Lines(guest::ReadFile(log + ".1")).size() + LoggedLines();
  EXPECT_EQ(Events().size(), kept);
  EXPECT_GT(kept, 5u);

  // A restarted daemon appends.
  std::string before = guest::ReadFile(log);
  Stop();
  EXPECT_TRUE(Events().size() <= kept) << "without a daemon, events reads the ring buffer";
  Start();
  EXPECT_EQ(OpenTimes(1), 1);
  ASSERT_TRUE(WaitFor([&] { return guest::ReadFile(log).size() > before.size(); }));
  std::string after = guest::ReadFile(log);
  EXPECT_EQ(after.rfind(before, 0), 0u) << "the log before the restart is kept";
  auto all = Events();
  EXPECT_NE(Find(all, "\"rule\":\"deny_marked\""), "");
  EXPECT_GE(all.size(), Lines(after).size());
}

} // namespace
} // namespace bulwark::rttest
