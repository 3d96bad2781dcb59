// A policy with a program on every LSM hook: every dispatcher the runtime generates from
// the catalogue verifies and attaches on the test kernel, ordinary system activity keeps
// working through all of them, another policy chained behind it still enforces, and hot
// swaps to and from a one-hook version attach and detach the other dispatchers.
#include <gtest/gtest.h>

#include <dirent.h>

#include <regex>
#include <set>

#include "RuntimeVmUtil.h"

namespace bulwark::rttest {
namespace {

int LsmHookCount() {
  int n = 0;
#define BW_HOOK(id, name, kind, attach, summary) n += std::string(#kind) == "LSM";
#include "hooks.def"
  return n;
}

// Language hooks: a companion entry repeats its hook's name.
int LsmHookNameCount() {
  std::set<std::string> names;
#define BW_HOOK(id, name, kind, attach, summary) \
  if (std::string(#kind) == "LSM") names.insert(name);
#include "hooks.def"
  return int(names.size());
}

int CountOf(const std::string &text, const std::string &what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size()))
    n++;
  return n;
}

int CountDispatchers(const PinRoot &root) {
  int n = 0;
  if (DIR *d = opendir((root.path() + "/dispatch").c_str())) {
    while (auto *e = readdir(d))
      n += e->d_name[0] != '.';
    closedir(d);
  }
  return n;
}

TEST(AllHooks, EveryDispatcherAttachesAndTheSystemKeepsWorking) {
  ASSERT_TRUE(guest::InGuest());
  TempDir tmp;
  PinRoot root;
  std::string a = tmp.CreateFile("a");
  BundleSpec all;
  all.name = "all";
  all.object = "all_hooks.bpf.o";
  all.allHooks = true;
  BundleSpec small = all;  // same policy name, file.open only (deny_inode fixture)
  small.object = "deny_inode.bpf.o";
  small.allHooks = false;
  std::string bAll = MakeBundle(tmp.path(), all, "all.bwb"), bSmall = MakeBundle(tmp.path(), small, "small.bwb");

  auto r = Bulwark(root, {"load", bAll});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(CountDispatchers(root), LsmHookCount());
  // A second policy chained behind it (slot 1 is linked first in lane 0's chains: the
  // walk goes through "all"'s programs on file.open only if "other" is second — either
  // way both must run).
  BundleSpec other;
  other.name = "other";
  other.deny = {IdOf(a)};
  ASSERT_EQ(Bulwark(root, {"load", MakeBundle(tmp.path(), other)}).exit_code, 0);
  EXPECT_EQ(guest::OpenErrno(a), EPERM);

  // Ordinary activity on every hooked path: exec, files, signals, sockets, setuid, bpf.
  auto sh = guest::RunCommand({"sh", "-c",
                               "cd " + tmp.path() + " && touch x && mv x y && chmod 600 y && ln y z && "
                               "rm y z && echo ok > f && cat f && kill -0 $$ && "
                               "(nc -l -p 5555 -w 1 >/dev/null 2>&1 & sleep 0.2; echo hi | nc -w 1 127.0.0.1 5555; "
                               "wait) ; ls /sys/fs/bpf >/dev/null && echo done"});
  EXPECT_EQ(sh.exit_code, 0) << sh.output;
  EXPECT_NE(sh.output.find("done"), std::string::npos) << sh.output;

  r = Bulwark(root, {"load", bSmall});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(CountDispatchers(root), 2) << "only file.open is used by any policy now; the guard keeps path_unlink's";
  EXPECT_EQ(guest::OpenErrno(a), EPERM);
  r = Bulwark(root, {"load", bAll});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(CountDispatchers(root), LsmHookCount());
  // kernel.module_load has two attach points but is one hook: shown once, with both.
  auto st = Bulwark(root, {"status"});
  std::printf("%s", st.output.c_str());
  std::smatch line;
  ASSERT_TRUE(std::regex_search(st.output, line, std::regex(R"(\n  all +slot [^\n]*hooks ([^ ]+), )"))) << st.output;
  auto listed = line[1].str();
  EXPECT_EQ(CountOf(listed, "kernel.module_load"), 1) << listed;
  EXPECT_EQ(CountOf(listed, ","), LsmHookNameCount() - 1) << "each hook once: " << listed;
  st = Bulwark(root, {"status", "all"});
  EXPECT_NE(st.output.find("kernel.module_load (kernel_read_file, kernel_load_data)"), std::string::npos)
      << st.output;
  EXPECT_EQ(CountOf(st.output, "kernel.module_load ("), 1) << st.output;
  auto l = Bulwark(root, {"list"});
  EXPECT_EQ(CountOf(l.output, "kernel.module_load"), 1) << l.output;
  auto again = Bulwark(root, {"load", bAll});
  EXPECT_EQ(CountOf(again.output, "kernel.module_load"), 1) << again.output;

  ASSERT_EQ(Bulwark(root, {"unload", "all"}).exit_code, 0);
  EXPECT_EQ(CountDispatchers(root), 2);
  EXPECT_EQ(guest::OpenErrno(a), EPERM);
  ASSERT_EQ(Bulwark(root, {"unload", "other"}).exit_code, 0);
  EXPECT_EQ(CountDispatchers(root), 0);
  EXPECT_EQ(guest::OpenErrno(a), 0);
}

}  // namespace
}  // namespace bulwark::rttest
