// A thin IRBuilder wrapper for the BPF idioms the decision code needs: typed loads from
// the event record, calls into the template library's matching primitives (which do the
// null-checked map lookups and bounded loops), scratch bit sets on the stack.
#pragma once

#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Module.h>

#include <cstdint>
#include <string>

namespace bulwark::backend {

class BpfBuilder {
public:
  BpfBuilder(llvm::Module &m, llvm::Function *f);

  llvm::IRBuilder<> &ir() { return b_; }
  llvm::LLVMContext &ctx() { return m_.getContext(); }
  llvm::Type *i1() { return b_.getInt1Ty(); }
  llvm::Type *i32() { return b_.getInt32Ty(); }
  llvm::Type *i64() { return b_.getInt64Ty(); }
  llvm::ConstantInt *c32(uint32_t v) { return b_.getInt32(v); }
  llvm::ConstantInt *c64(uint64_t v) { return b_.getInt64(v); }

  // Loads a 64-bit word at a byte offset from `base` (a pointer into a map value).
  llvm::Value *loadU64(llvm::Value *base, uint64_t offset, const char *name = "");
  // A zeroed array of `words` u64 on the stack (entry block).
  llvm::Value *zeroedScratch(unsigned words, const char *name);
  // Bit `bit` of a u64 array as i1.
  llvm::Value *testBit(llvm::Value *words, unsigned bit);
  // i1: any bit of `mask` set in the u64 words at `words` (mask.size() words at most)
  llvm::Value *anyBit(llvm::Value *words, llvm::ArrayRef<uint64_t> mask);
  // words[i] |= bits (an i64)
  void orWord(llvm::Value *words, unsigned i, llvm::Value *bits);
  // Calls a function of the linked template library by name; it must exist in `lib`.
  llvm::Value *callLib(llvm::Module &lib, const std::string &name,
                       llvm::ArrayRef<llvm::Value *> args);
  llvm::Value *umin(llvm::Value *a, llvm::Value *b);
  llvm::BasicBlock *block(const char *name);

private:
  llvm::Value *word(llvm::Value *words, unsigned i);  // u64 `i` of an array

  llvm::Module &m_;
  llvm::Function *f_;
  llvm::IRBuilder<> b_;
};

} // namespace bulwark::backend
