// bw-policy-cases: the shipped policies' YAML tests as kernel test cases (PolicyCasesVmTest.cpp).
//
//   bw-policy-cases <policies dir> <out dir>
//
// Runs the front end on the directory (as `bulwarkc compile` does), compiles every policy
// with the back end's default options into <out>/<policy>.bwb, evaluates every test of
// <stem>_test.yaml on the host evaluator (ir::evaluate), and writes <out>/cases.yaml: per
// test, how the guest makes the event with a real system call (bw-make-event: which copy of
// it runs, in which cgroup, as which uid, doing what), the evaluator's decision, and, when
// it cannot be made faithfully, why not. A test is produced only if every field the
// policy's rules on that hook read is one the guest controls, and the evaluator decides the
// event the guest will really make exactly as it decides the YAML event.
#include "Backend.h"
#include "Compilation.h"
#include "Evaluator.h"

#include <yaml-cpp/yaml.h>

#include <cstdio>
#include "EventYaml.h"

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace bulwark;

namespace {

const char *kProducer = "/bulwark/bin/bw-make-event";
const char *kTestBinary = "/bulwark/bin/backend_vm_policy_test";  // parent of every producer

int64_t enumerator(const char *name) {
  int64_t v = 0;
  if (!Catalogue::get().findEnumerator(name, &v))
    throw std::runtime_error(std::string("no enumerator ") + name);
  return v;
}

void collectFields(const ir::Cond &c, std::set<std::string> &out) {
  if (c.kind == ir::Cond::Kind::Test)
    out.insert(std::string(c.test.field.name));
  for (const auto &k : c.kids)
    collectFields(k, out);
}

std::string basename(const std::string &p) { return p.substr(p.rfind('/') + 1); }
std::string dirname(const std::string &p) {
  auto s = p.rfind('/');
  return s == 0 ? "/" : p.substr(0, s);
}

struct Produced {
  std::string why;  // empty: producible
  std::string exe;  // "" = kProducer itself
  std::string cgroup;  // cgroup v2 path relative to the root to join, "" = stay in the root
  int64_t uid = 0, euid = 0;
  std::string chdir;
  std::vector<std::string> action;
  std::vector<std::string> files, exes, dirs;
  ir::Event event;  // what the kernel will see, as far as the guest decides it
};

// How the guest makes `ev` (the YAML event, with `raw` its YAML text) on `hook` for real.
Produced produce(const ir::Policy &policy, HookId hook, const ir::Event &ev, const YAML::Node &raw) {
  Produced p;
  auto has = [&](const char *f) { return ev.count(f) != 0; };
  auto num = [&](const char *f, int64_t dflt = 0) -> int64_t {
    auto it = ev.find(f);
    return it == ev.end() ? dflt : std::get<int64_t>(it->second);
  };
  auto str = [&](const char *f) -> std::string {
    auto it = ev.find(f);
    return it == ev.end() ? "" : std::get<std::string>(it->second);
  };
  auto text = [&](const char *f) { return raw[f].as<std::string>(); };
  auto no = [&](std::string why) {
    if (p.why.empty())
      p.why = std::move(why);
  };
  auto &e = p.event;

  // the acting process: a copy of bw-make-event at process.exe
  std::string exe = has("process.exe") ? str("process.exe") : kProducer;
  if (has("process.exe")) {
    p.exe = exe;
    p.exes.push_back(exe);
  }
  e["process.exe"] = exe;
  std::string comm = basename(exe).substr(0, 15);
  if (has("process.comm") && str("process.comm") != comm)
    no("process.comm " + str("process.comm") + " is not the name of process.exe");
  e["process.comm"] = comm;
  p.uid = num("process.uid");
  p.euid = num("process.euid");
  e["process.uid"] = p.uid;
  e["process.euid"] = p.euid;
  e["process.gid"] = int64_t{0};
  if (num("process.gid"))
    no("the producer does not change its gid");
  std::string cg = "/";
  if (policy.scope.kind == ir::Scope::Kind::Cgroup && !policy.scope.paths.empty())
    cg = policy.scope.paths.front();
  if (has("process.cgroup")) {
    cg = str("process.cgroup");
    if (policy.scope.kind == ir::Scope::Kind::Cgroup) {
      bool inside = false;
      for (const auto &s : policy.scope.paths)
        inside = inside || cg == s || cg.rfind(s + "/", 0) == 0;
      if (!inside)
        no("process.cgroup " + cg + " is outside the policy's cgroup scope");
    }
  }
  e["process.cgroup"] = cg;
  if (cg != "/")
    p.cgroup = cg;
  if (policy.scope.kind == ir::Scope::Kind::Executable) {
    bool inside = false;
    for (const auto &s : policy.scope.paths)
      inside = inside || s == exe;
    if (!inside)
      no("process.exe is outside the policy's executable scope");
  }
  e["parent.exe"] = std::string(kTestBinary);
  e["parent.comm"] = basename(kTestBinary).substr(0, 15);

  switch (hook) {
  case HookId::FILE_OPEN: {
    std::string path = str("file.path");
    if (path.empty()) {
      no("no file.path");
      break;
    }
    bool write = num("file.write") != 0;
    bool read = has("file.read") ? num("file.read") != 0 : !write;
    if (!read && !write)
      no("an open that neither reads nor writes");
    int64_t acc = write && read ? 2 : write ? 1 : 0;
    // as file_open sees the producer's open(2): O_CLOEXEC stripped, O_LARGEFILE forced
    int64_t flags = acc | 0100000 /* O_LARGEFILE */;
    if (has("file.flags") && (num("file.flags") & ~int64_t{02000000}) != flags &&
        (num("file.flags") & ~int64_t{02000000}) != (flags & ~int64_t{0100000}))
      no("file.flags other than the producer's open flags");
    e["file.path"] = path;
    e["file.write"] = int64_t{write};
    e["file.read"] = int64_t{read};
    e["file.flags"] = flags;
    p.files.push_back(path);
    p.action = {"open", path, write && read ? "rw" : write ? "w" : "r"};
    break;
  }
  case HookId::PROCESS_EXEC: {
    std::string path = str("exec.path");
    if (path.empty()) {
      no("no exec.path");
      break;
    }
    std::string filename = has("exec.filename") ? str("exec.filename") : path;
    if (filename != path) {
      if (filename != "./" + basename(path))
        no("exec.filename " + filename + " does not name exec.path from its directory");
      p.chdir = dirname(path);
    }
    e["exec.path"] = path;
    e["exec.filename"] = filename;
    p.exes.push_back(path);
    p.action = {"exec", filename};
    break;
  }
  case HookId::FILE_MMAP_EXEC: {
    std::string path = str("file.path");
    int64_t prot = num("mmap.prot", enumerator("PROT_READ") | enumerator("PROT_EXEC"));
    if (!(prot & enumerator("PROT_EXEC")))
      no("mmap.prot without PROT_EXEC is not a file.mmap_exec event");
    e["file.path"] = path;
    e["mmap.prot"] = prot;
    p.files.push_back(path);
    p.action = {"mmap-exec", path, std::to_string(prot)};
    break;
  }
  case HookId::NET_CONNECT: {
    if (!has("net.daddr")) {
      no("no net.daddr");
      break;
    }
    std::string addr = text("net.daddr");
    bool v4 = addr.find(':') == std::string::npos;
    int64_t family = v4 ? enumerator("AF_INET") : enumerator("AF_INET6");
    if (has("net.family") && num("net.family") != family)
      no("net.family does not match the address");
    int64_t port = num("net.dport");
    e["net.daddr"] = ev.at("net.daddr");
    e["net.dport"] = port;
    e["net.family"] = family;
    p.action = {"connect", addr, std::to_string(port)};
    break;
  }
  case HookId::NET_SOCKET: {
    int64_t f = num("socket.family"), t = num("socket.type"), pr = num("socket.protocol");
    e["socket.family"] = f;
    e["socket.type"] = t;
    e["socket.protocol"] = pr;
    p.action = {"socket", std::to_string(f), std::to_string(t), std::to_string(pr)};
    break;
  }
  case HookId::PROCESS_SETUID: {
    int64_t uid = num("setuid.uid"), euid = has("setuid.euid") ? num("setuid.euid") : uid;
    e["setuid.uid"] = uid;
    e["setuid.euid"] = euid;
    if (uid == euid)
      p.action = {"setuid", std::to_string(uid)};
    else
      p.action = {"setresuid", std::to_string(uid), std::to_string(euid)};
    break;
  }
  case HookId::KERNEL_MOUNT: {
    std::string target = str("mount.target");
    if (target.empty()) {
      no("no mount.target");
      break;
    }
    std::string source = has("mount.source") ? str("mount.source") : "none";
    std::string fstype = has("mount.fstype") ? str("mount.fstype") : "tmpfs";
    if (num("mount.flags"))
      no("mount.flags");
    e["mount.target"] = target;
    e["mount.source"] = source;
    e["mount.fstype"] = fstype;
    e["mount.flags"] = int64_t{0};
    p.dirs.push_back(target);
    p.action = {"mount", source, target, fstype};
    break;
  }
  case HookId::KERNEL_BPF: {
    int64_t cmd = num("bpf.cmd");
    e["bpf.cmd"] = cmd;
    p.action = {"bpf", std::to_string(cmd)};
    break;
  }
  case HookId::KERNEL_MODULE_LOAD: {
    std::string path = str("module.path");
    e["module.path"] = path;
    p.files.push_back(path);
    p.action = {"module", path};
    break;
  }
  case HookId::PROCESS_PTRACE: {
    // pid 1 of the guest is its init: busybox, comm "init", root
    if (num("target.pid") != 1)
      no("target.pid other than 1 (the only process the guest is sure to have)");
    int64_t mode = num("ptrace.mode");
    e["target.pid"] = int64_t{1};
    e["target.uid"] = int64_t{0};
    e["target.comm"] = std::string("init");
    e["target.exe"] = std::string("/bin/busybox");
    if (mode & enumerator("PTRACE_MODE_ATTACH")) {
      e["ptrace.mode"] = int64_t{0x02 | 0x08};  // PTRACE_MODE_ATTACH_REALCREDS
      p.action = {"ptrace-attach", "1"};
    } else if (mode & enumerator("PTRACE_MODE_READ")) {
      e["ptrace.mode"] = int64_t{0x01 | 0x04};  // PTRACE_MODE_READ_FSCREDS
      p.action = {"ptrace-read", "1"};
    } else {
      no("ptrace.mode without READ or ATTACH");
    }
    break;
  }
  default:
    no("hook " + std::string(Catalogue::get().hook(hook).name) + " has no producer");
  }
  // every field the policy reads on this hook must be one the guest decides
  std::set<std::string> read;
  for (const auto &r : policy.rules)
    if (r.hook == hook)
      collectFields(r.cond, read);
  for (const auto &f : read)
    if (!e.count(f))
      no("the policy reads " + f + ", which the guest cannot set");
  if (p.why.empty()) {
    auto a = ir::evaluate(policy, hook, ev), b = ir::evaluate(policy, hook, e);
    if (a.matched != b.matched || a.ruleId != b.ruleId || a.action != b.action || a.denied != b.denied)
      no("the event the guest makes is decided differently from the YAML event");
  }
  return p;
}

void emitList(YAML::Emitter &o, const char *key, const std::vector<std::string> &v) {
  o << YAML::Key << key << YAML::Value << YAML::Flow << YAML::BeginSeq;
  for (const auto &s : v)
    o << YAML::DoubleQuoted << s;
  o << YAML::EndSeq;
}

} // namespace

