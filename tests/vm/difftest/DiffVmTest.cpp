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

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

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

// Starts the worker (it sets itself up and waits), attaches the event's program, lets it act.
Outcome runEvent(Loaded &l, const YAML::Node &e, uint32_t rules) {
  Outcome r;
  std::vector<std::string> args = {e["exe"].as<std::string>()};
  std::string cg = e["cgroup"].as<std::string>();
  if (cg != "/")
    args.insert(args.end(), {"--cgroup", "/sys/fs/cgroup" + cg});
  int64_t uid = e["uid"].as<int64_t>(), euid = e["euid"].as<int64_t>();
  if (uid || euid)
    args.insert(args.end(), {"--resuid", std::to_string(uid), std::to_string(euid)});
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
    std::vector<char *> argv;
    for (auto &a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(126);
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
  auto after = counters(l);
  for (uint32_t i = 0; i <= rules && i < after.size() && i < before.size(); ++i)
    if (after[i].hits != before[i].hits)
      r.hits[i] = after[i].hits - before[i].hits;
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
  int policies = 0, events = 0, same = 0, unseen = 0;
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
      const auto &x = e["expect"];
      bool seen = x["seen"].as<bool>(), matched = x["matched"].as<bool>();
      bool wantDenied = x["denied"].as<bool>(), wantKilled = x["killed"].as<bool>();
      uint32_t want = matched ? x["rule"].as<uint32_t>() : rules;
      bool kDenied = r.exit == EPERM || r.killed;
      std::string kRule = r.hits.empty() ? "none" : r.hits.size() > 1 ? "several" : r.hits.begin()->first == rules ? "default" : l.bundle.manifest.rules[r.hits.begin()->first].name;
      bool ok = kDenied == (wantDenied || wantKilled) && r.killed == wantKilled &&
                (seen ? r.hits.size() == 1 && r.hits.count(want) : r.hits.empty());
      unseen += !seen;
      same += ok;
      if (!ok) {
        char line[256];
        std::snprintf(line, sizeof line, "kernel: %s%s, rule %s (exit %d); evaluator: %s%s, rule %s%s", kDenied ? "denied" : "allowed",
                      r.killed ? ", killed" : "", kRule.c_str(), r.exit, wantDenied || wantKilled ? "denied" : "allowed",
                      wantKilled ? ", killed" : "", matched ? x["rule_name"].as<std::string>().c_str() : "default",
                      seen ? "" : " (not seen by the hook)");
        disagreements.push_back(name + ": " + line + "\n" + minimised(p, e));
      }
    }
  }
  std::printf("\ndifftest seed %s: %d policies, %d events (%d outside a scope or unseen by the kernel), %d agree, %zu disagree\n",
              doc["seed"].as<std::string>().c_str(), policies, events, unseen, same, disagreements.size());
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
