#include "Codegen.h"
#include "VerifierBounds.h"
#include "bw_match.h"

#include "BpfBuilder.h"
#include "BtfCanon.h"
#include "Templates.h"
#include "bw_event.h"
#include "bw_kprobe.h"

#include <llvm/Bitcode/BitcodeReader.h>
#include <llvm/IR/DebugInfoMetadata.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Linker/Linker.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/FileSystem.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>
#include <llvm/Target/TargetOptions.h>

#include <chrono>
#include <cstddef>
#include <fstream>
#include <functional>
#include <mutex>
#include <set>

extern "C" {
void LLVMInitializeBPFTargetInfo();
void LLVMInitializeBPFTarget();
void LLVMInitializeBPFTargetMC();
void LLVMInitializeBPFAsmPrinter();
}

namespace bulwark::backend {

namespace {

using Clock = std::chrono::steady_clock;
double msSince(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

void initBpf() {
  static std::once_flag once;
  std::call_once(once, [] {
    LLVMInitializeBPFTargetInfo();
    LLVMInitializeBPFTarget();
    LLVMInitializeBPFTargetMC();
    LLVMInitializeBPFAsmPrinter();
  });
}

std::string hookSuffix(HookId h) {
  // the C identifier of hooks.def: FILE_OPEN
  static const char *ids[] = {
#define BW_HOOK(id, name, kind, attach, summary) #id,
#include "hooks.def"
  };
  return ids[static_cast<size_t>(h)];
}

BackendError internal(std::string msg) {
  return {BackendError::Kind::Internal, {}, std::move(msg)};
}

std::unique_ptr<llvm::Module> parseTemplate(llvm::LLVMContext &ctx, std::string_view name,
                                            std::vector<BackendError> &errs) {
  const TemplateBlob *blob = findTemplate(name);
  if (!blob) {
    errs.push_back(internal("no BPF template for " + std::string(name)));
    return nullptr;
  }
  llvm::MemoryBufferRef ref(
      llvm::StringRef(reinterpret_cast<const char *>(blob->data), blob->size), name);
  auto m = llvm::parseBitcodeFile(ref, ctx);
  if (!m) {
    errs.push_back(internal("cannot read template bitcode " + std::string(name) + ": " +
                            llvm::toString(m.takeError())));
    return nullptr;
  }
  return std::move(*m);
}

// process.exe: the common string whose object the library can give alone (bw_current_exe).
constexpr uint32_t kExeSlot = 1;

// Position of group `id` in Lowered::identity (the index of the bw_cfg_ident_* rodata), or
// its size when the group is not an identity group.
uint32_t identityIndex(const Lowered &low, uint32_t id) {
  uint32_t i = 0;
  while (i < low.identity.size() && low.identity[i].group != id)
    ++i;
  return i;
}

// Hook string fields whose decision needs only their object when no identity group on them
// reads its view: slot -> bits of those groups (positions in Lowered::identity).
std::map<uint32_t, uint32_t> objectOnlyFields(const Lowered &low, const LoweredHook &h) {
  std::map<uint32_t, uint32_t> bits;  // string slot -> identity groups (bits) reading it
  std::set<uint32_t> other;           // string slots some other group reads
  for (uint32_t gi : h.groups) {
    const Group &g = low.groups[gi];
    if (g.field.slotKind != SlotKind::Str)
      continue;
    uint32_t index = identityIndex(low, g.id);
    bool extractedByHook = g.field.slot >= BW_COMMON_STR_SLOTS || g.field.slot == kExeSlot;
    if (!g.identity || index >= low.identity.size() || !extractedByHook)
      other.insert(g.field.slot);
    else
      bits[g.field.slot] |= 1u << index;
  }
  for (uint32_t s : other)
    bits.erase(s);
  return bits;
}

class DecisionGen {
public:
  DecisionGen(llvm::Module &gen, llvm::Module &lib, const Lowered &low)
      : gen_(gen), lib_(lib), low_(low) {}

  // Generates bw_need_<sfx> and bw_decide_<sfx> (the names the hook's template calls).
  void hook(const LoweredHook &h, const std::string &sfx) {
    auto &ctx = gen_.getContext();
    // bw_need_<H>
    {
      auto *fty = llvm::FunctionType::get(llvm::Type::getInt64Ty(ctx), false);
      auto *f = llvm::Function::Create(fty, llvm::GlobalValue::ExternalLinkage, "bw_need_" + sfx, gen_);
      BpfBuilder b(gen_, f);
      b.ir().SetInsertPoint(b.block("entry"));
      b.ir().CreateRet(b.c64(h.needMask));
    }
    // bw_has_rules_<H>: 0 for a program that only keeps bw_m_ident current
    {
      auto *fty = llvm::FunctionType::get(llvm::Type::getInt32Ty(ctx), false);
      auto *f = llvm::Function::Create(fty, llvm::GlobalValue::ExternalLinkage, "bw_has_rules_" + sfx, gen_);
      BpfBuilder b(gen_, f);
      b.ir().SetInsertPoint(b.block("entry"));
      b.ir().CreateRet(b.c32(h.hasRules ? 1 : 0));
    }
    auto *ptrTy = llvm::PointerType::get(ctx, 0);
    lazy(h, sfx);
    auto *fty = llvm::FunctionType::get(llvm::Type::getInt32Ty(ctx), {ptrTy}, false);
    auto *f = llvm::Function::Create(fty, llvm::GlobalValue::ExternalLinkage, "bw_decide_" + sfx, gen_);
    llvm::Value *ev = f->getArg(0);
    BpfBuilder b(gen_, f);
    auto *entry = b.block("entry");
    b.ir().SetInsertPoint(entry);
    llvm::Value *atoms = b.zeroedScratch(kAtomWords, "atoms");
    llvm::Value *best = b.c32(h.alwaysWord);
    // groups always looked up first, then each gated group only if an atom it waits for is set
    for (uint32_t gi : h.groups)
      if (!h.gates.count(gi))
        best = b.umin(best, lookup(b, low_.groups[gi], ev, atoms));
    for (const auto &[gi, waits] : h.gates) {
      auto *run = b.block("group.gated");
      auto *next = b.block("group.next");
      llvm::BasicBlock *before = b.ir().GetInsertBlock();
      b.ir().CreateCondBr(b.anyBit(atoms, waits), run, next);
      b.ir().SetInsertPoint(run);
      llvm::Value *ran = b.umin(best, lookup(b, low_.groups[gi], ev, atoms));
      llvm::BasicBlock *ranEnd = b.ir().GetInsertBlock();
      b.ir().CreateBr(next);
      b.ir().SetInsertPoint(next);
      auto *phi = b.ir().CreatePHI(b.i32(), 2);
      phi->addIncoming(best, before);
      phi->addIncoming(ran, ranEnd);
      best = phi;
    }
    auto *done = b.block("done");
    llvm::BasicBlock *cur = b.ir().GetInsertBlock();
    std::vector<std::pair<llvm::Value *, llvm::BasicBlock *>> incoming;
    for (const auto &c : h.compounds) {
      auto *eval = b.block("rule.eval");
      auto *take = b.block("rule.take");
      auto *next = b.block("rule.next");
      b.ir().SetInsertPoint(cur);
      b.ir().CreateCondBr(b.ir().CreateICmpUGT(best, b.c32(c.word)), eval, next);
      b.ir().SetInsertPoint(eval);
      llvm::Value *v = cond(b, c.cond, ev, atoms);
      b.ir().CreateCondBr(v, take, next);
      b.ir().SetInsertPoint(take);
      b.ir().CreateBr(done);
      incoming.push_back({b.c32(c.word), take});
      cur = next;
    }
    b.ir().SetInsertPoint(cur);
    b.ir().CreateBr(done);
    incoming.push_back({best, cur});
    b.ir().SetInsertPoint(done);
    auto *phi = b.ir().CreatePHI(b.i32(), static_cast<unsigned>(incoming.size()));
    for (auto &[v, bb] : incoming)
      phi->addIncoming(v, bb);
    b.ir().CreateRet(phi);
  }

  // bw_lazy_<sfx>(ev): for each hook string field that only identity groups read, marks it
  // object-only unless one of those groups reads its view this load (bw_object_only);
  // returns the need bits so marked (the template extracts them fully for a record).
  void lazy(const LoweredHook &h, const std::string &sfx) {
    auto &ctx = gen_.getContext();
    auto *ptrTy = llvm::PointerType::get(ctx, 0);
    auto *f = llvm::Function::Create(llvm::FunctionType::get(llvm::Type::getInt64Ty(ctx), {ptrTy}, false),
                                     llvm::GlobalValue::ExternalLinkage, "bw_lazy_" + sfx, gen_);
    BpfBuilder b(gen_, f);
    b.ir().SetInsertPoint(b.block("entry"));
    llvm::Value *mask = b.c64(0);
    for (const auto &[slot, bits] : objectOnlyFields(low_, h))
      mask = b.ir().CreateOr(mask, b.callLib(lib_, "bw_object_only",
                                             {f->getArg(0), b.c32(slot), b.c32(bits),
                                              b.c64(1ull << (24 + slot))}));
    b.ir().CreateRet(mask);
  }

  // bw_kprobe_arg_<sfx>(i): descriptor (bw_kprobe.h) of register argument i of a kprobe hook.
  void kprobeArgs(const LoweredHook &h, const std::string &sfx) {
    auto &ctx = gen_.getContext();
    auto *i32 = llvm::Type::getInt32Ty(ctx);
    auto *f = llvm::Function::Create(llvm::FunctionType::get(i32, {i32}, false),
                                     llvm::GlobalValue::ExternalLinkage, "bw_kprobe_arg_" + sfx, gen_);
    BpfBuilder b(gen_, f);
    b.ir().SetInsertPoint(b.block("entry"));
    llvm::Value *v = b.c32(BW_KARG_NONE);
    for (const auto &a : h.kprobeArgs) {
      if (a.index >= BW_KPROBE_ARGS)
        continue;
      uint32_t d = a.field.slotKind == SlotKind::Str
                       ? BW_KARG(BW_KARG_STR, 0u, 8u, a.field.slot)
                       : BW_KARG(BW_KARG_INT, a.isSigned ? 1u : 0u, a.size, a.field.slot);
      v = b.ir().CreateSelect(b.ir().CreateICmpEQ(f->getArg(0), b.c32(a.index)), b.c32(d), v);
    }
    b.ir().CreateRet(v);
  }

  void policyInfo(const ir::Policy &p) {
    auto &ctx = gen_.getContext();
    auto *i32 = llvm::Type::getInt32Ty(ctx);
    auto *f = llvm::Function::Create(llvm::FunctionType::get(i32, {i32}, false),
                                     llvm::GlobalValue::ExternalLinkage, "bw_policy_info", gen_);
    BpfBuilder b(gen_, f);
    b.ir().SetInsertPoint(b.block("entry"));
    llvm::Value *w = f->getArg(0);
    uint32_t mode = p.mode == ir::Mode::Audit ? 1 : 0;
    uint32_t dflt = p.defaultAction == ir::Action::Deny ? 1 : 0;
    uint32_t identExact = 0, identPrefix = 0;
    for (const auto &ig : low_.identity)
      (ig.kind == GroupKind::Prefix ? identPrefix : identExact) = 1;
    // one select per BW_INFO_* (bw_lib.h); constant after inlining
    const std::pair<uint32_t, uint32_t> answers[] = {
        {BW_INFO_DEFAULT, dflt}, {BW_INFO_MODE, mode}, {BW_INFO_IDENT_EXACT, identExact},
        {BW_INFO_IDENT_PREFIX, identPrefix},
        {BW_INFO_SCOPE_EXE, p.scope.kind == ir::Scope::Kind::Executable ? 1u : 0u}};
    llvm::Value *v = b.c32(static_cast<uint32_t>(p.rules.size()));  // BW_INFO_RULE_COUNT
    for (const auto &[what, value] : answers)
      v = b.ir().CreateSelect(b.ir().CreateICmpEQ(w, b.c32(what)), b.c32(value), v);
    b.ir().CreateRet(v);
  }

private:
  llvm::Module &gen_;
  llvm::Module &lib_;
  const Lowered &low_;

  // The lookup of one group: the lowest word it decides, its atoms set in `atoms`.
  llvm::Value *lookup(BpfBuilder &b, const Group &g, llvm::Value *ev, llvm::Value *atoms) {
    auto slot = b.c32(g.field.slot);
    if (g.identity) {  // the string is a view: only what it may add (bw_match_view)
      uint32_t where = identityIndex(low_, g.id) | (g.kind == GroupKind::Prefix ? 256 : 0);
      llvm::Value *view = b.callLib(lib_, "bw_match_view", {ev, slot, b.c32(g.id), b.c32(where), atoms});
      // the object itself: its labels, name and ancestors (bw_match.h)
      auto prefix = b.c32(g.kind == GroupKind::Prefix ? 1 : 0);
      return b.umin(view, b.callLib(lib_, "bw_match_object", {ev, slot, b.c32(g.id), prefix, atoms}));
    }
    static const char *const kLookups[] = {  // GroupKind order
        "bw_match_exact", "bw_match_prefix", "bw_match_suffix", "bw_match_glob", "bw_match_cidr", "bw_match_int"};
    uint32_t key = g.kind == GroupKind::Glob ? g.dfaBase : g.id;  // a glob's DFA, else its group
    return b.callLib(lib_, kLookups[static_cast<size_t>(g.kind)], {ev, slot, b.c32(key), atoms});
  }

  llvm::Value *cond(BpfBuilder &b, const LCond &c, llvm::Value *ev, llvm::Value *atoms) {
    auto &ir = b.ir();
    switch (c.kind) {
    case LCond::Kind::True: return ir.getTrue();
    case LCond::Kind::False: return ir.getFalse();
    case LCond::Kind::Atom: return b.testBit(atoms, c.atom);
    case LCond::Kind::IntCmp: {
      llvm::Value *x = b.loadU64(ev, offsetof(struct bw_event, ints) + 8 * c.slot, "field");
      auto k = [&](size_t i) { return b.c64(static_cast<uint64_t>(c.values.at(i))); };
      switch (c.op) {
      case ir::TestOp::Eq: {
        llvm::Value *r = ir.getFalse();
        for (size_t i = 0; i < c.values.size(); ++i)
          r = ir.CreateOr(r, ir.CreateICmpEQ(x, k(i)));
        return r;
      }
      case ir::TestOp::Lt: return ir.CreateICmpSLT(x, k(0));
      case ir::TestOp::Le: return ir.CreateICmpSLE(x, k(0));
      case ir::TestOp::Gt: return ir.CreateICmpSGT(x, k(0));
      case ir::TestOp::Ge: return ir.CreateICmpSGE(x, k(0));
      case ir::TestOp::HasFlags: return ir.CreateICmpEQ(ir.CreateAnd(x, k(0)), k(0));
      default: return ir.getFalse();
      }
    }
    case LCond::Kind::And: {
      llvm::Value *r = ir.getTrue();
      for (const auto &k : c.kids)
        r = ir.CreateAnd(r, cond(b, k, ev, atoms));
      return r;
    }
    case LCond::Kind::Or: {
      llvm::Value *r = ir.getFalse();
      for (const auto &k : c.kids)
        r = ir.CreateOr(r, cond(b, k, ev, atoms));
      return r;
    }
    case LCond::Kind::Not: return ir.CreateNot(cond(b, c.kids.at(0), ev, atoms));
    }
    return ir.getFalse();
  }
};

std::string lowerAttach(HookId h) { return std::string(Catalogue::get().hook(h).attach); }

// Suffix of the generated functions of lowered hook `i`: the hooks.def id for LSM hooks
// ("FILE_OPEN"); kprobe hooks are one per function, numbered ("KPROBE_0").
std::string generatedSuffix(const Lowered &low, size_t i) {
  const LoweredHook &h = low.hooks[i];
  if (h.hook != HookId::KPROBE)
    return hookSuffix(h.hook);
  size_t n = 0;
  for (size_t j = 0; j < i; ++j)
    n += low.hooks[j].hook == HookId::KPROBE;
  return hookSuffix(h.hook) + "_" + std::to_string(n);
}

// Makes the linked copy of the kprobe template the program of one kernel function: the
// program is renamed (ELF symbol and BTF name) and put in section kprobe/<fn>, and its calls
// go to that function's generated code.
void specialiseKprobe(llvm::Module &m, const std::string &fn, const std::string &sfx,
                      const std::string &progName) {
  const std::pair<const char *, std::string> renames[] = {
      {"bw_need_KPROBE", "bw_need_" + sfx},
      {"bw_decide_KPROBE", "bw_decide_" + sfx},
      {"bw_kprobe_arg", "bw_kprobe_arg_" + sfx},
  };
  for (const auto &[from, to] : renames)
    if (llvm::Function *f = m.getFunction(from))
      f->setName(to);
  if (llvm::Function *p = m.getFunction("bw_kprobe")) {
    p->setName(progName);
    p->setSection("kprobe/" + fn);
    if (llvm::DISubprogram *sp = p->getSubprogram())
      sp->replaceOperandWith(2, llvm::MDString::get(m.getContext(), progName));
  }
}

// "<file>:<line>:<function>\t<bytes>\t<kind>" lines of LLVM's stack usage output.
std::map<std::string, uint32_t> readStackUsage(const std::string &path) {
  std::map<std::string, uint32_t> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    auto tab = line.find('\t');
    auto colon = line.rfind(':', tab);
    if (tab == std::string::npos || colon == std::string::npos)
      continue;
    out[line.substr(colon + 1, tab - colon - 1)] = static_cast<uint32_t>(std::strtoul(line.c_str() + tab + 1, nullptr, 10));
  }
  return out;
}

// The stack and size the verifier checks before it explores a path: a program that fails
// them is refused here, located at the first rule of its hook.
void checkVerifierBounds(const ir::Policy &policy, uint32_t maxStack, const std::map<std::string, uint32_t> &frames,
                         CodegenOutput &out, std::vector<BackendError> &errs) {
  std::string err;
  if (!analyseObject(out.object, out.bounds, &err, frames)) {
    errs.push_back(internal("reading the emitted object: " + err));
    return;
  }
  for (const auto &b : out.bounds) {
    std::string why;
    if (!exceedsVerifier(b, &why, maxStack))
      continue;
    auto prog = std::find_if(out.programs.begin(), out.programs.end(), [&](const ProgramOut &p) { return p.name == b.program; });
    ir::SourceLoc loc = policy.loc;
    if (prog != out.programs.end())
      for (const auto &r : policy.rules)
        if (r.hook == prog->hook && r.kprobeFunction == prog->kprobeFunction) {
          loc = r.loc;
          break;
        }
    errs.push_back({BackendError::Kind::Verifier, loc,
                    why + ": the kernel would refuse to load it; split the policy or use fewer distinct tests on this hook"});
  }
}

} // namespace

std::vector<BackendError> generateObject(const ir::Policy &policy, const Lowered &low,
                                         const CodegenOptions &opts, CodegenOutput &out) {
  std::vector<BackendError> errs;
  initBpf();
  auto t0 = Clock::now();
  llvm::LLVMContext ctx;
  auto lib = parseTemplate(ctx, "bw_lib", errs);
  if (!lib)
    return errs;

  // Target machine for the triple and CPU the templates were built for.
  std::string cpu = "generic", features;
  for (auto &f : *lib)
    if (!f.isDeclaration()) {
      if (f.hasFnAttribute("target-cpu"))
        cpu = f.getFnAttribute("target-cpu").getValueAsString().str();
      if (f.hasFnAttribute("target-features"))
        features = f.getFnAttribute("target-features").getValueAsString().str();
      break;
    }
  std::string triple = "bpfel";
  std::string terr;
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(triple, terr);
  if (!target) {
    errs.push_back(internal("BPF target unavailable: " + terr));
    return errs;
  }
  std::unique_ptr<llvm::TargetMachine> tm(target->createTargetMachine(
      triple, cpu, features, llvm::TargetOptions(), std::nullopt, std::nullopt,
      llvm::CodeGenOptLevel::Default));

  // Generated module: decision code per hook.
  auto gen = std::make_unique<llvm::Module>("bulwark.generated", ctx);
  gen->setTargetTriple(lib->getTargetTriple());
  gen->setDataLayout(lib->getDataLayout());
  try {
    DecisionGen dg(*gen, *lib, low);
    for (size_t i = 0; i < low.hooks.size(); ++i) {
      std::string sfx = generatedSuffix(low, i);
      dg.hook(low.hooks[i], sfx);
      if (low.hooks[i].hook == HookId::KPROBE)
        dg.kprobeArgs(low.hooks[i], sfx);
    }
    dg.policyInfo(policy);
  } catch (const std::exception &e) {
    errs.push_back(internal(e.what()));
    return errs;
  }
  std::set<std::string> generated;
  for (auto &f : *gen)
    if (!f.isDeclaration()) {
      generated.insert(f.getName().str());
      f.addFnAttr(llvm::Attribute::AlwaysInline);
      f.addFnAttr(llvm::Attribute::NoUnwind);
      f.addFnAttr("target-cpu", cpu);
      if (!features.empty())
        f.addFnAttr("target-features", features);
    }

  // Library functions are static in C (so BTF calls them static functions, which the
  // verifier checks in their caller's context); give them external linkage for the link.
  for (auto &f : *lib)
    if (!f.isDeclaration() && f.hasLocalLinkage())
      f.setLinkage(llvm::GlobalValue::ExternalLinkage);

  // Link: library, then every used hook's template, then the generated module.
  llvm::Linker linker(*lib);
  // Each used hook's program, then its companions' (further attach points, same rules).
  std::vector<std::pair<HookId, HookId>> programs;  // (hook the program is for, its rules' hook)
  for (const auto &h : low.hooks) {
    if (h.hook == HookId::KPROBE)
      continue;  // linked below, one copy per function
    programs.emplace_back(h.hook, h.hook);
    for (const HookInfo *c : Catalogue::get().companions(h.hook)) programs.emplace_back(c->id, h.hook);
  }
  // Shared maps are defined by the library and by every template (same header): keep the
  // library's definition.
  auto linkTemplate = [&](const std::string &attach, const std::function<void(llvm::Module &)> &adapt) {
    auto hm = parseTemplate(ctx, attach, errs);
    if (!hm)
      return false;
    if (adapt)
      adapt(*hm);
    for (auto &g : hm->globals())
      if (!g.isDeclaration() && lib->getNamedGlobal(g.getName()) &&
          !lib->getNamedGlobal(g.getName())->isDeclaration()) {
        g.setInitializer(nullptr);
        g.setLinkage(llvm::GlobalValue::ExternalLinkage);
        g.eraseMetadata(llvm::LLVMContext::MD_dbg);
      }
    if (linker.linkInModule(std::move(hm))) {
      errs.push_back(internal("linking template " + attach + " failed"));
      return false;
    }
    return true;
  };
  for (const auto &[progHook, ruleHook] : programs) {
    std::string attach = lowerAttach(progHook);
    if (!linkTemplate(attach, nullptr))
      return errs;
    out.programs.push_back({"bw_" + attach, ruleHook, "lsm/" + attach, ""});
  }
  for (size_t i = 0; i < low.hooks.size(); ++i) {
    const LoweredHook &h = low.hooks[i];
    if (h.hook != HookId::KPROBE)
      continue;
    std::string name = "bw_kp_" + h.kprobeFunction;
    std::string sfx = generatedSuffix(low, i);
    if (!linkTemplate("kprobe", [&](llvm::Module &m) { specialiseKprobe(m, h.kprobeFunction, sfx, name); }))
      return errs;
    out.programs.push_back({name, h.hook, "kprobe/" + h.kprobeFunction, h.kprobeFunction});
  }
  if (opts.exeCacheProgram) {
    if (!linkTemplate("bprm_committed_creds", nullptr))
      return errs;
    out.helpers.push_back({"bw_exe_exec", "lsm/bprm_committed_creds", "caches process.exe at exec (bw_exe)"});
  }
  if (linker.linkInModule(std::move(gen))) {
    errs.push_back(internal("linking generated code failed"));
    return errs;
  }
  llvm::Module &m = *lib;
  m.setTargetTriple(triple);

  // Compile-time rodata defaults.
  if (auto *g = m.getNamedGlobal("bw_cfg_scope_kind")) {
    uint32_t kind = policy.scope.kind == ir::Scope::Kind::Cgroup       ? 1
                    : policy.scope.kind == ir::Scope::Kind::Executable ? 2
                                                                       : 0;
    g->setInitializer(llvm::ConstantInt::get(g->getValueType(), kind));
  }

  // Identity groups, for the helpers (bw_match.h).
  auto setU32Array = [&](const char *name, const std::vector<uint32_t> &vals) {
    auto *g = m.getNamedGlobal(name);
    if (!g)
      return;
    auto *aty = llvm::cast<llvm::ArrayType>(g->getValueType());
    std::vector<llvm::Constant *> elems;
    for (uint64_t i = 0; i < aty->getNumElements(); ++i)
      elems.push_back(llvm::ConstantInt::get(aty->getElementType(), i < vals.size() ? vals[i] : 0));
    g->setInitializer(llvm::ConstantArray::get(aty, elems));
  };
  if (!low.identity.empty()) {
    std::vector<uint32_t> groups, kinds;
    for (const auto &ig : low.identity) {
      groups.push_back(ig.group);
      kinds.push_back(ig.kind == GroupKind::Prefix ? BW_IDENT_PREFIX : BW_IDENT_EXACT);
    }
    if (auto *g = m.getNamedGlobal("bw_cfg_ident_count"))
      g->setInitializer(llvm::ConstantInt::get(g->getValueType(), groups.size()));
    setU32Array("bw_cfg_ident_group", groups);
    setU32Array("bw_cfg_ident_kind", kinds);
  }

  // Internalise everything but the programs, the license and the runtime-set rodata;
  // drop the used-lists so unreferenced maps can be removed after optimisation.
  std::set<std::string> progNames;
  for (const auto &p : out.programs)
    progNames.insert(p.name);
  for (const auto &h : out.helpers)
    progNames.insert(h.name);
  for (const char *n : {"llvm.used", "llvm.compiler.used"})
    if (auto *g = m.getNamedGlobal(n))
      g->eraseFromParent();
  for (auto &f : m) {
    if (f.isDeclaration())
      continue;
    if (progNames.count(f.getName().str()))
      continue;
    f.setLinkage(llvm::GlobalValue::InternalLinkage);
  }
  // programs of hooks the policy does not use are not linked; the library's references
  // to their decide functions are gone once the library is internalised and unused.
  if (llvm::verifyModule(m, &llvm::errs())) {
    errs.push_back(internal("linked module does not verify"));
    return errs;
  }
  out.linkMs = msSince(t0);

  auto t1 = Clock::now();
  {
    llvm::LoopAnalysisManager lam;
    llvm::FunctionAnalysisManager fam;
    llvm::CGSCCAnalysisManager cgam;
    llvm::ModuleAnalysisManager mam;
    llvm::PassBuilder pb(tm.get());
    pb.registerModuleAnalyses(mam);
    pb.registerCGSCCAnalyses(cgam);
    pb.registerFunctionAnalyses(fam);
    pb.registerLoopAnalyses(lam);
    pb.crossRegisterProxies(lam, fam, cgam, mam);
    auto mpm = pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O2);
    mpm.run(m, mam);
  }
  out.optMs = msSince(t1);

