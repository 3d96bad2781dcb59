// bw-test-bundles: writes the bundles the back-end VM tests load (tests/vm/backend) and prints
// bundles; a test tool, not the product CLI (that is bulwarkc).
//   bw-test-bundles vm-policy <out.bwb>   compile the fixed policy the VM test enforces
//   bw-test-bundles vm-all-hooks <out.bwb> one rule per LSM hook, for the VM test
//   bw-test-bundles vm-exe <out dir>      process.exe cache policies (with the exec helper)
//   bw-test-bundles stress <out dir> [sizes...]   stress bundles (StressGen.h) + probes + compile times
//   bw-test-bundles inspect <dir> [--json]
#include "Backend.h"
#include "PolicyBuilder.h"
#include "StressGen.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

using namespace bwtest;
using bulwark::HookId;
using bulwark::ir::TestOp;

// One enforcing rule per LSM hook (the VM test triggers each), plus a never-matching
// compound rule that makes file.open extract every common field.
static bulwark::ir::Policy allHooksPolicy() {
  using H = HookId;
  auto eqs = [](H h, const char *f, const char *v) { return cTest(h, f, TestOp::Eq, strs({v})); };
  auto eqi = [](H h, const char *f, int64_t v) { return cTest(h, f, TestOp::Eq, {v}); };
  return PolicyBuilder("allhooks")
      .rule("open-common-fields", H::FILE_OPEN,
            cAnd({eqs(H::FILE_OPEN, "file.path", "/tmp/bwvm/never"),
                  eqs(H::FILE_OPEN, "process.comm", "nope"),
                  cTest(H::FILE_OPEN, "process.exe", TestOp::Prefix, strs({"/nonexistent/"})),
                  eqs(H::FILE_OPEN, "process.cgroup", "/nope"),
                  eqs(H::FILE_OPEN, "parent.comm", "nope"),
                  cTest(H::FILE_OPEN, "parent.exe", TestOp::Suffix, strs({"/nope"})),
                  eqi(H::FILE_OPEN, "process.uid", 4242), eqi(H::FILE_OPEN, "process.euid", 4242),
                  eqi(H::FILE_OPEN, "process.ppid", 1)}))
      .rule("open-audit", H::FILE_OPEN, eqs(H::FILE_OPEN, "file.path", "/tmp/bwvm/audited"),
            bulwark::ir::Action::Audit)
      .rule("no-unlink", H::FILE_UNLINK, eqs(H::FILE_UNLINK, "file.path", "/tmp/bwvm/nounlink"))
      .rule("no-rename-into", H::FILE_RENAME,
            cTest(H::FILE_RENAME, "file.newpath", TestOp::Prefix, strs({"/tmp/bwvm/noren/"})))
      .rule("no-chmod", H::FILE_CHMOD,
            cAnd({eqs(H::FILE_CHMOD, "file.path", "/tmp/bwvm/nochmod"),
                  cTest(H::FILE_CHMOD, "file.mode", TestOp::HasFlags, {int64_t(0002)})}))
      .rule("no-link", H::FILE_LINK, eqs(H::FILE_LINK, "file.newpath", "/tmp/bwvm/nolink"))
      .rule("no-mmap-exec", H::FILE_MMAP_EXEC, eqs(H::FILE_MMAP_EXEC, "file.path", "/tmp/bwvm/nomap"))
      .rule("no-exec", H::PROCESS_EXEC,
            cTest(H::PROCESS_EXEC, "exec.path", TestOp::Glob, strs({"/tmp/bwvm/noexec*"})))
      .rule("no-ptrace-of-nobody", H::PROCESS_PTRACE,
            cAnd({eqi(H::PROCESS_PTRACE, "target.uid", 4243),
                  eqs(H::PROCESS_PTRACE, "target.comm", "x"),
                  eqs(H::PROCESS_PTRACE, "target.exe", "/x")}))
      .rule("no-sigusr2", H::PROCESS_SIGNAL,
            cAnd({eqi(H::PROCESS_SIGNAL, "signal.sig", 12),
                  cNot(eqs(H::PROCESS_SIGNAL, "target.exe", "/nonexistent")),
                  cNot(eqs(H::PROCESS_SIGNAL, "target.comm", "nonexistent"))}))
      .rule("no-setuid-4242", H::PROCESS_SETUID, eqi(H::PROCESS_SETUID, "setuid.uid", 4242))
      .rule("no-connect-net", H::NET_CONNECT,
            cAnd({cTest(H::NET_CONNECT, "net.daddr", TestOp::InCidr, {cidr("10.99.0.0/16"), cidr("fd00:99::/32")}),
                  eqi(H::NET_CONNECT, "net.dport", 9)}))
      .rule("no-bind-4444", H::NET_BIND, eqi(H::NET_BIND, "net.sport", 4444))
      .rule("no-listen-4445", H::NET_LISTEN, eqi(H::NET_LISTEN, "net.sport", 4445))
      .rule("no-proto-253", H::NET_SOCKET,
            cAnd({eqi(H::NET_SOCKET, "socket.protocol", 253), eqi(H::NET_SOCKET, "socket.family", 2)}))
      .rule("no-module-from-tmp", H::KERNEL_MODULE_LOAD,
            cTest(H::KERNEL_MODULE_LOAD, "module.path", TestOp::Prefix, strs({"/tmp/"})))
      .rule("no-obj-get", H::KERNEL_BPF, eqi(H::KERNEL_BPF, "bpf.cmd", 7))
      .rule("no-mount-here", H::KERNEL_MOUNT,
            cAnd({eqs(H::KERNEL_MOUNT, "mount.target", "/tmp/bwvm/nomount"),
                  eqs(H::KERNEL_MOUNT, "mount.fstype", "tmpfs"),
                  cNot(eqs(H::KERNEL_MOUNT, "mount.source", "x"))}))
      .build();
}

