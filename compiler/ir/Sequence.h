// Sequences of events on the host: processes, their parents and the marks rules set on them,
// as the kernel keeps them (task local storage, see bpf/lib/bw_marks.h). `bulwarkc test`
// runs a test's steps through one table, so a mark set by an earlier step is seen by a later
// one. Time is simulated: it advances only when a step says so.
//
// Kernel semantics it follows: a mark is live until its expiry (set time + `for`), or until
// the process exits; a fork copies every live mark to the child; an exec drops the marks set
// `until exec`; setting a mark again renews it (new time, expiry and setting rule). A process
// has room for kMarkSlots live marks: one more is not set and makes the process `full` for
// good (fork copies it, exec keeps it), so every deny-side test of a mark holds for it
// (MarkView, evalCond). The kernel's room (BW_MARK_SLOTS) is shared by all policies loaded;
// the table knows one policy, so it models a process whose marks are all this policy's.
#pragma once

#include "Evaluator.h"

#include <cstdint>
#include <map>
#include <string>

namespace bulwark::ir {

// Live marks a process can hold (BW_MARK_SLOTS of abi/bw_abi.h; the back end checks they agree).
inline constexpr size_t kMarkSlots = 16;

class ProcessTable {
public:
  explicit ProcessTable(const Policy &policy) : policy_(policy) {}

  // `child` starts as a copy of `parent`'s live marks, with `parent` as its parent.
  void fork(int64_t parent, int64_t child);
  // `pid` runs a new program: its `until exec` marks go.
  void exec(int64_t pid);
  void advance(uint64_t ns) { now_ += ns; }
  uint64_t now() const { return now_; }

  // Decides `event` of process `pid` with its marks and its parent's, then sets the marks of
  // the rules whose condition held (Decision::markRules). A pid seen first has parent 1.
  Decision decide(int64_t pid, HookId hook, const Event &event, EvalOptions options = {});
  MarkView marksOf(int64_t pid);

  struct Mark {
    uint32_t rule = 0;       // the rule that set it last
    uint64_t setNs = 0;
    uint64_t expiresNs = 0;  // 0: never
    bool untilExec = false;
  };
  // The live mark `name` of `pid`, if any (the rule and time that set it: the earlier step).
  const Mark *mark(int64_t pid, const std::string &name);

private:
  struct Process {
    int64_t parent = 1;
    std::map<std::string, Mark> marks;
    bool full = false;  // a mark once found no room
  };
  Process &process(int64_t pid);
  void dropExpired(Process &p);
  void setMark(Process &p, const std::string &name, const Mark &m);

  const Policy &policy_;
  std::map<int64_t, Process> procs_;
  uint64_t now_ = 0;
};

} // namespace bulwark::ir
