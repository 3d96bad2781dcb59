#include "BpfBuilder.h"

#include <stdexcept>

namespace bulwark::backend {

BpfBuilder::BpfBuilder(llvm::Module &m, llvm::Function *f) : m_(m), f_(f), b_(m.getContext()) {}

llvm::BasicBlock *BpfBuilder::block(const char *name) {
  return llvm::BasicBlock::Create(ctx(), name, f_);
}

llvm::Value *BpfBuilder::loadU64(llvm::Value *base, uint64_t offset, const char *name) {
  llvm::Value *p = b_.CreateConstInBoundsGEP1_64(b_.getInt8Ty(), base, offset);
  return b_.CreateAlignedLoad(i64(), p, llvm::MaybeAlign(8), name);
}

llvm::Value *BpfBuilder::zeroedScratch(unsigned words, const char *name) {
  llvm::IRBuilder<> eb(&f_->getEntryBlock(), f_->getEntryBlock().begin());
  auto *ty = llvm::ArrayType::get(i64(), words);
  auto *a = eb.CreateAlloca(ty, nullptr, name);
  a->setAlignment(llvm::Align(8));
  for (unsigned i = 0; i < words; ++i)
    b_.CreateAlignedStore(c64(0), b_.CreateConstInBoundsGEP2_32(ty, a, 0, i), llvm::MaybeAlign(8));
  return a;
}

llvm::Value *BpfBuilder::word(llvm::Value *words, unsigned i) {
  llvm::Value *p = b_.CreateConstInBoundsGEP1_64(i64(), words, i);
  return b_.CreateAlignedLoad(i64(), p, llvm::MaybeAlign(8));
}

void BpfBuilder::orWord(llvm::Value *words, unsigned i, llvm::Value *bits) {
  llvm::Value *p = b_.CreateConstInBoundsGEP1_64(i64(), words, i);
  b_.CreateAlignedStore(b_.CreateOr(b_.CreateAlignedLoad(i64(), p, llvm::MaybeAlign(8)), bits), p, llvm::MaybeAlign(8));
}

llvm::Value *BpfBuilder::testBit(llvm::Value *words, unsigned bit) {
  llvm::Value *s = b_.CreateLShr(word(words, bit / 64), c64(bit % 64));
  return b_.CreateTrunc(s, i1());
}

llvm::Value *BpfBuilder::anyBit(llvm::Value *words, llvm::ArrayRef<uint64_t> mask) {
  llvm::Value *any = c64(0);
  for (unsigned i = 0; i < mask.size(); ++i)
    if (mask[i])
      any = b_.CreateOr(any, b_.CreateAnd(word(words, i), c64(mask[i])));
  return b_.CreateICmpNE(any, c64(0));
}

llvm::Value *BpfBuilder::callLib(llvm::Module &lib, const std::string &name,
                                 llvm::ArrayRef<llvm::Value *> args) {
  llvm::Function *libF = lib.getFunction(name);
  if (!libF)
    throw std::runtime_error("template library has no function " + name);
  llvm::FunctionCallee callee = m_.getOrInsertFunction(name, libF->getFunctionType());
  return b_.CreateCall(callee, args);
}

llvm::Value *BpfBuilder::umin(llvm::Value *a, llvm::Value *b) {
  return b_.CreateSelect(b_.CreateICmpULT(a, b), a, b);
}

} // namespace bulwark::backend
