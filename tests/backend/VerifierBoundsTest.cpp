// The verifier's shape checks computed from emitted objects: hand-made objects with known
// frames, and every program of compiled policies.
#include "Backend.h"
#include "PolicyBuilder.h"
#include "VerifierBounds.h"

#include <gtest/gtest.h>

#include <cstring>

using namespace bwtest;
namespace be = bulwark::backend;
using bulwark::HookId;
using bulwark::ir::TestOp;

namespace {

struct Insn {
  uint8_t code, regs;
  int16_t off;
  int32_t imm;
};

template <class T> void put(std::vector<uint8_t> &b, T v) {
  uint8_t tmp[sizeof v];
  std::memcpy(tmp, &v, sizeof v);
  b.insert(b.end(), tmp, tmp + sizeof v);
}

void putInsns(std::vector<uint8_t> &b, const std::vector<Insn> &is) {
  for (const auto &i : is) {
    b.push_back(i.code);
    b.push_back(i.regs);
    put<int16_t>(b, i.off);
    put<int32_t>(b, i.imm);
  }
}

constexpr uint8_t kStxDw = 0x7b, kMovX = 0xbf, kMovK = 0xb7, kAddK = 0x07, kCall = 0x85, kExit = 0x95,
                  kLdImm64 = 0x18;
uint8_t regs(int dst, int src) { return static_cast<uint8_t>(dst | src << 4); }

// A relocatable BPF object: program `prog` in section lsm/x takes `progDepth` bytes of stack
// (through a pointer r10 - progDepth, as LLVM passes buffers) and calls `sub` in .text, which
// stores at r10 - subDepth and, when asked, tail-calls. With `cbDepth`, sub also hands bpf_loop
// a callback `cb` (in .text after sub, storing at r10 - cbDepth) the way LLVM emits it: an
// ld_imm64 with source register 0 relocated against .text at cb's byte offset.
std::vector<uint8_t> object(int progDepth, int subDepth, bool subTailCalls, int cbDepth = 0) {
  std::vector<uint8_t> text, prog;
  std::vector<Insn> sub = {{kStxDw, regs(10, 1), static_cast<int16_t>(-subDepth), 0}};
  if (subTailCalls)
    sub.push_back({kCall, 0, 0, 12});
  size_t cbRef = 0;  // the ld_imm64's instruction index in .text
  if (cbDepth) {
    sub.push_back({kMovK, regs(1, 0), 0, 1});
    cbRef = sub.size();
    sub.push_back({kLdImm64, regs(2, 0), 0, 0});  // imm: cb's byte offset, set below
    sub.push_back({0, 0, 0, 0});
    sub.push_back({kMovK, regs(3, 0), 0, 0});
    sub.push_back({kMovK, regs(4, 0), 0, 0});
    sub.push_back({kCall, 0, 0, 181});  // bpf_loop
  }
  sub.push_back({kMovK, 0, 0, 0});
  sub.push_back({kExit, 0, 0, 0});
  uint64_t subSize = sub.size() * 8;
  if (cbDepth) {
    sub[cbRef].imm = static_cast<int32_t>(subSize);
    sub.push_back({kStxDw, regs(10, 1), static_cast<int16_t>(-cbDepth), 0});
    sub.push_back({kMovK, 0, 0, 0});
    sub.push_back({kExit, 0, 0, 0});
  }
  putInsns(text, sub);
  putInsns(prog, {{kMovX, regs(1, 10), 0, 0},
                  {kAddK, regs(1, 0), 0, -progDepth},
                  {kStxDw, regs(1, 2), 0, 0},
                  {kCall, regs(0, 1), 0, -1},
                  {kExit, 0, 0, 0}});
  std::string strtab = std::string("\0sub\0prog\0cb\0", 13);
  std::vector<uint8_t> symtab(24, 0);
  auto sym = [&](uint32_t name, uint8_t info, uint16_t shndx, uint64_t value, uint64_t size) {
    put<uint32_t>(symtab, name);
    symtab.push_back(info);
    symtab.push_back(0);
    put<uint16_t>(symtab, shndx);
    put<uint64_t>(symtab, value);
    put<uint64_t>(symtab, size);
  };
  sym(1, 0x12, 1, 0, subSize);      // 1: sub, GLOBAL FUNC
  sym(5, 0x12, 2, 0, prog.size());  // 2: prog
  sym(0, 0x03, 1, 0, 0);            // 3: .text, LOCAL SECTION
  if (cbDepth)
    sym(10, 0x02, 1, subSize, text.size() - subSize);  // 4: cb, LOCAL FUNC
  std::vector<uint8_t> rel, relText;
  put<uint64_t>(rel, 3 * 8);                 // the call instruction
  put<uint64_t>(rel, (uint64_t{1} << 32) | 10);  // symbol 1 (sub), R_BPF_64_32
  if (cbDepth) {
    put<uint64_t>(relText, cbRef * 8);                // the ld_imm64
    put<uint64_t>(relText, (uint64_t{3} << 32) | 1);  // symbol 3 (.text), R_BPF_64_64
  }
  std::string shstr = std::string("\0.text\0lsm/x\0.symtab\0.strtab\0.shstrtab\0.rellsm/x\0.rel.text\0", 60);
  // layout: header, then section data, then the section headers
  std::vector<uint8_t> elf(64, 0);
  struct Sec { uint32_t name, type; uint64_t flags; std::vector<uint8_t> data; uint32_t link, info; uint64_t entsize; };
  std::vector<Sec> secs = {{0, 0, 0, {}, 0, 0, 0},
                           {1, 1, 6, text, 0, 0, 0},
                           {7, 1, 6, prog, 0, 0, 0},
                           {13, 2, 0, symtab, 4, 1, 24},
                           {21, 3, 0, {strtab.begin(), strtab.end()}, 0, 0, 0},
                           {29, 3, 0, {shstr.begin(), shstr.end()}, 0, 0, 0},
                           {39, 9, 0, rel, 3, 2, 16},
                           {50, 9, 0, relText, 3, 1, 16}};
  std::vector<uint64_t> offs;
  for (const auto &s : secs) {
    offs.push_back(elf.size());
    elf.insert(elf.end(), s.data.begin(), s.data.end());
  }
  uint64_t shoff = elf.size();
  for (size_t i = 0; i < secs.size(); ++i) {
    const Sec &s = secs[i];
    put<uint32_t>(elf, s.name);
    put<uint32_t>(elf, s.type);
    put<uint64_t>(elf, s.flags);
    put<uint64_t>(elf, 0);
    put<uint64_t>(elf, offs[i]);
    put<uint64_t>(elf, s.data.size());
    put<uint32_t>(elf, s.link);
    put<uint32_t>(elf, s.info);
    put<uint64_t>(elf, 8);
    put<uint64_t>(elf, s.entsize);
  }
  std::memcpy(elf.data(), "\x7f" "ELF\x02\x01\x01", 7);
  uint16_t half[] = {1 /* REL */, 247 /* EM_BPF */};
  std::memcpy(&elf[16], half, sizeof half);
  std::memcpy(&elf[0x28], &shoff, 8);
  uint16_t sh[] = {64, 0, 0, 64, static_cast<uint16_t>(secs.size()), 5};
  std::memcpy(&elf[0x34], sh, sizeof sh);
  return elf;
}

be::ProgramBounds only(const std::vector<uint8_t> &elf) {
  std::vector<be::ProgramBounds> out;
  std::string err;
  EXPECT_TRUE(be::analyseObject(elf, out, &err)) << err;
  EXPECT_EQ(out.size(), 1u);
  return out.empty() ? be::ProgramBounds{} : out[0];
}

} // namespace

