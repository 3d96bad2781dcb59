#include "CompileCommand.h"

#include "Backend.h"
#include "ExitCodes.h"
#include "Sha256.h"

#include <algorithm>
#include <iostream>

namespace bulwark {

std::string sourceDigest(const SourceManager &sm, FileId policyFile) {
  // Path-independent: the same sources give the same digest on every machine.
  std::vector<std::string> parts{sha256Hex(sm.file(policyFile).text())};
  std::vector<std::string> modules;
  for (FileId id = 0; id < sm.size(); ++id)
    if (id != policyFile) modules.push_back(sha256Hex(sm.file(id).text()));
  std::sort(modules.begin(), modules.end());
  for (auto &m : modules) parts.push_back(m);
  std::string all;
  for (auto &p : parts) all += p;
  return sha256Hex(all);
}

static uint32_t deepestStack(const std::vector<backend::ProgramBounds> &bounds) {
  uint32_t most = 0;
  for (const auto &b : bounds) most = std::max(most, b.stack);
  return most;
}

bool compilePolicies(Compilation &c, const CompileCommandOptions &opts, std::string *ioError) {
  bool ok = true;
  auto wanted = [&](const auto &p) {
    return opts.onlyPolicies.empty() ||
           std::find(opts.onlyPolicies.begin(), opts.onlyPolicies.end(), p.ir.name) != opts.onlyPolicies.end();
  };
  const auto &all = c.semaResult().policies;
  auto last = std::find_if(all.rbegin(), all.rend(), wanted);
  for (const auto &p : all) {
    if (!wanted(p))
      continue;
    ir::Policy policy = p.ir;
    policy.sourceDigest = sourceDigest(c.sources(), p.file);
    backend::BackendOptions bopts;
    bopts.compilerVersion = std::string("bulwarkc ") + BULWARK_VERSION;
    bopts.lastInProcess = &p == &*last;  // the command ends after it
    auto result = backend::compileBundle(policy, bopts);
    if (!result) {
      for (const auto &e : result.errors) {
        SourceLoc loc = c.sources().locFor(e.loc.file, e.loc.line, e.loc.column);
        DiagId id = e.kind == backend::BackendError::Kind::Budget     ? DiagId::E0901
                    : e.kind == backend::BackendError::Kind::Verifier ? DiagId::E0903
                                                                      : DiagId::E0902;
        c.diags().report(id, loc, "policy '" + policy.name + "': " + e.message);
      }
      ok = false;
      continue;
    }
    std::filesystem::path dir = std::filesystem::path(opts.outDir) / (policy.name + ".bwb");
    if (!backend::writeBundle(result->bundle, dir, ioError)) return false;
    if (!opts.quiet) {
      std::cerr << "compiled " << policy.name << " -> " << dir.string() << " (" << result->bundle.manifest.programs.size()
                << " programs, " << result->bundle.manifest.maps.size() << " maps, " << result->stats.objectBytes
                << " bytes of BPF object, " << deepestStack(result->bounds) << " of " << backend::kVerifierMaxStack
                << " bytes of stack, " << static_cast<long>(result->stats.totalMs) << " ms)\n";
    }
  }
  return ok;
}

int runInspect(const std::string &bundleDir, const std::string &format) {
  bundle::Bundle b;
  std::string err;
  if (!bundle::readBundle(bundleDir, b, &err)) {
    std::cerr << "bulwarkc: error: " << err << "\n";
    return kExitUsage;
  }
  std::cout << (format == "json" ? bundle::inspectJson(b) : bundle::inspectText(b));
  return kExitClean;
}

} // namespace bulwark
