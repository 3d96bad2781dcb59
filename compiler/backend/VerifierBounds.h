// What the kernel verifier checks of a program's shape before it explores a single path,
// computed from the emitted BPF object: the combined stack of every call chain (each frame
// rounded up to 32 bytes as the verifier does, at most 512 in all, at most 256 above a
// subprogram that tail-calls) and the instruction count of each program with its
// subprograms. A bundle whose object fails these would compile and then be refused at load.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace bulwark::backend {

inline constexpr uint32_t kVerifierMaxStack = 512;            // MAX_BPF_STACK
inline constexpr uint32_t kVerifierTailCallStack = 256;       // frames above a tail-calling subprogram
inline constexpr uint32_t kVerifierMaxInsns = 1000000;        // BPF_COMPLEXITY_LIMIT_INSNS (privileged)

struct FrameUse {
  std::string function;
  uint32_t stack = 0;  // bytes, as the verifier counts it (rounded up to 32, at least 32)
};

struct ProgramBounds {
  std::string program;           // ELF function name of the program, "bw_file_open"
  uint32_t stack = 0;            // deepest combined stack over its call chains
  std::vector<FrameUse> chain;   // that chain, the program first
  uint32_t insns = 0;            // instructions of the program and every subprogram it reaches
  bool tailCallTooDeep = false;  // a tail-calling subprogram sits under >= 256 bytes of frames
};

// Analyses every program (a function in a non-.text executable section) of a BPF ELF
// relocatable object. Calls (BPF_PSEUDO_CALL) and callback references (an ld_imm64 relocated
// against a code section, which libbpf turns into BPF_PSEUDO_FUNC, for bpf_loop) both count as
// frames on the chain, as the 6.1 verifier counts them. A function's frame is the deepest slot its code
// touches, or `frameSizes[name]` (the code generator's frame, which holds every slot) when that
// is larger. False with *error when the object cannot be read.
bool analyseObject(const std::vector<uint8_t> &elf, std::vector<ProgramBounds> &out, std::string *error,
                   const std::map<std::string, uint32_t> &frameSizes = {});

// Whether the verifier would refuse the program's shape; *why says how.
// `maxStack`: the limit to hold the chain to (the verifier's, or lower in tests).
bool exceedsVerifier(const ProgramBounds &p, std::string *why, uint32_t maxStack = kVerifierMaxStack);

} // namespace bulwark::backend
