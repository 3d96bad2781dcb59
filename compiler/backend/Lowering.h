// Lowering of ir::Policy into match maps and a decision plan per hook (no LLVM here).
//
// Every (field, op) pair a hook's rules test is a *group* with one lookup per event:
//   string/path ==        -> bw_m_exact  (HASH, key group + length + FNV-1a 64)
//   string/path prefix    -> bw_m_prefix (LPM trie over group + bytes)
//   string/path suffix    -> bw_m_suffix (LPM trie over group + reversed bytes)
//   path glob             -> bw_m_dfa / bw_m_dfa_acc (one DFA per group, built here)
//   address ==, in CIDR   -> bw_m_cidr   (LPM trie over group + IPv4-mapped address) when
//                            many networks, otherwise comparisons in code (Group::nets)
//   int == with many values -> bw_m_int  (HASH), otherwise comparisons in code
// A lookup yields the lowest decision word among rules whose whole condition is a
// membership test (or an `or` of them) in that group, and the set of atoms (tests inside
// compound conditions) the key satisfies. LPM values are precomputed over all shorter
// keys of the group (min word, union of atoms), so the longest match carries them all.
// Compound rules are evaluated in id order only while their id is below the best word.
#pragma once

#include "BackendTypes.h"
#include "PolicyIr.h"
#include "bw_match.h"

#include <array>
#include <cstdint>
#include <map>
#include <set>
#include <span>
#include <string>
#include <vector>

