#include "Lint.h"

#include "Glob.h"
#include "Literals.h"

#include <algorithm>
#include <set>

namespace bulwark {

namespace {

bool sameValue(const ir::Value &a, const ir::Value &b) {
  if (a.index() != b.index()) return false;
  if (auto *c = std::get_if<ir::Cidr>(&a)) {
    auto &d = std::get<ir::Cidr>(b);
    return c->addr == d.addr && c->prefixLen == d.prefixLen;
  }
  return a == b;
}

bool cidrContains(const ir::Cidr &outer, const ir::Cidr &inner) {
  if (outer.prefixLen > inner.prefixLen) return false;
  for (uint32_t bit = 0; bit < outer.prefixLen; ++bit) {
    uint8_t m = static_cast<uint8_t>(0x80 >> (bit % 8));
    if ((outer.addr[bit / 8] & m) != (inner.addr[bit / 8] & m)) return false;
  }
  return true;
}

bool sameCond(const ir::Cond &a, const ir::Cond &b) {
  if (a.kind != b.kind || a.kids.size() != b.kids.size()) return false;
  if (a.kind == ir::Cond::Kind::Test) {
    const auto &x = a.test, &y = b.test;
    if (x.field.name != y.field.name || x.op != y.op || x.values.size() != y.values.size()) return false;
    for (size_t i = 0; i < x.values.size(); ++i)
      if (!sameValue(x.values[i], y.values[i])) return false;
  }
  for (size_t i = 0; i < a.kids.size(); ++i)
    if (!sameCond(a.kids[i], b.kids[i])) return false;
  return true;
}

// Does value v (of test b) satisfy test a for every event where b's v holds?
bool valueCovered(const ir::Test &a, const ir::Value &v, ir::TestOp bop) {
  for (const auto &av : a.values) {
    if (a.op == bop && sameValue(av, v)) return true;
    if (a.op == ir::TestOp::Prefix && (bop == ir::TestOp::Eq || bop == ir::TestOp::Prefix)) {
      const auto &p = std::get<std::string>(av);
      const auto &s = std::get<std::string>(v);
      if (s.rfind(p, 0) == 0) return true;
    }
    if (a.op == ir::TestOp::Suffix && (bop == ir::TestOp::Eq || bop == ir::TestOp::Suffix)) {
      const auto &p = std::get<std::string>(av);
      const auto &s = std::get<std::string>(v);
      if (s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0) return true;
    }
    if (a.op == ir::TestOp::Glob && bop == ir::TestOp::Eq && globMatch(std::get<std::string>(av), std::get<std::string>(v)))
      return true;
    if (a.op == ir::TestOp::InCidr && bop == ir::TestOp::InCidr && cidrContains(std::get<ir::Cidr>(av), std::get<ir::Cidr>(v)))
      return true;
  }
  return false;
}

// True when every event matching `b` also matches `a` (conservative: false when unsure).
bool covers(const ir::Cond &a, const ir::Cond &b) {
  using K = ir::Cond::Kind;
  if (a.kind == K::True || b.kind == K::False) return true;
  if (sameCond(a, b)) return true;
  if (b.kind == K::Or) return std::all_of(b.kids.begin(), b.kids.end(), [&](const ir::Cond &k) { return covers(a, k); });
  if (a.kind == K::Or && std::any_of(a.kids.begin(), a.kids.end(), [&](const ir::Cond &k) { return covers(k, b); })) return true;
  if (a.kind == K::And) return std::all_of(a.kids.begin(), a.kids.end(), [&](const ir::Cond &k) { return covers(k, b); });
  if (b.kind == K::And) return std::any_of(b.kids.begin(), b.kids.end(), [&](const ir::Cond &k) { return covers(a, k); });
  if (a.kind == K::Test && b.kind == K::Test && a.test.field.name == b.test.field.name) {
    const auto &bt = b.test;
    if (bt.op == ir::TestOp::Lt || bt.op == ir::TestOp::Le || bt.op == ir::TestOp::Gt || bt.op == ir::TestOp::Ge || bt.op == ir::TestOp::HasFlags)
      return false;
    return std::all_of(bt.values.begin(), bt.values.end(), [&](const ir::Value &v) { return valueCovered(a.test, v, bt.op); });
  }
  return false;
}

// A value both single-test rules match, for W0104 (same field, exact or prefix tests).
std::optional<std::string> overlapWitness(const ir::Cond &a, const ir::Cond &b) {
  if (a.kind != ir::Cond::Kind::Test || b.kind != ir::Cond::Kind::Test) return std::nullopt;
  if (a.test.field.name != b.test.field.name) return std::nullopt;
  for (const auto &v : b.test.values) {
    if (!std::holds_alternative<std::string>(v)) {
      if (b.test.op == ir::TestOp::Eq && a.test.op == ir::TestOp::Eq && valueCovered(a.test, v, ir::TestOp::Eq))
        return std::holds_alternative<int64_t>(v) ? std::to_string(std::get<int64_t>(v)) : formatCidr(std::get<ir::Cidr>(v));
      continue;
    }
    if ((b.test.op == ir::TestOp::Eq || b.test.op == ir::TestOp::Prefix) && valueCovered(a.test, v, b.test.op))
      return std::get<std::string>(v);
  }
  for (const auto &v : a.test.values)
    if (std::holds_alternative<std::string>(v) && (a.test.op == ir::TestOp::Eq || a.test.op == ir::TestOp::Prefix) &&
        valueCovered(b.test, v, a.test.op))
      return std::get<std::string>(v);
  return std::nullopt;
}

// W0103 for conditions that are constant by construction.
std::optional<std::string> constantCond(const ir::Cond &c, bool *value) {
  using K = ir::Cond::Kind;
  if (c.kind == K::True || c.kind == K::False) {
    *value = c.kind == K::True;
    return std::string("the condition does not depend on the event");
  }
  if (c.kind == K::And || c.kind == K::Or)
    for (const auto &x : c.kids)
      for (const auto &y : c.kids)
        if (y.kind == K::Not && sameCond(y.kids[0], x)) {
          *value = c.kind == K::Or;
          return std::string(c.kind == K::Or ? "'x or not x' is always true" : "'x and not x' is always false");
        }
  if (c.kind == K::Test && !c.test.values.empty() && std::holds_alternative<int64_t>(c.test.values[0])) {
    int64_t v = std::get<int64_t>(c.test.values[0]);
    bool unsignedField = c.test.field.type == FieldType::UID || c.test.field.type == FieldType::GID || c.test.field.type == FieldType::PORT;
    if (unsignedField && ((c.test.op == ir::TestOp::Lt && v <= 0) || (c.test.op == ir::TestOp::Ge && v <= 0))) {
      *value = c.test.op == ir::TestOp::Ge;
      return std::string(c.test.field.name) + " is never negative";
    }
    if (c.test.field.type == FieldType::PORT && ((c.test.op == ir::TestOp::Gt && v >= 65535) || (c.test.op == ir::TestOp::Le && v >= 65535))) {
      *value = c.test.op == ir::TestOp::Le;
      return "ports are at most 65535";
    }
  }
  return std::nullopt;
}

bool isBlocking(ir::Action a) { return a == ir::Action::Deny || a == ir::Action::Kill; }

} // namespace

void lint(const SourceManager &sm, const SemaResult &sema, DiagnosticEngine &diags) {
  // One warning per place: several checks can notice the same thing.
  std::set<std::pair<FileId, uint32_t>> seen;
  auto once = [&](const SourceLoc &l) { return seen.insert({l.file, l.offset}).second; };
  // Sema's specific reason (an empty list) first; the generic constant-condition check below
  // then skips the same place.
  for (const auto &c : sema.facts.constantConds)
    if (once(c.loc)) diags.report(DiagId::W0103, c.loc, "condition is always " + std::string(c.value ? "true" : "false") + ": " + c.why);
  for (const auto &p : sema.policies) {
    const auto &rules = p.ir.rules;
    for (size_t j = 0; j < rules.size(); ++j) {
      const ast::RuleDecl *rj = p.rules[j];
      bool constVal = false;
      if (rj->when) {
        if (auto why = constantCond(rules[j].cond, &constVal); why && once(rj->when->loc))
          diags.report(DiagId::W0103, rj->when->loc, "condition is always " + std::string(constVal ? "true" : "false") + ": " + *why);
      }
      if (!rules[j].decides) continue;  // a rule that only sets marks runs whatever came before
      if (p.ir.mode == ir::Mode::Audit && isBlocking(rules[j].action)) {
        auto &d = diags.report(DiagId::W0105, rj->actionLoc, std::string("'") + ast::actionSpelling(rj->action) + "' in policy '" + p.ir.name + "', which is in audit mode: it will only be recorded");
        d.help = "this is expected while trialling a policy; switch to 'mode enforce' to enforce";
      }
      for (size_t i = 0; i < j; ++i) {
        if (!rules[i].decides || rules[i].hook != rules[j].hook || rules[i].kprobeFunction != rules[j].kprobeFunction) continue;
        if (covers(rules[i].cond, rules[j].cond)) {
          auto &d = diags.report(DiagId::W0101, rj->nameLoc, "rule '" + rules[j].name + "' is unreachable: rule '" + rules[i].name + "' before it matches everything it matches");
          d.notes.push_back({p.rules[i]->nameLoc, "rule '" + rules[i].name + "' is here"});
          break;
        }
        bool opposite = (rules[i].action == ir::Action::Allow && isBlocking(rules[j].action)) ||
                        (isBlocking(rules[i].action) && rules[j].action == ir::Action::Allow);
        if (opposite) {
          if (auto w = overlapWitness(rules[i].cond, rules[j].cond)) {
            auto &d = diags.report(DiagId::W0104, rj->nameLoc, "rules '" + rules[i].name + "' (" + ast::actionSpelling(p.rules[i]->action) + ") and '" + rules[j].name + "' (" + ast::actionSpelling(rj->action) + ") both match " + *w + "; the earlier rule decides");
            d.notes.push_back({p.rules[i]->nameLoc, "rule '" + rules[i].name + "' is here"});
          }
        }
      }
    }
  }

  for (const auto &p : sema.policies) {
    std::set<std::string> tested;
    for (const auto &t : p.marksTested) tested.insert(t.name);
    for (const auto &m : p.marksSet)
      if (!tested.count(m.name) && once(m.loc)) {
        auto &d = diags.report(DiagId::W0109, m.loc, "mark '" + m.name + "' is set but no rule of policy '" + p.ir.name + "' tests it");
        d.help = "test it in a later rule ('process.marks has \"" + m.name + "\"') or remove the mark";
      }
  }
  for (const auto &dup : sema.facts.duplicateEntries) {
    if (!once(dup.loc)) continue;
    auto &d = diags.report(DiagId::W0102, dup.loc, "duplicate list entry " + dup.value);
    d.notes.push_back({dup.firstLoc, "first listed here"});
  }
  for (const auto &lit : sema.facts.pathLiterals)
    if (isNonCanonicalPath(lit.value) && once(lit.loc)) {
      auto &d = diags.report(DiagId::W0106, lit.loc, "path \"" + lit.value + "\" is not canonical; the kernel reports resolved paths, so it never matches as written");
      d.help = "remove '//', '.', '..' segments and trailing '/'";
    }
  for (const auto &lit : sema.facts.globLiterals)
    if (auto prefix = globAsPrefix(lit.value); prefix && once(lit.loc)) {
      auto &d = diags.report(DiagId::W0107, lit.loc, "glob \"" + lit.value + "\" matches exactly the paths that start with \"" + *prefix + "\"");
      d.help = "write 'startswith \"" + *prefix + "\"': it says the same and is a cheaper prefix lookup";
    }
  for (const auto &u : sema.facts.decls) {
    if (u.inModule || sema.facts.used.count(u.decl)) continue;
    const char *what = u.decl->kind == ast::Decl::Kind::List ? "list" : u.decl->kind == ast::Decl::Kind::Macro ? "macro" : "constant";
    diags.report(DiagId::W0108, u.decl->nameLoc(), std::string(what) + " '" + u.decl->name() + "' is never used");
  }
  (void)sm;
}

} // namespace bulwark
