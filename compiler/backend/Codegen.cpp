#include "Codegen.h"

#include "BtfCanon.h"
#include "BpfTarget.h"
#include "ElfTrim.h"
#include "Catalogue.h"
#include "DecisionGen.h"
#include "Templates.h"
#include "VerifierBounds.h"
#include "Contract.h"  // abi/: bw_abi.h, bw_match.h, rodata.def

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

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <fstream>
#include <functional>
#include <mutex>
#include <set>
#include <utility>

namespace bulwark::backend {

namespace {

using Clock = std::chrono::steady_clock;
double msSince(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
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


std::string lowerAttach(HookId h) { return std::string(Catalogue::get().hook(h).attach); }

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


// ---- the passes of generateObject ----

// What the passes share: their inputs, the modules being built and the output so far.
struct Codegen {
  Codegen(const ir::Policy &p, const Lowered &l, const CodegenOptions &o, CodegenOutput &out)
      : policy(p), low(l), opts(o), out(out) {}

  const ir::Policy &policy;
  const Lowered &low;
  const CodegenOptions &opts;
  CodegenOutput &out;
  std::vector<BackendError> errs;
  const char *pass = "";  // the pass running, for the missing-input error
  llvm::LLVMContext ctx;
  // The template library; linkPrograms links the programs and the decision code into it.
  std::unique_ptr<llvm::Module> module;
  bool linked = false;
  std::unique_ptr<llvm::Module> gen;  // the decision code, until linked
  std::unique_ptr<llvm::TargetMachine> tm;
  BpfCpu cpu;  // what the templates were built for
};

// True when `present`; else records that the running pass lacks input `what` (passes run
// out of order).
bool has(Codegen &s, bool present, const char *what) {
  if (!present)
    s.errs.push_back(internal(std::string("code generation pass ") + s.pass + " has no " + what));
  return present;
}

// Reads the template library's bitcode into s.module.
void readLibrary(Codegen &s) { s.module = parseTemplate(s.ctx, "bw_lib", s.errs); }

// The target machine for the CPU of the library's code: s.tm, s.cpu.
void makeTargetMachine(Codegen &s) {
  if (!has(s, s.module != nullptr, "template library"))
    return;
  s.cpu = bpfCpuOf(*s.module);
  std::string err;
  s.tm = bpfTargetMachine(s.cpu, &err);
  if (!s.tm)
    s.errs.push_back(internal("BPF target unavailable: " + err));
}

// The decision code of every hook in s.gen, always inlined, built for the templates' CPU.
void generateDecisions(Codegen &s) {
  if (!has(s, s.module != nullptr, "template library"))
    return;
  s.gen = std::make_unique<llvm::Module>("bulwark.generated", s.ctx);
  s.gen->setTargetTriple(s.module->getTargetTriple());
  s.gen->setDataLayout(s.module->getDataLayout());
  try {
    generateDecisionCode(*s.gen, *s.module, s.low, s.policy);
  } catch (const std::exception &e) {
    s.errs.push_back(internal(e.what()));
    return;
  }
  for (auto &f : *s.gen)
    if (!f.isDeclaration()) {
      f.addFnAttr(llvm::Attribute::AlwaysInline);
      f.addFnAttr(llvm::Attribute::NoUnwind);
      f.addFnAttr("target-cpu", s.cpu.cpu);
      if (!s.cpu.features.empty())
        f.addFnAttr("target-features", s.cpu.features);
    }
}

// An LSM program: the hook it is for, its rules' hook, whether it decides (false: it only
// keeps bw_m_ident current) and its hook's quiet decisions (`rules`).
struct LsmProgram {
  HookId hook, ruleHook;
  bool decides;
  const LoweredHook *rules;
};

// The LSM programs of the used hooks, each followed by its companions' (further attach
// points, same rules). Kprobes are apart.
std::vector<LsmProgram> lsmPrograms(const Lowered &low) {
  std::vector<LsmProgram> programs;
  for (const auto &h : low.hooks) {
    if (h.hook == HookId::KPROBE)
      continue;
    programs.push_back({h.hook, h.hook, h.hasRules, &h});
    for (const HookInfo *c : Catalogue::get().companions(h.hook))
      programs.push_back({c->id, h.hook, h.hasRules, &h});
  }
  return programs;
}

// Links template `attach` (after `adapt`, if given) into s.module. Shared maps are defined
// by the library and by every template (same header): the library's definition is kept.
bool linkTemplate(Codegen &s, llvm::Linker &linker, const std::string &attach,
                  const std::function<void(llvm::Module &)> &adapt = nullptr) {
  auto hm = parseTemplate(s.ctx, attach, s.errs);
  if (!hm)
    return false;
  if (adapt)
    adapt(*hm);
  for (auto &g : hm->globals())
    if (!g.isDeclaration() && s.module->getNamedGlobal(g.getName()) &&
        !s.module->getNamedGlobal(g.getName())->isDeclaration()) {
      g.setInitializer(nullptr);
      g.setLinkage(llvm::GlobalValue::ExternalLinkage);
      g.eraseMetadata(llvm::LLVMContext::MD_dbg);
    }
  if (linker.linkInModule(std::move(hm))) {
    s.errs.push_back(internal("linking template " + attach + " failed"));
    return false;
  }
  return true;
}

// The helpers of a policy that sets or tests marks: marks follow a fork and an exec.
struct MarkHelper {
  const char *templateName, *program, *section, *purpose;
};
constexpr MarkHelper kMarkHelpers[] = {
    {"marks_fork", "bw_marks_fork", "lsm/task_alloc", "copies a process's marks to a child it forks (bw_marks)"},
    {"marks_thread_exec", "bw_marks_thread_exec", "lsm/bprm_check_security",
     "copies a process's marks to a thread that executes a program, which is to lead it (bw_marks)"},
    {"marks_exec", "bw_marks_exec", "lsm/bprm_committed_creds", "drops `until exec` marks at exec (bw_marks)"},
};

// Links into s.module every used hook's template (s.out.programs), one kprobe template per
// kernel function, the exec helper if asked and the mark helpers if needed (s.out.helpers),
// then s.gen.
void linkPrograms(Codegen &s) {
  if (!has(s, s.module && s.gen, "library and decision code"))
    return;
  // Library functions are static in C (so BTF calls them static functions, which the
  // verifier checks in their caller's context); give them external linkage for the link.
  for (auto &f : *s.module)
    if (!f.isDeclaration() && f.hasLocalLinkage())
      f.setLinkage(llvm::GlobalValue::ExternalLinkage);
  llvm::Linker linker(*s.module);
  for (const LsmProgram &p : lsmPrograms(s.low)) {
    std::string attach = lowerAttach(p.hook);
    if (!linkTemplate(s, linker, attach))
      return;
    s.out.programs.push_back({"bw_" + attach, p.ruleHook, "lsm/" + attach, "", p.decides, p.rules->quiet,
                              p.rules->quietView, p.rules->quietAncestors});
  }
  for (size_t i = 0; i < s.low.hooks.size(); ++i) {
    const LoweredHook &h = s.low.hooks[i];
    if (h.hook != HookId::KPROBE)
      continue;
    std::string name = "bw_kp_" + h.kprobeFunction, sfx = generatedSuffix(s.low, i);
    if (!linkTemplate(s, linker, "kprobe", [&](llvm::Module &m) { specialiseKprobe(m, h.kprobeFunction, sfx, name); }))
      return;
    s.out.programs.push_back({name, h.hook, "kprobe/" + h.kprobeFunction, h.kprobeFunction});
  }
  if (s.opts.exeCacheProgram) {
    if (!linkTemplate(s, linker, "bprm_committed_creds"))
      return;
    s.out.helpers.push_back({"bw_exe_exec", "lsm/bprm_committed_creds", "caches process.exe at exec (bw_exe)"});
  }
  if (s.low.usesMarks)
    for (const MarkHelper &h : kMarkHelpers) {
      if (!linkTemplate(s, linker, h.templateName))
        return;
      s.out.helpers.push_back({h.program, h.section, h.purpose});
    }
  if (linker.linkInModule(std::move(s.gen))) {
    s.errs.push_back(internal("linking generated code failed"));
    return;
  }
  s.module->setTargetTriple(kBpfTriple);
  s.linked = true;
}

// Sets u32 array rodata `name` (if present) to `vals`, zero past their end.
llvm::StringRef rodataName(abi::RodataId id) {
  std::string_view n = abi::name(id);
  return {n.data(), n.size()};
}

void setU32Array(llvm::Module &m, llvm::StringRef name, const std::vector<uint32_t> &vals) {
  auto *g = m.getNamedGlobal(name);
  if (!g)
    return;
  auto *aty = llvm::cast<llvm::ArrayType>(g->getValueType());
  std::vector<llvm::Constant *> elems;
  for (uint64_t i = 0; i < aty->getNumElements(); ++i)
    elems.push_back(llvm::ConstantInt::get(aty->getElementType(), i < vals.size() ? vals[i] : 0));
  g->setInitializer(llvm::ConstantArray::get(aty, elems));
}

// Compile-time rodata defaults: the scope kind, and the identity groups for the helpers
// (bw_match.h).
void setRodata(Codegen &s) {
  if (!has(s, s.linked, "linked module"))
    return;
  llvm::Module &m = *s.module;
  if (auto *g = m.getNamedGlobal(rodataName(abi::RodataId::scope_kind))) {
    uint32_t kind = s.policy.scope.kind == ir::Scope::Kind::Cgroup       ? BW_SCOPE_CGROUP
                    : s.policy.scope.kind == ir::Scope::Kind::Executable ? BW_SCOPE_EXECUTABLE
                                                                         : BW_SCOPE_HOST;
    g->setInitializer(llvm::ConstantInt::get(g->getValueType(), kind));
  }
  if (s.low.identity.empty())
    return;
  std::vector<uint32_t> groups, kinds;
  for (const auto &ig : s.low.identity) {
    groups.push_back(ig.group);
    kinds.push_back(ig.kind == GroupKind::Prefix ? BW_IDENT_PREFIX : BW_IDENT_EXACT);
  }
  if (auto *g = m.getNamedGlobal(rodataName(abi::RodataId::ident_count)))
    g->setInitializer(llvm::ConstantInt::get(g->getValueType(), groups.size()));
  setU32Array(m, rodataName(abi::RodataId::ident_group), groups);
  setU32Array(m, rodataName(abi::RodataId::ident_kind), kinds);
}

// Internalises every function but the programs and helpers, drops the used-lists so
// unreferenced maps can be removed after optimisation, and verifies the module.
void internalise(Codegen &s) {
  if (!has(s, s.linked, "linked module"))
    return;
  llvm::Module &m = *s.module;
  std::set<std::string> progNames;
  for (const auto &p : s.out.programs)
    progNames.insert(p.name);
  for (const auto &h : s.out.helpers)
    progNames.insert(h.name);
  for (const char *n : {"llvm.used", "llvm.compiler.used"})
    if (auto *g = m.getNamedGlobal(n))
      g->eraseFromParent();
  for (auto &f : m)
    if (!f.isDeclaration() && !progNames.count(f.getName().str()))
      f.setLinkage(llvm::GlobalValue::InternalLinkage);
  // programs of hooks the policy does not use are not linked; the library's references
  // to their decide functions are gone once the library is internalised and unused.
  if (llvm::verifyModule(m, &llvm::errs()))
    s.errs.push_back(internal("linked module does not verify"));
}

// The default O2 module pipeline over the linked module.
void optimise(Codegen &s) {
  if (!has(s, s.linked && s.tm, "linked module or target machine"))
    return;
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PassBuilder pb(s.tm.get());
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  auto mpm = pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O2);
  mpm.run(*s.module, mam);
}

// True for a map the runtime reads at load though no code may: bw_m_exact and bw_m_prefix
// hold an identity group's full values (BW_GROUP_IDENT_VAL), which label its objects, also
// where the group's lookups read only bw_m_ident (a group without a view).
bool readAtLoad(const Lowered &low, llvm::StringRef map) {
  for (const auto &ig : low.identity)
    if (std::string_view(map) == abi::name(ig.kind == GroupKind::Prefix ? abi::MapId::m_prefix : abi::MapId::m_exact))
      return true;
  return false;
}

// Erases the maps no code uses. Maps stay external (libbpf 1.1 rejects static maps); bw_gen
// is kept: the runtime's generation switch writes it, and a policy of kprobe hooks only
// (no chain step) would otherwise not create it.
void dropUnusedMaps(Codegen &s) {
  if (!has(s, s.linked, "linked module"))
    return;
  std::vector<llvm::GlobalVariable *> dead;
  for (auto &g : s.module->globals())
    if (!g.isDeclaration() && g.getSection() == ".maps" && g.use_empty() && g.getName() != "bw_gen" &&
        !readAtLoad(s.low, g.getName()))
      dead.push_back(&g);
  for (auto *g : dead)
    g->eraseFromParent();
}

// Every function left must be a program or a library subprogram with debug info (BTF
// func_info is needed for every BPF subprogram), every call resolved.
void checkFunctions(Codegen &s) {
  if (!has(s, s.linked, "linked module"))
    return;
  for (auto &f : *s.module) {
    if (f.isDeclaration()) {
      if (!f.isIntrinsic() && !f.use_empty())
        s.errs.push_back(internal("unresolved function " + f.getName().str()));
      continue;
    }
    if (!f.getSubprogram())
      s.errs.push_back(internal("function without debug info left after inlining: " + f.getName().str()));
  }
}

// The object's maps, sorted, in s.out.maps; the optimised IR in s.out.ir if asked.
void listMaps(Codegen &s) {
  if (!has(s, s.linked, "linked module"))
    return;
  for (auto &g : s.module->globals())
    if (!g.isDeclaration() && g.getSection() == ".maps")
      s.out.maps.push_back(g.getName().str());
  std::sort(s.out.maps.begin(), s.out.maps.end());
  if (s.opts.keepIr) {
    llvm::raw_string_ostream os(s.out.ir);
    s.module->print(os, nullptr);
  }
}

// Unless DWARF is asked for, makes the object carry BTF only (BpfTarget.h).
void btfOnly(Codegen &s) {
  if (s.opts.keepDwarf || !has(s, s.linked, "linked module"))
    return;
  askBtfOnly(*s.module);
}

// The BPF ELF object in s.out.object, and each function's frame as the code generator laid
// it out (-fstack-usage, an upper bound of what the verifier counts for it) in s.out.frames.
void emitObject(Codegen &s) {
  if (!has(s, s.linked && s.tm, "linked module or target machine"))
    return;
  llvm::SmallString<64> usagePath;
  if (llvm::sys::fs::createTemporaryFile("bulwarkc-stack", "su", usagePath))
    usagePath.clear();
  s.tm->Options.StackUsageOutput = std::string(usagePath);
  llvm::SmallVector<char, 0> buf;
  {
    llvm::raw_svector_ostream os(buf);
    llvm::legacy::PassManager pm;
    if (s.tm->addPassesToEmitFile(pm, os, nullptr, llvm::CodeGenFileType::ObjectFile))
      s.errs.push_back(internal("BPF target cannot emit an object file"));
    else
      pm.run(*s.module);
  }
  if (s.errs.empty()) {
    s.out.object.assign(buf.begin(), buf.end());
    s.out.frames = readStackUsage(std::string(usagePath));
  }
  if (!usagePath.empty())
    llvm::sys::fs::remove(usagePath);
}

// Puts the object's BTF in an order independent of the link (BtfCanon.h).
void canonicaliseObjectBtf(Codegen &s) {
  if (!has(s, !s.out.object.empty(), "object"))
    return;
  std::string err;
  if (!canonicalizeBtf(s.out.object, &err))
    s.errs.push_back(internal("BTF canonicalisation: " + err));
}

// Leaves out the sections no loader reads (ElfTrim.h).
void trimObject(Codegen &s) {
  if (!has(s, !s.out.object.empty(), "object"))
    return;
  std::string err;
  if (!elfTrim(s.out.object, &err))
    s.errs.push_back(internal("object trim: " + err));
}

// Refuses a program the verifier would refuse for its stack or size (s.out.bounds).
void checkObjectBounds(Codegen &s) {
  if (has(s, !s.out.object.empty(), "object"))
    checkVerifierBounds(s.policy, s.opts.maxStack, s.out.frames, s.out, s.errs);
}

// A step of generateObject; the time it takes adds to `timer` (none: not counted).
struct Pass {
  const char *name;
  void (*run)(Codegen &);
  double CodegenOutput::*timer;
};

// In order; each takes what the passes before it left and stops the run with an error.
const Pass kPasses[] = {
    {"read-library", readLibrary, &CodegenOutput::linkMs},
    {"target-machine", makeTargetMachine, &CodegenOutput::linkMs},
    {"generate-decisions", generateDecisions, &CodegenOutput::linkMs},
    {"link-programs", linkPrograms, &CodegenOutput::linkMs},
    {"set-rodata", setRodata, &CodegenOutput::linkMs},
    {"internalise", internalise, &CodegenOutput::linkMs},
    {"optimise", optimise, &CodegenOutput::optMs},
    {"drop-unused-maps", dropUnusedMaps, nullptr},
    {"check-functions", checkFunctions, nullptr},
    {"list-maps", listMaps, nullptr},
    {"btf-only", btfOnly, nullptr},
    {"emit-object", emitObject, &CodegenOutput::emitMs},
    {"canonicalise-btf", canonicaliseObjectBtf, &CodegenOutput::emitMs},
    {"trim-object", trimObject, &CodegenOutput::emitMs},
    {"verifier-bounds", checkObjectBounds, &CodegenOutput::emitMs},
};

} // namespace

std::vector<BackendError> generateObject(const ir::Policy &policy, const Lowered &low,
                                         const CodegenOptions &opts, CodegenOutput &out) {
  initBpfTarget();
  auto owned = std::make_unique<Codegen>(policy, low, opts, out);
  Codegen &s = *owned;
  for (const Pass &p : kPasses) {
    s.pass = p.name;
    auto start = Clock::now();
    p.run(s);
    if (p.timer)
      out.*p.timer += msSince(start);
    if (!s.errs.empty())
      break;
  }
  std::vector<BackendError> errs = std::move(s.errs);
  if (opts.leaveToExit)
    (void)owned.release();
  return errs;
}

} // namespace bulwark::backend
