#include "DecisionGen.h"

#include "BpfBuilder.h"
#include "Catalogue.h"
#include "Sequence.h"
#include "bw_abi.h"
#include "bw_event.h"
#include "bw_kprobe.h"
#include "bw_match.h"

#include <array>
#include <cstddef>
#include <map>
#include <set>
#include <utility>
#include <vector>

namespace bulwark::backend {

// `bulwarkc test` models the kernel's room for marks per process.
static_assert(ir::kMarkSlots == BW_MARK_SLOTS);

namespace {

// process.exe and parent.exe: the common strings whose object the library can give alone
// (bw_match_object).
constexpr uint32_t kExeSlot = 1;
constexpr uint32_t kParentExeSlot = 4;

std::string hookSuffix(HookId h) {
  // the C identifier of hooks.def: FILE_OPEN
  static const char *ids[] = {
#define BW_HOOK(id, name, kind, attach, summary) #id,
#include "hooks.def"
  };
  return ids[static_cast<size_t>(h)];
}

// Position of group `id` in Lowered::identity (the index of the bw_cfg_ident_* rodata), or
// its size when the group is not an identity group.
uint32_t identityIndex(const Lowered &low, uint32_t id) {
  uint32_t i = 0;
  while (i < low.identity.size() && low.identity[i].group != id)
    ++i;
  return i;
}

// Hook string fields whose decision needs only their object when no identity group on them
// reads its view: slot -> bits of those groups that may (positions in Lowered::identity).
std::map<uint32_t, uint32_t> objectOnlyFields(const Lowered &low, const LoweredHook &h) {
  std::map<uint32_t, uint32_t> bits;  // string slot -> identity groups (bits) reading it
  std::set<uint32_t> other;           // string slots some other group reads
  for (uint32_t gi : h.groups) {
    const Group &g = low.groups[gi];
    if (g.field.slotKind != SlotKind::Str)
      continue;
    uint32_t index = identityIndex(low, g.id);
    bool extractedByHook = g.field.slot >= BW_COMMON_STR_SLOTS || g.field.slot == kExeSlot ||
                           g.field.slot == kParentExeSlot;
    if (!g.identity || index >= low.identity.size() || !extractedByHook)
      other.insert(g.field.slot);
    else
      bits[g.field.slot] |= g.viewAdds ? 1u << index : 0;  // a group whose view adds nothing never reads it
  }
  for (uint32_t s : other)
    bits.erase(s);
  return bits;
}

class DecisionGen {
public:
  DecisionGen(llvm::Module &gen, llvm::Module &lib, const Lowered &low)
      : gen_(gen), lib_(lib), low_(low) {}

  // Generates bw_need_<sfx>, bw_has_rules_<sfx>, bw_lazy_<sfx>, bw_precheck_need_<sfx>,
  // bw_precheck_<sfx> and bw_decide_<sfx> (the names the hook's template calls).
  void hook(const LoweredHook &h, const std::string &sfx) {
    // bw_need_<H>: the event fields the hook's tests read (BW_NEED_*)
    constant("bw_need_" + sfx, llvm::Type::getInt64Ty(gen_.getContext()), h.needMask);
    // bw_precheck_need_<H>: those the precheck reads, extracted before it
    constant("bw_precheck_need_" + sfx, llvm::Type::getInt64Ty(gen_.getContext()), h.precheckNeed);
    precheck(h, sfx);
    // bw_precheck_quiet_<H>: what a failed precheck tells of a quiet decision (Quiet.h)
    constant("bw_precheck_quiet_" + sfx, llvm::Type::getInt32Ty(gen_.getContext()),
             !h.quiet ? 0 : h.precheckQuiet ? BW_PRECHECK_QUIET : BW_PRECHECK_DECIDE);
    // bw_has_rules_<H>: 0 for a program that only keeps bw_m_ident current
    constant("bw_has_rules_" + sfx, llvm::Type::getInt32Ty(gen_.getContext()), h.hasRules ? 1 : 0);
    lazy(h, sfx);
    decide(h, sfx);
  }

