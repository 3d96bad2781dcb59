// Makes a module's BPF object carry BTF only: BTF is all the kernel and libbpf read; DWARF
// would make the object ~10x larger. AsmPrinter emits DWARF unless the module asks for
// CodeView without a DWARF version (BPFAsmPrinter adds its BTF handler regardless), so the
// module flags say exactly that.
#pragma once

#include <llvm/ADT/SmallVector.h>
#include <llvm/IR/Metadata.h>
#include <llvm/IR/Module.h>

namespace bulwark::backend {

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
