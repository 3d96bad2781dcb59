// bw-difftest-gen: the host half of the random differential test (tests/vm/difftest/README).
//
//   bw-difftest-gen SEED POLICIES EVENTS OUT
//
// Writes POLICIES random policies (Bulwark source, OUT/dt_NNN.bw), checks and compiles each
// as `bulwarkc compile` does (OUT/dt_NNN.bwb), makes EVENTS random events per policy (each a
// real system call the guest's workers make: a copy of bw-make-event at some executable path,
// in some cgroup, as some uid, on a path spelled one of several ways) and decides each with
// the host evaluator. OUT/cases.yaml holds, per policy, its rules' source by hook (to print a
// disagreement with only the rules that could matter) and per event how to make it and what
// the evaluator decided. The guest half (DiffVmTest.cpp) makes the events and compares.
// A policy the back end refuses is counted and skipped (exit 0); a policy the front end
// rejects is a generator bug (exit 1).
#include "Backend.h"
#include "Compilation.h"
#include "DiagnosticRender.h"
#include "Evaluator.h"
#include "Sequence.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace bulwark;

namespace {

const std::string kProducer = "/bulwark/bin/bw-make-event";
const std::string kRunner = "/bulwark/bin/difftest_vm_test";  // parent of every worker

// The guest's tree (DiffVmTest.cpp builds it before each load): files mode 0666, programs
// 0777, directories 0777, so DAC never refuses what a worker does.
const std::vector<std::string> kDirs = {"/srv/dt",        "/srv/dt/a",   "/srv/dt/a/sub", "/srv/dt/b",
                                        "/srv/dt/sp ace", "/srv/dt/c.d", "/srv/dt/bin",   "/srv/dt/d/1/2/3/4/5/6/7/8"};
const std::vector<std::string> kFiles = {
    "/srv/dt/a/x",  "/srv/dt/a/y.conf",  "/srv/dt/a/sub/z",  "/srv/dt/a/.h",
    "/srv/dt/b/x",  "/srv/dt/b/x.conf.bak", "/srv/dt/sp ace/f g", "/srv/dt/c.d/[x]*",
    "/srv/dt/b/\xc3\xbcn\xc3\xaf", "/srv/dt/d/1/2/3/4/5/6/7/8/f"};
const std::vector<std::string> kExes = {kProducer, "/srv/dt/bin/tool", "/srv/dt/bin/tool2", "/srv/dt/a/run"};
// names a rename or link may create (they do not exist before the event)
const std::vector<std::string> kFresh = {"/srv/dt/a/n1", "/srv/dt/b/new", "/srv/dt/sp ace/n 2", "/srv/dt/a/sub/n.conf"};
// the last is deeper than the kernfs nodes a record's cgroup walk reads by plain loads (six)
const std::vector<std::string> kCgroups = {"/", "/dt.slice", "/dt.slice/app", "/dt.slice/app/c3/c4/c5/c6/c7/c8"};
const std::vector<int64_t> kUids = {0, 1000, 1001};

struct Rng {
  std::mt19937_64 g;
  explicit Rng(uint64_t seed) : g(seed) {}
  size_t pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(g); }
  bool chance(int percent) { return static_cast<int>(pick(100)) < percent; }
  template <class T> const T &of(const std::vector<T> &v) { return v[pick(v.size())]; }
};

std::string quote(const std::string &s) {
  std::string o = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\')
      o += '\\';
    o += c;
  }
  return o + "\"";
}
std::string basename(const std::string &p) { return p.substr(p.rfind('/') + 1); }
std::string dirname(const std::string &p) {
  auto s = p.rfind('/');
  return s == 0 ? "/" : p.substr(0, s);
}

// ---- policies ----

struct PolicyGen {
  Rng &r;
  std::vector<std::string> lists, macros;  // declarations (source lines)
  std::vector<std::string> pathLists, macroNames;

