// Host evaluator of the policy IR: the reference semantics of a decision, used by
// `bulwarkc test`/`explain` and by the back-end tests to check the kernel-side lowering.
// Independent of LLVM and of the back end.
//
// Semantics (same as the BPF side): the event as the kernel's hook sees it (kernelView), then per hook, rules in id order, the first whose condition
// holds decides; rules without a verb (marks only) never decide. Every rule with marks whose
// condition holds sets them (Decision::markRules), after the decision and whatever it is. With no match the policy default decides; a Deny default applies only to
// hooks the policy has rules for (others are not attached: Allow). A policy in audit mode
// (or with a mode override) does not deny: deny/kill become audit records ("would deny").
// An event outside the policy's scope is allowed without consulting a rule.
#pragma once

#include "PolicyIr.h"

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace bulwark::ir {

// A synthetic event: field name ("file.path") -> value. Ints as int64_t, strings and
// paths as std::string, addresses as Cidr with prefixLen 128 (IPv4 mapped, see PolicyIr.h).
// A missing field reads as 0 / "" / no address (which is in no CIDR).
using Event = std::map<std::string, Value, std::less<>>;

// The live marks of the process an event comes from and of its parent, by name: what
// `process.marks has` and `parent.marks has` read (see Sequence.h for where they come from).
// `processFull`/`parentFull`: that process once found no room for a mark (the kernel's
// `full`), so a deny-side test of any mark holds for it (fail closed, see evalCond).
struct MarkView {
  std::set<std::string, std::less<>> process, parent;
  bool processFull = false, parentFull = false;
};

struct Decision {
  bool matched = false;       // a rule decided (else the default)
  uint32_t ruleId = 0xffffffffu;
  std::string ruleName;
  Action action = Action::Allow;   // the rule's or default action
  bool denied = false;        // the operation fails with EPERM
  bool wouldDeny = false;     // audit mode suppressed a deny/kill
  bool killed = false;        // SIGKILL sent
  bool inScope = true;        // false: the policy does not see the event (Allow, no rule)
  bool seen = true;           // false: the kernel never runs the hook for it (Allow, no rule)
  std::vector<uint32_t> markRules;  // rules whose marks the event sets (their condition held)
};

struct EvalOptions {
  std::optional<Mode> modeOverride;
  const MarkView *marks = nullptr;  // none: the processes carry no marks
};

// Decides the event as the kernel does: on kernelView(hook, event); an event the kernel never
// shows the hook (seenByKernel false) is allowed and no rule is consulted.
Decision evaluate(const Policy &policy, HookId hook, const Event &event,
                  const EvalOptions &options = {});

// Whether the kernel decides this event at all: an O_PATH open never reaches file_open, and
// file.mmap_exec decides only mappings that ask for PROT_EXEC (an event without mmap.prot is
// taken to ask for it). A setresuid(2) that changes no id returns before task_fix_setuid
// too, but the event's fields cannot tell it from setuid(2), which always gets there.
bool seenByKernel(HookId hook, const Event &event);
// The event's fields as the hook sees them in the kernel. file.open's file.flags: the
// kernel strips O_CLOEXEC at open and forces O_LARGEFILE (64-bit), so `O_WRONLY|O_CLOEXEC`
// as passed to open(2) is seen as `O_WRONLY|O_LARGEFILE`. Idempotent.
Event kernelView(HookId hook, Event event);

// Whether the policy sees the event: its cgroup scope holds the event's process.cgroup
// (a path relative to the cgroup root), or its executable scope lists process.exe. An event
// without that field is taken to be in scope, so a test of a policy's rules need not repeat
// the policy's scope.
bool inScope(const Policy &policy, const Event &event);

// The pieces, for tests. `strict`: the condition's holding makes a decision stricter (a deny
// or kill rule's, or a rule's that sets marks). A mark test is deny-side when its holding
// leads there (under an even number of `not` in a strict condition, an odd number in
// another); a deny-side test holds for a process whose marks are full, as the compiler
// lowers it (bw_mark_has `fail_closed`).
bool evalCond(const Cond &cond, const Event &event, const MarkView *marks = nullptr, bool strict = false);
bool evalTest(const Test &test, const Event &event, const MarkView *marks = nullptr, bool denySide = false);
// IPv4 "a.b.c.d" or IPv6 text -> mapped 128-bit address; nullopt if malformed.
std::optional<Cidr> parseAddress(std::string_view text);
// "a.b.c.d/n" or "x::/n" (prefix over the mapped form: v4 /n -> 96 + n).
std::optional<Cidr> parseCidr(std::string_view text);
bool cidrContains(const Cidr &net, const std::array<uint8_t, 16> &addr);

} // namespace bulwark::ir