  // Maps stay external (libbpf 1.1 rejects static maps); drop the ones no code uses, but
  // keep bw_gen: the runtime's generation switch writes it, and a policy of kprobe hooks
  // only (no chain step) would otherwise not create it.
  {
    std::vector<llvm::GlobalVariable *> dead;
    for (auto &g : m.globals())
      if (!g.isDeclaration() && g.getSection() == ".maps" && g.use_empty() && g.getName() != "bw_gen")
        dead.push_back(&g);
    for (auto *g : dead)
      g->eraseFromParent();
  }

  // Every function left must be a program or a library subprogram with debug info
  // (BTF func_info is needed for every BPF subprogram).
  for (auto &f : m) {
    if (f.isDeclaration()) {
      if (!f.isIntrinsic() && !f.use_empty())
        errs.push_back(internal("unresolved function " + f.getName().str()));
      continue;
    }
    if (!f.getSubprogram())
      errs.push_back(internal("function without debug info left after inlining: " +
                              f.getName().str()));
  }
  if (!errs.empty())
    return errs;
  for (auto &g : m.globals())
    if (!g.isDeclaration() && g.getSection() == ".maps")
      out.maps.push_back(g.getName().str());
  std::sort(out.maps.begin(), out.maps.end());
  if (opts.keepIr) {
    llvm::raw_string_ostream os(out.ir);
    m.print(os, nullptr);
  }