  std::vector<std::string> pathValues() {
    std::vector<std::string> v = kFiles;
    v.insert(v.end(), kExes.begin(), kExes.end());
    v.insert(v.end(), kFresh.begin(), kFresh.end());
    v.insert(v.end(), {"/srv/dt/a", "/srv/dt/nothere"});
    return v;
  }
  std::string pathTest(const std::string &f) {
    static const std::vector<std::string> prefixes = {"/srv/dt/", "/srv/dt/a/", "/srv/dt/a", "/srv/", "/srv/dt/b/x",
                                                      "/srv/dt/sp ace/", "/srv/dt/d/1/2/", "/srv/dt/bin/"};
    static const std::vector<std::string> suffixes = {"x", ".conf", "/x", ".bak", "tool", " g", "*", "\xc3\xaf"};
    static const std::vector<std::string> globs = {"/srv/dt/*/x", "/srv/dt/**", "/srv/dt/a/*.conf", "**/*.bak",
                                                   "/srv/dt/?/x", "/srv/dt/[ab]/*", "/srv/dt/c.d/\\[x\\]\\*",
                                                   "/srv/dt/**/z", "/srv/dt/bin/tool?", "/srv/dt/d/**/f"};
    switch (r.pick(7)) {
    case 0: return f + " == " + quote(r.of(pathValues()));
    case 1: return f + " != " + quote(r.of(pathValues()));
    case 2: return f + " startswith " + quote(r.of(prefixes));
    case 3: return f + " endswith " + quote(r.of(suffixes));
    case 4: return f + " matches " + quote(r.of(globs));
    case 5: {
      if (pathLists.empty() || r.chance(50)) {
        std::string name = "l" + std::to_string(lists.size());
        std::string items;
        for (size_t i = 0, n = 1 + r.pick(4); i < n; ++i)
          items += (i ? ", " : "") + quote(r.of(pathValues()));
        lists.push_back("  list " + name + " = [" + items + "]");
        pathLists.push_back(name);
      }
      return f + " in " + r.of(pathLists);
    }
    default: {
      std::string items;
      for (size_t i = 0, n = 1 + r.pick(3); i < n; ++i)
        items += (i ? ", " : "") + quote(r.of(pathValues()));
      return (r.chance(30) ? "not " : "") + f + " in [" + items + "]";
    }
    }
  }
  std::string uidTest(const std::string &f) {
    static const std::vector<std::string> ops = {"==", "!=", "<", ">", ">=", "<="};
    static const std::vector<std::string> vals = {"0", "1000", "1001", "500"};
    if (r.chance(25))
      return f + " in [" + r.of(vals) + ", " + r.of(vals) + "]";
    return f + " " + r.of(ops) + " " + r.of(vals);
  }
  std::string commonTest() {
    switch (r.pick(6)) {
    case 0: return uidTest("process.uid");
    case 1: return uidTest("process.euid");
    case 2: return pathTest("process.exe");
    case 3: {
      static const std::vector<std::string> comms = {"bw-make-event", "tool", "tool2", "run", "bash"};
      return r.chance(50) ? "process.comm == " + quote(r.of(comms))
                          : "process.comm in [" + quote(r.of(comms)) + ", " + quote(r.of(comms)) + "]";
    }
    case 4: {
      static const std::vector<std::string> cgs = {"/", "/dt.slice", "/dt.slice/app", "/other",
                                                   "/dt.slice/app/c3/c4/c5/c6/c7/c8"};
      return r.chance(50) ? "process.cgroup == " + quote(r.of(cgs)) : "process.cgroup startswith \"/dt.slice\"";
    }
    default: {
      if (macroNames.empty() || r.chance(40)) {
        std::string name = "m" + std::to_string(macros.size());
        macros.push_back("  macro " + name + " = " + uidTest("process.euid") + (r.chance(50) ? " and " : " or ") +
                         pathTest("process.exe"));
        macroNames.push_back(name);
      }
      return r.of(macroNames);
    }
    }
  }
  std::string hookTest(HookId h) {
    switch (h) {
    case HookId::FILE_OPEN:
      switch (r.pick(5)) {
      case 0: return "file.flags has " + r.of(std::vector<std::string>{"O_WRONLY", "O_RDWR", "O_LARGEFILE"});
      case 1:
        return "file.flags in [" + r.of(std::vector<std::string>{"0o100000", "0o100001"}) + ", 0o100002]";
      case 2: return std::string("file.write == ") + (r.chance(50) ? "true" : "false");
      case 3: return std::string("file.read == ") + (r.chance(50) ? "true" : "false");
      default: return pathTest("file.path");
      }
    case HookId::PROCESS_EXEC:
      if (r.chance(25))
        return "exec.filename " + r.of(std::vector<std::string>{"==", "startswith"}) + " " +
               quote(r.of(std::vector<std::string>{"./tool", "/srv/dt/bin/tool", "./run", "/srv/"}));
      return pathTest("exec.path");
    case HookId::FILE_MMAP_EXEC:
      if (r.chance(30))
        return "mmap.prot has " + r.of(std::vector<std::string>{"PROT_WRITE", "PROT_EXEC", "PROT_READ"});
      return pathTest("file.path");
    case HookId::FILE_CHMOD:
      if (r.chance(35))
        return "file.mode " + r.of(std::vector<std::string>{"==", "<", ">"}) + " " +
               r.of(std::vector<std::string>{"0o644", "0o600", "0o755", "0o4755"});
      return pathTest("file.path");
    case HookId::FILE_RENAME:
    case HookId::FILE_LINK: return pathTest(r.chance(50) ? "file.path" : "file.newpath");
    case HookId::FILE_UNLINK: return pathTest("file.path");
    case HookId::NET_CONNECT:
      switch (r.pick(3)) {
      case 0:
        return "net.daddr in " + r.of(std::vector<std::string>{"127.0.0.0/8", "[10.0.0.0/8, ::1]", "::/0",
                                                                 "192.168.7.1", "[127.0.0.1, 10.1.2.0/24]"});
      case 1:
        return "net.dport " + r.of(std::vector<std::string>{"==", "<", ">", "!="}) + " " +
               r.of(std::vector<std::string>{"22", "80", "443", "8080"});
      default: return "net.family == " + r.of(std::vector<std::string>{"AF_INET", "AF_INET6"});
      }
    case HookId::NET_SOCKET:
      switch (r.pick(3)) {
      case 0: return "socket.family == " + r.of(std::vector<std::string>{"AF_INET", "AF_INET6", "AF_UNIX", "AF_PACKET"});
      case 1: return "socket.type in [" + r.of(std::vector<std::string>{"SOCK_RAW", "SOCK_DGRAM"}) + ", SOCK_STREAM]";
      default: return "socket.protocol " + r.of(std::vector<std::string>{"==", ">"}) + " " + r.of(std::vector<std::string>{"0", "1", "6"});
      }
    case HookId::PROCESS_SETUID:
      return r.chance(50) ? uidTest("setuid.uid") : uidTest("setuid.euid");
    case HookId::KERNEL_BPF:
      return r.chance(50) ? "bpf.cmd == BPF_PROG_LOAD" : "bpf.cmd in [BPF_MAP_CREATE, BPF_PROG_LOAD]";
    default: return "true";
    }
  }
  std::vector<std::string> markNames;  // marks the policy sets (only those may be tested)
  std::string atom(HookId h) {
    if (!markNames.empty() && r.chance(35))
      return std::string(r.chance(70) ? "process" : "parent") + ".marks has " + quote(r.of(markNames));
    return r.chance(65) ? hookTest(h) : commonTest();
  }
  std::string cond(HookId h, int depth) {
    if (depth == 0)
      return atom(h);
    switch (r.pick(5)) {
    case 0: return "(" + cond(h, depth - 1) + " and " + cond(h, depth - 1) + ")";
    case 1: return "(" + cond(h, depth - 1) + " or " + cond(h, depth - 1) + ")";
    case 2: return "not (" + cond(h, depth - 1) + ")";
    default: return atom(h);
    }
  }
};

const std::vector<HookId> kHooks = {HookId::FILE_OPEN,   HookId::PROCESS_EXEC, HookId::FILE_MMAP_EXEC,
                                    HookId::FILE_UNLINK, HookId::FILE_RENAME,  HookId::FILE_CHMOD,
                                    HookId::FILE_LINK,   HookId::NET_CONNECT,  HookId::NET_SOCKET,
                                    HookId::PROCESS_SETUID, HookId::KERNEL_BPF};

struct GenPolicy {
  std::string name, source;
  std::vector<HookId> hooks;
};

std::string policyName(const char *prefix, int index) {
  char nm[32];
  std::snprintf(nm, sizeof nm, "%s_%04d", prefix, index);
  return nm;
}

// 1 to 3 hooks of those a worker can trigger.
std::vector<HookId> pickHooks(Rng &r) {
  std::set<HookId> hooks;
  for (size_t i = 0, n = 1 + r.pick(3); i < n; ++i)
    hooks.insert(r.of(kHooks));
  return {hooks.begin(), hooks.end()};
}

const std::vector<std::string> kActions = {"deny", "deny", "allow", "audit", "kill"};

// A rule: `cond` empty for none; `effects` its action and marks, one a line.
std::string ruleText(const std::string &name, HookId h, const std::string &cond, const std::string &effects) {
  std::string text = "  rule " + name + " {\n    on " + std::string(Catalogue::get().hook(h).name) + "\n";
  if (!cond.empty())
    text += "    when " + cond + "\n";
  return text + effects + "  }\n";
}

