#include "VerifierBounds.h"

#include "ByteIo.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <set>

namespace bulwark::backend {

namespace {

struct Insn {
  uint8_t code, dst, src;
  int16_t off;
  int32_t imm;
};

Insn insnAt(const uint8_t *p) {
  return {p[0], static_cast<uint8_t>(p[1] & 0x0f), static_cast<uint8_t>(p[1] >> 4), rd<int16_t>(p + 2),
          rd<int32_t>(p + 4)};
}

constexpr uint8_t kClassLd = 0x00, kClassLdx = 0x01, kClassSt = 0x02, kClassStx = 0x03, kClassJmp = 0x05,
                  kClassJmp32 = 0x06, kClassAlu64 = 0x07;
constexpr uint8_t kOpCall = 0x80, kOpExit = 0x90, kOpMov = 0xb0, kOpAdd = 0x00, kOpSub = 0x10;
constexpr uint8_t kSrcX = 0x08;
constexpr uint8_t kPseudoCall = 1, kPseudoFunc = 4;
constexpr int32_t kHelperTailCall = 12;
constexpr uint32_t kShtSymtab = 2, kShtRel = 9;
constexpr uint64_t kShfExec = 0x4;

struct Section {
  std::string name;
  uint32_t type = 0;
  uint64_t flags = 0, off = 0, size = 0;
  uint32_t link = 0, info = 0;
};

struct Symbol {
  std::string name;
  uint8_t type = 0;
  uint16_t shndx = 0;
  uint64_t value = 0, size = 0;
};

struct Function {
  std::string name;
  uint16_t section = 0;
  uint64_t start = 0, count = 0;   // in instructions within the section
  uint32_t stack = 0;              // raw depth (bytes below r10)
  bool tailCall = false;
  std::set<size_t> callees;        // indexes into the function table
};

struct Object {
  std::vector<Section> sections;
  std::vector<Symbol> symbols;
  // (section index, byte offset of the instruction) -> symbol index of its relocation
  std::map<std::pair<uint16_t, uint64_t>, uint32_t> relocs;
};

bool readObject(const std::vector<uint8_t> &elf, Object &o, std::string *error) {
  auto fail = [&](const char *m) {
    if (error)
      *error = m;
    return false;
  };
  if (elf.size() < 64 || std::memcmp(elf.data(), "\x7f" "ELF", 4) || elf[4] != 2 || elf[5] != 1)
    return fail("not a 64-bit little-endian ELF object");
  uint64_t shoff = rd<uint64_t>(&elf[0x28]);
  uint16_t shentsize = rd<uint16_t>(&elf[0x3a]), shnum = rd<uint16_t>(&elf[0x3c]), shstrndx = rd<uint16_t>(&elf[0x3e]);
  if (shentsize < 64 || shoff + static_cast<uint64_t>(shnum) * shentsize > elf.size() || shstrndx >= shnum)
    return fail("bad section header table");
  auto sh = [&](int i) { return &elf[shoff + static_cast<size_t>(i) * shentsize]; };
  auto strAt = [&](uint64_t tab, uint64_t tabSize, uint32_t off) -> std::string {
    if (off >= tabSize)
      return {};
    const char *s = reinterpret_cast<const char *>(&elf[tab + off]);
    return std::string(s, strnlen(s, tabSize - off));
  };
  uint64_t shstrOff = rd<uint64_t>(sh(shstrndx) + 24), shstrSize = rd<uint64_t>(sh(shstrndx) + 32);
  if (shstrOff + shstrSize > elf.size())
    return fail("bad section name table");
  for (int i = 0; i < shnum; ++i) {
    Section s;
    s.name = strAt(shstrOff, shstrSize, rd<uint32_t>(sh(i)));
    s.type = rd<uint32_t>(sh(i) + 4);
    s.flags = rd<uint64_t>(sh(i) + 8);
    s.off = rd<uint64_t>(sh(i) + 24);
    s.size = rd<uint64_t>(sh(i) + 32);
    s.link = rd<uint32_t>(sh(i) + 40);
    s.info = rd<uint32_t>(sh(i) + 44);
    if (s.type != 8 /* NOBITS */ && s.off + s.size > elf.size())
      return fail("section out of range");
    o.sections.push_back(std::move(s));
  }
  for (const auto &s : o.sections) {
    if (s.type != kShtSymtab)
      continue;
    if (s.link >= o.sections.size())
      return fail("bad symbol string table");
    const Section &str = o.sections[s.link];
    for (uint64_t p = s.off; p + 24 <= s.off + s.size; p += 24) {
      Symbol y;
      y.name = strAt(str.off, str.size, rd<uint32_t>(&elf[p]));
      y.type = elf[p + 4] & 0xf;
      y.shndx = rd<uint16_t>(&elf[p + 6]);
      y.value = rd<uint64_t>(&elf[p + 8]);
      y.size = rd<uint64_t>(&elf[p + 16]);
      o.symbols.push_back(std::move(y));
    }
    break;
  }
  for (const auto &s : o.sections) {
    if (s.type != kShtRel || s.info >= o.sections.size())
      continue;
    for (uint64_t p = s.off; p + 16 <= s.off + s.size; p += 16) {
      uint64_t info = rd<uint64_t>(&elf[p + 8]);
      o.relocs[{static_cast<uint16_t>(s.info), rd<uint64_t>(&elf[p])}] = static_cast<uint32_t>(info >> 32);
    }
  }
  return true;
}

// The deepest stack slot a function touches: accesses through r10 and through registers
// holding r10 plus a constant (pointers handed to helpers and subprograms count too).
// A straight scan: LLVM materialises such pointers next to their use.
uint32_t stackDepth(const uint8_t *code, uint64_t count) {
  std::array<std::optional<int64_t>, 11> fp{};
  int64_t deepest = 0;
  auto note = [&](int64_t offset) { deepest = std::min(deepest, offset); };
  for (uint64_t i = 0; i < count; ++i) {
    Insn in = insnAt(code + i * 8);
    uint8_t cls = in.code & 0x07, op = in.code & 0xf0;
    auto base = [&](uint8_t r) -> std::optional<int64_t> {
      if (r == 10)
        return 0;
      return r < fp.size() ? fp[r] : std::nullopt;
    };
    switch (cls) {
    case kClassLdx:
      if (auto b = base(in.src))
        note(*b + in.off);
      if (in.dst < fp.size())
        fp[in.dst].reset();
      break;
    case kClassSt:
    case kClassStx:
      if (auto b = base(in.dst))
        note(*b + in.off);
      break;
    case kClassLd:
      if (in.dst < fp.size())
        fp[in.dst].reset();
      if (in.code == 0x18)
        ++i;  // ld_imm64 takes two slots
      break;
    case kClassAlu64:
      if (in.dst >= fp.size())
        break;
      if (op == kOpMov && (in.code & kSrcX)) {
        fp[in.dst] = base(in.src);
      } else if ((op == kOpAdd || op == kOpSub) && !(in.code & kSrcX) && fp[in.dst]) {
        *fp[in.dst] += op == kOpAdd ? in.imm : -static_cast<int64_t>(in.imm);
        note(*fp[in.dst]);
      } else {
        fp[in.dst].reset();
      }
      break;
    case kClassJmp:
    case kClassJmp32:
      if (op == kOpCall)
        for (int r = 0; r <= 5; ++r) fp[r].reset();
      break;
    default:
      if (in.dst < fp.size())
        fp[in.dst].reset();
      break;
    }
  }
  return static_cast<uint32_t>(-deepest);
}

uint32_t frameBytes(uint32_t depth) { return (std::max<uint32_t>(depth, 1) + 31) / 32 * 32; }

// The functions of the object's executable sections, with where each starts
// ((section, instruction index) -> index in the result).
std::vector<Function> functionsOf(const Object &o, std::map<std::pair<uint16_t, uint64_t>, size_t> &byStart) {
  std::vector<Function> fns;
  for (const auto &y : o.symbols) {
    if (y.type != 2 /* STT_FUNC */ || y.shndx == 0 || y.shndx >= o.sections.size())
      continue;
    const Section &s = o.sections[y.shndx];
    if (!(s.flags & kShfExec) || y.value % 8 || y.size % 8 || y.value + y.size > s.size)
      continue;
    Function f;
    f.name = y.name;
    f.section = y.shndx;
    f.start = y.value / 8;
    f.count = y.size / 8;
    byStart[{f.section, f.start}] = fns.size();
    fns.push_back(std::move(f));
  }
  return fns;
}

// Fills each function's stack (the deeper of its code's slots and frameSizes), tail call
// and callees; false with *error on a call to no known function.
bool scanFunctions(const std::vector<uint8_t> &elf, const Object &o, std::vector<Function> &fns,
                   const std::map<std::pair<uint16_t, uint64_t>, size_t> &byStart,
                   const std::map<std::string, uint32_t> &frameSizes, std::string *error) {
  auto functionAt = [&](uint16_t sec, int64_t insn) -> std::optional<size_t> {
    auto it = byStart.find({sec, static_cast<uint64_t>(insn)});
    if (it == byStart.end())
      return std::nullopt;
    return it->second;
  };
  for (auto &f : fns) {
    const Section &s = o.sections[f.section];
    const uint8_t *code = &elf[s.off + f.start * 8];
    f.stack = stackDepth(code, f.count);
    if (auto fs = frameSizes.find(f.name); fs != frameSizes.end())
      f.stack = std::max(f.stack, fs->second);
    for (uint64_t i = 0; i < f.count; ++i) {
      Insn in = insnAt(code + i * 8);
      uint64_t at = f.start + i;
      bool call = in.code == (kClassJmp | kOpCall) && in.src == kPseudoCall;
      // A callback's address (bpf_loop): LLVM emits an ld_imm64 with src 0 and a relocation
      // against the code section; libbpf makes it BPF_PSEUDO_FUNC at load, and the verifier
      // counts the callback's frame on top of the referrer's. Map references relocate against
      // data sections.
      bool func = false;
      if (in.code == 0x18) {
        auto rel = o.relocs.find({f.section, at * 8});
        func = in.src == kPseudoFunc ||
               (rel != o.relocs.end() && rel->second < o.symbols.size() &&
                o.symbols[rel->second].shndx < o.sections.size() &&
                (o.sections[o.symbols[rel->second].shndx].flags & kShfExec));
      }
      if (in.code == (kClassJmp | kOpCall) && in.src == 0 && in.imm == kHelperTailCall)
        f.tailCall = true;
      if (call || func) {
        std::optional<size_t> callee;
        auto rel = o.relocs.find({f.section, at * 8});
        if (rel != o.relocs.end() && rel->second < o.symbols.size()) {
          const Symbol &t = o.symbols[rel->second];
          int64_t target = call ? static_cast<int64_t>(t.value / 8) + in.imm + 1
                                : static_cast<int64_t>((t.value + in.imm) / 8);
          callee = functionAt(t.shndx, target);
        } else if (call) {
          callee = functionAt(f.section, static_cast<int64_t>(at) + in.imm + 1);
        }
        if (!callee) {
          if (error)
            *error = "call from " + f.name + " to an unknown function";
          return false;
        }
        f.callees.insert(*callee);
      }
      if (in.code == 0x18)
        ++i;
    }
  }
  return true;
}

// The bounds of program fns[p]: its deepest call chain, its instructions and those of every
// function it reaches, a tail call under too deep a stack.
ProgramBounds boundsOf(const std::vector<Function> &fns, size_t p) {
  ProgramBounds b;
  b.program = fns[p].name;
  std::set<size_t> reached;
  std::vector<size_t> path;
  std::function<void(size_t, uint32_t)> walk = [&](size_t idx, uint32_t above) {
    if (std::find(path.begin(), path.end(), idx) != path.end())
      return;  // recursion is refused by the verifier anyway; do not loop here
    reached.insert(idx);
    if (!path.empty() && fns[idx].tailCall && above >= kVerifierTailCallStack)
      b.tailCallTooDeep = true;
    path.push_back(idx);
    uint32_t depth = above + frameBytes(fns[idx].stack);
    if (depth > b.stack) {
      b.stack = depth;
      b.chain.clear();
      for (size_t k : path) b.chain.push_back({fns[k].name, frameBytes(fns[k].stack)});
    }
    for (size_t c : fns[idx].callees) walk(c, depth);
    path.pop_back();
  };
  walk(p, 0);
  for (size_t k : reached) b.insns += static_cast<uint32_t>(fns[k].count);
  return b;
}

} // namespace

bool analyseObject(const std::vector<uint8_t> &elf, std::vector<ProgramBounds> &out, std::string *error,
                   const std::map<std::string, uint32_t> &frameSizes) {
  Object o;
  if (!readObject(elf, o, error))
    return false;
  std::map<std::pair<uint16_t, uint64_t>, size_t> byStart;  // (section, insn index) -> function
  std::vector<Function> fns = functionsOf(o, byStart);
  if (!scanFunctions(elf, o, fns, byStart, frameSizes, error))
    return false;
  for (size_t p = 0; p < fns.size(); ++p)
    if (o.sections[fns[p].section].name != ".text")  // .text holds the subprograms
      out.push_back(boundsOf(fns, p));
  return true;
}

bool exceedsVerifier(const ProgramBounds &p, std::string *why, uint32_t maxStack) {
  std::string chain;
  for (const auto &f : p.chain) chain += (chain.empty() ? "" : " -> ") + f.function + " " + std::to_string(f.stack);
  if (p.stack > maxStack) {
    if (why)
      *why = "program " + p.program + " needs " + std::to_string(p.stack) + " bytes of stack over " +
             std::to_string(p.chain.size()) + " calls (" + chain + "), the kernel allows " +
             std::to_string(maxStack);
    return true;
  }
  if (p.tailCallTooDeep) {
    if (why)
      *why = "program " + p.program + " tail-calls from a subprogram under " +
             std::to_string(kVerifierTailCallStack) + " bytes or more of stack";
    return true;
  }
  if (p.insns > kVerifierMaxInsns) {
    if (why)
      *why = "program " + p.program + " has " + std::to_string(p.insns) + " instructions, the kernel allows " +
             std::to_string(kVerifierMaxInsns);
    return true;
  }
  return false;
}

} // namespace bulwark::backend
