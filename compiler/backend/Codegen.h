// Code generation: decision functions in LLVM IR, linked with the template bitcode,
// optimised for bpfel and emitted as one BPF ELF object with BTF.
#pragma once

#include "BackendTypes.h"
#include "Lowering.h"
#include "VerifierBounds.h"

#include <cstdint>
#include <string>
#include <vector>

namespace bulwark::backend {

struct CodegenOptions {
  bool keepIr = false;     // fill CodegenOutput::ir with the optimised module (debugging)
  // also emit DWARF (.debug_*) next to BTF; its kernel structs are only those BTF defines
  // (the templates are trimmed: TemplateTrim.h)
  bool keepDwarf = false;
  bool exeCacheProgram = false;  // link the exec hook that fills the process.exe cache
  uint32_t maxStack = kVerifierMaxStack;  // refuse a program whose call chain needs more
  // The process exits after this compile: its LLVM context is left for the exit to free
  // (freeing its many small objects one by one takes ~50 ms).
  bool leaveToExit = false;
};

struct ProgramOut {
  std::string name;     // ELF program (function) name, "bw_file_open"
  HookId hook;
  std::string section;  // "lsm/file_open", "kprobe/do_unlinkat"
  std::string kprobeFunction;  // kprobe programs: the kernel function; else empty
  bool decides = true;         // false: it only keeps bw_m_ident current (no rules on its hook)
  bool quiet = false;          // file.open: its decision can be quiet (LoweredHook::quiet)
  bool quietView = true;       // and then the key parts it reads (LoweredHook::quietView,
  bool quietAncestors = true;  // quietAncestors)
};

// A program beside the policy's hooks, attached directly by the runtime.
struct HelperOut {
  std::string name;     // "bw_ident_link"
  std::string section;  // "lsm/path_link"
  std::string purpose;
};

struct CodegenOutput {
  std::vector<uint8_t> object;
  std::vector<ProgramOut> programs;
  std::vector<HelperOut> helpers;
  std::vector<std::string> maps;  // every map the object defines (after dead-code removal)
  std::vector<ProgramBounds> bounds;  // stack and size of every program, as the verifier counts
  std::map<std::string, uint32_t> frames;  // each function's frame as the code generator laid it out
  std::string ir;
  double linkMs = 0, optMs = 0, emitMs = 0;
};

std::vector<BackendError> generateObject(const ir::Policy &policy, const Lowered &lowered,
                                         const CodegenOptions &options, CodegenOutput &out);

} // namespace bulwark::backend
