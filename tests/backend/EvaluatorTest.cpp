// Host evaluator: glob and CIDR primitives, first-match/default/mode semantics.
#include "Evaluator.h"
#include "GlobPattern.h"
#include "PolicyBuilder.h"
#include "Sequence.h"

#include <gtest/gtest.h>

using namespace bwtest;
using bulwark::HookId;
using bulwark::ir::Action;
using bulwark::ir::TestOp;
namespace ir = bulwark::ir;

TEST(Glob, Basics) {
  EXPECT_TRUE(ir::globMatch("/etc/*.conf", "/etc/a.conf"));
  EXPECT_FALSE(ir::globMatch("/etc/*.conf", "/etc/x/a.conf"));
  EXPECT_TRUE(ir::globMatch("/etc/**.conf", "/etc/x/a.conf"));
  EXPECT_TRUE(ir::globMatch("/a/**/b", "/a/b"));
  EXPECT_TRUE(ir::globMatch("/a/**/b", "/a/x/y/b"));
  EXPECT_FALSE(ir::globMatch("/a/**/b", "/a/xb"));
  EXPECT_TRUE(ir::globMatch("/a/?", "/a/x"));
  EXPECT_FALSE(ir::globMatch("/a/?", "/a//"));
  EXPECT_FALSE(ir::globMatch("/a/?", "/a/xy"));
  EXPECT_TRUE(ir::globMatch("/a/[a-c]x", "/a/bx"));
  EXPECT_FALSE(ir::globMatch("/a/[a-c]x", "/a/dx"));
  EXPECT_TRUE(ir::globMatch("/a/[!a-c]x", "/a/dx"));
  EXPECT_TRUE(ir::globMatch("/a/[^a-c]x", "/a/dx"));
  EXPECT_FALSE(ir::globMatch("/a[!x]b", "/a/b"));  // sets never match '/'
  EXPECT_TRUE(ir::globMatch("/a/[]]", "/a/]"));
  EXPECT_TRUE(ir::globMatch("/a/\\*", "/a/*"));
  EXPECT_FALSE(ir::globMatch("/a/\\*", "/a/x"));
  EXPECT_TRUE(ir::globMatch("**", ""));
  EXPECT_TRUE(ir::globMatch("*", ""));
  EXPECT_FALSE(ir::globMatch("*", "/"));
  std::string err;
  EXPECT_FALSE(ir::parseGlob("/a/[abc", &err));
  EXPECT_FALSE(ir::parseGlob("/a/\\", &err));
}

TEST(Cidr, ParseAndContain) {
  auto net = ir::parseCidr("10.1.0.0/16");
  ASSERT_TRUE(net);
  EXPECT_EQ(net->prefixLen, 112u);
  EXPECT_TRUE(ir::cidrContains(*net, ir::parseAddress("10.1.2.3")->addr));
  EXPECT_FALSE(ir::cidrContains(*net, ir::parseAddress("10.2.2.3")->addr));
  auto v6 = ir::parseCidr("fd00:1::/32");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->prefixLen, 32u);
  EXPECT_TRUE(ir::cidrContains(*v6, ir::parseAddress("fd00:1::5")->addr));
  EXPECT_FALSE(ir::cidrContains(*v6, ir::parseAddress("fd00:2::5")->addr));
  EXPECT_FALSE(ir::cidrContains(*net, ir::parseAddress("::a01:203")->addr));  // not v4-mapped
  EXPECT_FALSE(ir::parseCidr("10.0.0.0/33"));
  EXPECT_FALSE(ir::parseCidr("nonsense"));
}

TEST(Evaluator, FirstMatchDefaultsAndModes) {
  auto p = PolicyBuilder("p")
               .rule("allow-tmp", HookId::FILE_OPEN, cTest(HookId::FILE_OPEN, "file.path", TestOp::Prefix, strs({"/tmp/"})), Action::Allow)
               .rule("deny-tmp-x", HookId::FILE_OPEN, cTest(HookId::FILE_OPEN, "file.path", TestOp::Eq, strs({"/tmp/x"})))
               .rule("kill-root-exec", HookId::PROCESS_EXEC,
                     cAnd({cTest(HookId::PROCESS_EXEC, "process.uid", TestOp::Eq, {int64_t(0)}),
                           cTest(HookId::PROCESS_EXEC, "exec.path", TestOp::Glob, strs({"/tmp/**"}))}),
                     Action::Kill)
               .defaultDeny()
               .build();
  ir::Event tmpx{{"file.path", std::string("/tmp/x")}};
  auto d = ir::evaluate(p, HookId::FILE_OPEN, tmpx);
  EXPECT_TRUE(d.matched);
  EXPECT_EQ(d.ruleName, "allow-tmp");  // first match wins, even over a later deny
  EXPECT_FALSE(d.denied);
  d = ir::evaluate(p, HookId::FILE_OPEN, {{"file.path", std::string("/etc/passwd")}});
  EXPECT_FALSE(d.matched);
  EXPECT_TRUE(d.denied);  // default deny on a hook with rules
  d = ir::evaluate(p, HookId::FILE_UNLINK, {{"file.path", std::string("/etc/passwd")}});
  EXPECT_FALSE(d.denied);  // ... but not on hooks without rules
  ir::Event ex{{"process.uid", int64_t(0)}, {"exec.path", std::string("/tmp/a/b")}};
  d = ir::evaluate(p, HookId::PROCESS_EXEC, ex);
  EXPECT_EQ(d.action, Action::Kill);
  EXPECT_TRUE(d.denied);
  EXPECT_TRUE(d.killed);
  ir::EvalOptions audit;
  audit.modeOverride = ir::Mode::Audit;
  d = ir::evaluate(p, HookId::PROCESS_EXEC, ex, audit);
  EXPECT_FALSE(d.denied);
  EXPECT_FALSE(d.killed);
  EXPECT_TRUE(d.wouldDeny);
}

