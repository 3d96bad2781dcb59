// The guest half of the random differential test (tests/vm/difftest/README): for every policy
// bw-difftest-gen wrote, builds the tree of files the policy's paths name, loads the bundle
// standalone with its objects labelled as the runtime does, and makes every event for real:
// a worker (a copy of bw-make-event at the event's executable path, in its cgroup, as its
// uids) does the system call while only the event's program is attached. The kernel's
// decision (EPERM or not, SIGKILL or not, which rule's counter moved) must be the host
// evaluator's. A disagreement is printed with the event and only the rules on its hook.
#include "GuestBundle.h"
#include "GuestUtil.h"

#include <yaml-cpp/yaml.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;

namespace {

using namespace bwguest;

const std::string kDir = "/bulwark/files/difftest";
const std::string kProducer = "/bulwark/bin/bw-make-event";

std::vector<std::string> list(const YAML::Node &n) {
  std::vector<std::string> v;
  for (const auto &x : n)
    v.push_back(x.as<std::string>());
  return v;
}

struct World {
  std::vector<std::string> dirs, files, exes, fresh, cgroups;
};

void installProducer(const std::string &path) {
  if (path == kProducer)
    return;
  fs::create_directories(fs::path(path).parent_path());
  fs::remove(path);
  fs::copy_file(kProducer, path);
  chmod(path.c_str(), 0777);
}

// The tree as every event expects it: fresh files (new inodes, no learned labels), mode 0666.
void buildFiles(const World &w) {
  for (const auto &f : w.fresh)
    fs::remove(f);
  for (const auto &f : w.files) {
    fs::remove(f);
    bulwark::guest::WriteFile(f, std::string(4096, 'x'));
    chmod(f.c_str(), 0666);
  }
}

void buildWorld(const World &w) {
  for (const auto &d : w.dirs) {
    fs::create_directories(d);
    chmod(d.c_str(), 0777);
  }
  buildFiles(w);
  for (const auto &e : w.exes)
    installProducer(e);
  for (const auto &c : w.cgroups)
    if (c != "/")
      fs::create_directories("/sys/fs/cgroup" + c);
}

struct Outcome {
  int exit = -1;
  bool killed = false;
  std::map<uint32_t, uint64_t> hits;  // counter index -> increase
  std::string error;
};

// The counters (rules and the default, index `rules`) that moved from `before` to `after`.
std::map<uint32_t, uint64_t> moved(const std::vector<bw_counter> &before, const std::vector<bw_counter> &after,
                                   uint32_t rules) {
  std::map<uint32_t, uint64_t> hits;
  for (uint32_t i = 0; i <= rules && i < after.size() && i < before.size(); ++i)
    if (after[i].hits != before[i].hits)
      hits[i] = after[i].hits - before[i].hits;
  return hits;
}

// A worker at `exe` and its setup: the cgroup and uids of `e` (an event or a sequence).
std::vector<std::string> workerArgs(const std::string &exe, const YAML::Node &e) {
  std::vector<std::string> args = {exe};
  std::string cg = e["cgroup"].as<std::string>();
  if (cg != "/")
    args.insert(args.end(), {"--cgroup", "/sys/fs/cgroup" + cg});
  int64_t uid = e["uid"].as<int64_t>(), euid = e["euid"].as<int64_t>();
  if (uid || euid)
    args.insert(args.end(), {"--resuid", std::to_string(uid), std::to_string(euid)});
  return args;
}

// Starts the worker (it sets itself up and waits), attaches the event's program, lets it act.
Outcome runEvent(Loaded &l, const YAML::Node &e, uint32_t rules) {
  Outcome r;
  std::vector<std::string> args = workerArgs(e["exe"].as<std::string>(), e);
  if (!e["chdir"].as<std::string>().empty())
    args.insert(args.end(), {"--chdir", e["chdir"].as<std::string>()});
  args.push_back("--sync");
  for (const auto &a : list(e["action"]))
    args.push_back(a);
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
  auto before = counters(l);
  std::string program = e["program"].as<std::string>();
  // a policy without rules on the hook has no program there: nothing to attach
  bool attached = ready && (!l.prog(program) || l.attach(program));
  ch = 'g';
  if (attached && write(toChild[1], &ch, 1) != 1)
    r.error = "cannot start the worker";
  if (!attached) {
    r.error = ready ? "cannot attach " + program + ": " + std::strerror(errno) : "worker did not start";
    kill(pid, SIGKILL);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  l.detachAll();
  close(toChild[1]);
  close(fromChild[0]);
  r.killed = WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
  r.exit = WIFEXITED(st) ? WEXITSTATUS(st) : 200;
  if (r.error.empty() && (r.exit == 125 || r.exit == 126))
    r.error = "worker setup failed (exit " + std::to_string(r.exit) + ")";
  r.hits = moved(before, counters(l), rules);
  return r;
}

void restore(const World &w, const YAML::Node &e) {
  std::string kind = e["restore"].as<std::string>();
  if (kind == "files") {
    buildFiles(w);
    for (const auto &x : w.exes)
      if (x != kProducer && !fs::exists(x))
        installProducer(x);
  } else if (kind == "chmod") {
    for (const auto &f : w.files) chmod(f.c_str(), 0666);
  }
}

std::string minimised(const YAML::Node &policy, const YAML::Node &e) {
  std::string s = "policy (only the rules on " + e["hook"].as<std::string>() + "):\n" +
                  policy["settings"].as<std::string>();
  for (const auto &r : policy["rules"])
    if (r.second["hook"].as<std::string>() == e["hook"].as<std::string>())
      s += r.second["text"].as<std::string>();
  s += "}\nevent: " + e["hook"].as<std::string>() + " {" + e["event"].as<std::string>() + "}\nsystem call:";
  for (const auto &a : list(e["action"]))
    s += " '" + a + "'";
  if (!e["chdir"].as<std::string>().empty())
    s += " (in " + e["chdir"].as<std::string>() + ")";
  return s;
}

struct Verdict {
  bool ok = false, seen = false;
  std::string line;  // both decisions, when they differ
};

// The kernel's decision (outcome `r`) against the evaluator's (`x`, an event's expect).
Verdict judge(const Loaded &l, const Outcome &r, const YAML::Node &x, uint32_t rules) {
  Verdict v;
  v.seen = x["seen"].as<bool>();
  bool matched = x["matched"].as<bool>();
  bool wantDenied = x["denied"].as<bool>(), wantKilled = x["killed"].as<bool>();
  uint32_t want = matched ? x["rule"].as<uint32_t>() : rules;
  bool kDenied = r.exit == EPERM || r.killed;
  std::string kRule = r.hits.empty() ? "none" : r.hits.size() > 1 ? "several" : r.hits.begin()->first == rules ? "default" : l.bundle.manifest.rules[r.hits.begin()->first].name;
  v.ok = kDenied == (wantDenied || wantKilled) && r.killed == wantKilled &&
         (v.seen ? r.hits.size() == 1 && r.hits.count(want) : r.hits.empty());
  if (!v.ok) {
    char line[256];
    std::snprintf(line, sizeof line, "kernel: %s%s, rule %s (exit %d); evaluator: %s%s, rule %s%s", kDenied ? "denied" : "allowed",
                  r.killed ? ", killed" : "", kRule.c_str(), r.exit, wantDenied || wantKilled ? "denied" : "allowed",
                  wantKilled ? ", killed" : "", matched ? x["rule_name"].as<std::string>().c_str() : "default",
                  v.seen ? "" : " (not seen by the hook)");
    v.line = line;
  }
  return v;
}

// A policy with all its rules: in a sequence, a rule on another hook set the marks.
std::string wholePolicy(const YAML::Node &policy) {
  std::string s = "policy:\n" + policy["settings"].as<std::string>();
  for (const auto &r : policy["rules"])
    s += r.second["text"].as<std::string>();
  return s + "}";
}

// ---- sequences (bw-make-event --serve) ----

constexpr int kMaxProcesses = 6;  // of a sequence (difftest_gen.cpp)

struct Answer {
  int rc = -1;
  long pid = 0;
  bool died = false;  // before it answered
  std::string error;
};

// The processes of one sequence. Process id i (1..kMaxProcesses) reads commands from
// cmd[i] and answers on res[i]; every process holds its ends of every pair (a child it forks
// serves its own pair), this test only the other ends. Id 1, the root, is this test's child.
struct Tree {
  int cmd[kMaxProcesses + 1][2] = {}, res[kMaxProcesses + 1][2] = {};
  std::map<int64_t, pid_t> pids;
  std::map<int64_t, int> pidfds;
  std::string error;

  Tree() {
    for (int i = 1; i <= kMaxProcesses; ++i) {
      if (pipe(cmd[i]) || pipe(res[i]))
        error = "pipe";
      fcntl(cmd[i][1], F_SETFD, FD_CLOEXEC);
      fcntl(res[i][0], F_SETFD, FD_CLOEXEC);
    }
  }
  ~Tree() {
    for (const auto &[id, pid] : pids)
      kill(pid, SIGKILL);
    for (const auto &[id, fd] : pidfds)
      close(fd);
    if (pids.count(1))
      waitpid(pids[1], nullptr, 0);  // the rest were its descendants: init reaps them
    for (int i = 1; i <= kMaxProcesses; ++i)
      for (int fd : {cmd[i][0], cmd[i][1], res[i][0], res[i][1]})
        close(fd);
  }
  // The server's arguments of process `id`.
  std::vector<std::string> serveArgs(int64_t id) const {
    return {"--serve", std::to_string(cmd[id][0]), std::to_string(res[id][1])};
  }
  void known(int64_t id, long pid) {
    pids[id] = static_cast<pid_t>(pid);
    pidfds[id] = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  }
  bool send(int64_t id, const std::vector<std::string> &args) {
    std::string line;
    for (const auto &a : args)
      line += (line.empty() ? "" : "\t") + a;
    line += "\n";
    return write(cmd[id][1], line.data(), line.size()) == static_cast<ssize_t>(line.size());
  }
  // Process `id`'s answer, or that it died first (see killed()). Makes no system call a
  // policy decides, as the step's program may still be attached.
  Answer await(int64_t id) {
    Answer a;
    pollfd fds[2] = {{res[id][0], POLLIN, 0}, {pidfds.count(id) ? pidfds[id] : -1, POLLIN, 0}};
    if (poll(fds, 2, 120000) <= 0) {
      a.error = "process " + std::to_string(id) + " did not answer";
      return a;
    }
    if (!(fds[0].revents & POLLIN)) {
      a.died = true;
      return a;
    }
    std::string line;
    char c;
    while (read(res[id][0], &c, 1) == 1 && c != '\n')
      line += c;
    if (std::sscanf(line.c_str(), "%d %ld", &a.rc, &a.pid) != 2)
      a.error = "process " + std::to_string(id) + " answered '" + line + "'";
    return a;
  }
  // Whether process `id`, which died before it answered, was killed (SIGKILL: the kill
  // action); anything else is an error. Opens a file: only with no program attached.
  std::string killed(int64_t id) {
    int status = exitStatus(pids[id]);
    bool sigkill = status < 0 || (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    return sigkill ? "" : "process " + std::to_string(id) + " ended with status " + std::to_string(status);
  }
  // A zombie's wait status (field 52 of /proc/PID/stat), -1 when it cannot be read.
  static int exitStatus(pid_t pid) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    size_t close = stat.rfind(')');
    if (close == std::string::npos)
      return -1;
    std::istringstream rest(stat.substr(close + 2));
    std::string field;
    for (int i = 3; i <= 52 && rest >> field; ++i)
      if (i == 52)
        return std::atoi(field.c_str());
    return -1;
  }
};

// Starts the tree's root: a served worker in the sequence's cgroup, as its uids.
bool startRoot(Tree &t, const YAML::Node &q) {
  std::vector<std::string> args = workerArgs(kProducer, q);
  for (const auto &a : t.serveArgs(1))
    args.push_back(a);
  pid_t pid = fork();
  if (pid == 0) {
    execArgs(args);
  }
  t.pids[1] = pid;
  t.known(1, pid);
  Answer a = t.await(1);
  return a.error.empty() && a.rc == 0 && !a.died;
}

// One event step: only its hook's program attached (with the marks' helpers) while it acts.
Outcome eventStep(Loaded &l, Tree &t, const YAML::Node &e, uint32_t rules) {
  Outcome r;
  int64_t id = e["pid"].as<int64_t>();
  std::vector<std::string> args;
  if (!e["chdir"].as<std::string>().empty())
    args = {"--chdir", e["chdir"].as<std::string>()};
  for (const auto &a : list(e["action"]))
    args.push_back(a);
  auto before = counters(l);
  bpf_program *prog = l.prog(e["program"].as<std::string>());
  bpf_link *link = prog ? bpf_program__attach_lsm(prog) : nullptr;
  if (prog && !link) {
    r.error = "cannot attach " + e["program"].as<std::string>() + ": " + std::strerror(errno);
    return r;
  }
  Answer a = t.send(id, args) ? t.await(id) : Answer{-1, 0, false, "cannot send"};
  if (link)
    bpf_link__destroy(link);
  r.exit = a.rc;
  r.killed = a.died;
  r.error = a.died ? t.killed(id) : a.error;
  r.hits = moved(before, counters(l), rules);
  return r;
}

// A fork (the parent answers with the child's pid, the child that it serves) or an exec (the
// new program answers), neither seen by a policy program.
std::string treeStep(Tree &t, const YAML::Node &step) {
  int64_t id = step["pid"].as<int64_t>();
  if (step["do"].as<std::string>() == "fork") {
    int64_t child = step["child"].as<int64_t>();
    std::vector<std::string> args = t.serveArgs(child);
    args[0] = "fork";
    if (!t.send(id, args))
      return "cannot send";
    Answer a = t.await(id);
    if (!a.error.empty() || a.rc)
      return "fork failed: " + a.error + " " + std::to_string(a.rc);
    t.known(child, a.pid);
    a = t.await(child);
    return a.error.empty() && a.rc == 0 ? "" : "the child did not start: " + a.error;
  }
  Answer a = t.send(id, {"exec", step["path"].as<std::string>()}) ? t.await(id) : Answer{-1, 0, false, "cannot send"};
  return a.error.empty() && a.rc == 0 ? "" : "exec failed: " + a.error + " " + std::to_string(a.rc);
}

// Makes sequence `q` step by step, the marks' helper programs attached throughout (a fork
// copies marks, an exec drops `until exec` ones). At the first step the kernel decides
// otherwise, returns the disagreement with the steps before it; the rest of the sequence is
// skipped (the two would no longer start from the same state).
std::string runSequence(Loaded &l, const World &w, const YAML::Node &q, uint32_t rules, int &events, int &same,
                        int &unseen) {
  Tree t;
  if (!t.error.empty() || !startRoot(t, q))
    return "ERROR: the sequence's first process did not start " + t.error;
  std::vector<bpf_link *> helpers;
  std::string history, result;
  for (const auto &h : l.bundle.manifest.helpers) {
    if (h.name.rfind("bw_marks_", 0) != 0)
      continue;
    bpf_link *link = bpf_program__attach_lsm(l.prog(h.name));
    if (!link)
      return "ERROR: cannot attach " + h.name + ": " + std::strerror(errno);
    helpers.push_back(link);
  }
  for (const auto &step : q["steps"]) {
    std::string what = step["do"].as<std::string>();
    history += "  " + step["text"].as<std::string>() + "\n";
    if (what == "sleep") {
      usleep(static_cast<useconds_t>(step["ms"].as<int64_t>() * 1000));
    } else if (what == "fork" || what == "exec") {
      std::string err = treeStep(t, step);
      if (!err.empty()) {
        result = "ERROR: " + err;
        break;
      }
    } else {
      ++events;
      Outcome r = eventStep(l, t, step, rules);
      restore(w, step);
      if (!r.error.empty()) {
        result = "ERROR: " + r.error;
        break;
      }
      Verdict v = judge(l, r, step["expect"], rules);
      unseen += !v.seen;
      same += v.ok;
      if (!v.ok) {
        result = "in a sequence, at its last step: " + v.line;
        std::string call;
        for (const auto &a : list(step["action"]))
          call += " '" + a + "'";
        history += "  system call of the last step:" + call + "\n";
        break;
      }
    }
  }
  for (auto *link : helpers)
    bpf_link__destroy(link);
  return result.empty() ? "" : result + "\nsteps:\n" + history;
}

} // namespace

TEST(Difftest, KernelDecidesEveryRandomEventLikeTheEvaluator) {
  ASSERT_TRUE(bulwark::guest::InGuest());
  fs::create_directories("/var/run");
  YAML::Node doc = YAML::LoadFile(kDir + "/cases.yaml");
  World w{list(doc["dirs"]), list(doc["files"]), list(doc["exes"]), list(doc["fresh"]), list(doc["cgroups"])};
  buildWorld(w);
  std::string only;  // one policy to replay (run: BULWARK_DIFFTEST_ONLY)
  if (std::ifstream f(kDir + "/only"); f)
    std::getline(f, only);
  int policies = 0, events = 0, same = 0, unseen = 0, sequences = 0;
  double sequenceMs = 0;
  std::vector<std::string> disagreements;
  for (const auto &p : doc["policies"]) {
    std::string name = p["name"].as<std::string>();
    if (!only.empty() && name != only)
      continue;
    SCOPED_TRACE(name);
    buildFiles(w);  // before the load: the runtime labels what exists then
    Loaded l;
    std::string path = kDir + "/" + name + ".bwb";
    bulwark::bundle::Bundle peek;
    std::string err;
    ASSERT_TRUE(bulwark::bundle::readBundle(path, peek, &err)) << err;
    loadBundle(l, path, [&](bpf_object *o) { scopeTweak(peek, o); });
    if (::testing::Test::HasFatalFailure()) {
      disagreements.push_back(name + ": the kernel refused the bundle bulwarkc compiled");
      return;
    }
    ++policies;
    uint32_t rules = static_cast<uint32_t>(l.bundle.manifest.rules.size());
    for (const auto &e : p["events"]) {
      ++events;
      Outcome r = runEvent(l, e, rules);
      restore(w, e);
      ASSERT_TRUE(r.error.empty()) << r.error << "\n" << minimised(p, e);
      Verdict v = judge(l, r, e["expect"], rules);
      unseen += !v.seen;
      same += v.ok;
      if (!v.ok)
        disagreements.push_back(name + ": " + v.line + "\n" + minimised(p, e));
    }
    for (const auto &q : p["sequences"]) {
      ++sequences;
      struct timespec t0;
      clock_gettime(CLOCK_MONOTONIC, &t0);
      std::string d = runSequence(l, w, q, rules, events, same, unseen);
      sequenceMs += msSince(t0);
      if (!d.empty())
        disagreements.push_back(name + ": " + d + "\n" + wholePolicy(p));
    }
  }
  std::printf("\ndifftest seed %s: %d policies, %d events (%d outside a scope or unseen by the kernel; %d sequences, made "
              "in %.0f s), %d agree, %zu disagree\n",
              doc["seed"].as<std::string>().c_str(), policies, events, unseen, sequences, sequenceMs / 1000, same,
              disagreements.size());
  for (const auto &d : disagreements)
    std::printf("DISAGREEMENT %s\n\n", d.c_str());
  EXPECT_TRUE(disagreements.empty()) << disagreements.size() << " disagreements (printed above)";
  EXPECT_GT(events, 0);
}

// Every many-group bundle the compiler accepted (bw-difftest-gen stress) passes the verifier
// on every hook; one it refused would have failed here (its stack bound is the verifier's).
TEST(Difftest, EveryManyGroupBundleTheCompilerAcceptsLoads) {
  ASSERT_TRUE(bulwark::guest::InGuest());
  std::vector<fs::path> bundles;
  for (const auto &d : fs::directory_iterator(kDir + "/stress"))
    if (d.path().extension() == ".bwb")
      bundles.push_back(d.path());
  std::sort(bundles.begin(), bundles.end());
  ASSERT_FALSE(bundles.empty());
  for (const auto &b : bundles) {
    SCOPED_TRACE(b.filename().string());
    Loaded l;
    loadBundle(l, b.string());
    ASSERT_FALSE(::testing::Test::HasFatalFailure());
    uint32_t most = 0;
    std::string where;
    bpf_program *p;
    size_t programs = 0;
    bpf_object__for_each_program(p, l.obj) {
      ++programs;
      uint32_t n = verifiedInsns(p);
      if (n > most)
        most = n, where = bpf_program__name(p);
    }
    // the verifier's own stack depth per subprogram of that program (log level 4: stats)
    std::string depth;
    const std::string &log = libbpfLog();
    size_t at = log.find("prog '" + where + "'");
    if (at != std::string::npos && (at = log.find("stack depth ", at)) != std::string::npos)
      depth = log.substr(at, log.find('\n', at) - at);
    std::printf("%s: %zu programs loaded in %.0f ms; most verified instructions %u (%s, %s)\n",
                b.filename().c_str(), programs, l.loadMs, most, where.c_str(), depth.c_str());
    EXPECT_EQ(programs, l.bundle.manifest.programs.size() + l.bundle.manifest.helpers.size());
  }
}