std::string actionLine(Rng &r, const std::string &rule) {
  std::string action = r.of(kActions);
  return "    " + action + (r.chance(50) ? " \"{process.comm} " + rule + "\"" : "") + "\n";
}

// The policy around `rules`: random mode, default and scope, the lists and macros pg made.
std::string assemble(Rng &r, const std::string &name, const PolicyGen &pg, const std::string &rules) {
  std::string src = "policy " + name + " {\n";
  src += std::string("  mode ") + (r.chance(20) ? "audit" : "enforce") + "\n";
  src += std::string("  default ") + (r.chance(25) ? "deny" : "allow") + "\n";
  switch (r.pick(6)) {
  case 0: src += "  scope cgroup \"/sys/fs/cgroup/dt.slice\"\n"; break;
  case 1: src += "  scope executable \"/srv/dt/bin/tool\", \"/srv/dt/a/run\"\n"; break;
  default: break;
  }
  for (const auto &l : pg.lists) src += l + "\n";
  for (const auto &m : pg.macros) src += m + "\n";
  return src + rules + "}\n";
}

GenPolicy makePolicy(Rng &r, int index) {
  GenPolicy gp;
  gp.name = policyName("dt", index);
  PolicyGen pg{r, {}, {}, {}, {}, {}};
  gp.hooks = pickHooks(r);
  std::string rules;
  size_t nRules = 1 + r.pick(8);
  for (size_t i = 0; i < nRules; ++i) {
    HookId h = r.of(gp.hooks);
    std::string rn = "r" + std::to_string(i);
    std::string action = r.of(kActions);
    std::string cond = r.chance(10) ? "" : pg.cond(h, static_cast<int>(r.pick(3)));
    rules += ruleText(rn, h, cond, "    " + action + (r.chance(50) ? " \"{process.comm} " + rn + "\"" : "") + "\n");
  }
  gp.source = assemble(r, gp.name, pg, rules);
  return gp;
}

// ---- sequence policies: rules that set marks and rules that test them ----

const std::vector<std::string> kMarkNames = {"a", "b", "c"};
// `for 1s`: a mark the guest cannot keep in step with the evaluator's clock under TCG, so a
// sequence waits kExpiryMs after every event that sets one and only its expiry is compared
// (tests/vm/sequences tests a short mark while it holds).
constexpr uint64_t kShortMarkNs = 1000000000ull;
constexpr int64_t kExpiryMs = 2500;

std::string markClause(Rng &r, const std::string &name) {
  std::string s = std::string("    mark ") + (r.chance(30) ? "parent" : "process") + " " + quote(name);
  switch (r.pick(6)) {
  case 0: s += " for 1s"; break;
  case 1:
  case 2: s += " for 1h"; break;
  default: break;  // until the process exits
  }
  return s + (r.chance(25) ? " until exec" : "") + "\n";
}

// Every mark the policy tests is set by a rule (E0024): first a rule per mark (some decide
// too), then deciding rules (some mark too); conditions test marks of the process and parent.
GenPolicy makeSeqPolicy(Rng &r, int index) {
  GenPolicy gp;
  gp.name = policyName("ds", index);
  PolicyGen pg{r, {}, {}, {}, {}, {}};
  gp.hooks = pickHooks(r);
  pg.markNames.assign(kMarkNames.begin(), kMarkNames.begin() + static_cast<long>(1 + r.pick(kMarkNames.size())));
  std::string rules;
  int n = 0;
  for (const auto &m : pg.markNames) {
    HookId h = r.of(gp.hooks);
    std::string rn = "r" + std::to_string(n++);
    std::string cond = r.chance(15) ? "" : pg.cond(h, static_cast<int>(r.pick(2)));
    rules += ruleText(rn, h, cond, (r.chance(25) ? actionLine(r, rn) : "") + markClause(r, m));
  }
  for (size_t i = 0, extra = 1 + r.pick(5); i < extra; ++i) {
    HookId h = r.of(gp.hooks);
    std::string rn = "r" + std::to_string(n++);
    std::string cond = r.chance(10) ? "" : pg.cond(h, static_cast<int>(r.pick(3)));
    rules += ruleText(rn, h, cond, actionLine(r, rn) + (r.chance(20) ? markClause(r, r.of(pg.markNames)) : ""));
  }
  gp.source = assemble(r, gp.name, pg, rules);
  return gp;
}

// ---- events ----

struct Worker {
  std::string exe, cgroup;
  int64_t uid = 0, euid = 0;
};

struct GenEvent {
  HookId hook;
  Worker w;
  std::string chdir, restore;  // restore: "" | "files" (recreate the tree's files) | "chmod"
  std::vector<std::string> action;
  ir::Event ev;
};

// A path as a program may spell it; the kernel resolves it to `path`.
std::string spell(Rng &r, const std::string &path, std::string &chdir) {
  const std::string root = "/srv/dt/";
  if (path.rfind(root, 0) != 0)
    return path;
  std::string rest = path.substr(root.size());
  switch (r.pick(6)) {
  case 0: return "/srv//dt/" + rest;
  case 1: return "/srv/dt/./" + rest;
  case 2: return "/srv/dt/b/../" + rest;
  case 3: chdir = dirname(path); return basename(path);
  default: return path;
  }
}

// capability checks come before the LSM hook for these: only root makes them
bool needsRoot(HookId h) { return h == HookId::FILE_CHMOD || h == HookId::PROCESS_SETUID || h == HookId::KERNEL_BPF; }

// The fields of the acting process (worker `w`, child of a process running `parentExe`).
void setProcessFields(ir::Event &ev, const Worker &w, const std::string &parentExe) {
  ev["process.exe"] = w.exe;
  ev["process.comm"] = basename(w.exe).substr(0, 15);
  ev["process.uid"] = w.uid;
  ev["process.euid"] = w.euid;
  ev["process.gid"] = int64_t{0};
  ev["process.cgroup"] = w.cgroup;
  ev["parent.exe"] = parentExe;
  ev["parent.comm"] = basename(parentExe).substr(0, 15);
}

void fillEvent(Rng &r, GenEvent &e, bool fixedIdentity);

GenEvent makeEvent(Rng &r, const GenPolicy &gp) {
  GenEvent e;
  e.hook = r.chance(85) ? r.of(gp.hooks) : r.of(kHooks);
  Worker &w = e.w;
  w.exe = r.of(kExes);
  w.cgroup = r.of(kCgroups);
  w.uid = r.of(kUids);
  w.euid = r.chance(70) ? w.uid : r.of(kUids);
  if (needsRoot(e.hook))
    w.euid = 0;
  setProcessFields(e.ev, w, kRunner);
  fillEvent(r, e, false);
  return e;
}

