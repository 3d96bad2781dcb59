// Small helpers to build ir::Policy values in tests.
#pragma once

#include "Evaluator.h"
#include "PolicyIr.h"

#include <string>
#include <vector>

namespace bwtest {

using namespace bulwark;

ir::Test test(HookId hook, const std::string &field, ir::TestOp op, std::vector<ir::Value> values);
ir::Cond cTest(HookId hook, const std::string &field, ir::TestOp op, std::vector<ir::Value> values);
ir::Cond cAnd(std::vector<ir::Cond> kids);
ir::Cond cOr(std::vector<ir::Cond> kids);
ir::Cond cNot(ir::Cond kid);
ir::Cond cTrue();
// `process.marks has "name"` (who: ir::kProcessMarks) or `parent.marks has "name"`.
ir::Cond cMark(const FieldInfo &who, const std::string &name);

struct PolicyBuilder {
  ir::Policy p;
  explicit PolicyBuilder(std::string name = "test");
  PolicyBuilder &rule(const std::string &name, HookId hook, ir::Cond cond,
                      ir::Action action = ir::Action::Deny);
  PolicyBuilder &defaultDeny();
  ir::Policy build() const { return p; }
};

std::vector<ir::Value> strs(std::initializer_list<const char *> s);
ir::Value cidr(const char *text);

} // namespace bwtest
