#include "Sequence.h"

namespace bulwark::ir {

ProcessTable::Process &ProcessTable::process(int64_t pid) {
  Process &p = procs_[pid];
  dropExpired(p);
  return p;
}

void ProcessTable::dropExpired(Process &p) {
  for (auto it = p.marks.begin(); it != p.marks.end();)
    it = it->second.expiresNs && it->second.expiresNs <= now_ ? p.marks.erase(it) : std::next(it);
}

void ProcessTable::fork(int64_t parent, int64_t child) {
  Process copy = process(parent);
  copy.parent = parent;
  procs_[child] = std::move(copy);
}

void ProcessTable::exec(int64_t pid) {
  Process &p = process(pid);
  for (auto it = p.marks.begin(); it != p.marks.end();)
    it = it->second.untilExec ? p.marks.erase(it) : std::next(it);
}

MarkView ProcessTable::marksOf(int64_t pid) {
  MarkView v;
  const Process &p = process(pid);
  for (const auto &[name, m] : p.marks)
    v.process.insert(name);
  const Process &parent = process(p.parent);
  for (const auto &[name, m] : parent.marks)
    v.parent.insert(name);
  v.processFull = p.full;
  v.parentFull = parent.full;
  return v;
}

// Renews the mark where the process has it, else takes a free slot, else marks the process full.
void ProcessTable::setMark(Process &p, const std::string &name, const Mark &m) {
  auto it = p.marks.find(name);
  if (it != p.marks.end())
    it->second = m;
  else if (p.marks.size() < kMarkSlots)
    p.marks.emplace(name, m);
  else
    p.full = true;
}

const ProcessTable::Mark *ProcessTable::mark(int64_t pid, const std::string &name) {
  const Process &p = process(pid);
  auto it = p.marks.find(name);
  return it == p.marks.end() ? nullptr : &it->second;
}

Decision ProcessTable::decide(int64_t pid, HookId hook, const Event &event, EvalOptions options) {
  MarkView view = marksOf(pid);
  options.marks = &view;
  Decision d = evaluate(policy_, hook, event, options);
  for (uint32_t id : d.markRules) {
    const Rule &r = policy_.rules.at(id);
    for (const MarkSet &m : r.marks) {
      Process &target = process(m.onParent ? process(pid).parent : pid);
      setMark(target, m.name, Mark{r.id, now_, m.forNs ? now_ + m.forNs : 0, m.untilExec});
    }
  }
  return d;
}

} // namespace bulwark::ir