// The hook's fields of event `e` and the system call that makes it. `fixedIdentity`: the
// worker's uids are given (a process of a sequence), so a raw socket is made only as root.
void fillEvent(Rng &r, GenEvent &e, bool fixedIdentity) {
  Worker &w = e.w;
  auto &ev = e.ev;
  switch (e.hook) {
  case HookId::FILE_OPEN: {
    std::string path = r.of(kFiles);
    int mode = static_cast<int>(r.pick(7));  // 0..1 r, 2..3 w, 4..5 rw, 6 O_PATH
    const char *m = mode < 2 ? "r" : mode < 4 ? "w" : mode < 6 ? "rw" : "path";
    int64_t acc = mode < 2 ? 0 : mode < 4 ? 1 : mode < 6 ? 2 : 010000000 /* O_PATH */;
    e.action = {"open", spell(r, path, e.chdir), m};
    ev["file.path"] = path;
    ev["file.flags"] = acc | 02000000;  // as bw-make-event passes them: O_CLOEXEC
    ev["file.write"] = int64_t{mode >= 2 && mode < 6};
    ev["file.read"] = int64_t{mode < 2 || (mode >= 4 && mode < 6)};
    break;
  }
  case HookId::PROCESS_EXEC: {
    std::string path = r.of(kExes);
    std::string filename = path;
    if (r.chance(30)) {
      e.chdir = dirname(path);
      filename = "./" + basename(path);
    }
    e.action = {"exec", filename};
    ev["exec.path"] = path;
    ev["exec.filename"] = filename;
    break;
  }
  case HookId::FILE_MMAP_EXEC: {
    std::string path = r.chance(50) ? r.of(kFiles) : r.of(kExes);
    int64_t prot = r.of(std::vector<int64_t>{5, 7, 4});
    e.action = {"mmap-exec", spell(r, path, e.chdir), std::to_string(prot)};
    ev["file.path"] = path;
    ev["mmap.prot"] = prot;
    break;
  }
  case HookId::FILE_UNLINK: {
    std::string path = r.of(kFiles);
    e.action = {"unlink", spell(r, path, e.chdir)};
    e.restore = "files";
    ev["file.path"] = path;
    break;
  }
  case HookId::FILE_RENAME:
  case HookId::FILE_LINK: {
    std::string from = r.of(kFiles);
    std::string to = e.hook == HookId::FILE_RENAME && r.chance(30) ? r.of(kFiles) : r.of(kFresh);
    if (to == from)
      to = kFresh[0];
    std::string cd;
    std::string a = spell(r, from, cd), b = to;
    if (!cd.empty())  // a relative old name: the new one stays absolute
      e.chdir = cd;
    e.action = {e.hook == HookId::FILE_RENAME ? "rename" : "link", a, b};
    e.restore = "files";
    ev["file.path"] = from;
    ev["file.newpath"] = to;
    break;
  }
  case HookId::FILE_CHMOD: {
    std::string path = r.of(kFiles);
    int64_t mode = r.of(std::vector<int64_t>{0644, 0600, 0755, 04755, 0666});
    char oct[16];
    std::snprintf(oct, sizeof oct, "%llo", static_cast<unsigned long long>(mode));
    e.action = {"chmod", spell(r, path, e.chdir), oct};
    e.restore = "chmod";
    ev["file.path"] = path;
    ev["file.mode"] = mode;
    break;
  }
  case HookId::NET_CONNECT: {
    std::string addr = r.of(std::vector<std::string>{"127.0.0.1", "10.1.2.3", "::1", "192.168.7.1"});
    int64_t port = r.of(std::vector<int64_t>{22, 80, 443, 8080, 9});
    e.action = {"connect", addr, std::to_string(port)};
    ev["net.daddr"] = *ir::parseAddress(addr);
    ev["net.dport"] = port;
    ev["net.family"] = int64_t{addr.find(':') == std::string::npos ? 2 : 10};
    break;
  }
  case HookId::NET_SOCKET: {
    struct S { int64_t f, t, p; bool root; };
    static const std::vector<S> socks = {{2, 1, 0, false}, {2, 2, 0, false}, {10, 1, 0, false}, {1, 2, 0, false},
                                         {2, 3, 1, true},  {17, 3, 0, true}};
    S s = r.of(socks);
    if (s.root && fixedIdentity && w.euid != 0)
      s = socks[0];
    else if (s.root)
      w.euid = 0, ev["process.euid"] = int64_t{0};
    e.action = {"socket", std::to_string(s.f), std::to_string(s.t), std::to_string(s.p)};
    ev["socket.family"] = s.f;
    ev["socket.type"] = s.t;
    ev["socket.protocol"] = s.p;
    break;
  }
  case HookId::PROCESS_SETUID: {
    int64_t to = r.of(std::vector<int64_t>{0, 1000, 1001, 65534});
    e.action = {"setuid", std::to_string(to)};
    ev["setuid.uid"] = to;
    ev["setuid.euid"] = to;
    break;
  }
  case HookId::KERNEL_BPF: {
    int64_t cmd = r.of(std::vector<int64_t>{0, 5, 1});
    e.action = {"bpf", std::to_string(cmd)};
    ev["bpf.cmd"] = cmd;
    break;
  }
  default: break;
  }
}

// A rule's text in a generated policy: from "  rule NAME {" to its closing "  }".
std::string ruleSource(const std::string &src, const std::string &name) {
  size_t at = src.find("  rule " + name + " {\n");
  if (at == std::string::npos)
    return {};
  size_t end = src.find("\n  }\n", at);
  return src.substr(at, end == std::string::npos ? std::string::npos : end + 5 - at);
}

void emitList(YAML::Emitter &o, const char *key, const std::vector<std::string> &v) {
  o << YAML::Key << key << YAML::Value << YAML::Flow << YAML::BeginSeq;
  for (const auto &s : v)
    o << YAML::DoubleQuoted << s;
  o << YAML::EndSeq;
}

std::string describeEvent(const ir::Event &ev) {
  std::string s;
  for (const auto &[k, v] : ev) {
    if (k.rfind("parent.", 0) == 0)
      continue;
    s += (s.empty() ? "" : ", ") + k + "=";
    if (auto *i = std::get_if<int64_t>(&v)) {
      char b[32];
      std::snprintf(b, sizeof b, k == "file.flags" || k == "file.mode" ? "0%llo" : "%lld", static_cast<long long>(*i));
      s += b;
    } else if (auto *str = std::get_if<std::string>(&v)) {
      s += quote(*str);
    } else {
      s += "(address)";
    }
  }
  return s;
}