  // bw_kprobe_arg_<sfx>(i): descriptor (bw_kprobe.h) of register argument i of a kprobe hook.
  void kprobeArgs(const LoweredHook &h, const std::string &sfx) {
    auto *i32 = llvm::Type::getInt32Ty(gen_.getContext());
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

  // bw_policy_info(what): the answer to each BW_INFO_* question (bw_match.h).
  void policyInfo(const ir::Policy &p) {
    auto *i32 = llvm::Type::getInt32Ty(gen_.getContext());
    auto *f = llvm::Function::Create(llvm::FunctionType::get(i32, {i32}, false),
                                     llvm::GlobalValue::ExternalLinkage, "bw_policy_info", gen_);
    BpfBuilder b(gen_, f);
    b.ir().SetInsertPoint(b.block("entry"));
    llvm::Value *w = f->getArg(0);
    uint32_t mode = p.mode == ir::Mode::Audit ? BW_MODE_AUDIT : BW_MODE_ENFORCE;
    uint32_t dflt = p.defaultAction == ir::Action::Deny ? BW_ACT_DENY : BW_ACT_ALLOW;
    uint32_t identExact = 0, identPrefix = 0;
    for (const auto &ig : low_.identity)
      (ig.kind == GroupKind::Prefix ? identPrefix : identExact) = 1;
    // one select per BW_INFO_*; constant after inlining
    const std::pair<uint32_t, uint32_t> answers[] = {
        {BW_INFO_DEFAULT, dflt}, {BW_INFO_MODE, mode}, {BW_INFO_IDENT_EXACT, identExact},
        {BW_INFO_IDENT_PREFIX, identPrefix},
        {BW_INFO_SCOPE_EXE, p.scope.kind == ir::Scope::Kind::Executable ? 1u : 0u},
        {BW_INFO_SUFFIX_KEY, low_.suffixKeyBytes}};
    llvm::Value *v = b.c32(static_cast<uint32_t>(p.rules.size()));  // BW_INFO_RULE_COUNT
    for (const auto &[what, value] : answers)
      v = b.ir().CreateSelect(b.ir().CreateICmpEQ(w, b.c32(what)), b.c32(value), v);
    b.ir().CreateRet(v);
  }

private:
  llvm::Module &gen_;
  llvm::Module &lib_;
  const Lowered &low_;

  // An external function `name`(struct bw_event *ev) returning `ret`: what a template calls.
  llvm::Function *eventFunction(const std::string &name, llvm::Type *ret) {
    auto *ptrTy = llvm::PointerType::get(gen_.getContext(), 0);
    return llvm::Function::Create(llvm::FunctionType::get(ret, {ptrTy}, false), llvm::GlobalValue::ExternalLinkage,
                                  name, gen_);
  }

  // A function of no arguments returning `value` of type `ty`.
  void constant(const std::string &name, llvm::IntegerType *ty, uint64_t value) {
    auto *f = llvm::Function::Create(llvm::FunctionType::get(ty, false), llvm::GlobalValue::ExternalLinkage,
                                     name, gen_);
    BpfBuilder b(gen_, f);
    b.ir().SetInsertPoint(b.block("entry"));
    b.ir().CreateRet(llvm::ConstantInt::get(ty, value));
  }

  // bw_lazy_<sfx>(ev): for each hook string field that only identity groups read, marks it
  // object-only unless one of those groups reads its view this load (bw_object_only);
  // returns the need bits so marked (the template extracts them fully for a record).
  void lazy(const LoweredHook &h, const std::string &sfx) {
    llvm::Function *f = eventFunction("bw_lazy_" + sfx, llvm::Type::getInt64Ty(gen_.getContext()));
    BpfBuilder b(gen_, f);
    b.ir().SetInsertPoint(b.block("entry"));
    llvm::Value *mask = b.c64(0);
    for (const auto &[slot, bits] : objectOnlyFields(low_, h))
      mask = b.ir().CreateOr(mask, b.callLib(lib_, "bw_object_only",
                                             {f->getArg(0), b.c32(slot), b.c32(bits),
                                              b.c64(BW_NEED_STR(slot))}));
    b.ir().CreateRet(mask);
  }

  // bw_precheck_<sfx>(ev): BW_PRECHECK_PASS when the hook's precheck holds (or it has none), else
  // the decision when no rule holds.
  void precheck(const LoweredHook &h, const std::string &sfx) {
    llvm::Function *f = eventFunction("bw_precheck_" + sfx, llvm::Type::getInt32Ty(gen_.getContext()));
    BpfBuilder b(gen_, f);
    b.ir().SetInsertPoint(b.block("entry"));
    if (h.precheck.kind == LCond::Kind::True) {
      b.ir().CreateRet(b.c32(BW_PRECHECK_PASS));
      return;
    }
    llvm::Value *atoms = llvm::ConstantPointerNull::get(llvm::PointerType::get(gen_.getContext(), 0));
    SetLookups sets;
    if (!h.precheckGroups.empty()) {  // the sets it reads, each when a test first needs it; the decision looks them up again
      atoms = b.zeroedScratch(kAtomWords, "precheck.atoms");
      for (uint32_t gi : h.precheckGroups)
        sets.looked[gi] = b.zeroedScratch(1, "precheck.looked");
    }
    llvm::Value *holds = lazyCond(b, h, h.precheck, f->getArg(0), atoms, sets);
    b.ir().CreateRet(b.ir().CreateSelect(holds, b.c32(BW_PRECHECK_PASS), b.c32(h.precheckWord)));
  }

  // The precheck's sets: a flag per group, set once it is looked up.
  struct SetLookups {
    std::map<uint32_t, llvm::Value *> looked;
  };

  // cond, evaluated left to right with `and`/`or` cut short, where an atom's set is looked up
  // only when a test first reads it: a precheck whose cheap tests come first (precheckHook)
  // looks up no set for an event they rule out.
  llvm::Value *lazyCond(BpfBuilder &b, const LoweredHook &h, const LCond &c, llvm::Value *ev, llvm::Value *atoms,
                        SetLookups &sets) {
    auto &ir = b.ir();
    switch (c.kind) {
    case LCond::Kind::Atom:
      if (c.atom < h.atomGroup.size())
        lookupOnce(b, h.atomGroup[c.atom], ev, atoms, sets);
      return cond(b, c, ev, atoms);
    case LCond::Kind::Not: return ir.CreateNot(lazyCond(b, h, c.kids.at(0), ev, atoms, sets));
    case LCond::Kind::And:
    case LCond::Kind::Or: {
      bool isAnd = c.kind == LCond::Kind::And;
      auto *done = b.block(isAnd ? "and.done" : "or.done");
      std::vector<std::pair<llvm::Value *, llvm::BasicBlock *>> incoming;
      for (size_t i = 0; i < c.kids.size(); ++i) {
        llvm::Value *v = lazyCond(b, h, c.kids[i], ev, atoms, sets);
        if (i + 1 == c.kids.size()) {
          incoming.push_back({v, ir.GetInsertBlock()});
          ir.CreateBr(done);
          break;
        }
        auto *next = b.block(isAnd ? "and.next" : "or.next");
        incoming.push_back({isAnd ? ir.getFalse() : ir.getTrue(), ir.GetInsertBlock()});
        ir.CreateCondBr(v, isAnd ? next : done, isAnd ? done : next);
        ir.SetInsertPoint(next);
      }
      if (incoming.empty())
        return isAnd ? ir.getTrue() : ir.getFalse();
      ir.SetInsertPoint(done);
      auto *phi = ir.CreatePHI(ir.getInt1Ty(), static_cast<unsigned>(incoming.size()));
      for (auto &[v, bb] : incoming)
        phi->addIncoming(v, bb);
      return phi;
    }
    default: return cond(b, c, ev, atoms);
    }
  }

  // Group `gi`'s lookup into `atoms` unless this path looked it up already.
  void lookupOnce(BpfBuilder &b, uint32_t gi, llvm::Value *ev, llvm::Value *atoms, SetLookups &sets) {
    auto it = sets.looked.find(gi);
    if (it == sets.looked.end())
      return;
    auto &ir = b.ir();
    auto *run = b.block("set.lookup");
    auto *next = b.block("set.looked");
    llvm::Value *flag = ir.CreateLoad(ir.getInt64Ty(), it->second, "looked");
    ir.CreateCondBr(ir.CreateICmpEQ(flag, b.c64(0)), run, next);
    ir.SetInsertPoint(run);
    lookup(b, low_.groups[gi], ev, atoms);
    ir.CreateStore(b.c64(1), it->second);
    ir.CreateBr(next);
    ir.SetInsertPoint(next);
  }

  // bw_decide_<sfx>(ev): the lowest decision word among the group lookups and the compound
  // rules below it.
  void decide(const LoweredHook &h, const std::string &sfx) {
    llvm::Function *f = eventFunction("bw_decide_" + sfx, llvm::Type::getInt32Ty(gen_.getContext()));
    llvm::Value *ev = f->getArg(0);
    BpfBuilder b(gen_, f);
    b.ir().SetInsertPoint(b.block("entry"));
    llvm::Value *atoms = b.zeroedScratch(kAtomWords, "atoms");
    llvm::Value *best = lookupGroups(b, h, ev, atoms);
    llvm::Value *word = firstCompound(b, h, best, ev, atoms);
    setMarks(b, h, ev, atoms);
    storeEventU32(b, ev, offsetof(struct bw_event, quiet), quiet(b, h, word, ev, atoms));
    b.ir().CreateRet(word);
  }

  // bw_event.quiet (Quiet.h): the decision word is the one no rule makes, and no rule's key
  // part holds, so no rule holds for any event with this quiet key.
  llvm::Value *quiet(BpfBuilder &b, const LoweredHook &h, llvm::Value *word, llvm::Value *ev, llvm::Value *atoms) {
    if (!h.quiet)
      return b.c32(0);
    llvm::Value *holds = b.ir().CreateICmpEQ(word, b.c32(h.quietWord));
    for (const auto &p : h.quietParts)
      holds = b.ir().CreateAnd(holds, b.ir().CreateNot(cond(b, p, ev, atoms)));
    return b.ir().CreateZExt(holds, b.i32());
  }

  // The marks of every mark rule whose condition holds, set after the decision: every
  // condition is evaluated before the first mark is set, so an event's marks are seen by
  // later events only (as the host evaluator has it).
  void setMarks(BpfBuilder &b, const LoweredHook &h, llvm::Value *ev, llvm::Value *atoms) {
    std::vector<llvm::Value *> holds;
    for (const auto &m : h.markRules)
      holds.push_back(cond(b, m.cond, ev, atoms));
    for (size_t i = 0; i < h.markRules.size(); ++i) {
      auto *set = b.block("marks.set");
      auto *next = b.block("marks.next");
      b.ir().CreateCondBr(holds[i], set, next);
      b.ir().SetInsertPoint(set);
      for (const auto &mark : h.markRules[i].marks)
        b.callLib(lib_, "bw_mark_set", {b.c32(mark.who), b.c64(mark.id), b.c64(mark.forNs), b.c32(mark.flags),
                                        b.c32(h.markRules[i].ruleId)});
      b.ir().CreateBr(next);
      b.ir().SetInsertPoint(next);
    }
  }

  // The lowest word of the hook's group lookups (and `alwaysWord`): groups always looked up
  // first, then each gated group only if an atom it waits for is set.
  llvm::Value *lookupGroups(BpfBuilder &b, const LoweredHook &h, llvm::Value *ev, llvm::Value *atoms) {
    llvm::Value *best = b.c32(h.alwaysWord);
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
    return best;
  }

  // The word of the first compound rule (in id order, each evaluated only while its word is
  // below `best`) whose condition holds, else `best`.
  llvm::Value *firstCompound(BpfBuilder &b, const LoweredHook &h, llvm::Value *best, llvm::Value *ev,
                             llvm::Value *atoms) {
    auto *done = b.block("done");
    llvm::BasicBlock *cur = b.ir().GetInsertBlock();
    std::vector<std::pair<llvm::Value *, llvm::BasicBlock *>> incoming;
    bool marks = false;  // a rule here tests marks
    for (const auto &c : h.compounds) {
      auto *eval = b.block("rule.eval");
      auto *take = b.block("rule.take");
      auto *next = b.block("rule.next");
      b.ir().SetInsertPoint(cur);
      b.ir().CreateCondBr(b.ir().CreateICmpUGT(best, b.c32(c.word)), eval, next);
      b.ir().SetInsertPoint(eval);
      if (testsMarks(c.cond)) {  // the marks this rule finds (bw_mark_has notes them)
        storeEventU32(b, ev, offsetof(struct bw_event, found_n), b.c32(0));
        storeEventU32(b, ev, offsetof(struct bw_event, found_rule), b.c32(c.ruleId));
        marks = true;
      }
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
    if (marks) {  // the count now: the mark rules' tests after the decision add to it
      llvm::Value *found = loadEventU32(b, ev, offsetof(struct bw_event, found_n));
      storeEventU32(b, ev, offsetof(struct bw_event, decided_n), found);
    }
    return phi;
  }

  // The lookup of one group: the lowest word it decides, its atoms set in `atoms`.
  llvm::Value *lookup(BpfBuilder &b, const Group &g, llvm::Value *ev, llvm::Value *atoms) {
    auto slot = b.c32(g.field.slot);
    if (g.identity) {
      // the string is a view: only what it may add (bw_match_view), where it may add anything
      llvm::Value *view = nullptr;
      if (g.viewAdds) {
        uint32_t where = identityIndex(low_, g.id) | (g.kind == GroupKind::Prefix ? BW_VIEW_WHERE_PREFIX : 0);
        view = b.callLib(lib_, "bw_match_view", {ev, slot, b.c32(g.id), b.c32(where), atoms});
      }
      // the object itself: its labels, name and ancestors (bw_match.h)
      auto prefix = b.c32(g.kind == GroupKind::Prefix ? BW_IDENT_PREFIX : BW_IDENT_EXACT);
      llvm::Value *object = b.callLib(lib_, "bw_match_object", {ev, slot, b.c32(g.id), prefix, atoms});
      return view ? b.umin(view, object) : object;
    }
    if (g.kind == GroupKind::Glob && !g.heads.empty())
      return globLookup(b, g, ev, atoms);
    if (g.kind == GroupKind::Cidr && !g.nets.empty())
      return netsLookup(b, g, ev, atoms);
    static const char *const kLookups[] = {  // GroupKind order
        "bw_match_exact", "bw_match_prefix", "bw_match_suffix", "bw_match_glob", "bw_match_cidr", "bw_match_int"};
    uint32_t key = g.kind == GroupKind::Glob ? g.dfaBase : g.id;  // a glob's DFA, else its group
    return b.callLib(lib_, kLookups[static_cast<size_t>(g.kind)], {ev, slot, b.c32(key), atoms});
  }

  // A glob group decides nothing for a string whose first word matches none of its heads
  // (Dfa.h dfaHeads): its DFA is walked only when one matches. A string shorter than a head
  // cannot match it, so whatever lies past its end can only make the walk run for nothing.
  llvm::Value *globLookup(BpfBuilder &b, const Group &g, llvm::Value *ev, llvm::Value *atoms) {
    auto &ir = b.ir();
    size_t data = offsetof(struct bw_event, strs) + g.field.slot * sizeof(struct bw_str) + offsetof(struct bw_str, data);
    llvm::Value *first = b.loadU64(ev, data, "glob.first");
    llvm::Value *may = ir.getFalse();
    for (const auto &h : g.heads)
      may = ir.CreateOr(may, ir.CreateICmpEQ(ir.CreateAnd(first, b.c64(h.mask)), b.c64(h.value)));
    auto *walk = b.block("glob.walk");
    auto *done = b.block("glob.done");
    llvm::BasicBlock *before = ir.GetInsertBlock();
    ir.CreateCondBr(may, walk, done);
    ir.SetInsertPoint(walk);
    llvm::Value *walked = b.callLib(lib_, "bw_match_glob", {ev, b.c32(g.field.slot), b.c32(g.dfaBase), atoms});
    llvm::BasicBlock *walkEnd = ir.GetInsertBlock();
    ir.CreateBr(done);
    ir.SetInsertPoint(done);
    auto *phi = ir.CreatePHI(b.i32(), 2);
    phi->addIncoming(b.c32(BW_NO_RULE), before);
    phi->addIncoming(walked, walkEnd);
    return phi;
  }

  // A small address group is compared in code (Lowering: kCidrInlineMax): every network that
  // holds the address adds what it gives, as the trie's longest match would (it carries the
  // shorter networks' values). An event without the address matches nothing.
  llvm::Value *netsLookup(BpfBuilder &b, const Group &g, llvm::Value *ev, llvm::Value *atoms) {
    auto &ir = b.ir();
    size_t at = offsetof(struct bw_event, addrs) + g.field.slot * sizeof(struct bw_addr);
    llvm::Value *has = ir.CreateICmpNE(loadEventU32(b, ev, at + offsetof(struct bw_addr, family)), b.c32(0));
    llvm::Value *words[2] = {b.loadU64(ev, at + offsetof(struct bw_addr, bytes), "addr.w0"),
                             b.loadU64(ev, at + offsetof(struct bw_addr, bytes) + 8, "addr.w1")};
    llvm::Value *best = b.c32(BW_NO_RULE);
    std::array<llvm::Value *, kAtomWords> add{};
    for (const auto &n : g.nets) {
      llvm::Value *in = has;
      for (size_t i = 0; i < 2; ++i)
        if (n.mask[i])
          in = ir.CreateAnd(in, ir.CreateICmpEQ(ir.CreateAnd(words[i], b.c64(n.mask[i])), b.c64(n.value[i])));
      if (n.val.best != kNoRule)
        best = ir.CreateSelect(in, b.umin(best, b.c32(n.val.best)), best);
      for (size_t i = 0; i < kAtomWords; ++i)
        if (n.val.atoms[i]) {
          llvm::Value *bits = ir.CreateSelect(in, b.c64(n.val.atoms[i]), b.c64(0));
          add[i] = add[i] ? ir.CreateOr(add[i], bits) : bits;
        }
    }
    for (unsigned i = 0; i < kAtomWords; ++i)
      if (add[i])
        b.orWord(atoms, i, add[i]);
    return best;
  }

  // What the record tells of the deciding rule's marks (bw_event.found_n, found_rule,
  // decided_n) is written before a rule's tests and where the rules' paths meet, never on the
  // path a rule takes when it decides: code there kept the compiler from joining those paths
  // and multiplied the verifier's states past its limit (emit compares found_rule with the
  // rule that decided instead).
  static llvm::Value *loadEventU32(BpfBuilder &b, llvm::Value *ev, size_t offset) {
    auto *p = b.ir().CreateConstInBoundsGEP1_64(b.ir().getInt8Ty(), ev, offset);
    return b.ir().CreateAlignedLoad(b.ir().getInt32Ty(), p, llvm::MaybeAlign(4));
  }
  static void storeEventU32(BpfBuilder &b, llvm::Value *ev, size_t offset, llvm::Value *v) {
    auto *p = b.ir().CreateConstInBoundsGEP1_64(b.ir().getInt8Ty(), ev, offset);
    b.ir().CreateAlignedStore(v, p, llvm::MaybeAlign(4));
  }

  static bool testsMarks(const LCond &c) {
    if (c.kind == LCond::Kind::Mark)
      return true;
    for (const auto &k : c.kids)
      if (testsMarks(k))
        return true;
    return false;
  }

  // The value (i1) of a compound rule's condition.
  llvm::Value *cond(BpfBuilder &b, const LCond &c, llvm::Value *ev, llvm::Value *atoms) {
    auto &ir = b.ir();
    switch (c.kind) {
    case LCond::Kind::True: return ir.getTrue();
    case LCond::Kind::False: return ir.getFalse();
    case LCond::Kind::Atom: return b.testBit(atoms, c.atom);
    case LCond::Kind::Mark:
      return ir.CreateICmpNE(
          b.callLib(lib_, "bw_mark_has", {ev, b.c32(c.markWho), b.c64(c.markId), b.c32(c.failClosed ? 1 : 0)}),
          b.c32(0));
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

} // namespace

std::string generatedSuffix(const Lowered &low, size_t i) {
  const LoweredHook &h = low.hooks[i];
  if (h.hook != HookId::KPROBE)
    return hookSuffix(h.hook);
  size_t n = 0;
  for (size_t j = 0; j < i; ++j)
    n += low.hooks[j].hook == HookId::KPROBE;
  return hookSuffix(h.hook) + "_" + std::to_string(n);
}

void generateDecisionCode(llvm::Module &gen, llvm::Module &lib, const Lowered &low,
                          const ir::Policy &policy) {
  DecisionGen dg(gen, lib, low);
  for (size_t i = 0; i < low.hooks.size(); ++i) {
    std::string sfx = generatedSuffix(low, i);
    dg.hook(low.hooks[i], sfx);
    if (low.hooks[i].hook == HookId::KPROBE)
      dg.kprobeArgs(low.hooks[i], sfx);
  }
  dg.policyInfo(policy);
}

} // namespace bulwark::backend
