// The daemon's event log: rotation at its cap, appending after a restart, the lock that tells
// `bulwark events` a daemon writes it, reading history, and its lines read back as events.
#include "Daemon.h"
#include "Error.h"
#include "EventLog.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace bulwark::rt {
namespace {
namespace fs = std::filesystem;

class EventLogTest : public ::testing::Test {
protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / ("bw-eventlog-" + std::to_string(getpid()) + "-" +
                                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
    path = (dir / "logs" / "events.jsonl").string();
  }
  void TearDown() override { fs::remove_all(dir); }
  std::vector<std::string> History() {
    std::vector<std::string> out;
    readEventLog(path, false, [] { return true; }, [&](const std::string &l) {
      out.push_back(l);
      return true;
    });
    return out;
  }
  fs::path dir;
  std::string path;
};

std::string Line(int i) { return "{\"n\":" + std::to_string(i) + ",\"pad\":\"" + std::string(90, 'x') + "\"}"; }

TEST_F(EventLogTest, RotatesAtItsCapAndAppendsAfterARestart) {
  {
    EventLog log(path, 1000, "/sys/fs/bpf/t");
    for (int i = 0; i < 25; i++) {
      log.append(Line(i));
      if (i % 4 == 0)
        log.flush();
    }
    log.flush();
    EXPECT_EQ(log.rotations(), 2u);
  }
  EXPECT_LE(fs::file_size(path), 1000u);
  EXPECT_LE(fs::file_size(path + ".1"), 1000u);
  auto h = History();  // the newest lines, oldest first, across the two files
  ASSERT_FALSE(h.empty());
  EXPECT_EQ(h.back(), Line(24));
  for (size_t i = 1; i < h.size(); i++)
    EXPECT_EQ(h[i], Line(24 - int(h.size() - 1 - i)));
  std::string before;
  std::getline(std::ifstream(path), before, '\0');
  {
    EventLog log(path, 1000, "/sys/fs/bpf/t");
    log.append(Line(25));
  }  // written when it closes
  std::string after;
  std::getline(std::ifstream(path), after, '\0');
  EXPECT_EQ(after, before + Line(25) + "\n");
}

TEST_F(EventLogTest, TheLockNamesThePinRootOfTheDaemonWritingIt) {
  EXPECT_FALSE(daemonWritesLog(path, "/sys/fs/bpf/t"));
  {
    EventLog log(path, 1 << 20, "/sys/fs/bpf/t");
    EXPECT_TRUE(daemonWritesLog(path, "/sys/fs/bpf/t"));
    EXPECT_FALSE(daemonWritesLog(path, "/sys/fs/bpf/other"));
    try {
      EventLog second(path, 1 << 20, "/sys/fs/bpf/t");
      ADD_FAILURE() << "a second writer was allowed";
    } catch (const Error &e) {
      EXPECT_EQ(e.code(), Exit::Conflict);
      EXPECT_NE(std::string(e.what()).find("another bulwark daemon writes the event log"), std::string::npos);
    }
  }
  EXPECT_FALSE(daemonWritesLog(path, "/sys/fs/bpf/t")) << "the lock goes with the daemon";
}

TEST_F(EventLogTest, ItsLinesReadBackAsEvents) {
  Event e;
  e.timeNs = 1'700'000'005'123'456'000ull;
  e.hostname = "web-1", e.bootId = "b00t";
  e.policy = "no-shadow", e.rule = "deny-shadow", e.action = "deny", e.hook = "file.open";
  e.message = "cat read \"/etc/shadow\"\n\t\x01";
  e.instance = 7, e.slot = 3, e.pid = 101, e.tgid = 100, e.ppid = 1, e.uid = 1000, e.euid = 0, e.gid = 5;
  e.comm = "cat", e.exe = "/usr/bin/cat", e.cgroupId = 42, e.cgroup = "/user.slice", e.object = "/etc/shadow";
  e.fields = {{"file.path", "/etc/shadow"}, {"file.flags", "O_RDONLY"}};
  e.after = {{"read_credential", "credential_exfiltration", "credential_read", 6, 1'700'000'004'000'001'000ull, "process"}};
  auto back = parseEventLine(formatJson(e));
  ASSERT_TRUE(back);
  EXPECT_EQ(formatJson(*back), formatJson(e));
  EXPECT_EQ(formatText(*back), formatText(e));
  EXPECT_FALSE(parseEventLine("not json {"));
  EXPECT_FALSE(parseEventLine("{\"n\":1}"));
}

TEST(DaemonConfig, EventLogKeys) {
  auto d = parseDaemonConfig("bundle_dir: b\n", "/etc/bulwark");
  EXPECT_EQ(d.eventLog, defaultEventLog());
  EXPECT_EQ(d.eventLogMaxBytes, 64ull << 20);
  auto c = parseDaemonConfig("bundle_dir: b\nevent_log: logs/e.jsonl\nevent_log_max_bytes: 10000\n", "/etc/bulwark");
  EXPECT_EQ(c.eventLog, "/etc/bulwark/logs/e.jsonl");
  EXPECT_EQ(c.eventLogMaxBytes, 10000u);
  EXPECT_EQ(parseDaemonConfig("bundle_dir: b\nevent_log: none\n", "/x").eventLog, "");
  try {
    parseDaemonConfig("bundle_dir: b\nevent_log_max_bytes: 100\n", "/x");
    ADD_FAILURE() << "a cap below 4096 was accepted";
  } catch (const Error &e) {
    EXPECT_EQ(e.code(), Exit::Usage);
  }
}

} // namespace
} // namespace bulwark::rt
