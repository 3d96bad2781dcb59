// bwbe-tool: tiny test driver of the back end (not the product CLI, which is bulwarkc).
//   bwbe-tool vm-policy <out.bwb>   compile the fixed policy the VM test enforces
//   bwbe-tool vm-all-hooks <out.bwb> one rule per LSM hook, for the VM test
//   bwbe-tool inspect <dir> [--json]
#include "Backend.h"
#include "PolicyBuilder.h"

#include <cstdio>
#include <cstring>

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

int main(int argc, char **argv) {
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
  std::fprintf(stderr, "usage: bwbe-tool vm-policy <out.bwb> | inspect <dir> [--json]\n");
  return 2;
}
