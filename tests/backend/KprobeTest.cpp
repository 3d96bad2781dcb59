// kprobe "fn" hooks in the back end: one program per kernel function, in section
// kprobe/<fn>, with its own decision code and argument layout; listed in the manifest.
#include "Backend.h"
#include "ObjectSummary.h"
#include "PolicyBuilder.h"

#include <gtest/gtest.h>

using namespace bwtest;
using bulwark::FieldType;
using bulwark::HookId;
using bulwark::SlotKind;
using bulwark::ir::Action;
using bulwark::ir::TestOp;

namespace {

// Arguments as sema builds them from BTF (sema/KprobeTypes.cpp): ints from slot 6, strings
// from slot 5, in parameter order.
bulwark::ir::KprobeArg intArg(uint32_t index, uint32_t slot, uint32_t size, bool isSigned) {
  static const char *names[] = {"arg0", "arg1", "arg2", "arg3", "arg4"};
  bulwark::ir::KprobeArg a;
  a.index = index;
  a.field = {names[index], names[index], FieldType::INT, SlotKind::Int, slot, "kernel function argument", false};
  a.size = size;
  a.isSigned = isSigned;
  return a;
}
bulwark::ir::KprobeArg strArg(uint32_t index, uint32_t slot) {
  static const char *names[] = {"arg0", "arg1", "arg2", "arg3", "arg4"};
  bulwark::ir::KprobeArg a;
  a.index = index;
  a.field = {names[index], names[index], FieldType::STRING, SlotKind::Str, slot, "kernel function argument (string)",
             false};
  return a;
}

bulwark::ir::Cond argTest(const bulwark::ir::KprobeArg &a, TestOp op, std::vector<bulwark::ir::Value> values) {
  bulwark::ir::Cond c;
  c.kind = bulwark::ir::Cond::Kind::Test;
  c.test.field = a.field;
  c.test.op = op;
  c.test.values = std::move(values);
  c.test.loc = {"test.bw", 1, 1};
  return c;
}

// do_mkdirat(int dfd, struct filename *name, umode_t mode): arg0 int (slot 6), arg2 u16 (slot 7).
// do_fchmodat(int dfd, const char __user *filename, umode_t mode): arg1 string (slot 5).
const std::vector<bulwark::ir::KprobeArg> kMkdirArgs = {intArg(0, 6, 4, true), intArg(2, 7, 2, false)};
const std::vector<bulwark::ir::KprobeArg> kChmodArgs = {intArg(0, 6, 4, true), strArg(1, 5), intArg(2, 7, 2, false)};

PolicyBuilder &kprobeRule(PolicyBuilder &b, const std::string &name, const std::string &fn,
                          const std::vector<bulwark::ir::KprobeArg> &args, bulwark::ir::Cond cond, Action action) {
  b.rule(name, HookId::KPROBE, std::move(cond), action);
  b.p.rules.back().kprobeFunction = fn;
  b.p.rules.back().kprobeArgs = args;
  b.p.rules.back().message = name;
  return b;
}

bulwark::ir::Policy twoFunctionsAndAnLsmHook() {
  PolicyBuilder b("kp");
  kprobeRule(b, "kill_mkdir", "do_mkdirat", kMkdirArgs,
             cAnd({argTest(kMkdirArgs[0], TestOp::Eq, {int64_t(-100)}), argTest(kMkdirArgs[1], TestOp::Eq, {int64_t(0701)})}),
             Action::Kill);
  kprobeRule(b, "audit_chmod", "do_fchmodat", kChmodArgs,
             argTest(kChmodArgs[1], TestOp::Prefix, strs({"/tmp/bw-kp/"})), Action::Audit);
  kprobeRule(b, "audit_mkdir", "do_mkdirat", kMkdirArgs, cTrue(), Action::Audit);
  b.rule("deny_secret", HookId::FILE_OPEN,
         cTest(HookId::FILE_OPEN, "file.path", TestOp::Eq, strs({"/secret"})), Action::Deny);
  return b.build();
}

} // namespace

