// Checks the guest test helpers themselves (runs in the VM: cgroups need root and cgroup2).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "GuestUtil.h"

namespace {

using namespace bulwark::guest;

bool Exists(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0;
}

TEST(GuestUtil, RunsInsideTheGuest) {
  EXPECT_TRUE(InGuest());
  EXPECT_EQ(getuid(), 0u);
}

TEST(GuestUtil, TempDirIsRemovedWithItsContents) {
  std::string path;
  {
    TempDir dir;
    path = dir.path();
    dir.CreateFile("a.txt", "hello");
    ASSERT_EQ(mkdir((path + "/sub").c_str(), 0755), 0);
    WriteFile(path + "/sub/b.txt", "x");
    EXPECT_EQ(ReadFile(path + "/a.txt"), "hello");
  }
  EXPECT_FALSE(Exists(path));
}

TEST(GuestUtil, ChildCgroupIsEnteredAndCleanedUp) {
  const std::string before = ChildCgroup::CurrentCgroupDir();
  std::string path;
  {
    ChildCgroup cgroup("guest-util");
    path = cgroup.path();
    EXPECT_TRUE(Exists(path));
    cgroup.Enter();
    EXPECT_EQ(ChildCgroup::CurrentCgroupDir(), path);
    EXPECT_GT(cgroup.id(), 1u);
  }
  EXPECT_EQ(ChildCgroup::CurrentCgroupDir(), before);
  EXPECT_FALSE(Exists(path));
}

TEST(GuestUtil, RunInChildReportsExitCodeSignalAndTimeout) {
  auto exited = RunInChild([] { return 42; });
  EXPECT_TRUE(exited.exited);
  EXPECT_EQ(exited.exit_code, 42);

  auto killed = RunInChild([] {
    raise(SIGSEGV);
    return 0;
  });
  EXPECT_FALSE(killed.exited);
  EXPECT_EQ(killed.signal, SIGSEGV);

  auto hung = RunInChild(
      [] {
        pause();
        return 0;
      },
      std::chrono::milliseconds(200));
  EXPECT_TRUE(hung.timed_out);
  EXPECT_EQ(hung.signal, SIGKILL);
}

TEST(GuestUtil, RunCommandCapturesOutputAndStatus) {
  auto ok = RunCommand({"sh", "-c", "echo out; echo err >&2; exit 3"});
  EXPECT_TRUE(ok.exited);
  EXPECT_EQ(ok.exit_code, 3);
  EXPECT_EQ(ok.output, "out\nerr\n");

  auto missing = RunCommand({"/no/such/program"});
  EXPECT_EQ(missing.exit_code, 127);

  // A child that closes its output and hangs is still killed at the timeout.
  auto hung = RunCommand({"sh", "-c", "echo bye; exec >&- 2>&-; sleep 30"}, std::chrono::milliseconds(500));
  EXPECT_TRUE(hung.timed_out);
  EXPECT_EQ(hung.output, "bye\n");
}

}  // namespace
