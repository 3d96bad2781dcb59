#include "Evaluator.h"

#include "GlobPattern.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace bulwark::ir {

namespace {

int64_t intOf(const Event &ev, std::string_view name) {
  auto it = ev.find(name);
  if (it == ev.end())
    return 0;
  if (auto *i = std::get_if<int64_t>(&it->second))
    return *i;
  return 0;
}

std::string strOf(const Event &ev, std::string_view name) {
  auto it = ev.find(name);
  if (it == ev.end())
    return {};
  if (auto *s = std::get_if<std::string>(&it->second))
    return *s;
  return {};
}

const Cidr *addrOf(const Event &ev, std::string_view name) {
  auto it = ev.find(name);
  if (it == ev.end())
    return nullptr;
  return std::get_if<Cidr>(&it->second);
}

} // namespace

bool cidrContains(const Cidr &net, const std::array<uint8_t, 16> &addr) {
  uint32_t bits = std::min<uint32_t>(net.prefixLen, 128);
  for (uint32_t i = 0; i < bits; ++i) {
    int byte = i / 8, bit = 7 - i % 8;
    if (((net.addr[byte] >> bit) & 1) != ((addr[byte] >> bit) & 1))
      return false;
  }
  return true;
}

std::optional<Cidr> parseAddress(std::string_view text) {
  std::string s(text);
  Cidr c;
  in_addr v4;
  in6_addr v6;
  if (inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    c.addr[10] = c.addr[11] = 0xff;
    std::memcpy(&c.addr[12], &v4, 4);
    return c;
  }
  if (inet_pton(AF_INET6, s.c_str(), &v6) == 1) {
    std::memcpy(c.addr.data(), &v6, 16);
    return c;
  }
  return std::nullopt;
}

std::optional<Cidr> parseCidr(std::string_view text) {
  auto slash = text.find('/');
  auto a = parseAddress(text.substr(0, slash));
  if (!a)
    return std::nullopt;
  bool v4 = text.substr(0, slash).find(':') == std::string_view::npos;
  if (slash == std::string_view::npos)
    return a;
  uint32_t n = 0;
  for (char ch : text.substr(slash + 1)) {
    if (ch < '0' || ch > '9')
      return std::nullopt;
    n = n * 10 + (ch - '0');
    if (n > 128)
      return std::nullopt;
  }
  if (v4 && n > 32)
    return std::nullopt;
  a->prefixLen = v4 ? 96 + n : n;
  return a;
}

bool evalTest(const Test &t, const Event &ev, const MarkView *marks, bool denySide) {
  const auto &name = t.field.name;
  if (t.op == TestOp::HasMark) {
    if (!marks || t.values.empty())
      return false;
    const auto &set = onParent(t.field) ? marks->parent : marks->process;
    bool full = onParent(t.field) ? marks->parentFull : marks->processFull;
    return set.count(std::get<std::string>(t.values[0])) != 0 || (denySide && full);
  }
  switch (t.field.slotKind) {
  case SlotKind::Int: {
    int64_t x = intOf(ev, name);
    switch (t.op) {
    case TestOp::Eq:
      for (const auto &v : t.values)
        if (auto *i = std::get_if<int64_t>(&v); i && *i == x)
          return true;
      return false;
    case TestOp::Lt: return x < std::get<int64_t>(t.values.at(0));
    case TestOp::Le: return x <= std::get<int64_t>(t.values.at(0));
    case TestOp::Gt: return x > std::get<int64_t>(t.values.at(0));
    case TestOp::Ge: return x >= std::get<int64_t>(t.values.at(0));
    case TestOp::HasFlags: {
      int64_t f = std::get<int64_t>(t.values.at(0));
      return (x & f) == f;
    }
    default: return false;
    }
  }
  case SlotKind::Addr: {
    const Cidr *a = addrOf(ev, name);
    if (!a)
      return false;
    for (const auto &v : t.values)
      if (auto *c = std::get_if<Cidr>(&v); c && cidrContains(*c, a->addr))
        return true;
    return false;
  }
  case SlotKind::Str: {
    std::string s = strOf(ev, name);
    for (const auto &v : t.values) {
      const auto *p = std::get_if<std::string>(&v);
      if (!p)
        continue;
      switch (t.op) {
      case TestOp::Eq:
        if (s == *p) return true;
        break;
      case TestOp::Prefix:
        if (s.starts_with(*p)) return true;
        break;
      case TestOp::Suffix:
        if (s.ends_with(*p)) return true;
        break;
      case TestOp::Glob:
        if (globMatch(*p, s)) return true;
        break;
      default: break;
      }
    }
    return false;
  }
  }
  return false;
}

