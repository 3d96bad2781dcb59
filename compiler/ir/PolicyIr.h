// Policy IR: what the front end hands to the back end and to the host evaluator.
// Checked, name-resolved and typed: lists, macros and constants are already expanded,
// so every test names one catalogue field and carries literal values only.
#pragma once

#include "Catalogue.h"

#include <array>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace bulwark::ir {

struct SourceLoc {
  std::string file;
  uint32_t line = 0;  // 1-based
  uint32_t column = 0;  // 1-based
};

enum class Action { Allow, Deny, Audit, Kill };

// The action as the language spells it: "allow", "deny", "audit", "kill".
inline const char *actionName(Action a) {
  switch (a) {
  case Action::Allow: return "allow";
  case Action::Deny: return "deny";
  case Action::Audit: return "audit";
  case Action::Kill: return "kill";
  }
  return "?";
}
enum class Mode { Enforce, Audit };

// An IPv4 address is stored IPv4-mapped (::ffff:a.b.c.d) with prefix + 96, like the kernel side.
struct Cidr {
  std::array<uint8_t, 16> addr{};
  uint32_t prefixLen = 128;  // over the 128-bit mapped form
  bool operator==(const Cidr &) const = default;
};

using Value = std::variant<int64_t, std::string, Cidr>;

// Longest prefix or suffix pattern: the key of a kernel LPM trie holds 256 bytes, 4 of which
// name the match group. Sema rejects longer ones (E0014); the back end relies on it.
constexpr uint32_t kMaxAffixBytes = 252;

enum class TestOp {
  Eq,        // field == any of values (values.size() >= 1); ints, strings, paths, addrs
  Lt, Le, Gt, Ge,  // ints only, exactly one value
  Prefix,    // string/path starts with any of values
  Suffix,    // string/path ends with any of values
  Glob,      // path matches any of the glob patterns (`*`, `**`, `?`, `[...]`)
  InCidr,    // address inside any of the CIDRs
  HasFlags,  // (field & value) == value, one value
  HasMark,   // process.marks / parent.marks holds the mark named by the one string value
};

// The set-valued mark fields: `process.marks has "x"`, `parent.marks has "x"`. They are not
// event slots (the kernel reads the task's marks, not the event), so they are not in the
// hook catalogue; a HasMark test carries one of these as its field.
inline constexpr FieldInfo kProcessMarks{"process.marks", "process_marks", FieldType::STRING, SlotKind::Int, 0,
                                         "marks the process carries (set by rules)", true};
inline constexpr FieldInfo kParentMarks{"parent.marks", "parent_marks", FieldType::STRING, SlotKind::Int, 0,
                                        "marks the parent process carries", true};
inline bool onParent(const FieldInfo &marksField) { return marksField.name == kParentMarks.name; }

struct Test {
  FieldInfo field;  // copied from the catalogue (or synthesized for kprobe args)
  TestOp op = TestOp::Eq;
  std::vector<Value> values;
  SourceLoc loc;
};

struct Cond {
  enum class Kind { True, False, Test, And, Or, Not } kind = Kind::True;
  Test test;                // Kind::Test
  std::vector<Cond> kids;   // And/Or: >= 2, Not: 1
};

// One argument of a `kprobe "fn"` hook that rules can read: which register argument it
// is, the event slot sema gave it (field.slotKind/slot), and for ints the kernel type's
// width and signedness (the register's upper bits are not defined by the calling convention).
struct KprobeArg {
  uint32_t index = 0;    // argN: 0-based position in the kernel function's parameters
  FieldInfo field{};     // name "argN", type INT/BOOL/STRING, Int or Str slot
  uint32_t size = 8;     // ints: bytes of the C type (1, 2, 4, 8); strings: 8 (a pointer)
  bool isSigned = false; // ints: sign-extend from `size` bytes
  bool operator==(const KprobeArg &o) const { return index == o.index && field.slot == o.field.slot &&
                                                     field.slotKind == o.field.slotKind && size == o.size &&
                                                     isSigned == o.isSigned; }
};

// `mark process "name" for 10m until exec`: a mark a rule sets on a process when its
// condition holds (whether or not the rule decides the event).
struct MarkSet {
  std::string name;
  bool onParent = false;   // `mark parent`: the process's parent
  uint64_t forNs = 0;      // 0: until the process exits
  bool untilExec = false;  // dropped when the process executes a new program
  SourceLoc loc;
};

struct Rule {
  uint32_t id = 0;          // index in Policy::rules; stable id in the bundle rule table
  std::string name;
  HookId hook = HookId::FILE_OPEN;
  std::string kprobeFunction;  // for HookId::KPROBE
  std::vector<KprobeArg> kprobeArgs;  // for HookId::KPROBE: every argument sema exposes
  Cond cond;
  Action action = Action::Deny;
  bool decides = true;      // false: the rule only sets marks (no verb); first match skips it
  std::vector<MarkSet> marks;
  std::string message;      // template, `{field.name}` placeholders
  SourceLoc loc;
};

struct Scope {
  enum class Kind { Host, Cgroup, Executable } kind = Kind::Host;
  std::vector<std::string> paths;  // cgroup paths relative to the cgroup v2 root ("/app.slice"), or executable paths
};

struct Policy {
  std::string name;
  std::string description;
  Mode mode = Mode::Enforce;
  Action defaultAction = Action::Allow;  // Allow or Deny; Deny applies to hooks with rules only
  Scope scope;
  std::vector<Rule> rules;  // in source order: first match decides, per hook
  SourceLoc loc;
  std::string sourceDigest; // sha256 hex of the source files it came from
};

// Result of the front end for one compilation: every policy in the given files.
struct Program {
  std::vector<Policy> policies;
};

} // namespace bulwark::ir