TEST(VerifierBounds, FramesRoundUpTo32AndAddUpAlongTheCall) {
  auto b = only(object(200, 248, false));
  EXPECT_EQ(b.program, "prog");
  EXPECT_EQ(b.stack, 224u + 256u);
  ASSERT_EQ(b.chain.size(), 2u);
  EXPECT_EQ(b.chain[0].function, "prog");
  EXPECT_EQ(b.chain[1].function, "sub");
  EXPECT_EQ(b.insns, 5u + 3u);
  EXPECT_FALSE(be::exceedsVerifier(b, nullptr));
}

TEST(VerifierBounds, ChainOverFiveHundredTwelveBytesIsRefused) {
  auto b = only(object(300, 248, false));
  EXPECT_EQ(b.stack, 320u + 256u);
  std::string why;
  EXPECT_TRUE(be::exceedsVerifier(b, &why));
  EXPECT_NE(why.find("needs 576 bytes of stack over 2 calls (prog 320 -> sub 256), the kernel allows 512"),
            std::string::npos)
      << why;
}

TEST(VerifierBounds, TailCallUnderTwoHundredFiftySixBytesIsRefused) {
  EXPECT_FALSE(be::exceedsVerifier(only(object(200, 8, true)), nullptr));  // 224 above the subprogram
  std::string why;
  EXPECT_TRUE(be::exceedsVerifier(only(object(240, 8, true)), &why));  // 256 above it
  EXPECT_NE(why.find("tail-calls"), std::string::npos) << why;
}

// The 6.1 verifier puts a bpf_loop callback's frame on top of the frame that references it
// (bw_file_open 352 -> bw_current_exe 64 -> bw_task_exe 32 -> walk_from 64 -> walk_step 32 was
// 544 at load). In the object the reference is an ld_imm64 with source register 0 relocated
// against .text, not BPF_PSEUDO_FUNC: libbpf sets that only at load.
TEST(VerifierBounds, ABpfLoopCallbackIsAFrameOnTheChainOfItsReferrer) {
  auto fits = only(object(200, 248, false, 8));
  EXPECT_EQ(fits.stack, 224u + 256u + 32u);
  ASSERT_EQ(fits.chain.size(), 3u);
  EXPECT_EQ(fits.chain[2].function, "cb");
  EXPECT_EQ(fits.insns, 5u + 9u + 3u);
  EXPECT_FALSE(be::exceedsVerifier(fits, nullptr));
  std::string why;
  EXPECT_TRUE(be::exceedsVerifier(only(object(200, 248, false, 40)), &why));
  EXPECT_NE(why.find("needs 544 bytes of stack over 3 calls (prog 224 -> sub 256 -> cb 64), the kernel allows 512"),
            std::string::npos)
      << why;
}