namespace bulwark::backend {

constexpr uint32_t kNoRule = 0xffffffffu;
constexpr uint32_t kAtomWords = 4;
constexpr uint32_t kMaxAtoms = kAtomWords * 64;
constexpr uint32_t kLpmStrMax = 252;
constexpr uint32_t kIntSetInlineMax = 4;  // int == groups with more values use bw_m_int
constexpr uint32_t kCidrInlineMax = 12;   // address groups with more networks use bw_m_cidr
// ... and so do groups whose networks give more than this many distinct atoms and words: the
// verifier follows each combination the comparisons can leave (a trie's answer is one value)
constexpr uint32_t kCidrInlineOutcomes = 4;

struct MatchVal {
  uint32_t best = kNoRule;
  std::array<uint64_t, kAtomWords> atoms{};
  void add(const MatchVal &o);
  bool operator==(const MatchVal &) const = default;
  auto operator<=>(const MatchVal &) const = default;
};

inline uint32_t decisionWord(uint32_t ruleId, ir::Action a) {
  return ruleId << 2 | static_cast<uint32_t>(a);
}

enum class GroupKind { Exact, Prefix, Suffix, Glob, Cidr, IntSet };
const char *groupKindName(GroupKind k);

// The first bytes of a string (its first word, little-endian, under `mask`) that some pattern
// of a glob group needs: a string with none of its group's heads cannot match (dfaHeads).
struct GlobHead {
  uint64_t value = 0;
  uint64_t mask = 0;
  auto operator<=>(const GlobHead &) const = default;
};

// A network of an address group matched in code: the IPv4-mapped address's two words (its
// bytes 0-7 and 8-15, little-endian) under `mask` equal `value`; what that gives, as the
// network's own entry would (not summed over shorter networks: every match is or'ed).
struct InlineNet {
  std::array<uint64_t, 2> mask{};
  std::array<uint64_t, 2> value{};
  MatchVal val;
};

struct Group {
  uint32_t id = 0;       // policy-wide group number (key prefix in the shared maps)
  GroupKind kind = GroupKind::Exact;
  FieldInfo field{};
  uint32_t dfaBase = 0;  // Glob: index of its header in bw_m_dfa
  uint32_t dfaStates = 0;
  std::vector<GlobHead> heads;  // Glob: tested before the DFA is walked; empty: always walked
  uint32_t entries = 0;  // keys in its map (networks compared in code: `nets`)
  bool identity = false; // also matched by file identity (see IdentityGroup)
  bool viewAdds = false; // identity: a string match of the process's view can add something
  std::vector<InlineNet> nets;  // Cidr: its networks when few (kCidrInlineMax, kCidrInlineOutcomes); empty: bw_m_cidr
  ir::SourceLoc loc;     // first test of the group
};

// An exact or prefix group on a path field is also matched by (device, inode): the runtime
// seeds bw_m_ident from lstat(2) of every exact path, the programs on kIdentityHooks learn
// hard links and renames (bw_match.h). At most kMaxIdentityGroups per policy, in group
// order; later path groups match by path only.
constexpr uint32_t kMaxIdentityGroups = 16;
// Hooks whose programs keep bw_m_ident current (learn links and renames, forget last
// unlinks). A policy with identity groups has a program on each, chained like any other
// (no extra attachment per policy); where it has no rules there, it only learns.
constexpr HookId kIdentityHooks[] = {HookId::FILE_LINK, HookId::FILE_RENAME, HookId::FILE_UNLINK};
struct IdentityGroup {
  uint32_t group = 0;
  GroupKind kind = GroupKind::Exact;  // Exact or Prefix
  std::string field;                  // "file.path"
  std::vector<std::string> paths;     // the group's strings, sorted
  bool view = true;                   // Group::viewAdds: a path without an object is matched by name
};

// A condition with tests replaced by atom bits, direct integer comparisons or mark tests.
struct LCond {
  enum class Kind { True, False, Atom, IntCmp, Mark, And, Or, Not } kind = Kind::True;
  uint32_t atom = 0;             // Atom
  uint32_t slot = 0;             // IntCmp: ints[slot]
  ir::TestOp op = ir::TestOp::Eq;
  std::vector<int64_t> values;   // IntCmp
  uint64_t markId = 0;           // Mark: markId(policy, name)
  uint32_t markWho = 0;          // Mark: BW_MARK_ON_PROCESS or BW_MARK_ON_PARENT
  bool failClosed = false;       // Mark: holds for a process whose marks overflowed
  std::vector<LCond> kids;
};

// A mark a rule sets (ir::MarkSet) as the kernel names it.
struct LoweredMark {
  uint64_t id = 0;         // markId(policy, name)
  uint32_t who = 0;        // BW_MARK_ON_*
  uint64_t forNs = 0;      // 0: until exit
  uint32_t flags = 0;      // BW_MARK_*
};

// A rule with marks: they are set whenever its condition holds, after the decision (whatever
// decided it), so a mark is seen by later events only.
struct MarkRule {
  uint32_t ruleId = 0;
  LCond cond;
  std::vector<LoweredMark> marks;
  ir::SourceLoc loc;
};

struct CompoundRule {
  uint32_t ruleId = 0;
  uint32_t word = 0;
  LCond cond;
  ir::SourceLoc loc;
};

struct LoweredHook {
  HookId hook = HookId::FILE_OPEN;
  bool hasRules = true;                // false: only keeps bw_m_ident current (kIdentityHooks)
  // kprobe hooks: one LoweredHook (and one program) per kernel function, with the
  // arguments its rules may read (ir::Rule::kprobeArgs). Empty for LSM hooks.
  std::string kprobeFunction;
  std::vector<ir::KprobeArg> kprobeArgs;
  std::vector<uint32_t> groups;        // indexes into Lowered::groups
  uint32_t alwaysWord = kNoRule;       // lowest word of an unconditional rule
  std::vector<CompoundRule> compounds; // in id order
  std::vector<MarkRule> markRules;     // in id order
  uint32_t atoms = 0;
  std::vector<uint32_t> atomGroup;     // atom -> the group whose lookup sets it
  // Group -> atoms of other groups one of which must be set for its lookup to matter (every
  // rule that reads it needs one of them, and no rule decides on it alone): it is looked up
  // after the others, only then (gateGroups). Groups not listed are always looked up.
  std::map<uint32_t, std::array<uint64_t, kAtomWords>> gates;
  uint64_t needMask = 0;               // BW_NEED_* bits of the fields the decision reads
  uint32_t costEstimate = 0;           // instructions, rough
  // A condition on integer fields, marks and address or integer sets alone that holds
  // whenever some rule of the hook holds: the program tests it first, and when it fails
  // extracts nothing more and decides precheckWord (precheckHook). Kind::True: no such
  // condition, or nothing costly to skip.
  LCond precheck;
  uint64_t precheckNeed = 0;           // BW_NEED_* bits of the fields the precheck reads
  uint32_t precheckWord = kNoRule;     // the decision when no rule can hold
  std::vector<uint32_t> precheckGroups; // the sets whose atoms it reads, looked up by it first
  // Quiet decisions (Quiet.h): the decision can tell that no rule holds for any event with the
  // same quiet key (bw_event.quiet).
  bool quiet = false;
  uint32_t quietWord = kNoRule;        // the word of a decision no rule made
  std::vector<LCond> quietParts;       // each compound and mark rule's key part
  bool precheckQuiet = false;          // a failed precheck is quiet
  // What the quiet key must hold besides the file itself (quiet hooks): the process's view of
  // the path (a group matches its string) and the file's ancestors (a prefix group on the
  // object). An identity group whose paths lack an object at load also reads the view; the
  // runtime, which knows, adds it.
  bool quietView = true;
  bool quietAncestors = true;
};

// Fills lh.gates from its compound and mark rules (needs atomGroup; `direct`: groups a rule
// decides on alone).
void gateGroups(LoweredHook &lh, const std::set<uint32_t> &direct);

// Fills lh.precheck, precheckNeed, precheckWord and precheckGroups (after lh.alwaysWord,
// compounds, markRules and gates). `unconditional`: some rule decides on a lookup alone or
// holds always: no precheck. `groups`: Lowered::groups (which atoms are cheap: those of
// address and integer sets that are not gated).
void precheckHook(LoweredHook &lh, bool unconditional, const std::vector<Group> &groups);

// Initial contents of one map: hash and LPM entries sorted by key bytes, arrays by index. The
// entries are kept as the bundle stores them, each key then its value, in one buffer: a glob
// policy's automaton is about a million of them.
struct MapImage {
  std::string name;
  uint32_t keySize = 0, valueSize = 0;
  std::vector<uint8_t> bytes;
  size_t size() const { return keySize + valueSize ? bytes.size() / (keySize + valueSize) : 0; }
  void add(const std::vector<uint8_t> &key, const std::vector<uint8_t> &value);
  // Entry i's key and value (i < size(), else std::out_of_range).
  std::span<const uint8_t> key(size_t i) const;
  std::span<const uint8_t> value(size_t i) const;
  // The entries as (key, value) pairs, a copy (for tests and diagnostics).
  std::vector<std::pair<std::vector<uint8_t>, std::vector<uint8_t>>> entries() const;
};

struct Lowered {
  std::vector<Group> groups;
  std::vector<LoweredHook> hooks;      // hooks with rules, in HookId order (kprobes by function name)
  std::map<std::string, MapImage> maps; // by map name (only maps with entries)
  std::vector<IdentityGroup> identity;  // in group order
  uint32_t dfaWords = 0;
  uint32_t dfaAccEntries = 0;
  bool usesMarks = false;               // a rule sets or tests a mark: the fork and exec helpers
  uint32_t suffixKeyBytes = BW_SUFFIX_SHORT;  // string bytes a bw_m_suffix key holds (BW_INFO_SUFFIX_KEY)
};

struct LoweringLimits {
  uint32_t maxDfaStates = 131072;     // per glob group (memory is bounded by maxMapEntries)
  uint32_t maxMapEntries = 1u << 20;  // per map
  uint32_t maxCost = 200000;          // estimated instructions per hook program
  uint32_t maxStack = 512;            // combined stack of a call chain (the verifier's; lower in tests)
};

// Errors carry the source location of the offending test or rule.
std::vector<BackendError> lower(const ir::Policy &policy, const LoweringLimits &limits,
                                Lowered &out);

uint64_t fnv1a64(std::string_view s);
// The kernel's name of mark `mark` of policy `policy`: FNV-1a 64 of "<policy>" NUL "<mark>",
// never 0 (a free slot). Policy names are unique on a host, so marks of two policies differ.
uint64_t markId(std::string_view policy, std::string_view mark);
uint64_t needBit(const FieldInfo &f);

} // namespace bulwark::backend