TEST(Evaluator, ScopeDecidesWhetherThePolicySeesTheEvent) {
  auto p = PolicyBuilder("p").rule("deny-all", HookId::FILE_OPEN, cTest(HookId::FILE_OPEN, "file.path", TestOp::Prefix, strs({"/"}))).build();
  p.scope.kind = ir::Scope::Kind::Cgroup;
  p.scope.paths = {"/app.slice"};
  auto at = [](const char *cgroup) { return ir::Event{{"file.path", std::string("/x")}, {"process.cgroup", std::string(cgroup)}}; };
  EXPECT_TRUE(ir::evaluate(p, HookId::FILE_OPEN, at("/app.slice")).denied);
  EXPECT_TRUE(ir::evaluate(p, HookId::FILE_OPEN, at("/app.slice/a.service")).denied);
  for (const char *outside : {"/", "/app.slice2", "/user.slice"}) {
    auto d = ir::evaluate(p, HookId::FILE_OPEN, at(outside));
    EXPECT_FALSE(d.inScope) << outside;
    EXPECT_FALSE(d.matched || d.denied) << outside;
    EXPECT_EQ(d.action, Action::Allow) << outside;
  }
  // Without the field the event is taken to be in scope.
  EXPECT_TRUE(ir::evaluate(p, HookId::FILE_OPEN, {{"file.path", std::string("/x")}}).denied);
  p.scope.kind = ir::Scope::Kind::Executable;
  p.scope.paths = {"/usr/bin/app"};
  EXPECT_TRUE(ir::evaluate(p, HookId::FILE_OPEN, {{"file.path", std::string("/x")}, {"process.exe", std::string("/usr/bin/app")}}).denied);
  EXPECT_FALSE(ir::evaluate(p, HookId::FILE_OPEN, {{"file.path", std::string("/x")}, {"process.exe", std::string("/usr/bin/app2")}}).inScope);
}

TEST(Evaluator, IntOpsAndNot) {
  auto h = HookId::FILE_OPEN;
  auto p = PolicyBuilder("p")
               .rule("flags", h, cAnd({cTest(h, "file.flags", TestOp::HasFlags, {int64_t(0101)}),
                                       cNot(cTest(h, "process.uid", TestOp::Lt, {int64_t(1000)}))}))
               .build();
  EXPECT_TRUE(ir::evaluate(p, h, {{"file.flags", int64_t(0301)}, {"process.uid", int64_t(1000)}}).matched);
  EXPECT_FALSE(ir::evaluate(p, h, {{"file.flags", int64_t(0301)}, {"process.uid", int64_t(999)}}).matched);
  EXPECT_FALSE(ir::evaluate(p, h, {{"file.flags", int64_t(0001)}, {"process.uid", int64_t(1000)}}).matched);
}

// The evaluator decides on the fields as the kernel's hook has them, and not at all for
// calls that never reach the hook.
TEST(Evaluator, KernelViewOfOpenFlags) {
  HookId h = HookId::FILE_OPEN;
  auto p = PolicyBuilder().rule("wr", h, cTest(h, "file.flags", TestOp::Eq, {int64_t(0100001)})).build();
  // open(path, O_WRONLY | O_CLOEXEC): the hook sees O_WRONLY | O_LARGEFILE
  EXPECT_TRUE(ir::evaluate(p, h, {{"file.flags", int64_t(02000001)}}).denied);
  EXPECT_TRUE(ir::evaluate(p, h, {{"file.flags", int64_t(0100001)}}).denied);
  EXPECT_FALSE(ir::evaluate(p, h, {{"file.flags", int64_t(02000002)}}).matched);
  auto e = ir::kernelView(h, {{"file.flags", int64_t(02000001)}});
  EXPECT_EQ(std::get<int64_t>(e.at("file.flags")), 0100001);
  EXPECT_EQ(std::get<int64_t>(ir::kernelView(h, e).at("file.flags")), 0100001);  // idempotent
  EXPECT_EQ(std::get<int64_t>(ir::kernelView(h, {}).at("file.flags")), 0100000);
}

