// What operators see: events, status counters, audit mode, and enforcement that outlives
// the bulwark process (pins), adopted by later processes.
#include <gtest/gtest.h>

#include <algorithm>
#include <regex>

#include "RuntimeVmUtil.h"

namespace bulwark::rttest {
namespace {

class Observe : public ::testing::Test {
protected:
  void SetUp() override { ASSERT_TRUE(guest::InGuest()); }
  void TearDown() override { Bulwark(root, {"unload", "deny-test"}); }
  TempDir tmp;
  PinRoot root;
};

TEST_F(Observe, EnforcementOutlivesTheLoaderAndIsAdopted) {
  std::string a = tmp.CreateFile("a");
  BundleSpec s;
  s.deny = {IdOf(a)};
  // The loading process has exited when RunCommand returns; only pins hold the programs.
  ASSERT_EQ(Bulwark(root, {"load", MakeBundle(tmp.path(), s)}).exit_code, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(guest::OpenErrno(a), EPERM);
  auto l = Bulwark(root, {"list"});
  EXPECT_EQ(l.exit_code, 0);
  EXPECT_NE(l.output.find("deny-test"), std::string::npos) << l.output;
  EXPECT_NE(l.output.find("file.open"), std::string::npos) << l.output;
}

TEST_F(Observe, EventsAndCounters) {
  std::string a = tmp.CreateFile("protected-file");
  std::string w = tmp.CreateFile("watched-file");
  BundleSpec s;
  s.deny = {IdOf(a)};
  s.audit = {IdOf(w)};
  ASSERT_EQ(Bulwark(root, {"load", MakeBundle(tmp.path(), s)}).exit_code, 0);
  auto drain = Bulwark(root, {"events"});  // earlier records, if any
  ASSERT_EQ(drain.exit_code, 0) << drain.output;

  auto child = guest::RunInChild([&] {
    int e1 = guest::OpenErrno(a), e2 = guest::OpenErrno(a), e3 = guest::OpenErrno(w);
    return (e1 == EPERM && e2 == EPERM && e3 == 0) ? 0 : 1;
  });
  ASSERT_EQ(child.exit_code, 0);

  auto ev = Bulwark(root, {"events", "--format", "json"});
  ASSERT_EQ(ev.exit_code, 0) << ev.output;
  EXPECT_NE(ev.output.find("\"policy\":\"deny-test\",\"rule\":\"deny-protected\",\"action\":\"deny\",\"hook\":\"file.open\""),
            std::string::npos) << ev.output;
  EXPECT_NE(ev.output.find("\"rule\":\"audit-watched\",\"action\":\"audit\""), std::string::npos) << ev.output;
  EXPECT_NE(ev.output.find("\"object\":\"protected-file\""), std::string::npos) << ev.output;
  EXPECT_NE(ev.output.find("\"comm\":\"rt_vm_observe_t\""), std::string::npos) << ev.output;
  size_t lines = std::count(ev.output.begin(), ev.output.end(), '\n');
  EXPECT_EQ(lines, 3u) << ev.output;

  auto st = Bulwark(root, {"status", "deny-test"});
  ASSERT_EQ(st.exit_code, 0) << st.output;
  std::printf("%s", st.output.c_str());
  std::smatch m;
  ASSERT_TRUE(std::regex_search(st.output, m, std::regex(R"(\n +0 deny-protected +file\.open +deny +([0-9]+) +([0-9]+))")))
      << st.output;
  EXPECT_EQ(std::stoi(m[1]), 2);
  EXPECT_EQ(std::stoi(m[2]), 2);
  EXPECT_NE(st.output.find("kernel memory:"), std::string::npos);
  EXPECT_NE(st.output.find("prog_file_open"), std::string::npos);
}

TEST_F(Observe, AuditModeRecordsButDoesNotDeny) {
  std::string a = tmp.CreateFile("protected-file");
  BundleSpec s;
  s.deny = {IdOf(a)};
  auto r = Bulwark(root, {"load", MakeBundle(tmp.path(), s), "--mode", "audit"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  Bulwark(root, {"events"});
  EXPECT_EQ(guest::OpenErrno(a), 0);
  auto ev = Bulwark(root, {"events"});
  EXPECT_NE(ev.output.find("action=would-deny"), std::string::npos) << ev.output;
  auto l = Bulwark(root, {"list"});
  EXPECT_NE(l.output.find("audit"), std::string::npos) << l.output;
  // Back to enforce with a hot swap.
  ASSERT_EQ(Bulwark(root, {"load", MakeBundle(tmp.path(), s), "--mode", "enforce"}).exit_code, 0);
  EXPECT_EQ(guest::OpenErrno(a), EPERM);
}

TEST_F(Observe, EventsFollowStopsAfterCount) {
  std::string a = tmp.CreateFile("followed");
  BundleSpec s;
  s.deny = {IdOf(a)};
  ASSERT_EQ(Bulwark(root, {"load", MakeBundle(tmp.path(), s)}).exit_code, 0);
  Bulwark(root, {"events"});
  pid_t opener = fork();
  if (opener == 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    for (int i = 0; i < 3; i++)
      guest::OpenErrno(a);
    _exit(0);
  }
  auto ev = Bulwark(root, {"events", "--follow", "--count", "2", "--timeout", "20"});
  waitpid(opener, nullptr, 0);
  EXPECT_EQ(ev.exit_code, 0) << ev.output;
  EXPECT_EQ(std::count(ev.output.begin(), ev.output.end(), '\n'), 2) << ev.output;
  EXPECT_NE(ev.output.find("object=followed"), std::string::npos) << ev.output;
}

TEST_F(Observe, DoctorSaysEnforcementWorks) {
  auto d = Bulwark(root, {"doctor"});
  EXPECT_EQ(d.exit_code, 0) << d.output;
  EXPECT_NE(d.output.find("verdict: OK"), std::string::npos) << d.output;
  EXPECT_NE(d.output.find("[ok  ] load lsm"), std::string::npos) << d.output;
}

}  // namespace
}  // namespace bulwark::rttest
