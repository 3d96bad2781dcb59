// bulwarkc-facing API of the back end: ir::Policy -> bundle (manifest, BPF object, maps).
//
//   auto r = bulwark::backend::compileBundle(policy, {});
//   if (!r) for (auto &e : r.errors) report(e.loc, e.message);
//   else bulwark::backend::writeBundle(r.value->bundle, "out/policy.bwb", &err);
#pragma once

#include "BackendTypes.h"
#include "Bundle.h"
#include "Lowering.h"
#include "VerifierBounds.h"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace bulwark::backend {

struct BackendOptions {
  LoweringLimits limits;
  std::string compilerVersion;  // default "bulwarkc <project version>"
  bool keepIr = false;          // CompileResult::ir gets the optimised LLVM IR
  // Add the helper program bw_exe_exec (lsm/bprm_committed_creds, manifest `helpers`) that
  // caches process.exe at exec. Off by default: a runtime must attach helpers directly
  // (and accept programs that are not policy hooks) before bundles carry it. Without it
  // the cache is still filled, by the first event of each task after its exec.
  bool exeCacheProgram = false;
  // The last compile of this process: its LLVM context is not freed (CodegenOptions::leaveToExit).
  bool lastInProcess = false;
};

struct CompileStats {
  double lowerMs = 0, linkMs = 0, optMs = 0, emitMs = 0, totalMs = 0;
  size_t objectBytes = 0;
};

struct CompileResult {
  bundle::Bundle bundle;
  Lowered lowered;      // groups and map images, for tests and `inspect`
  CompileStats stats;
  std::string ir;
  std::vector<ProgramBounds> bounds;  // each program's stack and size as the verifier counts them
  std::map<std::string, uint32_t> frames;  // each function's frame (bytes) from the code generator
};

template <class T> struct Expected {
  std::optional<T> value;
  std::vector<BackendError> errors;
  explicit operator bool() const { return value.has_value(); }
  T &operator*() { return *value; }
  T *operator->() { return &*value; }
};

Expected<CompileResult> compileBundle(const ir::Policy &policy, const BackendOptions &options = {});

// Writes the bundle directory (<dir>/manifest.yaml, policy.bpf.o, maps/*.bin).
bool writeBundle(const bundle::Bundle &b, const std::filesystem::path &dir, std::string *error);

// The manifest's `rodata`: every const volatile global of a policy object (abi/rodata.def).
const std::vector<bundle::RodataEntry> &runtimeRodata();

} // namespace bulwark::backend