  // BTF is all the kernel and libbpf read; DWARF would make the object ~10x larger.
  // AsmPrinter emits DWARF unless the module asks for CodeView without a DWARF version
  // (BPFAsmPrinter adds its BTF handler regardless), so say exactly that.
  if (!opts.keepDwarf) {
    llvm::SmallVector<llvm::Module::ModuleFlagEntry, 8> flags;
    m.getModuleFlagsMetadata(flags);
    if (auto *nmd = m.getModuleFlagsMetadata())
      nmd->eraseFromParent();
    for (const auto &f : flags)
      if (f.Key->getString() != "Dwarf Version" && f.Key->getString() != "CodeView")
        m.addModuleFlag(f.Behavior, f.Key->getString(), f.Val);
    m.addModuleFlag(llvm::Module::Warning, "CodeView", 1);
  }

  auto t2 = Clock::now();
  llvm::SmallVector<char, 0> buf;
  // Each function's frame as the code generator laid it out (-fstack-usage), an upper bound
  // of what the verifier counts for it.
  llvm::SmallString<64> usagePath;
  if (llvm::sys::fs::createTemporaryFile("bulwarkc-stack", "su", usagePath))
    usagePath.clear();
  tm->Options.StackUsageOutput = std::string(usagePath);
  {
    llvm::raw_svector_ostream os(buf);
    llvm::legacy::PassManager pm;
    if (tm->addPassesToEmitFile(pm, os, nullptr, llvm::CodeGenFileType::ObjectFile)) {
      errs.push_back(internal("BPF target cannot emit an object file"));
      return errs;
    }
    pm.run(m);
  }
  out.object.assign(buf.begin(), buf.end());
  std::string cerr;
  if (!canonicalizeBtf(out.object, &cerr))
    errs.push_back(internal("BTF canonicalisation: " + cerr));
  out.frames = readStackUsage(std::string(usagePath));
  const auto &frames = out.frames;
  if (!usagePath.empty())
    llvm::sys::fs::remove(usagePath);
  if (errs.empty())
    checkVerifierBounds(policy, opts.maxStack, frames, out, errs);
  out.emitMs = msSince(t2);
  return errs;
}

} // namespace bulwark::backend