// The keys of an event the guest makes and of the evaluator's decision `d` of it.
void emitEvent(YAML::Emitter &o, const GenEvent &e, const ir::Policy &policy, const ir::Decision &d) {
  // no rule on the hook: the policy has no program there (or one that only learns)
  bool hasRules = std::any_of(policy.rules.begin(), policy.rules.end(),
                              [&](const ir::Rule &rule) { return rule.hook == e.hook; });
  o << YAML::Key << "hook" << YAML::Value << std::string(Catalogue::get().hook(e.hook).name);
  o << YAML::Key << "program" << YAML::Value << "bw_" + std::string(Catalogue::get().hook(e.hook).attach);
  o << YAML::Key << "exe" << YAML::Value << YAML::DoubleQuoted << e.w.exe;
  o << YAML::Key << "cgroup" << YAML::Value << YAML::DoubleQuoted << e.w.cgroup;
  o << YAML::Key << "uid" << YAML::Value << e.w.uid;
  o << YAML::Key << "euid" << YAML::Value << e.w.euid;
  o << YAML::Key << "chdir" << YAML::Value << YAML::DoubleQuoted << e.chdir;
  o << YAML::Key << "restore" << YAML::Value << YAML::DoubleQuoted << e.restore;
  emitList(o, "action", e.action);
  o << YAML::Key << "event" << YAML::Value << YAML::DoubleQuoted << describeEvent(e.ev);
  o << YAML::Key << "expect" << YAML::Value << YAML::BeginMap;
  o << YAML::Key << "seen" << YAML::Value << (d.seen && d.inScope && hasRules);
  o << YAML::Key << "denied" << YAML::Value << d.denied;
  o << YAML::Key << "killed" << YAML::Value << d.killed;
  o << YAML::Key << "matched" << YAML::Value << d.matched;
  o << YAML::Key << "rule" << YAML::Value << (d.matched ? static_cast<int64_t>(d.ruleId) : -1);
  o << YAML::Key << "rule_name" << YAML::Value << d.ruleName;
  o << YAML::Key << "action" << YAML::Value << ir::actionName(d.action);
  o << YAML::EndMap;
}

// ---- sequences: steps of a small process tree, decided on one ProcessTable ----

constexpr int64_t kTreeRoot = 1;      // the tree's first process: it only forks (see SeqState)
constexpr int64_t kMaxProcesses = 6;  // per sequence (the guest opens a channel for each)

// One sequence as the guest makes it: a tree of served workers (bw-make-event --serve)
// rooted in kTreeRoot, whose parent is the guest test. The root never acts, so a `mark
// parent` never reaches the guest test. Each step is decided on one ProcessTable when it is
// made and written to the YAML (with a line of text for a disagreement) as it goes.
class SeqState {
public:
  SeqState(YAML::Emitter &o, const ir::Policy &policy, const Worker &root) : o_(o), policy_(policy), table_(policy) {
    procs_[kTreeRoot] = {0, root, true};
    o_ << YAML::BeginMap;
    o_ << YAML::Key << "cgroup" << YAML::Value << YAML::DoubleQuoted << root.cgroup;
    o_ << YAML::Key << "uid" << YAML::Value << root.uid << YAML::Key << "euid" << YAML::Value << root.euid;
    o_ << YAML::Key << "steps" << YAML::Value << YAML::BeginSeq;
  }
  ~SeqState() { o_ << YAML::EndSeq << YAML::EndMap; }

  bool canFork() const { return next_ <= kMaxProcesses; }
  // Live processes that may act (every one but the root).
  std::vector<int64_t> actors() const {
    std::vector<int64_t> v;
    for (const auto &[id, p] : procs_)
      if (id != kTreeRoot && p.alive)
        v.push_back(id);
    return v;
  }
  const Worker &worker(int64_t pid) const { return procs_.at(pid).w; }

  int64_t fork(int64_t parent) {
    int64_t child = next_++;
    procs_[child] = {parent, procs_.at(parent).w, true};
    table_.fork(parent, child);
    step("fork", parent, "pid " + std::to_string(parent) + " forks pid " + std::to_string(child));
    o_ << YAML::Key << "child" << YAML::Value << child << YAML::EndMap;
    return child;
  }
  // An exec with no program on process.exec: only the marks' own helpers see it.
  void exec(int64_t pid, const std::string &path) {
    table_.exec(pid);
    procs_.at(pid).w.exe = path;
    step("exec", pid, "pid " + std::to_string(pid) + " executes " + path);
    o_ << YAML::Key << "path" << YAML::Value << YAML::DoubleQuoted << path << YAML::EndMap;
  }
  // Event `e` (its hook's fields and call) made by process `pid` as it now is.
  void event(int64_t pid, GenEvent e) {
    Proc &p = procs_.at(pid);
    e.w = p.w;
    setProcessFields(e.ev, p.w, procs_.at(p.parent).w.exe);
    ir::Decision d = table_.decide(pid, e.hook, e.ev);
    ++events;
    std::string text = "pid " + std::to_string(pid) + ": " + std::string(Catalogue::get().hook(e.hook).name) + " {" +
                       describeEvent(e.ev) + "}: evaluator " + (d.denied ? "denied" : "allowed") +
                       (d.matched ? " by " + d.ruleName : "") + (d.killed ? ", killed" : "") + "; " + marksText(pid);
    step("event", pid, text);
    emitEvent(o_, e, policy_, d);
    o_ << YAML::EndMap;
    if (d.killed)
      kill(pid);
    else if (e.hook == HookId::PROCESS_EXEC && !d.denied)
      table_.exec(pid), p.w.exe = std::get<std::string>(e.ev.at("exec.path"));
    else if (e.hook == HookId::PROCESS_SETUID && !d.denied)
      p.w.uid = p.w.euid = std::get<int64_t>(e.ev.at("setuid.uid"));
    if (setsShortMark(d))
      sleep(kExpiryMs);
  }
  void sleep(int64_t ms) {
    table_.advance(static_cast<uint64_t>(ms) * 1000000ull);
    step("sleep", 0, "sleep " + std::to_string(ms) + " ms");
    o_ << YAML::Key << "ms" << YAML::Value << ms << YAML::EndMap;
  }
  int events = 0;

private:
  struct Proc {
    int64_t parent = 0;
    Worker w;
    bool alive = true;
  };
  // Opens the step's map (the caller adds its own keys and closes it).
  void step(const char *what, int64_t pid, const std::string &text) {
    o_ << YAML::BeginMap << YAML::Key << "do" << YAML::Value << what << YAML::Key << "pid" << YAML::Value << pid;
    o_ << YAML::Key << "text" << YAML::Value << YAML::DoubleQuoted << text;
  }
  std::string marksText(int64_t pid) {
    ir::MarkView v = table_.marksOf(pid);
    auto join = [](const std::set<std::string, std::less<>> &s, bool full) {
      std::string t;
      for (const auto &m : s)
        t += (t.empty() ? "" : ",") + m;
      return (s.size() > 4 ? std::to_string(s.size()) + " marks" : "[" + t + "]") + (full ? " full" : "");
    };
    return "marks now " + join(v.process, v.processFull) + ", parent's " + join(v.parent, v.parentFull);
  }
  bool setsShortMark(const ir::Decision &d) const {
    for (uint32_t id : d.markRules)
      for (const auto &m : policy_.rules[id].marks)
        if (m.forNs == kShortMarkNs)
          return true;
    return false;
  }
  // A killed process and the processes under it (reparented, their parent's marks no longer
  // the model's) take no more steps.
  void kill(int64_t pid) {
    procs_.at(pid).alive = false;
    for (auto &[id, p] : procs_)
      if (p.parent == pid && p.alive)
        kill(id);
  }

