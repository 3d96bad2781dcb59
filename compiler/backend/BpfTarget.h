// How bulwarkc sets LLVM up to build a BPF object: the target, the CPU the templates were
// built for, and BTF without DWARF. Shared by the code generator (Codegen.cpp) and the
// build-time template trim (TemplateTrim.cpp), which must build objects the same way.
#pragma once

#include <llvm/ADT/SmallVector.h>
#include <llvm/IR/Function.h>
#include <llvm/IR/Metadata.h>
#include <llvm/IR/Module.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Target/TargetMachine.h>
#include <llvm/Target/TargetOptions.h>

#include <memory>
#include <mutex>
#include <optional>
#include <string>

extern "C" {
void LLVMInitializeBPFTargetInfo();
void LLVMInitializeBPFTarget();
void LLVMInitializeBPFTargetMC();
void LLVMInitializeBPFAsmPrinter();
}

namespace bulwark::backend {

inline constexpr const char *kBpfTriple = "bpfel";

inline void initBpfTarget() {
  static std::once_flag once;
  std::call_once(once, [] {
    LLVMInitializeBPFTargetInfo();
    LLVMInitializeBPFTarget();
    LLVMInitializeBPFTargetMC();
    LLVMInitializeBPFAsmPrinter();
  });
}

// The CPU and features a module's code was built for: its first function's ("generic" when
// it names none).
struct BpfCpu {
  std::string cpu = "generic", features;
};

inline BpfCpu bpfCpuOf(const llvm::Module &m) {
  BpfCpu c;
  for (const llvm::Function &f : m)
    if (!f.isDeclaration()) {
      if (f.hasFnAttribute("target-cpu"))
        c.cpu = f.getFnAttribute("target-cpu").getValueAsString().str();
      if (f.hasFnAttribute("target-features"))
        c.features = f.getFnAttribute("target-features").getValueAsString().str();
      break;
    }
  return c;
}

// The target machine for that CPU at the default optimisation level; null with *error set
// when LLVM has no BPF target.
inline std::unique_ptr<llvm::TargetMachine> bpfTargetMachine(const BpfCpu &c, std::string *error) {
  initBpfTarget();
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(kBpfTriple, *error);
  if (!target)
    return nullptr;
  return std::unique_ptr<llvm::TargetMachine>(target->createTargetMachine(
      kBpfTriple, c.cpu, c.features, llvm::TargetOptions(), std::nullopt, std::nullopt, llvm::CodeGenOptLevel::Default));
}

// Makes the module's object carry BTF only: BTF is all the kernel and libbpf read; DWARF would
// make the object ~10x larger. AsmPrinter emits DWARF unless the module asks for CodeView
// without a DWARF version (BPFAsmPrinter adds its BTF handler regardless), so the module flags
// say exactly that.
inline void askBtfOnly(llvm::Module &m) {
  llvm::SmallVector<llvm::Module::ModuleFlagEntry, 8> flags;
  m.getModuleFlagsMetadata(flags);
  if (auto *nmd = m.getModuleFlagsMetadata())
    nmd->eraseFromParent();
  for (const auto &f : flags)
    if (f.Key->getString() != "Dwarf Version" && f.Key->getString() != "CodeView")
      m.addModuleFlag(f.Behavior, f.Key->getString(), f.Val);
  m.addModuleFlag(llvm::Module::Warning, "CodeView", 1);
}

} // namespace bulwark::backend