TEST(Evaluator, KernelViewCallsTheHookNeverSees) {
  HookId open = HookId::FILE_OPEN, mmap = HookId::FILE_MMAP_EXEC;
  auto p = PolicyBuilder()
               .rule("any_open", open, cTrue())
               .rule("any_map", mmap, cTrue())
               .defaultDeny()
               .build();
  auto d = ir::evaluate(p, open, {{"file.flags", int64_t(010000000)}});  // O_PATH
  EXPECT_FALSE(d.seen);
  EXPECT_FALSE(d.matched);
  EXPECT_FALSE(d.denied);
  EXPECT_TRUE(ir::evaluate(p, open, {{"file.flags", int64_t(0)}}).denied);
  EXPECT_FALSE(ir::evaluate(p, mmap, {{"mmap.prot", int64_t(1)}}).seen);  // PROT_READ only
  EXPECT_TRUE(ir::evaluate(p, mmap, {{"mmap.prot", int64_t(5)}}).denied);
  EXPECT_TRUE(ir::evaluate(p, mmap, {}).denied);  // no mmap.prot: taken to ask for PROT_EXEC
}

namespace {
// One mark-only rule per mark "m0".."m16" (file.open of /k/N marks the process for an hour),
// then on net.connect an allow rule and a deny rule that test a mark no rule sets, and on
// net.socket an allow rule unless the process carries it (default deny).
ir::Policy slotsPolicy() {
  const HookId open = HookId::FILE_OPEN, connect = HookId::NET_CONNECT, sock = HookId::NET_SOCKET;
  PolicyBuilder b("slots");
  for (size_t i = 0; i <= ir::kMarkSlots; ++i)
    b.rule("mark" + std::to_string(i), open, cTest(open, "file.path", TestOp::Eq, {"/k/" + std::to_string(i)}), Action::Allow);
  b.rule("allow_if_never", connect, cMark(ir::kProcessMarks, "never"), Action::Allow)
      .rule("deny_if_never", connect, cMark(ir::kProcessMarks, "never"), Action::Deny)
      .rule("allow_unless_parent_never", sock, cNot(cMark(ir::kParentMarks, "never")), Action::Allow)
      .defaultDeny();
  ir::Policy p = b.build();
  for (size_t i = 0; i <= ir::kMarkSlots; ++i) {
    p.rules[i].decides = false;
    p.rules[i].marks.push_back({"m" + std::to_string(i), false, 3600000000000ull, false, {}});
  }
  return p;
}
ir::Event openOf(size_t i) { return {{"file.path", "/k/" + std::to_string(i)}}; }
} // namespace

// The kernel's room: 16 live marks fit (renewing one takes no room); the 17th is not set and
// makes the process full for good (fork copies it, exec and expiry keep it), and then every
// deny-side test of a mark holds, allow-side ones do not (bw_mark_has fail_closed).
TEST(ProcessTable, SeventeenthMarkFailsClosedByPolarity) {
  ir::Policy p = slotsPolicy();
  ir::ProcessTable t(p);
  const HookId open = HookId::FILE_OPEN, connect = HookId::NET_CONNECT, sock = HookId::NET_SOCKET;
  for (size_t i = 0; i < ir::kMarkSlots; ++i)
    t.decide(10, open, openOf(i));
  t.decide(10, open, openOf(3));  // a renewal
  EXPECT_EQ(t.marksOf(10).process.size(), ir::kMarkSlots);
  EXPECT_FALSE(t.marksOf(10).processFull);
  EXPECT_TRUE(t.decide(10, connect, {}).denied);  // no rule holds: the default (deny)
  EXPECT_EQ(t.decide(10, connect, {}).ruleName, "");
  t.fork(10, 11);
  EXPECT_EQ(t.decide(11, sock, {}).ruleName, "allow_unless_parent_never");  // the parent has room
  t.decide(10, open, openOf(ir::kMarkSlots));  // the 17th
  EXPECT_EQ(t.marksOf(10).process.count("m16"), 0u);
  EXPECT_TRUE(t.marksOf(10).processFull);
  auto d = t.decide(10, connect, {});
  EXPECT_EQ(d.ruleName, "deny_if_never");  // deny-side: holds; the allow rule before it does not
  EXPECT_TRUE(d.denied);
  EXPECT_FALSE(t.decide(11, sock, {}).matched);  // `not` in an allow rule: deny-side, holds, so not
  t.fork(10, 12);
  t.exec(12);
  EXPECT_EQ(t.decide(12, connect, {}).ruleName, "deny_if_never");  // fork copies it, exec keeps it
  t.advance(7200000000000ull);  // every mark expired
  EXPECT_TRUE(t.marksOf(10).process.empty());
  EXPECT_EQ(t.decide(10, connect, {}).ruleName, "deny_if_never");  // full stays
  EXPECT_FALSE(t.decide(20, connect, {}).matched);  // another process
  EXPECT_FALSE(t.marksOf(20).processFull);
}