  YAML::Emitter &o_;
  const ir::Policy &policy_;
  ir::ProcessTable table_;
  std::map<int64_t, Proc> procs_;
  int64_t next_ = kTreeRoot + 1;
};

// A random event of a process of a sequence: its uids are what they are, so a hook that
// needs root is chosen only by root.
GenEvent seqEvent(Rng &r, const GenPolicy &gp, const Worker &w) {
  GenEvent e;
  do
    e.hook = r.chance(85) ? r.of(gp.hooks) : r.of(kHooks);
  while (w.euid != 0 && needsRoot(e.hook));
  e.w = w;
  fillEvent(r, e, true);
  return e;
}

// `steps` random steps: forks (of the root too), execs, and events of the live processes.
void randomSequence(Rng &r, SeqState &s, const GenPolicy &gp, int steps) {
  for (int k = 0; k < steps; ++k) {
    std::vector<int64_t> actors = s.actors();
    int c = static_cast<int>(r.pick(100));
    if (actors.empty() || (c < 20 && s.canFork())) {
      if (!s.canFork())
        return;
      actors.push_back(kTreeRoot);
      s.fork(r.of(actors));
    } else if (c < 32) {
      s.exec(r.of(actors), r.of(kExes));
    } else {
      int64_t pid = r.of(actors);
      s.event(pid, seqEvent(r, gp, s.worker(pid)));
    }
  }
}

// ---- regressions: one policy per disagreement class found, with the events that showed it ----

GenEvent baseEvent(HookId hook, std::vector<std::string> action) {
  GenEvent e;
  e.hook = hook;
  e.w = {kProducer, "/", 0, 0};
  e.action = std::move(action);
  setProcessFields(e.ev, e.w, kRunner);
  return e;
}

GenEvent pathEvent(HookId hook, const std::string &verb, const std::string &from, const std::string &to) {
  GenEvent e = baseEvent(hook, {verb, from, to});
  e.restore = "files";
  e.ev["file.path"] = from;
  e.ev["file.newpath"] = to;
  return e;
}

GenEvent openEvent(const std::string &path, const std::string &mode) {
  GenEvent e = baseEvent(HookId::FILE_OPEN, {"open", path, mode});
  int64_t acc = mode == "w" ? 1 : mode == "rw" ? 2 : mode == "path" ? 010000000 : 0;
  e.ev["file.path"] = path;
  e.ev["file.flags"] = acc | 02000000;  // O_CLOEXEC, as bw-make-event passes it
  e.ev["file.write"] = int64_t{mode == "w" || mode == "rw"};
  e.ev["file.read"] = int64_t{mode == "r" || mode == "rw"};
  return e;
}

GenEvent mmapEvent(const std::string &path, int64_t prot) {
  GenEvent e = baseEvent(HookId::FILE_MMAP_EXEC, {"mmap-exec", path, std::to_string(prot)});
  e.ev["file.path"] = path;
  e.ev["mmap.prot"] = prot;
  return e;
}

struct Fixed {
  std::string name, body;
  std::vector<GenEvent> events;
};

std::vector<Fixed> regressions() {
  const HookId rename = HookId::FILE_RENAME, link = HookId::FILE_LINK;
  return {
      // the rename's decision must not see what the new path means for the moved file
      {"rx_rename_to_a_listed_name",
       "  rule to_listed {\n    on file.rename\n    when file.path == \"/srv/dt/a/n1\"\n    deny\n  }\n"
       "  rule onto_listed {\n    on file.rename\n    when file.newpath == \"/srv/dt/a/x\"\n    deny\n  }\n",
       {pathEvent(rename, "rename", "/srv/dt/a/x", "/srv/dt/a/n1"),
        pathEvent(rename, "rename", "/srv/dt/b/x", "/srv/dt/a/x"),
        pathEvent(rename, "rename", "/srv/dt/a/y.conf", "/srv/dt/b/new")}},
      {"rx_rename_allow_first",
       "  rule keep {\n    on file.rename\n    when file.path == \"/srv/dt/a/n1\"\n    allow\n  }\n"
       "  rule rest {\n    on file.rename\n    deny\n  }\n",
       {pathEvent(rename, "rename", "/srv/dt/a/x", "/srv/dt/a/n1")}},
      {"rx_link_to_a_listed_name",
       "  rule to_listed {\n    on file.link\n    when file.path == \"/srv/dt/b/new\"\n    deny\n  }\n",
       {pathEvent(link, "link", "/srv/dt/a/x", "/srv/dt/b/new")}},
      // file.flags as the kernel has it; O_PATH opens never reach the hook
      {"rx_open_flags",
       "  rule written {\n    on file.open\n    when file.flags in [0o100001]\n    deny\n  }\n"
       "  rule named {\n    on file.open\n    when file.path == \"/srv/dt/b/x\"\n    deny\n  }\n",
       {openEvent("/srv/dt/a/x", "w"), openEvent("/srv/dt/a/x", "r"), openEvent("/srv/dt/a/x", "rw"),
        openEvent("/srv/dt/b/x", "path"), openEvent("/srv/dt/b/x", "r")}},
      // file.mmap_exec decides only PROT_EXEC mappings
      {"rx_mmap_exec_only",
       "  rule any_map {\n    on file.mmap_exec\n    deny\n  }\n",
       {mmapEvent("/srv/dt/a/x", 5), mmapEvent("/srv/dt/a/x", 1)}},
  };
}

// ---- fixed sequences: the kernel's room for marks ----

GenEvent connectEvent() {
  GenEvent e = baseEvent(HookId::NET_CONNECT, {"connect", "10.1.2.3", "80"});
  e.ev["net.daddr"] = *ir::parseAddress("10.1.2.3");
  e.ev["net.dport"] = int64_t{80};
  e.ev["net.family"] = int64_t{2};
  return e;
}