int main(int argc, char **argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: bw-policy-cases <policies dir> <out dir>\n");
    return 2;
  }
  fs::path out = argv[2];
  fs::create_directories(out);
  Compilation c;
  std::string err;
  if (!c.addInputs({argv[1]}, &err)) {
    std::fprintf(stderr, "%s\n", err.c_str());
    return 1;
  }
  const SemaResult &sema = c.check();
  if (c.diags().errorCount()) {
    std::fprintf(stderr, "bw-policy-cases: the policies do not check\n");
    return 1;
  }
  std::map<std::string, const ir::Policy *> byName;
  std::map<FileId, std::vector<const ir::Policy *>> byFile;
  for (const auto &p : sema.policies) {
    auto r = backend::compileBundle(p.ir);
    if (!r) {
      for (auto &e : r.errors)
        std::fprintf(stderr, "%s: %s\n", p.ir.name.c_str(), e.message.c_str());
      return 1;
    }
    if (!backend::writeBundle(r->bundle, out / (p.ir.name + ".bwb"), &err)) {
      std::fprintf(stderr, "%s\n", err.c_str());
      return 1;
    }
    byName[p.ir.name] = &p.ir;
    byFile[p.file].push_back(&p.ir);
  }
  YAML::Emitter o;
  o << YAML::BeginMap << YAML::Key << "cases" << YAML::Value << YAML::BeginSeq;
  int total = 0, producible = 0, mismatches = 0;
  for (FileId id = 0; id < c.sources().size(); ++id) {
    fs::path src = c.sources().file(id).path();
    fs::path testFile = src.parent_path() / (src.stem().string() + "_test.yaml");
    if (src.extension() != ".bw" || !fs::exists(testFile) || !byFile.count(id))
      continue;
    YAML::Node doc = YAML::LoadFile(testFile.string());
    for (const auto &t : doc["tests"]) {
      if (t["steps"])
        continue;  // a sequence: tests/vm/sequences makes those in the kernel
      const ir::Policy *policy = byFile[id].size() == 1 ? byFile[id][0] : nullptr;
      if (t["policy"])
        policy = byName[t["policy"].as<std::string>()];
      else if (doc["policy"])
        policy = byName[doc["policy"].as<std::string>()];
      const HookInfo *hook = Catalogue::get().findHook(t["hook"].as<std::string>());
      if (!policy || !hook) {
        std::fprintf(stderr, "%s: test without a policy or hook\n", testFile.c_str());
        return 1;
      }
      ir::Event ev;
      for (const auto &kv : t["event"]) {
        const FieldInfo *f = Catalogue::get().findField(hook->id, kv.first.as<std::string>());
        if (!f) {
          std::fprintf(stderr, "%s: no field %s\n", testFile.c_str(), kv.first.as<std::string>().c_str());
          return 1;
        }
        ev[std::string(f->name)] = eventFieldValue(*f, kv.second);
      }
      ir::Decision d = ir::evaluate(*policy, hook->id, ev);
      // the YAML's own expectation (what `bulwarkc test` checks) must hold too
      const YAML::Node &x = t["expect"];
      bool agrees = (!x["action"] || x["action"].as<std::string>() == ir::actionName(d.action)) &&
                    (!x["rule"] || (d.matched && x["rule"].as<std::string>() == d.ruleName)) &&
                    (!x["default"] || x["default"].as<bool>() == !d.matched);
      mismatches += !agrees;
      Produced p = produce(*policy, hook->id, ev, t["event"]);
      ++total;
      producible += p.why.empty();
      o << YAML::BeginMap;
      o << YAML::Key << "file" << YAML::Value << testFile.filename().string();
      o << YAML::Key << "name" << YAML::Value << YAML::DoubleQuoted << t["name"].as<std::string>("");
      o << YAML::Key << "policy" << YAML::Value << policy->name;
      o << YAML::Key << "hook" << YAML::Value << std::string(hook->name);
      o << YAML::Key << "program" << YAML::Value << "bw_" + std::string(hook->attach);
      o << YAML::Key << "produce" << YAML::Value << p.why.empty();
      o << YAML::Key << "why_not" << YAML::Value << YAML::DoubleQuoted << p.why;
      o << YAML::Key << "exe" << YAML::Value << YAML::DoubleQuoted << p.exe;
      o << YAML::Key << "cgroup" << YAML::Value << YAML::DoubleQuoted << p.cgroup;
      o << YAML::Key << "uid" << YAML::Value << p.uid;
      o << YAML::Key << "euid" << YAML::Value << p.euid;
      o << YAML::Key << "chdir" << YAML::Value << YAML::DoubleQuoted << p.chdir;
      emitList(o, "action", p.action);
      emitList(o, "files", p.files);
      emitList(o, "exes", p.exes);
      emitList(o, "dirs", p.dirs);
      o << YAML::Key << "expect" << YAML::Value << YAML::BeginMap;
      o << YAML::Key << "denied" << YAML::Value << d.denied;
      o << YAML::Key << "matched" << YAML::Value << d.matched;
      o << YAML::Key << "rule" << YAML::Value << (d.matched ? static_cast<int64_t>(d.ruleId) : -1);
      o << YAML::Key << "rule_name" << YAML::Value << d.ruleName;
      o << YAML::Key << "action" << YAML::Value << ir::actionName(d.action);
      o << YAML::Key << "would_deny" << YAML::Value << d.wouldDeny;
      o << YAML::Key << "yaml_agrees" << YAML::Value << agrees;
      o << YAML::EndMap;
      o << YAML::EndMap;
    }
  }
  o << YAML::EndSeq << YAML::EndMap;
  std::ofstream(out / "cases.yaml") << o.c_str() << "\n";
  std::printf("bw-policy-cases: %d tests, %d produced in the guest, %d not (reasons in cases.yaml)\n", total,
              producible, total - producible);
  if (mismatches) {
    std::fprintf(stderr, "bw-policy-cases: %d tests disagree with the evaluator (run bulwarkc test)\n", mismatches);
    return 1;
  }
  return 0;
}
