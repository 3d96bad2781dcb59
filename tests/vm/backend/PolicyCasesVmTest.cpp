// Runs in the run-vm guest (6.1): every shipped policy's YAML test (policies/*_test.yaml)
// made for real. bw-policy-cases (host) compiled the policies and wrote cases.yaml: per test
// the evaluator's decision (ir::evaluate on the YAML event) and how to make the event.
// Here each policy is loaded standalone (cgroup scopes resolved like the runtime does),
// and for each test a copy of bw-make-event at the test's process.exe makes the system call
// while only that hook's program is attached. The kernel's decision (EPERM or not, which
// rule's counter was hit, the record's rule, action and flags) must equal the evaluator's.
#include "GuestBundle.h"
#include "GuestUtil.h"

#include <yaml-cpp/yaml.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;

namespace {

using namespace bwguest;

const std::string kDir = "/bulwark/files/policy-cases";
const std::string kProducer = "/bulwark/bin/bw-make-event";

struct Case {
  std::string file, name, policy, hook, program, whyNot, exe, cgroup, chdir;
  bool produce = false;
  int64_t uid = 0, euid = 0;
  std::vector<std::string> action, files, exes, dirs;
  bool denied = false, matched = false, wouldDeny = false;
  int64_t rule = -1;
  std::string ruleName, actionName;
};

std::vector<std::string> list(const YAML::Node &n) {
  std::vector<std::string> v;
  for (const auto &x : n)
    v.push_back(x.as<std::string>());
  return v;
}

std::vector<Case> readCases() {
  std::vector<Case> out;
  YAML::Node doc = YAML::LoadFile(kDir + "/cases.yaml");
  for (const auto &n : doc["cases"]) {
    Case c;
    c.file = n["file"].as<std::string>();
    c.name = n["name"].as<std::string>();
    c.policy = n["policy"].as<std::string>();
    c.hook = n["hook"].as<std::string>();
    c.program = n["program"].as<std::string>();
    c.produce = n["produce"].as<bool>();
    c.whyNot = n["why_not"].as<std::string>();
    c.exe = n["exe"].as<std::string>();
    c.cgroup = n["cgroup"].as<std::string>();
    c.uid = n["uid"].as<int64_t>();
    c.euid = n["euid"].as<int64_t>();
    c.chdir = n["chdir"].as<std::string>();
    c.action = list(n["action"]);
    c.files = list(n["files"]);
    c.exes = list(n["exes"]);
    c.dirs = list(n["dirs"]);
    const auto &x = n["expect"];
    c.denied = x["denied"].as<bool>();
    c.matched = x["matched"].as<bool>();
    c.rule = x["rule"].as<int64_t>();
    c.ruleName = x["rule_name"].as<std::string>();
    c.actionName = x["action"].as<std::string>();
    c.wouldDeny = x["would_deny"].as<bool>();
    out.push_back(c);
  }
  return out;
}

uint32_t actionCode(const std::string &a) {
  return a == "deny" ? 1 : a == "audit" ? 2 : a == "kill" ? 3 : 0;
}

// A copy of the producer at `path` (replacing a busybox applet link, never a real program).
void installProducer(const std::string &path) {
  fs::create_directories(fs::path(path).parent_path());
  std::error_code ec;
  auto st = fs::symlink_status(path, ec);
  if (!ec && fs::exists(st)) {
    if (fs::is_symlink(st))
      fs::remove(path);
    else if (fs::file_size(path) != fs::file_size(kProducer))
      throw std::runtime_error(path + " exists and is not a copy of bw-make-event");
    else
      return;
  }
  fs::copy_file(kProducer, path);
  fs::permissions(path, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                            fs::perms::others_read | fs::perms::others_exec);
}

void fixtures(const Case &c) {
  for (const auto &d : c.dirs)
    fs::create_directories(d);
  for (const auto &f : c.files) {
    fs::create_directories(fs::path(f).parent_path());
    if (!fs::exists(f))
      bulwark::guest::WriteFile(f, std::string(4096, 'x'));
  }
  for (const auto &e : c.exes)
    installProducer(e);
  if (!c.cgroup.empty())
    fs::create_directories("/sys/fs/cgroup" + c.cgroup);
}

struct CaseRun {
  int exit = -1;
  std::vector<bw_counter> before, after;
  std::vector<Rec> recs;
  std::string error;
};

// Starts the producer (it sets itself up and waits), attaches the case's program, lets it
// act, detaches.
CaseRun runCase(Loaded &l, const Case &c) {
  CaseRun r;
  std::vector<std::string> args = {c.exe.empty() ? kProducer : c.exe};
  if (!c.cgroup.empty())
    args.insert(args.end(), {"--cgroup", "/sys/fs/cgroup" + c.cgroup});
  if (c.uid || c.euid)
    args.insert(args.end(), {"--resuid", std::to_string(c.uid), std::to_string(c.euid)});
  if (!c.chdir.empty())
    args.insert(args.end(), {"--chdir", c.chdir});
  args.push_back("--sync");
  args.insert(args.end(), c.action.begin(), c.action.end());
  int toChild[2], fromChild[2];
  if (pipe(toChild) || pipe(fromChild)) {
    r.error = "pipe";
    return r;
  }
  pid_t pid = fork();
  if (pid == 0) {
    dup2(toChild[0], 0);
    dup2(fromChild[1], 1);
    execArgs(args);
  }
  close(toChild[0]);
  close(fromChild[1]);
  char ch = 0;
  bool ready = read(fromChild[0], &ch, 1) == 1 && ch == 'r';
  Records recs(l);
  recs.take();
  r.before = counters(l);
  bool attached = ready && l.attach(c.program);
  ch = 'g';
  if (attached && write(toChild[1], &ch, 1) != 1)
    r.error = "cannot start the producer";
  if (!attached) {
    r.error = ready ? "cannot attach " + c.program + ": " + std::strerror(errno) : "producer did not start";
    kill(pid, SIGKILL);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  l.detachAll();
  close(toChild[1]);
  close(fromChild[0]);
  r.exit = WIFEXITED(st) ? WEXITSTATUS(st) : 200;
  if (r.error.empty() && (r.exit == 125 || r.exit == 126))
    r.error = "producer setup failed (exit " + std::to_string(r.exit) + ")";
  r.after = counters(l);
  r.recs = recs.take();
  return r;
}

} // namespace

TEST(BackendVmPolicies, KernelDecidesEveryShippedTestLikeTheEvaluator) {
  ASSERT_TRUE(bulwark::guest::InGuest());
  fs::create_directories("/var/run");  // the guest has no /var
  auto cases = readCases();
  ASSERT_GE(cases.size(), 40u);
  std::map<std::string, std::vector<const Case *>> byPolicy;
  for (const auto &c : cases)
    byPolicy[c.policy].push_back(&c);
  int verified = 0, notProduced = 0;
  std::vector<std::string> report;
  for (const auto &[policy, list] : byPolicy) {
    SCOPED_TRACE(policy);
    Loaded l;
    std::string path = kDir + "/" + policy + ".bwb";
    bulwark::bundle::Bundle peek;
    std::string err;
    ASSERT_TRUE(bulwark::bundle::readBundle(path, peek, &err)) << err;
    // The files a policy names exist before it is loaded, as an installed application's do:
    // allows come from the labels the load writes on existing objects, never from a path.
    for (const Case *cp : list) {
      try {
        if (cp->produce)
          fixtures(*cp);
      } catch (const std::exception &e) {
        ADD_FAILURE() << cp->name << ": fixtures: " << e.what();
      }
    }
    ASSERT_NO_FATAL_FAILURE(loadBundle(l, path, [&](bpf_object *o) { scopeTweak(peek, o); }));
    uint32_t rules = static_cast<uint32_t>(l.bundle.manifest.rules.size());
    for (const Case *cp : list) {
      const Case &c = *cp;
      std::string label = c.file + ": " + c.name;
      SCOPED_TRACE(label);
      if (!c.produce) {
        ++notProduced;
        report.push_back("NOT PRODUCED  " + label + ": " + c.whyNot);
        continue;
      }
      try {
        fixtures(c);
      } catch (const std::exception &e) {
        ADD_FAILURE() << "fixtures: " << e.what();
        continue;
      }
      CaseRun r = runCase(l, c);
      ASSERT_TRUE(r.error.empty()) << r.error;
      // the kernel's decision
      bool kDenied = r.exit == EPERM;
      std::map<uint32_t, uint64_t> hits;
      for (uint32_t i = 0; i <= rules; ++i)
        if (r.after[i].hits != r.before[i].hits)
          hits[i] = r.after[i].hits - r.before[i].hits;
      uint32_t want = c.matched ? static_cast<uint32_t>(c.rule) : rules;
      std::string kRule = "none";
      if (hits.size() == 1)
        kRule = hits.begin()->first == rules ? "default" : l.bundle.manifest.rules[hits.begin()->first].name;
      bool recordWanted = c.actionName != "allow";
      bool recordsOk = recordWanted ? !r.recs.empty() : r.recs.empty();
      std::string exe = c.exe.empty() ? kProducer : c.exe;
      for (const auto &rec : r.recs) {
        uint32_t rr = c.matched ? static_cast<uint32_t>(c.rule) : BW_NO_RULE;
        recordsOk = recordsOk && rec.rule == rr && rec.action == actionCode(c.actionName) &&
                    rec.strs.count(1) && rec.strs.at(1) == exe &&
                    ((rec.flags & BW_REC_WOULD_DENY) != 0) == c.wouldDeny &&
                    ((rec.flags & BW_REC_DEFAULT) != 0) == !c.matched;
      }
      EXPECT_EQ(kDenied, c.denied) << "exit " << r.exit << " (" << std::strerror(r.exit) << ")";
      EXPECT_EQ(hits.size(), 1u) << "decisions on " << hits.size() << " counters";
      EXPECT_TRUE(hits.count(want)) << "the kernel's rule: " << kRule;
      EXPECT_TRUE(recordsOk) << r.recs.size() << " records"
                             << (r.recs.empty() ? std::string()
                                                : ", first: rule " + std::to_string(r.recs[0].rule) +
                                                      " action " + std::to_string(r.recs[0].action) +
                                                      " flags " + std::to_string(r.recs[0].flags));
      bool same = kDenied == c.denied && hits.size() == 1 && hits.count(want) && recordsOk;
      verified += same;
      char line[512];
      std::snprintf(line, sizeof line, "%s  %s: kernel %s%s by %s, %zu record(s); evaluator %s by %s",
                    same ? "SAME         " : "DIFFERENT    ", label.c_str(),
                    kDenied ? "EPERM" : "allowed", c.wouldDeny ? " (would deny)" : "", kRule.c_str(),
                    r.recs.size(), c.actionName.c_str(), c.matched ? c.ruleName.c_str() : "default");
      report.push_back(line);
    }
  }
  std::printf("\nshipped policy tests, kernel vs evaluator:\n");
  for (const auto &s : report)
    std::printf("  %s\n", s.c_str());
  std::printf("%d of %zu tests verified in the kernel, %d not produced\n", verified, cases.size(),
              notProduced);
}