GenEvent socketEvent() {
  GenEvent e = baseEvent(HookId::NET_SOCKET, {"socket", "2", "1", "0"});
  e.ev["socket.family"] = int64_t{2};
  e.ev["socket.type"] = int64_t{1};
  e.ev["socket.protocol"] = int64_t{0};
  return e;
}

// 16 marks fit in a process; the 17th makes it full: its deny-side tests of marks hold (the
// deny rule), allow-side ones do not (the allow rule before it, and `not parent.marks has` in
// an allow rule holds for a child of a full process); a child forked after inherits full,
// and keeps it across exec; a process forked before, and an unrelated one, do not.
std::string overflowRules() {
  std::string sixteen;
  for (int i = 1; i <= 16; ++i)
    sixteen += "    mark process \"m" + std::to_string(i) + "\" for 1h\n";
  return ruleText("fill", HookId::FILE_OPEN, "file.path == \"/srv/dt/a/x\"", sixteen) +
         ruleText("one_more", HookId::FILE_OPEN, "file.path == \"/srv/dt/b/x\"", "    mark process \"m17\"\n") +
         ruleText("never", HookId::FILE_UNLINK, "file.path == \"/srv/dt/nothere\"", "    mark process \"never\"\n") +
         ruleText("allow_if_never", HookId::NET_CONNECT, "process.marks has \"never\"", "    allow\n") +
         ruleText("deny_if_never", HookId::NET_CONNECT, "process.marks has \"never\"", "    deny\n") +
         ruleText("allow_unless_parent_never", HookId::NET_SOCKET, "not parent.marks has \"never\"", "    allow\n") +
         ruleText("deny_socket", HookId::NET_SOCKET, "", "    deny\n");
}

void overflowSteps(SeqState &s) {
  int64_t a = s.fork(kTreeRoot);
  s.event(a, connectEvent());                         // allowed: no mark yet
  s.event(a, openEvent("/srv/dt/a/x", "r"));          // 16 marks
  s.event(a, connectEvent());                         // still allowed: they fit
  int64_t before = s.fork(a);
  s.event(before, socketEvent());                     // allowed: its parent has room
  s.event(a, openEvent("/srv/dt/b/x", "r"));          // the 17th: full
  s.event(a, connectEvent());                         // denied, fail closed
  s.event(before, socketEvent());                     // denied: its parent is full
  s.event(before, connectEvent());                    // allowed: forked before
  int64_t after = s.fork(a);
  s.event(after, connectEvent());                     // denied: full is inherited
  s.exec(after, "/srv/dt/bin/tool");
  s.event(after, connectEvent());                     // and kept across exec
  s.event(s.fork(kTreeRoot), connectEvent());         // an unrelated process: allowed
}

struct FixedSeq {
  std::string name, body;
  void (*steps)(SeqState &);
};

std::vector<FixedSeq> fixedSequences() { return {{"sx_mark_overflow", overflowRules(), overflowSteps}}; }

// Stress: on every LSM hook, `groups` rules that each add their own lookups on the common
// string fields (exact, prefix, suffix, glob) inside compound conditions, with every action
// and messages: the many-group shape that once compiled and then failed the verifier's
// stack limit. Each size that compiles goes to OUT/stress/; the guest loads each.
int stress(const fs::path &out) {
  fs::create_directories(out);
  int compiled = 0, refused = 0;
  static const std::vector<std::string> actions = {"deny", "kill", "audit", "allow"};
  for (int groups : {2, 8, 16, 35}) {
    std::string name = "stress_" + std::to_string(groups);
    std::string src = "policy " + name + " {\n";
    int n = 0;
    for (const auto &h : Catalogue::get().hooks()) {
      if (h.kind != HookKind::Lsm || h.id == HookId::FILE_MMAP_EXEC_MPROTECT)
        continue;
      for (int i = 0; i < groups; ++i) {
        std::string k = std::to_string(i);
        std::string cond;
        switch (i % 4) {
        case 0: cond = "process.exe == \"/s/e" + k + "\" and not process.comm in [\"c" + k + "\", \"d" + k + "\"]"; break;
        case 1: cond = "(parent.exe startswith \"/s/p" + k + "/\" or process.cgroup matches \"/g" + k + "/*\") and process.uid != " + k; break;
        case 2: cond = "process.exe endswith \"/x" + k + "\" and not parent.comm == \"q" + k + "\""; break;
        default: cond = "process.exe matches \"/s/**/m" + k + "*\" or (parent.exe in [\"/s/a" + k + "\", \"/s/b" + k + "\"] and process.euid > " + k + ")"; break;
        }
        std::string action = actions[static_cast<size_t>(i) % actions.size()];
        src += "  rule r" + std::to_string(n++) + " {\n    on " + std::string(h.name) + "\n    when " + cond + "\n    " + action +
               (action == "allow" ? "" : " \"{process.comm} {process.exe} r" + k + "\"") + "\n  }\n";
      }
    }
    src += "}\n";
    fs::path file = out / (name + ".bw");
    std::ofstream(file) << src;
    Compilation c;
    std::string err;
    if (!c.addInputs({file.string()}, &err) || (c.check(), c.diags().errorCount())) {
      std::fprintf(stderr, "bw-difftest-gen: stress policy %s does not check:\n%s%s", name.c_str(), err.c_str(),
                   renderDiagnostics(c.sources(), c.diags().all(), DiagFormat::Text, {}).c_str());
      return 1;
    }
    auto res = backend::compileBundle(c.semaResult().policies.at(0).ir);
    if (!res) {
      ++refused;
      std::printf("bw-difftest-gen: %s refused: %s\n", name.c_str(), res.errors.empty() ? "" : res.errors[0].message.c_str());
      continue;
    }
    if (!backend::writeBundle(res->bundle, out / (name + ".bwb"), &err)) {
      std::fprintf(stderr, "%s\n", err.c_str());
      return 1;
    }
    ++compiled;
    uint32_t deepest = 0;
    std::string where;
    for (const auto &b : res->bounds)
      if (b.stack > deepest)
        deepest = b.stack, where = b.program;
    std::printf("bw-difftest-gen: %s: %d rules, %zu programs, deepest stack %u bytes (%s)\n", name.c_str(), n,
                res->bundle.manifest.programs.size(), deepest, where.c_str());
  }
  std::printf("bw-difftest-gen: stress: %d compiled, %d refused by the compiler\n", compiled, refused);
  return 0;
}

} // namespace

