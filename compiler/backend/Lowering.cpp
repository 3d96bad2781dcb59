#include "Lowering.h"

#include "Dfa.h"
#include "Quiet.h"
#include "GlobPattern.h"
#include "Contract.h"  // abi/: bw_match.h, maps.def

#include <algorithm>
#include <bit>
#include <iterator>
#include <optional>
#include <set>
#include <functional>
#include <tuple>

namespace bulwark::backend {

void MatchVal::add(const MatchVal &o) {
  best = std::min(best, o.best);
  for (uint32_t i = 0; i < kAtomWords; ++i)
    atoms[i] |= o.atoms[i];
}

const char *groupKindName(GroupKind k) {
  switch (k) {
  case GroupKind::Exact: return "exact";
  case GroupKind::Prefix: return "prefix";
  case GroupKind::Suffix: return "suffix";
  case GroupKind::Glob: return "glob";
  case GroupKind::Cidr: return "cidr";
  case GroupKind::IntSet: return "intset";
  }
  return "?";
}

uint64_t fnv1a64(std::string_view s) { return bw_fnv1a64(s.data(), s.size()); }

uint64_t markId(std::string_view policy, std::string_view mark) {
  std::string key(policy);
  key += '\0';
  key += mark;
  uint64_t id = fnv1a64(key);
  return id ? id : 1;
}

uint64_t needBit(const FieldInfo &f) {
  switch (f.slotKind) {
  case SlotKind::Int: return 1ull << f.slot;
  case SlotKind::Addr: return 1ull << (16 + f.slot);
  case SlotKind::Str: return 1ull << (24 + f.slot);
  }
  return 0;
}

namespace {

std::string mapName(abi::MapId id) { return std::string(abi::name(id)); }

using Bytes = std::vector<uint8_t>;

void putLe(Bytes &b, uint64_t v, int n) {
  for (int i = 0; i < n; ++i)
    b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void putBe32(Bytes &b, uint32_t v) {
  for (int i = 3; i >= 0; --i)
    b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
Bytes valBytes(const MatchVal &v) {
  Bytes b;
  putLe(b, v.best, 4);
  putLe(b, 0, 4);
  for (auto w : v.atoms)
    putLe(b, w, 8);
  return b;
}
constexpr uint32_t kGroupScopeExe = BW_GROUP_SCOPE_EXE;
// Heads a glob group's code compares before its DFA walk: each costs about three instructions,
// a walk that ends in the first bytes about ninety.
constexpr size_t kMaxGlobHeads = 4;

// A path field that names a file, so a test on it can decide on the file (bw_m_ident).
// process.cgroup is a path in the cgroup hierarchy, not a file any hook acts on.
bool namesFile(const FieldInfo &f) {
  return f.type == FieldType::PATH && std::string_view(f.name) != "process.cgroup";
}

std::optional<GroupKind> mapKindOf(const ir::Test &t, bool intSetMapped) {
  switch (t.field.slotKind) {
  case SlotKind::Str:
    switch (t.op) {
    case ir::TestOp::Eq: return GroupKind::Exact;
    case ir::TestOp::Prefix: return GroupKind::Prefix;
    case ir::TestOp::Suffix: return GroupKind::Suffix;
    case ir::TestOp::Glob: return GroupKind::Glob;
    default: return std::nullopt;
    }
  case SlotKind::Addr:
    if (t.op == ir::TestOp::Eq || t.op == ir::TestOp::InCidr)
      return GroupKind::Cidr;
    return std::nullopt;
  case SlotKind::Int:
    if (t.op == ir::TestOp::Eq && intSetMapped)
      return GroupKind::IntSet;
    return std::nullopt;
  }
  return std::nullopt;
}

struct GroupData {
  // Key text -> contribution. Exact/Prefix: the string; Suffix: reversed string;
  // Cidr: 16 address bytes + 1 prefix byte; IntSet: 8 bytes LE.
  std::map<std::string, MatchVal> keys;
  // The same, but only what may only make a decision stricter (see viewVal): words of deny
  // and kill rules, and every atom (filtered by permissiveAtoms when the maps are built).
  std::map<std::string, MatchVal> strict;
  // Atoms of this group used where their holding can lead to allow or audit: positively in
  // an allow or audit rule, or under `not` in a deny or kill rule.
  std::array<uint64_t, kAtomWords> permissiveAtoms{};
  std::vector<std::pair<std::string, MatchVal>> globs;
  std::vector<ir::SourceLoc> globLocs;
};

// Byte `i` of the mask of a `plen`-bit prefix of a 16-byte address.
uint8_t prefixMaskByte(uint32_t plen, uint32_t i) {
  int keep = std::clamp<int>(static_cast<int>(plen) - static_cast<int>(i * 8), 0, 8);
  return keep == 0 ? 0 : static_cast<uint8_t>(0xff << (8 - keep));
}

std::string cidrKey(const ir::Cidr &c) {
  std::string k(17, '\0');
  uint32_t plen = std::min<uint32_t>(c.prefixLen, 128);
  for (uint32_t i = 0; i < 16; ++i)
    k[i] = static_cast<char>(c.addr[i] & prefixMaskByte(plen, i));
  k[16] = static_cast<char>(plen);
  return k;
}

// What a string entry of an identity group keeps for the process's view: `v` without the
// atoms that can lead to allow or audit (the object's labels decide those).
MatchVal viewVal(MatchVal v, const GroupData &d) {
  for (uint32_t i = 0; i < kAtomWords; ++i)
    v.atoms[i] &= ~d.permissiveAtoms[i];
  return v;
}

// `v` as a view's value of identity group `g`; notes in `g` when it can add something.
MatchVal viewValOf(Group &g, const MatchVal &v, const GroupData &d) {
  MatchVal out = viewVal(v, d);
  g.viewAdds = g.viewAdds || out != MatchVal{};
  return out;
}

// Hash and LPM map entries by map name, sorted by key bytes.
using MapEntries = std::map<std::string, std::map<Bytes, Bytes>>;

// The glob groups' DFAs as bw_m_dfa words and bw_m_dfa_acc values.
struct DfaTables {
  std::vector<uint32_t> words;
  std::vector<MatchVal> acc;
};

class Lowerer {
public:
  Lowerer(const ir::Policy &p, const LoweringLimits &l, Lowered &o) : policy(p), limits(l), out(o) {}

  std::vector<BackendError> run() {
    // A kprobe hook is one per kernel function; LSM hooks have an empty function name.
    std::set<std::pair<HookId, std::string>> hooks;
    for (const auto &r : policy.rules)
      hooks.insert({r.hook, r.hook == HookId::KPROBE ? r.kprobeFunction : std::string()});
    for (const auto &[h, fn] : hooks)
      lowerHook(h, fn);
    buildMaps();
    for (auto &lh : out.hooks)  // after buildMaps: which groups match the object
      quietKeyParts(lh, out.groups);
    if (!out.identity.empty())
      for (HookId h : kIdentityHooks)
        if (!hooks.count({h, std::string()})) {
          LoweredHook lh;
          lh.hook = h;
          lh.hasRules = false;
          out.hooks.push_back(std::move(lh));
        }
    std::sort(out.hooks.begin(), out.hooks.end(), [](const LoweredHook &a, const LoweredHook &b) {
      return std::tie(a.hook, a.kprobeFunction) < std::tie(b.hook, b.kprobeFunction);
    });
    return std::move(errors);
  }

private:
  const ir::Policy &policy;
  const LoweringLimits &limits;
  Lowered &out;
  std::vector<BackendError> errors;
  std::vector<GroupData> data;
  std::map<std::tuple<HookId, std::string, SlotKind, uint32_t, GroupKind>, uint32_t> groupIds;
  std::string function;  // kprobe function of the hook being lowered, else empty

  // Whether rule r belongs to the hook being lowered.
  bool onHook(const ir::Rule &r, HookId h) const {
    return r.hook == h && (h != HookId::KPROBE || r.kprobeFunction == function);
  }

  void error(BackendError::Kind k, const ir::SourceLoc &loc, std::string msg) {
    errors.push_back({k, loc, std::move(msg)});
  }

  uint32_t groupFor(HookId h, const ir::Test &t, GroupKind k, LoweredHook &lh) {
    auto key = std::make_tuple(h, function, t.field.slotKind, t.field.slot, k);
    auto it = groupIds.find(key);
    if (it != groupIds.end())
      return it->second;
    Group g;
    g.id = static_cast<uint32_t>(out.groups.size());
    g.kind = k;
    g.field = t.field;
    g.loc = t.loc;
    out.groups.push_back(g);
    data.emplace_back();
    groupIds.emplace(key, g.id);
    lh.groups.push_back(g.id);
    return g.id;
  }

  // A rule whose matching can only make the decision stricter: deny or kill. (An audit rule
  // that matches first stops a later deny, so it counts as permissive.)
  static bool strictAction(ir::Action a) { return a == ir::Action::Deny || a == ir::Action::Kill; }

  // Adds `val` for every value of map-backed test `t` to its group.
  void contribute(uint32_t gid, const ir::Test &t, const MatchVal &val) {
    auto &g = out.groups[gid];
    auto &d = data[gid];
    MatchVal strictVal = val;
    if (val.best != kNoRule && !strictAction(static_cast<ir::Action>(val.best & 3)))
      strictVal.best = kNoRule;
    for (const auto &v : t.values) {
      switch (g.kind) {
      case GroupKind::Exact:
      case GroupKind::Prefix:
      case GroupKind::Suffix: {
        const auto *s = std::get_if<std::string>(&v);
        if (!s) {
          error(BackendError::Kind::Internal, t.loc, "string test with a non-string value");
          continue;
        }
        if (s->size() >= 4096) {
          error(BackendError::Kind::Budget, t.loc, "string longer than the kernel path limit");
          continue;
        }
        if (g.kind != GroupKind::Exact && s->size() > kLpmStrMax) {
          error(BackendError::Kind::Budget, t.loc,
                std::string(g.kind == GroupKind::Prefix ? "prefix" : "suffix") + " \"" +
                    s->substr(0, 40) + "...\" is longer than " + std::to_string(kLpmStrMax) +
                    " bytes, the longest an LPM trie key holds");
          continue;
        }
        std::string k = *s;
        if (g.kind == GroupKind::Suffix)
          std::reverse(k.begin(), k.end());
        d.keys[k].add(val);
        d.strict[k].add(strictVal);
        break;
      }
      case GroupKind::Glob: {
        const auto *s = std::get_if<std::string>(&v);
        std::string err;
        if (!s || !ir::parseGlob(*s, &err)) {
          error(BackendError::Kind::Unsupported, t.loc, "bad glob: " + err);
          continue;
        }
        d.globs.emplace_back(*s, val);
        d.globLocs.push_back(t.loc);
        break;
      }
      case GroupKind::Cidr: {
        const auto *c = std::get_if<ir::Cidr>(&v);
        if (!c) {
          error(BackendError::Kind::Internal, t.loc, "address test with a non-address value");
          continue;
        }
        ir::Cidr cc = *c;
        if (t.op == ir::TestOp::Eq)
          cc.prefixLen = std::min<uint32_t>(cc.prefixLen, 128);
        d.keys[cidrKey(cc)].add(val);
        break;
      }
      case GroupKind::IntSet: {
        const auto *i = std::get_if<int64_t>(&v);
        if (!i)
          continue;
        std::string k(8, '\0');
        for (int b = 0; b < 8; ++b)
          k[b] = static_cast<char>(static_cast<uint64_t>(*i) >> (8 * b));
        d.keys[k].add(val);
        break;
      }
      }
    }
  }

  static void leavesOfOr(const ir::Cond &c, std::vector<const ir::Cond *> &out) {
    if (c.kind == ir::Cond::Kind::Or)
      for (const auto &k : c.kids)
        leavesOfOr(k, out);
    else
      out.push_back(&c);
  }

  static void collectTests(const ir::Cond &c, std::vector<const ir::Test *> &out) {
    if (c.kind == ir::Cond::Kind::Test)
      out.push_back(&c.test);
    for (const auto &k : c.kids)
      collectTests(k, out);
  }

  // `positive`: the test's holding makes rule `r` match (false under an odd number of `not`).
  // A mark test: deny-side (its holding can only make the decision stricter) it fails closed.
  LCond markCond(const ir::Test &t, ir::Action action, bool positive) {
    LCond l;
    l.kind = LCond::Kind::Mark;
    l.markId = markId(policy.name, std::get<std::string>(t.values.at(0)));
    l.markWho = ir::onParent(t.field) ? BW_MARK_ON_PARENT : BW_MARK_ON_PROCESS;
    l.failClosed = positive == strictAction(action);
    out.usesMarks = true;
    return l;
  }

  // `action`: what the condition's holding leads to (a mark rule's counts as deny: a mark set
  // can only make later decisions stricter).
  LCond lowerCond(const ir::Cond &c, HookId h, LoweredHook &lh, const std::set<uint32_t> &intSet,
                  std::map<std::string, uint32_t> &atomIds, ir::Action action, bool positive = true) {
    LCond l;
    switch (c.kind) {
    case ir::Cond::Kind::True: l.kind = LCond::Kind::True; break;
    case ir::Cond::Kind::False: l.kind = LCond::Kind::False; break;
    case ir::Cond::Kind::And:
    case ir::Cond::Kind::Or:
    case ir::Cond::Kind::Not:
      l.kind = c.kind == ir::Cond::Kind::And  ? LCond::Kind::And
               : c.kind == ir::Cond::Kind::Or ? LCond::Kind::Or
                                              : LCond::Kind::Not;
      for (const auto &k : c.kids)
        l.kids.push_back(lowerCond(k, h, lh, intSet, atomIds, action,
                                   c.kind == ir::Cond::Kind::Not ? !positive : positive));
      break;
    case ir::Cond::Kind::Test: {
      const auto &t = c.test;
      if (t.op == ir::TestOp::HasMark) {
        l = markCond(t, action, positive);
        break;
      }
      auto mk = mapKindOf(t, intSet.count(t.field.slot) != 0);
      if (!mk) {
        if (t.field.slotKind != SlotKind::Int) {
          error(BackendError::Kind::Unsupported, t.loc, "unsupported test on field " +
                                                            std::string(t.field.name));
          break;
        }
        l.kind = LCond::Kind::IntCmp;
        l.slot = t.field.slot;
        l.op = t.op;
        for (const auto &v : t.values)
          if (auto *i = std::get_if<int64_t>(&v))
            l.values.push_back(*i);
        break;
      }
      uint32_t gid = groupFor(h, t, *mk, lh);
      // identical tests share an atom
      std::string key = std::to_string(gid) + ":" + std::to_string(static_cast<int>(t.op));
      for (const auto &v : t.values) {
        key += '\x1f';
        if (auto *s = std::get_if<std::string>(&v))
          key += *s;
        else if (auto *i = std::get_if<int64_t>(&v))
          key += std::to_string(*i);
        else if (auto *ci = std::get_if<ir::Cidr>(&v))
          key += cidrKey(*ci);
      }
      auto it = atomIds.find(key);
      uint32_t atom;
      if (it != atomIds.end()) {
        atom = it->second;
      } else {
        atom = lh.atoms++;
        atomIds.emplace(key, atom);
        lh.atomGroup.push_back(gid);
        if (atom >= kMaxAtoms) {
          error(BackendError::Kind::Budget, t.loc,
                "more than " + std::to_string(kMaxAtoms) +
                    " distinct tests inside compound conditions on hook " +
                    std::string(Catalogue::get().hook(h).name));
        } else {
          MatchVal mv;
          mv.atoms[atom / 64] |= 1ull << (atom % 64);
          contribute(gid, t, mv);
        }
      }
      l.kind = LCond::Kind::Atom;
      l.atom = atom;
      if (atom < kMaxAtoms && positive != strictAction(action))
        data[gid].permissiveAtoms[atom / 64] |= 1ull << (atom % 64);
      break;
    }
    }
    return l;
  }

  // Lowers the rules on hook `h` (kprobe function `fn`) into out.hooks.
  void lowerHook(HookId h, const std::string &fn) {
    const auto &info = Catalogue::get().hook(h);
    function = fn;
    LoweredHook lh;
    lh.hook = h;
    lh.kprobeFunction = fn;
    if (info.kind == HookKind::Kprobe && !lowerKprobeArgs(h, lh))
      return;
    std::set<uint32_t> intSet = intSetSlots(h, lh);
    std::set<uint32_t> direct = lowerRules(h, lh, intSet);
    checkCost(info, lh);
    gateGroups(lh, direct);
    // a rule with condition `true` set alwaysWord below the allow a mark-only hook decides
    bool alwaysDecides = lh.alwaysWord < decisionWord(static_cast<uint32_t>(policy.rules.size()), ir::Action::Allow);
    if (info.kind != HookKind::Kprobe) {
      precheckHook(lh, alwaysDecides || !direct.empty(), out.groups);
      quietHook(lh, out.groups, direct, policy.defaultAction == ir::Action::Allow,
                decisionWord(static_cast<uint32_t>(policy.rules.size()), ir::Action::Allow));
    }
    out.hooks.push_back(std::move(lh));
  }

  // The argument list of kprobe hook `h` in lh.kprobeArgs (every rule on the function carries
  // the same one: sema reads one BTF); false when the function name is not a symbol name.
  bool lowerKprobeArgs(HookId h, LoweredHook &lh) {
    for (const auto &r : policy.rules) {
      if (!onHook(r, h))
        continue;
      if (lh.kprobeArgs.empty())
        lh.kprobeArgs = r.kprobeArgs;
      else if (lh.kprobeArgs != r.kprobeArgs)
        error(BackendError::Kind::Internal, r.loc, "rules on kprobe \"" + function + "\" disagree about its arguments");
    }
    const std::string &fn = function;
    if (!fn.empty() && fn.size() <= 100 &&
        fn.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.") == std::string::npos)
      return true;
    for (const auto &r : policy.rules)
      if (onHook(r, h)) {
        error(BackendError::Kind::Unsupported, r.loc, "kprobe function name \"" + fn + "\" is not a kernel symbol name");
        break;
      }
    return false;
  }

  // The fields hook `h`'s tests read (lh.needMask), and the int slots whose == tests have
  // so many distinct values that they get a hash map (bw_m_int).
  std::set<uint32_t> intSetSlots(HookId h, LoweredHook &lh) {
    std::map<uint32_t, std::set<int64_t>> intEqValues;
    for (const auto &r : policy.rules) {
      if (!onHook(r, h))
        continue;
      std::vector<const ir::Test *> tests;
      collectTests(r.cond, tests);
      for (auto *t : tests) {
        if (t->op == ir::TestOp::HasMark)
          continue;  // the task's marks, not an event field
        lh.needMask |= needBit(t->field);
        if (t->field.slotKind == SlotKind::Int && t->op == ir::TestOp::Eq)
          for (const auto &v : t->values)
            if (auto *i = std::get_if<int64_t>(&v))
              intEqValues[t->field.slot].insert(*i);
      }
    }
    std::set<uint32_t> intSet;
    for (const auto &[slot, vals] : intEqValues)
      if (vals.size() > kIntSetInlineMax)
        intSet.insert(slot);
    return intSet;
  }

  // Lowers each rule on hook `h`: an `or` of map-backed tests into its groups' entries, any
  // other condition into a compound rule (lh.compounds). Returns the groups some rule
  // decides on alone.
  std::set<uint32_t> lowerRules(HookId h, LoweredHook &lh, const std::set<uint32_t> &intSet) {
    std::map<std::string, uint32_t> atomIds;
    std::set<uint32_t> direct;
    auto mapKind = [&](const ir::Test &t) { return mapKindOf(t, intSet.count(t.field.slot) != 0); };
    bool decides = false;
    for (const auto &r : policy.rules) {
      if (!onHook(r, h))
        continue;
      if (r.id >= (1u << 29)) {
        error(BackendError::Kind::Budget, r.loc, "too many rules");
        continue;
      }
      if (!r.marks.empty())
        lowerMarkRule(r, h, lh, intSet, atomIds);
      if (!r.decides)
        continue;
      decides = true;
      uint32_t word = decisionWord(r.id, r.action);
      if (r.cond.kind == ir::Cond::Kind::True) {
        lh.alwaysWord = std::min(lh.alwaysWord, word);
        continue;
      }
      if (r.cond.kind == ir::Cond::Kind::False)
        continue;
      std::vector<const ir::Cond *> leaves;
      leavesOfOr(r.cond, leaves);
      bool simple = std::all_of(leaves.begin(), leaves.end(), [&](const ir::Cond *c) {
        return c->kind == ir::Cond::Kind::Test && mapKind(c->test).has_value();
      });
      if (simple) {
        MatchVal mv;
        mv.best = word;
        for (auto *c : leaves) {
          uint32_t gid = groupFor(h, c->test, *mapKind(c->test), lh);
          contribute(gid, c->test, mv);
          direct.insert(gid);
        }
        continue;
      }
      lh.compounds.push_back({r.id, word, lowerCond(r.cond, h, lh, intSet, atomIds, r.action), r.loc});
    }
    // A hook whose rules only set marks is not decided by the policy default: allow, counted
    // as the default (the word past the last rule).
    if (!decides)
      lh.alwaysWord = decisionWord(static_cast<uint32_t>(policy.rules.size()), ir::Action::Allow);
    return direct;
  }

  // The marks of rule `r` and its condition (its groups are gated like a compound rule's).
  void lowerMarkRule(const ir::Rule &r, HookId h, LoweredHook &lh, const std::set<uint32_t> &intSet,
                     std::map<std::string, uint32_t> &atomIds) {
    MarkRule mr;
    mr.ruleId = r.id;
    mr.loc = r.loc;
    mr.cond = lowerCond(r.cond, h, lh, intSet, atomIds, ir::Action::Deny);
    for (const auto &m : r.marks)
      mr.marks.push_back({markId(policy.name, m.name), m.onParent ? BW_MARK_ON_PARENT : BW_MARK_ON_PROCESS, m.forNs,
                          m.untilExec ? BW_MARK_UNTIL_EXEC : 0u});
    out.usesMarks = true;
    lh.markRules.push_back(std::move(mr));
  }

  // Reports the first compound rule at which the hook's program would exceed the instruction
  // budget (cost: a lookup per group, a few instructions per compound node); sets
  // lh.costEstimate.
  void checkCost(const HookInfo &info, LoweredHook &lh) {
    std::function<uint32_t(const LCond &)> nodes = [&](const LCond &c) -> uint32_t {
      uint32_t n = 1;
      for (const auto &k : c.kids)
        n += nodes(k);
      return n;
    };
    lh.costEstimate = 400 + 60 * static_cast<uint32_t>(lh.groups.size());
    for (const auto &m : lh.markRules)
      lh.costEstimate += 6 + 5 * nodes(m.cond) + 60 * static_cast<uint32_t>(m.marks.size());
    for (const auto &c : lh.compounds) {
      lh.costEstimate += 6 + 5 * nodes(c.cond);
      if (lh.costEstimate > limits.maxCost) {
        error(BackendError::Kind::Budget, c.loc,
              "the program for hook " + std::string(info.name) + " would exceed the instruction budget (" +
                  std::to_string(limits.maxCost) + ") at this rule");
        break;
      }
    }
  }

  // Fills out.maps (and out.identity) from the groups' entries.
  void buildMaps() {
    MapEntries maps;
    DfaTables dfas;
    for (auto &g : out.groups) {
      auto &d = data[g.id];
      // An exact or prefix group on a path decides on the object (bw_m_ident): its string
      // entries keep only what the process's view may add, the full values go under
      // BW_GROUP_IDENT_VAL for the runtime, which labels the objects at load.
      bool identity = (g.kind == GroupKind::Exact || g.kind == GroupKind::Prefix) && namesFile(g.field) &&
                      out.identity.size() < kMaxIdentityGroups;
      switch (g.kind) {
      case GroupKind::Exact: exactEntries(g, d, identity, maps); break;
      case GroupKind::Prefix:
      case GroupKind::Suffix: lpmStringEntries(g, d, identity, maps); break;
      case GroupKind::Cidr:
        if (d.keys.size() <= kCidrInlineMax && outcomes(d) <= kCidrInlineOutcomes)
          inlineNets(g, d);
        else
          cidrEntries(g, d, maps);
        break;
      case GroupKind::IntSet: intSetEntries(g, d, maps); break;
      case GroupKind::Glob: globEntries(g, d, dfas); break;
      }
      if (g.kind != GroupKind::Glob)
        g.entries = static_cast<uint32_t>(d.keys.size());
      if (g.kind == GroupKind::Suffix)
        for (const auto &kv : d.keys)
          if (kv.first.size() > BW_SUFFIX_SHORT)
            out.suffixKeyBytes = kLpmStrMax;
      if (identity) {
        g.identity = true;
        IdentityGroup ig{g.id, g.kind, std::string(g.field.name), {}, g.viewAdds};
        for (const auto &kv : d.keys)
          ig.paths.push_back(kv.first);
        out.identity.push_back(std::move(ig));
      }
    }
    scopeExeEntries(maps);
    addMapImages(maps, dfas);
  }

  // bw_m_exact entries of an exact group (and of its full values if an identity group).
  void exactEntries(Group &g, GroupData &d, bool identity, MapEntries &maps) {
    std::map<std::pair<uint32_t, uint64_t>, std::string> seen;
    for (const auto &[s, v] : d.keys) {
      auto key = std::make_pair(static_cast<uint32_t>(s.size()), fnv1a64(s));
      auto [it, fresh] = seen.emplace(key, s);
      if (!fresh) {
        error(BackendError::Kind::Collision, g.loc, "strings \"" + it->second + "\" and \"" + s + "\" have the same hash");
        continue;
      }
      auto put = [&](uint32_t group, const MatchVal &val) {
        Bytes k;
        putLe(k, group, 4);
        putLe(k, s.size(), 4);
        putLe(k, key.second, 8);
        maps[mapName(abi::MapId::m_exact)][k] = valBytes(val);
      };
      put(g.id, identity ? viewValOf(g, d.strict[s], d) : v);
      if (identity)
        put(g.id | BW_GROUP_IDENT_VAL, v);
    }
  }

  // bw_m_prefix or bw_m_suffix entries of a prefix or suffix group, each holding what its
  // shorter keys hold; an identity group also gets its full values and its fail-closed
  // bw_m_ident entry.
  void lpmStringEntries(Group &g, GroupData &d, bool identity, MapEntries &maps) {
    MatchVal failClosed;  // what an object whose ancestors cannot all be read means
    for (const auto &[s, v] : d.keys) {
      MatchVal acc = v, strictAcc = d.strict[s];
      for (size_t n = 0; n < s.size(); ++n) {
        auto it = d.keys.find(s.substr(0, n));
        if (it != d.keys.end()) {
          acc.add(it->second);
          strictAcc.add(d.strict[it->first]);
        }
      }
      auto put = [&](uint32_t group, const MatchVal &val) {
        Bytes k;
        putLe(k, 32 + 8 * s.size(), 4);
        putBe32(k, group);
        k.insert(k.end(), s.begin(), s.end());
        k.resize(4 + 4 + kLpmStrMax, 0);
        maps[g.kind == GroupKind::Prefix ? mapName(abi::MapId::m_prefix) : mapName(abi::MapId::m_suffix)][k] = valBytes(val);
      };
      put(g.id, identity ? viewValOf(g, strictAcc, d) : acc);
      if (identity)
        put(g.id | BW_GROUP_IDENT_VAL, acc);
      failClosed.add(viewVal(strictAcc, d));
    }
    if (identity) {
      Bytes k;
      putLe(k, g.id, 4);
      putLe(k, 0, 4);
      putLe(k, 0, 8);
      putLe(k, BW_IDENT_INCOMPLETE, 8);
      maps[mapName(abi::MapId::m_ident)][k] = valBytes(failClosed);
    }
  }

  // bw_m_cidr entries. Each network also answers for the shorter networks that cover it:
  // look each shorter prefix of its address up (at most 128 per key, not every other key).
  void cidrEntries(const Group &g, const GroupData &d, MapEntries &maps) {
    for (const auto &[s, v] : d.keys) {
      MatchVal acc = v;
      uint32_t plen = static_cast<uint8_t>(s[16]);
      ir::Cidr net;
      std::copy(s.begin(), s.begin() + 16, net.addr.begin());
      for (uint32_t q = 0; q < plen; ++q) {
        net.prefixLen = q;
        auto it = d.keys.find(cidrKey(net));
        if (it != d.keys.end())
          acc.add(it->second);
      }
      Bytes k;
      putLe(k, 32 + plen, 4);
      putBe32(k, g.id);
      k.insert(k.end(), s.begin(), s.begin() + 16);
      maps[mapName(abi::MapId::m_cidr)][k] = valBytes(acc);
    }
  }

  // The distinct atoms and decision words a group's entries give.
  static uint32_t outcomes(const GroupData &d) {
    std::set<uint32_t> words;
    std::array<uint64_t, kAtomWords> atoms{};
    for (const auto &[s, v] : d.keys) {
      if (v.best != kNoRule)
        words.insert(v.best);
      for (uint32_t i = 0; i < kAtomWords; ++i)
        atoms[i] |= v.atoms[i];
    }
    uint32_t n = static_cast<uint32_t>(words.size());
    for (uint64_t w : atoms)
      n += static_cast<uint32_t>(std::popcount(w));
    return n;
  }

  // The networks of a small address group, to be compared in code: cheaper than a trie walk.
  void inlineNets(Group &g, const GroupData &d) {
    for (const auto &[s, v] : d.keys) {
      InlineNet n;
      uint32_t plen = static_cast<uint8_t>(s[16]);
      for (uint32_t i = 0; i < 16; ++i) {  // the key's bytes are masked already
        n.mask[i / 8] |= static_cast<uint64_t>(prefixMaskByte(plen, i)) << (8 * (i % 8));
        n.value[i / 8] |= static_cast<uint64_t>(static_cast<uint8_t>(s[i])) << (8 * (i % 8));
      }
      n.val = v;
      g.nets.push_back(n);
    }
  }

  // bw_m_int entries of an int == group.
  void intSetEntries(const Group &g, const GroupData &d, MapEntries &maps) {
    for (const auto &[s, v] : d.keys) {
      Bytes k;
      putLe(k, g.id, 4);
      putLe(k, 0, 4);
      k.insert(k.end(), s.begin(), s.end());
      maps[mapName(abi::MapId::m_int)][k] = valBytes(v);
    }
  }

  // The DFA of a glob group appended to `dfas` (g.dfaBase: where its header starts).
  void globEntries(Group &g, const GroupData &d, DfaTables &dfas) {
    std::vector<DfaPattern> pats;
    for (const auto &[p, v] : d.globs)
      pats.push_back({*ir::parseGlob(p), v});
    std::string err;
    auto dfa = buildDfa(pats, limits.maxDfaStates, &err);
    if (!dfa) {
      error(BackendError::Kind::Budget, g.loc, err);
      return;
    }
    g.dfaBase = static_cast<uint32_t>(dfas.words.size());
    g.dfaStates = dfa->states;
    g.heads = dfaHeads(pats, kMaxGlobHeads);
    uint32_t accBase = static_cast<uint32_t>(dfas.acc.size());
    dfas.words.push_back(dfa->classes);
    dfas.words.push_back(accBase);
    dfas.words.insert(dfas.words.end(), dfa->classOf.begin(), dfa->classOf.end());
    dfas.words.insert(dfas.words.end(), dfa->next.begin(), dfa->next.end());
    dfas.acc.insert(dfas.acc.end(), dfa->accept.begin(), dfa->accept.end());
    g.entries = dfa->states;
  }

  // Executable scope: the scope's paths as exact entries in a reserved group.
  void scopeExeEntries(MapEntries &maps) {
    if (policy.scope.kind != ir::Scope::Kind::Executable)
      return;
    for (const auto &p : policy.scope.paths) {
      Bytes k;
      putLe(k, kGroupScopeExe, 4);
      putLe(k, p.size(), 4);
      putLe(k, fnv1a64(p), 8);
      MatchVal v;
      v.best = 0;
      maps[mapName(abi::MapId::m_exact)][k] = valBytes(v);
    }
  }

  // out.maps: the DFA arrays (entries in index order) and the hash and LPM maps (sorted by
  // key bytes); a map over the entry limit is reported.
  void addMapImages(MapEntries &maps, const DfaTables &dfas) {
    std::map<std::string, MapImage> images;
    MapImage &words = images[mapName(abi::MapId::m_dfa)];  // ~900,000 entries for 10,000 globs
    words.keySize = words.valueSize = 4;
    words.bytes.reserve(dfas.words.size() * 8);
    for (size_t i = 0; i < dfas.words.size(); ++i) {
      putLe(words.bytes, i, 4);
      putLe(words.bytes, dfas.words[i], 4);
    }
    MapImage &acc = images[mapName(abi::MapId::m_dfa_acc)];
    for (size_t i = 0; i < dfas.acc.size(); ++i) {
      Bytes k;
      putLe(k, i, 4);
      acc.add(k, valBytes(dfas.acc[i]));
    }
    out.dfaWords = static_cast<uint32_t>(dfas.words.size());
    out.dfaAccEntries = static_cast<uint32_t>(dfas.acc.size());
    for (auto &[name, entries] : maps)
      for (auto &[k, v] : entries)
        images[name].add(k, v);
    for (auto &[name, img] : images) {
      if (img.bytes.empty())
        continue;
      img.name = name;
      if (img.size() > limits.maxMapEntries)
        error(BackendError::Kind::Budget, policy.loc,
              "map " + name + " would hold " + std::to_string(img.size()) + " entries (limit " +
                  std::to_string(limits.maxMapEntries) + ")");
      out.maps.emplace(name, std::move(img));
    }
  }
};

} // namespace

void MapImage::add(const std::vector<uint8_t> &key, const std::vector<uint8_t> &value) {
  if (bytes.empty()) {
    keySize = static_cast<uint32_t>(key.size());
    valueSize = static_cast<uint32_t>(value.size());
  }
  bytes.insert(bytes.end(), key.begin(), key.end());
  bytes.insert(bytes.end(), value.begin(), value.end());
}

std::span<const uint8_t> MapImage::key(size_t i) const {
  if (i >= size())
    throw std::out_of_range("map " + name + " has no entry " + std::to_string(i));
  return {bytes.data() + i * (keySize + valueSize), keySize};
}

std::span<const uint8_t> MapImage::value(size_t i) const {
  return {key(i).data() + keySize, valueSize};
}

std::vector<std::pair<std::vector<uint8_t>, std::vector<uint8_t>>> MapImage::entries() const {
  std::vector<std::pair<std::vector<uint8_t>, std::vector<uint8_t>>> out;
  for (size_t i = 0; i < size(); ++i)
    out.emplace_back(std::vector<uint8_t>(key(i).begin(), key(i).end()),
                     std::vector<uint8_t>(value(i).begin(), value(i).end()));
  return out;
}

std::vector<BackendError> lower(const ir::Policy &policy, const LoweringLimits &limits,
                                Lowered &out) {
  out = Lowered{};
  return Lowerer(policy, limits, out).run();
}

namespace {

// Groups one of which must have an atom set for `c` to hold (empty: none known).
std::set<uint32_t> neededGroups(const LCond &c, const LoweredHook &lh) {
  switch (c.kind) {
  case LCond::Kind::Atom:
    if (c.atom < lh.atomGroup.size())
      return {lh.atomGroup[c.atom]};
    return {};
  case LCond::Kind::And:
    for (const auto &k : c.kids)  // any one conjunct's need is the whole's
      if (auto n = neededGroups(k, lh); !n.empty())
        return n;
    return {};
  case LCond::Kind::Or: {
    std::set<uint32_t> all;
    for (const auto &k : c.kids) {
      auto n = neededGroups(k, lh);
      if (n.empty())
        return {};
      all.insert(n.begin(), n.end());
    }
    return all;
  }
  default: return {};
  }
}

void atomsOf(const LCond &c, std::set<uint32_t> &out) {
  if (c.kind == LCond::Kind::Atom)
    out.insert(c.atom);
  for (const auto &k : c.kids)
    atomsOf(k, out);
}

} // namespace

void gateGroups(LoweredHook &lh, const std::set<uint32_t> &direct) {
  std::map<uint32_t, std::set<uint32_t>> gate;  // group -> groups it waits for
  std::set<uint32_t> open;                      // groups looked up whatever happens
  auto rule = [&](const LCond &cond) {
    std::set<uint32_t> atoms, groups;
    atomsOf(cond, atoms);
    for (uint32_t a : atoms)
      if (a < lh.atomGroup.size())
        groups.insert(lh.atomGroup[a]);
    auto need = neededGroups(cond, lh);
    for (uint32_t g : groups) {
      if (need.empty() || need.count(g))
        open.insert(g);
      else
        gate[g].insert(need.begin(), need.end());
    }
  };
  for (const auto &c : lh.compounds)
    rule(c.cond);
  for (const auto &m : lh.markRules)
    rule(m.cond);
  for (uint32_t g : direct)
    open.insert(g);
  for (uint32_t g : open)
    gate.erase(g);
  // One level: a group waits only for groups that are always looked up. One pass does it:
  // a group kept here waited for none still gated, and later erasures only open more.
  for (auto it = gate.begin(); it != gate.end();) {
    bool waitsForGated = std::any_of(it->second.begin(), it->second.end(),
                                     [&](uint32_t w) { return gate.count(w) != 0; });
    it = waitsForGated ? gate.erase(it) : std::next(it);
  }
  for (const auto &[g, waits] : gate) {
    std::array<uint64_t, kAtomWords> mask{};
    for (uint32_t a = 0; a < lh.atomGroup.size() && a < kMaxAtoms; ++a)
      if (waits.count(lh.atomGroup[a]))
        mask[a / 64] |= 1ull << (a % 64);
    lh.gates[g] = mask;
  }
}

namespace {

// Atoms the precheck may read: those of address and integer sets (one map lookup each, on
// a field without a string) whose lookup is not gated, so that the precheck's lookup sets
// exactly what the decision's would.
using CheapAtom = std::function<bool(uint32_t atom)>;

bool isCheapTest(const LCond &c, const CheapAtom &cheapAtom) {
  return c.kind == LCond::Kind::IntCmp || c.kind == LCond::Kind::Mark ||
         (c.kind == LCond::Kind::Atom && cheapAtom(c.atom));
}

bool readsAtom(const LCond &c) {
  return c.kind == LCond::Kind::Atom || std::any_of(c.kids.begin(), c.kids.end(), readsAtom);
}

bool readsMark(const LCond &c) {
  return c.kind == LCond::Kind::Mark || std::any_of(c.kids.begin(), c.kids.end(), readsMark);
}

// A cheap test's rank: an integer compare, then a mark (a task storage lookup), then a set
// (a map lookup).
int testCost(const LCond &c) { return readsAtom(c) ? 2 : readsMark(c) ? 1 : 0; }

// A condition on cheap tests alone that `c` implies, or nullopt when there is none (it would
// be `true`).
std::optional<LCond> cheapPart(const LCond &c, const CheapAtom &cheapAtom) {
  switch (c.kind) {
  case LCond::Kind::IntCmp:
  case LCond::Kind::Mark:
  case LCond::Kind::Atom:
    if (!isCheapTest(c, cheapAtom))
      return std::nullopt;
    return c;
  case LCond::Kind::False: return c;
  case LCond::Kind::Not:
    if (isCheapTest(c.kids.at(0), cheapAtom))
      return c;
    return std::nullopt;
  case LCond::Kind::And: {  // every conjunct holds, so does each one's cheap part (flattened)
    LCond all;
    all.kind = LCond::Kind::And;
    for (const auto &k : c.kids) {
      auto p = cheapPart(k, cheapAtom);
      if (p && p->kind == LCond::Kind::And)
        std::move(p->kids.begin(), p->kids.end(), std::back_inserter(all.kids));
      else if (p)
        all.kids.push_back(std::move(*p));
    }
    // A process seldom carries a mark: where the rule tests one, that test keeps the precheck
    // from extracting an address and looking up its set on every event.
    bool marked = std::any_of(all.kids.begin(), all.kids.end(),
                              [](const LCond &k) { return k.kind == LCond::Kind::Mark; });
    if (marked)
      std::erase_if(all.kids, [](const LCond &k) { return readsAtom(k); });
    if (all.kids.empty())
      return std::nullopt;
    // Cheapest first: the precheck stops at the first test that fails, so a set is looked up
    // only for an event whose integers and marks leave the rule possible.
    std::stable_sort(all.kids.begin(), all.kids.end(),
                     [](const LCond &x, const LCond &y) { return testCost(x) < testCost(y); });
    return all;
  }
  case LCond::Kind::Or: {  // one of them holds: each needs a cheap part
    LCond any;
    any.kind = LCond::Kind::Or;
    for (const auto &k : c.kids) {
      auto p = cheapPart(k, cheapAtom);
      if (!p)
        return std::nullopt;
      any.kids.push_back(std::move(*p));
    }
    return any;
  }
  default: return std::nullopt;
  }
}

// The fields (BW_NEED_*) and the groups the cheap condition `c` reads.
void cheapReads(const LoweredHook &lh, const std::vector<Group> &groups, const LCond &c, uint64_t &need,
                std::set<uint32_t> &sets) {
  if (c.kind == LCond::Kind::IntCmp)
    need |= BW_NEED_INT(c.slot);
  if (c.kind == LCond::Kind::Atom) {
    uint32_t gi = lh.atomGroup.at(c.atom);
    need |= needBit(groups.at(gi).field);
    sets.insert(gi);
  }
  for (const auto &k : c.kids)
    cheapReads(lh, groups, k, need, sets);
}

// 1 when some set of `sets` is read by rules of `any` (the precheck, an `or` of each rule's
// cheap part, cheapest test first) only after a test that needs no lookup: an event that test
// rules out costs no lookup of that set.
bool skipsASet(const LoweredHook &lh, const LCond &any, const std::set<uint32_t> &sets) {
  auto readsGroup = [&](const LCond &c, uint32_t gi) {
    std::set<uint32_t> atoms;
    atomsOf(c, atoms);
    return std::any_of(atoms.begin(), atoms.end(), [&](uint32_t a) { return lh.atomGroup.at(a) == gi; });
  };
  return std::any_of(sets.begin(), sets.end(), [&](uint32_t gi) {
    return std::all_of(any.kids.begin(), any.kids.end(), [&](const LCond &rule) {
      return !readsGroup(rule, gi) ||
             (rule.kind == LCond::Kind::And && !rule.kids.empty() && testCost(rule.kids[0]) < testCost(rule));
    });
  });
}

} // namespace

void precheckHook(LoweredHook &lh, bool unconditional, const std::vector<Group> &groups) {
  lh.precheck = LCond{};
  lh.precheckNeed = 0;
  lh.precheckWord = lh.alwaysWord;
  lh.precheckGroups.clear();
  if (unconditional || (lh.compounds.empty() && lh.markRules.empty()))
    return;
  CheapAtom cheapAtom = [&](uint32_t atom) {
    if (atom >= lh.atomGroup.size())
      return false;
    uint32_t gi = lh.atomGroup[atom];
    const Group &g = groups.at(gi);
    return !g.identity && !lh.gates.count(gi) && (g.kind == GroupKind::Cidr || g.kind == GroupKind::IntSet);
  };
  LCond any;
  any.kind = LCond::Kind::Or;
  auto add = [&](const LCond &cond) {
    auto p = cheapPart(cond, cheapAtom);
    if (p)
      any.kids.push_back(std::move(*p));
    return p.has_value();
  };
  for (const auto &c : lh.compounds)
    if (!add(c.cond))
      return;
  for (const auto &m : lh.markRules)
    if (!add(m.cond))
      return;
  uint64_t need = 0;
  std::set<uint32_t> sets;
  cheapReads(lh, groups, any, need, sets);
  if ((lh.needMask & ~need) == 0 && !skipsASet(lh, any, sets))  // it would save nothing
    return;
  lh.precheck = std::move(any);
  lh.precheckNeed = need;
  lh.precheckGroups.assign(sets.begin(), sets.end());
}

} // namespace bulwark::backend
