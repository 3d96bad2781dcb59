#include "PolicyBuilder.h"

#include <stdexcept>

namespace bwtest {

ir::Test test(HookId hook, const std::string &field, ir::TestOp op, std::vector<ir::Value> values) {
  const FieldInfo *f = Catalogue::get().findField(hook, field);
  if (!f)
    throw std::runtime_error("no field " + field);
  ir::Test t;
  t.field = *f;
  t.op = op;
  t.values = std::move(values);
  t.loc = {"test.bw", 1, 1};
  return t;
}

ir::Cond cTest(HookId hook, const std::string &field, ir::TestOp op, std::vector<ir::Value> values) {
  ir::Cond c;
  c.kind = ir::Cond::Kind::Test;
  c.test = test(hook, field, op, std::move(values));
  return c;
}
ir::Cond cAnd(std::vector<ir::Cond> kids) {
  ir::Cond c;
  c.kind = ir::Cond::Kind::And;
  c.kids = std::move(kids);
  return c;
}
ir::Cond cOr(std::vector<ir::Cond> kids) {
  ir::Cond c;
  c.kind = ir::Cond::Kind::Or;
  c.kids = std::move(kids);
  return c;
}
ir::Cond cNot(ir::Cond kid) {
  ir::Cond c;
  c.kind = ir::Cond::Kind::Not;
  c.kids.push_back(std::move(kid));
  return c;
}
ir::Cond cTrue() { return ir::Cond{}; }
ir::Cond cMark(const FieldInfo &who, const std::string &name) {
  ir::Cond c;
  c.kind = ir::Cond::Kind::Test;
  c.test.field = who;
  c.test.op = ir::TestOp::HasMark;
  c.test.values.push_back(name);
  return c;
}

PolicyBuilder::PolicyBuilder(std::string name) {
  p.name = std::move(name);
  p.description = "test policy";
  p.loc = {"test.bw", 1, 1};
  p.sourceDigest = std::string(64, '0');
}

PolicyBuilder &PolicyBuilder::rule(const std::string &name, HookId hook, ir::Cond cond,
                                   ir::Action action) {
  ir::Rule r;
  r.id = static_cast<uint32_t>(p.rules.size());
  r.name = name;
  r.hook = hook;
  r.cond = std::move(cond);
  r.action = action;
  r.message = name + " {file.path}";
  r.loc = {"test.bw", r.id + 2, 3};
  p.rules.push_back(std::move(r));
  return *this;
}

PolicyBuilder &PolicyBuilder::defaultDeny() {
  p.defaultAction = ir::Action::Deny;
  return *this;
}

std::vector<ir::Value> strs(std::initializer_list<const char *> s) {
  std::vector<ir::Value> v;
  for (auto *x : s)
    v.emplace_back(std::string(x));
  return v;
}

ir::Value cidr(const char *text) {
  auto c = ir::parseCidr(text);
  if (!c)
    throw std::runtime_error(std::string("bad cidr ") + text);
  return *c;
}

} // namespace bwtest
