// bwbe-tool: tiny test driver of the back end (not the product CLI, which is bulwarkc).
//   bwbe-tool vm-policy <out.bwb>   compile the fixed policy the VM test enforces
//   bwbe-tool inspect <dir> [--json]
#include "Backend.h"
#include "PolicyBuilder.h"

#include <cstdio>
#include <cstring>

using namespace bwtest;
using bulwark::HookId;
using bulwark::ir::TestOp;

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