TEST(Kprobe, OneProgramPerFunctionInItsSection) {
  auto r = bulwark::backend::compileBundle(twoFunctionsAndAnLsmHook());
  ASSERT_TRUE(r) << (r.errors.empty() ? "" : r.errors[0].message);
  auto s = summarize(r->bundle.object);
  ASSERT_TRUE(s.opened) << s.error;
  ASSERT_EQ(s.programs.size(), 6u);  // + path_link/rename/unlink: file.path's identity
  EXPECT_EQ(s.programs["bw_kp_do_mkdirat"], "kprobe/do_mkdirat");
  EXPECT_EQ(s.programs["bw_kp_do_fchmodat"], "kprobe/do_fchmodat");
  EXPECT_EQ(s.programs["bw_file_open"], "lsm/file_open");
  for (const char *p : {"bw_kp_do_mkdirat", "bw_kp_do_fchmodat"})
    EXPECT_GT(s.programInsns[p], 50u) << p;
  // the string argument's prefix test is a map lookup; kprobe hooks are not dispatched, so
  // there is no prog array or chain map for them
  for (const char *m : {"bw_m_prefix", "bw_m_exact", "bw_counters", "bw_events", "bw_scratch", "bw_progs_FILE_OPEN"})
    EXPECT_TRUE(s.maps.count(m)) << m;
  for (const char *m : {"bw_progs_KPROBE", "bw_next_KPROBE"})
    EXPECT_FALSE(s.maps.count(m)) << m;
  EXPECT_GT(s.relocations[".relkprobe/do_fchmodat"], 0u);
  std::printf("kprobe programs: do_mkdirat %zu insns, do_fchmodat %zu insns\n", s.programInsns["bw_kp_do_mkdirat"],
              s.programInsns["bw_kp_do_fchmodat"]);

  const auto &m = r->bundle.manifest;
  std::map<std::string, std::pair<std::string, std::string>> progs;  // name -> (hook, attach)
  for (const auto &p : m.programs)
    progs[p.name] = {p.hook, p.attach};
  EXPECT_EQ(progs["bw_kp_do_mkdirat"], std::make_pair(std::string("kprobe"), std::string("kprobe/do_mkdirat")));
  EXPECT_EQ(progs["bw_kp_do_fchmodat"], std::make_pair(std::string("kprobe"), std::string("kprobe/do_fchmodat")));
  EXPECT_EQ(progs["bw_file_open"], std::make_pair(std::string("file.open"), std::string("lsm/file_open")));
  std::string text = bulwark::bundle::inspectText(r->bundle);
  EXPECT_NE(text.find("kprobe/do_mkdirat"), std::string::npos) << text;
}

TEST(Kprobe, EachFunctionDecidesWithItsOwnRules) {
  auto r = bulwark::backend::compileBundle(twoFunctionsAndAnLsmHook());
  ASSERT_TRUE(r) << (r.errors.empty() ? "" : r.errors[0].message);
  std::map<std::string, const bulwark::backend::LoweredHook *> byFn;
  for (const auto &h : r->lowered.hooks)
    if (h.hasRules)  // not the file identity hooks file.open's path rule brings
      byFn[h.kprobeFunction] = &h;
  ASSERT_EQ(byFn.size(), 3u);
  ASSERT_TRUE(byFn.count("do_mkdirat") && byFn.count("do_fchmodat") && byFn.count(""));
  // do_mkdirat: the unconditional audit rule (id 2) and the compound kill rule (id 0)
  EXPECT_EQ(byFn["do_mkdirat"]->alwaysWord, bulwark::backend::decisionWord(2, Action::Audit));
  ASSERT_EQ(byFn["do_mkdirat"]->compounds.size(), 1u);
  EXPECT_EQ(byFn["do_mkdirat"]->compounds[0].ruleId, 0u);
  EXPECT_EQ(byFn["do_mkdirat"]->kprobeArgs, kMkdirArgs);
  // do_fchmodat: one prefix group on its string argument, nothing unconditional
  EXPECT_EQ(byFn["do_fchmodat"]->alwaysWord, bulwark::backend::kNoRule);
  ASSERT_EQ(byFn["do_fchmodat"]->groups.size(), 1u);
  EXPECT_EQ(r->lowered.groups[byFn["do_fchmodat"]->groups[0]].kind, bulwark::backend::GroupKind::Prefix);
  EXPECT_EQ(byFn["do_fchmodat"]->kprobeArgs, kChmodArgs);
}

TEST(Kprobe, RulesOnOneFunctionMustAgreeAboutItsArguments) {
  PolicyBuilder b("kp");
  kprobeRule(b, "a", "do_mkdirat", kMkdirArgs, cTrue(), Action::Audit);
  kprobeRule(b, "b", "do_mkdirat", kChmodArgs, cTrue(), Action::Audit);
  auto r = bulwark::backend::compileBundle(b.build());
  ASSERT_FALSE(r);
  EXPECT_NE(r.errors.at(0).message.find("disagree about its arguments"), std::string::npos) << r.errors[0].message;
}

TEST(Kprobe, FunctionNameMustBeASymbolName) {
  PolicyBuilder b("kp");
  kprobeRule(b, "a", "do_mkdirat/../x", kMkdirArgs, cTrue(), Action::Audit);
  auto r = bulwark::backend::compileBundle(b.build());
  ASSERT_FALSE(r);
  EXPECT_NE(r.errors.at(0).message.find("not a kernel symbol name"), std::string::npos) << r.errors[0].message;
}