static const char *actionText(bulwark::ir::Action a) {
  switch (a) {
  case bulwark::ir::Action::Allow: return "allow";
  case bulwark::ir::Action::Deny: return "deny";
  case bulwark::ir::Action::Audit: return "audit";
  case bulwark::ir::Action::Kill: return "kill";
  }
  return "?";
}

// stress-<n>.bwb, stress-<n>.probes (one tab-separated line per probe: name hook path write
// addr port | expected: denied rule action record, from the host evaluator) and
// compile-times.txt (one line per size).
static int stress(const std::filesystem::path &out, std::vector<int> sizes) {
  if (sizes.empty())
    sizes = {10, 100, 1000, 10000};
  std::filesystem::create_directories(out);
  std::ofstream times(out / "compile-times.txt");
  for (int n : sizes) {
    auto set = bwtest::stressSet(n);
    auto r = bulwark::backend::compileBundle(set.policy);
    if (!r) {
      for (auto &e : r.errors)
        std::fprintf(stderr, "stress %d: %s\n", n, e.message.c_str());
      return 1;
    }
    std::string name = "stress-" + std::to_string(n);
    std::string err;
    if (!bulwark::backend::writeBundle(r->bundle, out / (name + ".bwb"), &err)) {
      std::fprintf(stderr, "%s\n", err.c_str());
      return 1;
    }
    size_t entries = 0;
    for (const auto &m : r->bundle.manifest.maps)
      entries += m.entries;
    char line[512];
    std::snprintf(line, sizeof line,
                  "rules=%d compile_ms=%.1f lower_ms=%.1f link_ms=%.1f opt_ms=%.1f emit_ms=%.1f "
                  "groups=%zu map_entries=%zu object_bytes=%zu\n",
                  n, r->stats.totalMs, r->stats.lowerMs, r->stats.linkMs, r->stats.optMs,
                  r->stats.emitMs, r->lowered.groups.size(), entries, r->bundle.object.size());
    times << line;
    std::fputs(line, stdout);
    std::ofstream probes(out / (name + ".probes"));
    for (const auto &p : set.probes) {
      auto d = bulwark::ir::evaluate(set.policy, p.hook, p.event);
      bool record = d.action != bulwark::ir::Action::Allow;
      probes << p.name << '\t' << bulwark::Catalogue::get().hook(p.hook).name << '\t'
             << (p.path.empty() ? "-" : p.path) << '\t' << (p.write ? 1 : 0) << '\t'
             << (p.addr.empty() ? "-" : p.addr) << '\t' << p.port << '\t' << (d.denied ? 1 : 0)
             << '\t' << (d.matched ? static_cast<int64_t>(d.ruleId) : -1) << '\t'
             << actionText(d.action) << '\t' << (record ? 1 : 0) << '\n';
    }
  }
  return 0;
}

static int writeOne(const bulwark::ir::Policy &p, const std::filesystem::path &dir,
                    const bulwark::backend::BackendOptions &o = {}) {
  auto r = bulwark::backend::compileBundle(p, o);
  if (!r) {
    for (auto &e : r.errors)
      std::fprintf(stderr, "%s: %s\n", p.name.c_str(), e.message.c_str());
    return 1;
  }
  std::string err;
  if (!bulwark::backend::writeBundle(r->bundle, dir, &err)) {
    std::fprintf(stderr, "%s\n", err.c_str());
    return 1;
  }
  return 0;
}