namespace {

struct Counts {
  int compiled = 0, refused = 0, events = 0, sequences = 0, sequenceEvents = 0;
};

// Checks and compiles `gp` into OUT/NAME.bwb as `bulwarkc compile` does, then writes its
// head (name, settings, rules by hook) to the YAML. Null when the back end refuses it (counted);
// exits when the front end rejects it (a generator bug).
const ir::Policy *compilePolicy(const GenPolicy &gp, const fs::path &out, Compilation &c, YAML::Emitter &o, Counts &n) {
  fs::path src = out / (gp.name + ".bw");
  std::ofstream(src) << gp.source;
  std::string err;
  if (!c.addInputs({src.string()}, &err)) {
    std::fprintf(stderr, "%s\n", err.c_str());
    std::exit(1);
  }
  const SemaResult &sema = c.check();
  if (c.diags().errorCount() || sema.policies.size() != 1) {
    std::fprintf(stderr, "bw-difftest-gen: generated policy %s does not check:\n%s", src.c_str(),
                 renderDiagnostics(c.sources(), c.diags().all(), DiagFormat::Text, {}).c_str());
    std::exit(1);
  }
  const ir::Policy &policy = sema.policies[0].ir;
  auto res = backend::compileBundle(policy);
  if (!res) {
    ++n.refused;
    std::printf("bw-difftest-gen: %s refused by the back end: %s\n", gp.name.c_str(),
                res.errors.empty() ? "" : res.errors[0].message.c_str());
    return nullptr;
  }
  if (!backend::writeBundle(res->bundle, out / (gp.name + ".bwb"), &err)) {
    std::fprintf(stderr, "%s\n", err.c_str());
    std::exit(1);
  }
  ++n.compiled;
  o << YAML::BeginMap << YAML::Key << "name" << YAML::Value << gp.name;
  o << YAML::Key << "settings" << YAML::Value << YAML::Literal << gp.source.substr(0, gp.source.find("  rule "));
  o << YAML::Key << "rules" << YAML::Value << YAML::BeginMap;
  for (const auto &rule : policy.rules) {
    o << YAML::Key << rule.name << YAML::Value << YAML::BeginMap;
    o << YAML::Key << "hook" << YAML::Value << std::string(Catalogue::get().hook(rule.hook).name);
    o << YAML::Key << "text" << YAML::Value << YAML::Literal << ruleSource(gp.source, rule.name);
    o << YAML::EndMap;
  }
  o << YAML::EndMap;
  return &policy;
}

GenPolicy fixedPolicy(const std::string &name, const std::string &body) {
  GenPolicy gp;
  gp.name = name;
  gp.source = "policy " + name + " {\n" + body + "}\n";
  return gp;
}

// The tree root of a random sequence: in some cgroup, as some uids (every process inherits them).
Worker treeRoot(Rng &r) {
  Worker w{kProducer, r.of(kCgroups), r.of(kUids), 0};
  w.euid = r.chance(70) ? w.uid : r.of(kUids);
  return w;
}

} // namespace

int main(int argc, char **argv) {
  if (argc == 3 && std::string(argv[1]) == "stress")
    return stress(argv[2]);
  if (argc != 5 && argc != 8) {
    std::fprintf(stderr, "usage: bw-difftest-gen SEED POLICIES EVENTS OUT [SEQ_POLICIES SEQUENCES STEPS]\n"
                         "       bw-difftest-gen stress OUT\n");
    return 2;
  }
  uint64_t seed = std::stoull(argv[1]);
  int nPolicies = std::stoi(argv[2]), nEvents = std::stoi(argv[3]);
  int nSeqPolicies = argc == 8 ? std::stoi(argv[5]) : 0, nSequences = argc == 8 ? std::stoi(argv[6]) : 0;
  int nSteps = argc == 8 ? std::stoi(argv[7]) : 0;
  fs::path out = argv[4];
  fs::remove_all(out);
  fs::create_directories(out);
  Rng r(seed);
  YAML::Emitter o;
  o << YAML::BeginMap << YAML::Key << "seed" << YAML::Value << seed;
  emitList(o, "dirs", kDirs);
  emitList(o, "files", kFiles);
  emitList(o, "exes", kExes);
  emitList(o, "fresh", kFresh);
  emitList(o, "cgroups", kCgroups);
  o << YAML::Key << "policies" << YAML::Value << YAML::BeginSeq;
  Counts n;
  const std::vector<Fixed> fixed = regressions();
  for (int i = 0; i < nPolicies + static_cast<int>(fixed.size()); ++i) {
    const bool isFixed = i < static_cast<int>(fixed.size());
    GenPolicy gp = isFixed ? fixedPolicy(fixed[i].name, fixed[i].body) : makePolicy(r, i - static_cast<int>(fixed.size()));
    Compilation c;
    const ir::Policy *policy = compilePolicy(gp, out, c, o, n);
    if (!policy)
      continue;
    o << YAML::Key << "events" << YAML::Value << YAML::BeginSeq;
    std::vector<GenEvent> evs = isFixed ? fixed[i].events : std::vector<GenEvent>{};
    for (int k = 0; !isFixed && k < nEvents; ++k)
      evs.push_back(makeEvent(r, gp));
    for (const GenEvent &e : evs) {
      ++n.events;
      o << YAML::BeginMap;
      emitEvent(o, e, *policy, ir::evaluate(*policy, e.hook, e.ev));
      o << YAML::EndMap;
    }
    o << YAML::EndSeq << YAML::EndMap;
  }
  // sequence policies: the fixed ones first, whatever the size
  const std::vector<FixedSeq> fixedSeq = fixedSequences();
  for (int i = 0; i < nSeqPolicies + static_cast<int>(fixedSeq.size()); ++i) {
    const FixedSeq *f = i < static_cast<int>(fixedSeq.size()) ? &fixedSeq[i] : nullptr;
    GenPolicy gp = f ? fixedPolicy(f->name, f->body) : makeSeqPolicy(r, i - static_cast<int>(fixedSeq.size()));
    Compilation c;
    const ir::Policy *policy = compilePolicy(gp, out, c, o, n);
    if (!policy)
      continue;
    o << YAML::Key << "events" << YAML::Value << YAML::BeginSeq << YAML::EndSeq;
    o << YAML::Key << "sequences" << YAML::Value << YAML::BeginSeq;
    for (int k = 0; k < (f ? 1 : nSequences); ++k) {
      SeqState s(o, *policy, f ? Worker{kProducer, "/", 0, 0} : treeRoot(r));
      if (f)
        f->steps(s);
      else
        randomSequence(r, s, gp, nSteps);
      n.events += s.events;
      n.sequenceEvents += s.events;
      ++n.sequences;
    }
    o << YAML::EndSeq << YAML::EndMap;
  }
  o << YAML::EndSeq << YAML::EndMap;
  std::ofstream(out / "cases.yaml") << o.c_str() << "\n";
  std::printf("bw-difftest-gen: seed %llu: %d policies compiled, %d refused by the back end, %d events (%d in %d sequences)\n",
              static_cast<unsigned long long>(seed), n.compiled, n.refused, n.events, n.sequenceEvents, n.sequences);
  return 0;
}