// `strict` flips under every `not`: there a test's holding works against the condition.
bool evalCond(const Cond &c, const Event &ev, const MarkView *marks, bool strict) {
  switch (c.kind) {
  case Cond::Kind::True: return true;
  case Cond::Kind::False: return false;
  case Cond::Kind::Test: return evalTest(c.test, ev, marks, strict);
  case Cond::Kind::And:
    for (const auto &k : c.kids)
      if (!evalCond(k, ev, marks, strict))
        return false;
    return true;
  case Cond::Kind::Or:
    for (const auto &k : c.kids)
      if (evalCond(k, ev, marks, strict))
        return true;
    return false;
  case Cond::Kind::Not: return !c.kids.empty() && !evalCond(c.kids[0], ev, marks, !strict);
  }
  return false;
}

bool inScope(const Policy &policy, const Event &event) {
  const std::string_view field = policy.scope.kind == Scope::Kind::Cgroup ? "process.cgroup" : "process.exe";
  if (policy.scope.kind == Scope::Kind::Host || !event.count(field))
    return true;
  std::string value = strOf(event, field);
  for (const auto &s : policy.scope.paths) {
    if (value == s)
      return true;
    bool subtree = policy.scope.kind == Scope::Kind::Cgroup &&
                   (s == "/" || (value.size() > s.size() && value.compare(0, s.size(), s) == 0 && value[s.size()] == '/'));
    if (subtree)
      return true;
  }
  return false;
}

namespace {
constexpr int64_t kOLargefile = 0100000, kOCloexec = 02000000, kOPath = 010000000, kProtExec = 4;
// A rule whose matching can only make the decision stricter (an audit rule that matches first
// stops a later deny, so it is not one).
bool strictAction(Action a) { return a == Action::Deny || a == Action::Kill; }
} // namespace

bool seenByKernel(HookId hook, const Event &event) {
  if (hook == HookId::FILE_OPEN)
    return !(intOf(event, "file.flags") & kOPath);
  if (hook == HookId::FILE_MMAP_EXEC && event.count("mmap.prot"))
    return (intOf(event, "mmap.prot") & kProtExec) != 0;
  return true;
}

Event kernelView(HookId hook, Event event) {
  if (hook == HookId::FILE_OPEN) {
    auto [it, added] = event.try_emplace("file.flags", int64_t(0));
    if (auto *f = std::get_if<int64_t>(&it->second))
      *f = (*f & ~kOCloexec) | kOLargefile;
  }
  return event;
}

Decision evaluate(const Policy &policy, HookId hook, const Event &rawEvent, const EvalOptions &opt) {
  Decision d;
  if (!seenByKernel(hook, rawEvent)) {
    d.seen = false;
    return d;
  }
  const Event event = kernelView(hook, rawEvent);
  if (!inScope(policy, event)) {
    d.inScope = false;
    return d;
  }
  bool hookHasRules = false;
  for (const auto &r : policy.rules) {
    if (r.hook != hook || !r.decides)
      continue;
    hookHasRules = true;
    if (evalCond(r.cond, event, opt.marks, strictAction(r.action))) {
      d.matched = true;
      d.ruleId = r.id;
      d.ruleName = r.name;
      d.action = r.action;
      break;
    }
  }
  if (!d.matched)
    d.action = hookHasRules ? policy.defaultAction : Action::Allow;
  // a mark set can only make later decisions stricter: its condition is a strict one
  for (const auto &r : policy.rules)
    if (r.hook == hook && !r.marks.empty() && evalCond(r.cond, event, opt.marks, true))
      d.markRules.push_back(r.id);
  Mode mode = opt.modeOverride.value_or(policy.mode);
  bool deny = d.action == Action::Deny || d.action == Action::Kill;
  bool prevents = Catalogue::get().hook(hook).canPrevent();
  if (deny && (mode == Mode::Audit || !prevents)) {
    d.wouldDeny = mode == Mode::Audit || d.action == Action::Deny;
    deny = false;
  }
  if (d.action == Action::Kill && mode == Mode::Enforce)
    d.killed = true;
  d.denied = deny;
  return d;
}

} // namespace bulwark::ir