// The exe cache tests (ExeCacheVmTest.cpp): a rule on process.exe of a deep path, the
// same policy scoped to that executable, both with the exec helper.
static int vmExe(const std::filesystem::path &out) {
  const HookId FO = HookId::FILE_OPEN;
  const char *deep = "/tmp/bwexe/a/b/c/d/e/f/g/h/i/j/k/tool";
  auto exeRule = PolicyBuilder("vmexe")
                     .rule("deep-tool-opens-target", FO,
                           cAnd({cTest(FO, "process.exe", TestOp::Eq, strs({deep})),
                                 cTest(FO, "file.path", TestOp::Eq, strs({"/tmp/bwexe/target"}))}))
                     .rule("audit-other-tool", FO,
                           cAnd({cTest(FO, "process.exe", TestOp::Prefix, strs({"/tmp/bwexe/other/"})),
                                 cTest(FO, "file.path", TestOp::Eq, strs({"/tmp/bwexe/target"}))}),
                           bulwark::ir::Action::Audit)
                     .build();
  auto scoped = PolicyBuilder("vmexescope")
                    .rule("target", FO, cTest(FO, "file.path", TestOp::Eq, strs({"/tmp/bwexe/target"})))
                    .build();
  scoped.scope.kind = bulwark::ir::Scope::Kind::Executable;
  scoped.scope.paths = {deep};
  bulwark::backend::BackendOptions o;
  o.exeCacheProgram = true;
  std::filesystem::create_directories(out);
  return writeOne(exeRule, out / "vmexe.bwb", o) || writeOne(scoped, out / "vmexescope.bwb", o);
}

int main(int argc, char **argv) {
  if (argc >= 3 && !std::strcmp(argv[1], "vm-exe"))
    return vmExe(argv[2]);
  if (argc >= 3 && !std::strcmp(argv[1], "stress")) {
    std::vector<int> sizes;
    for (int i = 3; i < argc; ++i)
      sizes.push_back(std::atoi(argv[i]));
    return stress(argv[2], sizes);
  }
  if (argc >= 3 && !std::strcmp(argv[1], "vm-policy")) {
    auto p = PolicyBuilder("vmtest")
                 .rule("deny-one-file", HookId::FILE_OPEN,
                       cTest(HookId::FILE_OPEN, "file.path", TestOp::Eq, strs({"/tmp/bwvm/denied.txt"})))
                 .rule("deny-secret-dir", HookId::FILE_OPEN,
                       cTest(HookId::FILE_OPEN, "file.path", TestOp::Prefix, strs({"/tmp/bwvm/secret/"})))
                 .rule("deny-glob", HookId::FILE_OPEN,
                       cTest(HookId::FILE_OPEN, "file.path", TestOp::Glob, strs({"/tmp/bwvm/**/*.key"})))
                 .rule("deny-suffix-write", HookId::FILE_OPEN,
                       cAnd({cTest(HookId::FILE_OPEN, "file.path", TestOp::Suffix, strs({".lock"})),
                             cTest(HookId::FILE_OPEN, "file.write", TestOp::Eq, {int64_t(1)})}))
                 // longer than BW_SUFFIX_SHORT: every suffix of the policy is matched over a longer key
                 .rule("deny-long-suffix", HookId::FILE_OPEN,
                       cTest(HookId::FILE_OPEN, "file.path", TestOp::Suffix,
                             strs({"/a-directory-longer-than-32-bytes/held.conf"})))
                 .build();
    auto r = bulwark::backend::compileBundle(p);
    if (!r) {
      for (auto &e : r.errors)
        std::fprintf(stderr, "%s:%u:%u: %s\n", e.loc.file.c_str(), e.loc.line, e.loc.column,
                     e.message.c_str());
      return 1;
    }
    std::string err;
    if (!bulwark::backend::writeBundle(r->bundle, argv[2], &err)) {
      std::fprintf(stderr, "%s\n", err.c_str());
      return 1;
    }
    std::printf("compiled %s in %.1f ms, object %zu bytes\n", argv[2], r->stats.totalMs,
                r->bundle.object.size());
    return 0;
  }
  if (argc >= 3 && !std::strcmp(argv[1], "vm-all-hooks")) {
    auto r = bulwark::backend::compileBundle(allHooksPolicy());
    if (!r) {
      for (auto &e : r.errors)
        std::fprintf(stderr, "%s:%u:%u: %s\n", e.loc.file.c_str(), e.loc.line, e.loc.column,
                     e.message.c_str());
      return 1;
    }
    std::string err;
    if (!bulwark::backend::writeBundle(r->bundle, argv[2], &err)) {
      std::fprintf(stderr, "%s\n", err.c_str());
      return 1;
    }
    std::printf("compiled %s in %.1f ms, object %zu bytes\n", argv[2], r->stats.totalMs,
                r->bundle.object.size());
    return 0;
  }
  if (argc >= 3 && !std::strcmp(argv[1], "inspect")) {
    bulwark::bundle::Bundle b;
    std::string err;
    if (!bulwark::bundle::readBundle(argv[2], b, &err)) {
      std::fprintf(stderr, "%s\n", err.c_str());
      return 1;
    }
    bool json = argc >= 4 && !std::strcmp(argv[3], "--json");
    std::fputs((json ? bulwark::bundle::inspectJson(b) : bulwark::bundle::inspectText(b)).c_str(), stdout);
    return 0;
  }
  std::fprintf(stderr, "usage: bw-test-bundles vm-policy|vm-all-hooks <out.bwb> | vm-exe <out dir>\n"
                       "       | stress <out dir> [sizes...] | inspect <dir> [--json]\n");
  return 2;
}