TEST(VerifierBounds, TheCodeGeneratorsFrameBoundsAFunctionFromAbove) {
  std::vector<be::ProgramBounds> out;
  std::string err;
  ASSERT_TRUE(be::analyseObject(object(200, 8, false), out, &err, {{"sub", 300}, {"prog", 100}})) << err;
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].stack, 224u + 320u);  // prog keeps its 200 (more than 100), sub takes 300
}

TEST(VerifierBounds, NotAnObjectIsAnError) {
  std::vector<be::ProgramBounds> out;
  std::string err;
  EXPECT_FALSE(be::analyseObject(std::vector<uint8_t>(10, 0), out, &err));
  EXPECT_FALSE(err.empty());
}

// Every program the back end emits for a policy with many groups on every hook fits, and
// the numbers are the ones the compile result carries.
TEST(VerifierBounds, EveryProgramOfAManyGroupPolicyOnEveryHookFits) {
  PolicyBuilder pb("many_groups");
  for (HookId h : {HookId::FILE_OPEN, HookId::FILE_UNLINK, HookId::FILE_RENAME, HookId::FILE_CHMOD,
                   HookId::FILE_LINK, HookId::PROCESS_EXEC, HookId::FILE_MMAP_EXEC}) {
    const char *f = h == HookId::PROCESS_EXEC ? "exec.path" : "file.path";
    for (int i = 0; i < 6; ++i) {
      std::string n = std::to_string(i);
      pb.rule("eq" + std::to_string(static_cast<int>(h)) + "_" + n, h, cTest(h, f, TestOp::Eq, {"/srv/e" + n}));
      pb.rule("pre" + std::to_string(static_cast<int>(h)) + "_" + n, h,
              cAnd({cTest(h, f, TestOp::Prefix, {"/srv/p" + n + "/"}),
                    cNot(cTest(h, "process.exe", TestOp::Suffix, {"/ok" + n}))}));
      pb.rule("glob" + std::to_string(static_cast<int>(h)) + "_" + n, h,
              cOr({cTest(h, f, TestOp::Glob, {"/srv/g" + n + "/*.x"}), cTest(h, "process.comm", TestOp::Eq, {"c" + n})}));
    }
  }
  auto res = be::compileBundle(pb.build());
  ASSERT_TRUE(res) << (res.errors.empty() ? "" : res.errors[0].message);
  std::vector<be::ProgramBounds> out;
  std::string err;
  ASSERT_TRUE(be::analyseObject(res->bundle.object, out, &err)) << err;
  EXPECT_GE(out.size(), 7u);
  for (const auto &b : out) {
    ASSERT_TRUE(res->frames.count(b.program)) << b.program << ": the code generator's frame is known";
    EXPECT_GE(b.chain.front().stack, res->frames.at(b.program)) << b.program;
    EXPECT_GT(b.stack, 0u) << b.program;
    EXPECT_LE(b.stack, be::kVerifierMaxStack) << b.program;
    EXPECT_EQ(b.chain.front().function, b.program);
    EXPECT_GT(b.insns, 100u) << b.program;
  }
}

// What does not fit is a located error: E0903's kind, at the first rule of the program's
// hook, naming the program and its chain. (The limit is lowered so that a small policy
// exceeds it; the check is the same one that holds bundles to the verifier's 512.)
TEST(VerifierBounds, AProgramThatDoesNotFitIsAnErrorAtItsHooksFirstRule) {
  HookId open = HookId::FILE_OPEN, chmod = HookId::FILE_CHMOD;
  auto p = PolicyBuilder("too_deep")
               .rule("open_rule", open, cTest(open, "file.path", TestOp::Prefix, {std::string("/srv/a/")}))
               .rule("chmod_first", chmod, cTest(chmod, "file.path", TestOp::Glob, {std::string("/srv/*.x")}))
               .rule("chmod_second", chmod, cTest(chmod, "process.exe", TestOp::Eq, {std::string("/bin/x")}))
               .build();
  be::BackendOptions opts;
  ASSERT_TRUE(be::compileBundle(p, opts));  // fits the verifier's 512
  opts.limits.maxStack = 64;
  auto res = be::compileBundle(p, opts);
  ASSERT_FALSE(res);
  bool chmodSeen = false;
  for (const auto &e : res.errors) {
    EXPECT_EQ(e.kind, be::BackendError::Kind::Verifier) << e.message;
    EXPECT_NE(e.message.find("bytes of stack over"), std::string::npos) << e.message;
    if (e.message.find("program bw_path_chmod needs") != std::string::npos) {
      chmodSeen = true;
      EXPECT_EQ(e.loc.line, p.rules[1].loc.line);  // chmod_first
      EXPECT_NE(e.message.find("the kernel allows 64"), std::string::npos) << e.message;
    }
  }
  EXPECT_TRUE(chmodSeen);
}
