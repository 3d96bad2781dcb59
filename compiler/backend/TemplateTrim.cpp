// What TemplateTrim.h says; the tool's main is bulwark_template_trim.cpp.
#include "TemplateTrim.h"

#include "BtfCanon.h"
#include "BpfTarget.h"

#include <llvm/BinaryFormat/Dwarf.h>
#include <llvm/Bitcode/BitcodeReader.h>
#include <llvm/Bitcode/BitcodeWriter.h>
#include <llvm/IR/DebugInfo.h>
#include <llvm/IR/DebugInfoMetadata.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/Module.h>
#include <llvm/Support/Error.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

namespace bulwark::backend {

namespace {

struct Failure {
  std::string what;
};

std::unique_ptr<llvm::Module> readBytes(llvm::LLVMContext &ctx, std::string_view bitcode) {
  auto m = llvm::parseBitcodeFile(llvm::MemoryBufferRef(llvm::StringRef(bitcode.data(), bitcode.size()), "template"), ctx);
  if (!m)
    throw Failure{"cannot read bitcode: " + llvm::toString(m.takeError())};
  return std::move(*m);
}

// The BPF object of `m` as bulwarkc builds one: the CPU and features of its first function,
// the default optimisation level, BTF only (no DWARF), .BTF canonicalised.
std::vector<uint8_t> objectOf(llvm::Module &m) {
  std::string err;
  std::unique_ptr<llvm::TargetMachine> tm = bpfTargetMachine(bpfCpuOf(m), &err);
  if (!tm)
    throw Failure{"BPF target unavailable: " + err};
  m.setDataLayout(tm->createDataLayout());
  askBtfOnly(m);
  llvm::SmallVector<char, 0> buf;
  llvm::raw_svector_ostream os(buf);
  llvm::legacy::PassManager pm;
  if (tm->addPassesToEmitFile(pm, os, nullptr, llvm::CodeGenFileType::ObjectFile))
    throw Failure{"BPF target cannot emit an object file"};
  pm.run(m);
  std::vector<uint8_t> obj(buf.begin(), buf.end());
  if (!canonicalizeBtf(obj, &err))
    throw Failure{"object's BTF: " + err};
  return obj;
}

// Empties the member list of every named struct and union not in `keep`.
void trimTypes(llvm::Module &m, const std::set<std::string> &keep) {
  llvm::DebugInfoFinder finder;
  finder.processModule(m);
  for (llvm::DIType *t : finder.types()) {
    auto *c = llvm::dyn_cast<llvm::DICompositeType>(t);
    if (!c || (c->getTag() != llvm::dwarf::DW_TAG_structure_type && c->getTag() != llvm::dwarf::DW_TAG_union_type))
      continue;
    if (c->getName().empty() || !c->getRawElements() || keep.count(c->getName().str()))
      continue;
    c->replaceOperandWith(4, nullptr); // the elements (DICompositeType's operand layout)
  }
}

std::vector<uint8_t> objectOfBytes(std::string_view bitcode) {
  llvm::LLVMContext ctx;
  return objectOf(*readBytes(ctx, bitcode));
}

std::string trimmed(std::string_view bitcode) {
  std::vector<uint8_t> before = objectOfBytes(bitcode);
  std::set<std::string> keep;
  std::string err;
  if (!definedComposites(before, keep, &err))
    throw Failure{"object's BTF: " + err};
  std::string out;
  {
    llvm::LLVMContext ctx;
    std::unique_ptr<llvm::Module> m = readBytes(ctx, bitcode);
    trimTypes(*m, keep);
    llvm::raw_string_ostream os(out);
    llvm::WriteBitcodeToFile(*m, os);
  }
  if (!sameBtf(before, objectOfBytes(out), &err))
    throw Failure{"the object built from the trimmed bitcode has other types: " + err};
  return out;
}

} // namespace

std::vector<uint8_t> templateObject(std::string_view bitcode, std::string *error) {
  try {
    return objectOfBytes(bitcode);
  } catch (const Failure &f) {
    *error = f.what;
    return {};
  }
}

std::string trimTemplate(std::string_view bitcode, std::string *error) {
  try {
    return trimmed(bitcode);
  } catch (const Failure &f) {
    *error = f.what;
    return {};
  }
}

} // namespace bulwark::backend
