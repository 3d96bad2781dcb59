// The daemon's pure parts: config, bundle directory scanning (incl. the Kubernetes
// ConfigMap layout), the reconcile plan, metric label escaping, content hashing.
#include "BundleDir.h"
#include "Daemon.h"
#include "Error.h"
#include "TestBundle.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace bulwark::rt {
namespace {
namespace fs = std::filesystem;
using K = ReconcileAction::Kind;

class TmpDir {
public:
  TmpDir() {
    path_ = fs::temp_directory_path() / ("bw-daemon-test-" + std::to_string(getpid()) + "-" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TmpDir() { fs::remove_all(path_); }
  const fs::path &path() const { return path_; }

private:
  fs::path path_;
};

TEST(DaemonConfig, ParsesAndResolvesPaths) {
  auto c = parseDaemonConfig("bundle_dir: bundles\nmetrics: 127.0.0.1:9737\nmode: audit\nevents: ev.jsonl\n"
                             "events_format: text\nunload_removed: false\ndebounce_seconds: 1.5\n",
                             "/etc/bulwark");
  EXPECT_EQ(c.bundleDir, "/etc/bulwark/bundles");
  EXPECT_EQ(c.metrics, "127.0.0.1:9737");
  EXPECT_EQ(c.mode, std::optional<bulwark::bundle::Mode>(bulwark::bundle::Mode::Audit));
  EXPECT_EQ(c.events, "/etc/bulwark/ev.jsonl");
  EXPECT_EQ(c.eventsFormat, "text");
  EXPECT_FALSE(c.unloadRemoved);
  EXPECT_DOUBLE_EQ(c.debounceSeconds, 1.5);
  auto d = parseDaemonConfig("bundle_dir: /srv/b\n", "/x");
  EXPECT_EQ(d.bundleDir, "/srv/b");
  EXPECT_EQ(d.events, "stdout");
  EXPECT_TRUE(d.unloadRemoved);
  EXPECT_FALSE(d.mode.has_value());
  EXPECT_FALSE(d.switchOnSignal);
  EXPECT_TRUE(parseDaemonConfig("bundle_dir: /b\nswitch: on_signal\n", "/").switchOnSignal);
  EXPECT_FALSE(parseDaemonConfig("bundle_dir: /b\nswitch: immediate\n", "/").switchOnSignal);
}

TEST(DaemonConfig, ListenAddresses) {
  std::string why;
  auto v4 = parseListenAddress("127.0.0.1:9737", &why);
  ASSERT_TRUE(v4) << why;
  EXPECT_EQ(v4->family, AF_INET);
  EXPECT_EQ(v4->port, 9737);
  EXPECT_EQ(v4->addr[0], 127);
  auto v6 = parseListenAddress("[::1]:9737", &why);
  ASSERT_TRUE(v6) << why;
  EXPECT_EQ(v6->family, AF_INET6);
  EXPECT_EQ(v6->addr[15], 1);
  EXPECT_EQ(parseListenAddress("[::]:80", &why)->family, AF_INET6);
  EXPECT_EQ(parseListenAddress(":9737", &why)->family, AF_INET);
  EXPECT_EQ(parseListenAddress("localhost:1", &why)->addr[0], 127);
  for (const char *bad : {"127.0.0.1:99999", "127.0.0.1:0", "127.0.0.1:", "127.0.0.1:80x", "127.0.0.1:-1", "9737",
                          "::1:9737", "[127.0.0.1]:80", "example.com:80", "[::1]:65536"}) {
    EXPECT_FALSE(parseListenAddress(bad, &why)) << bad;
    EXPECT_NE(why.find("is not a listen address"), std::string::npos) << why;
  }
  EXPECT_FALSE(parseListenAddress("127.0.0.1:99999", &why));
  EXPECT_NE(why.find("the port must be a number from 1 to 65535"), std::string::npos) << why;
}

TEST(DaemonConfig, ErrorsAreUsageErrors) {
  for (const char *bad : {"", "[1, 2]", "pin_root: /x\n", "bundle_dir: /b\nfrobnicate: 1\n",
                          "bundle_dir: /b\nmode: maybe\n", "bundle_dir: /b\nmetrics: 9737\n",
                          "bundle_dir: /b\nmetrics: 127.0.0.1:99999\n",
                          "bundle_dir: /b\nevents_format: xml\n", "bundle_dir: /b\nresync_seconds: 0\n",
                          "bundle_dir: /b\nunload_removed: perhaps\n", "bundle_dir: [\n",
                          "bundle_dir: /b\nswitch: later\n"}) {
    try {
      parseDaemonConfig(bad, "/");
      ADD_FAILURE() << "accepted: " << bad;
    } catch (const Error &e) {
      EXPECT_EQ(e.code(), Exit::Usage) << e.what();
      EXPECT_EQ(std::string(e.what()).rfind("config: ", 0), 0u) << e.what();
    }
  }
}

TEST(DaemonScan, KubernetesConfigMapLayout) {
  TmpDir t;
  const fs::path &d = t.path();
  // ..2026_11_25_00_00_00.1/{a.bwb,b.bwb}, ..data -> it, a.bwb -> ..data/a.bwb, b.bwb -> ..data/b.bwb
  fs::path ts = d / "..2026_11_25_00_00_00.1";
  for (const char *n : {"a.bwb", "b.bwb"}) {
    fs::create_directories(ts / n);
    std::ofstream(ts / n / "manifest.yaml") << "x";
  }
  fs::create_directory_symlink(ts.filename(), d / "..data");
  fs::create_directory_symlink("..data/a.bwb", d / "a.bwb");
  fs::create_directory_symlink("..data/b.bwb", d / "b.bwb");
  // Not bundles: hidden, a plain file, a directory without a manifest, a dangling link.
  fs::create_directories(d / ".hidden.bwb");
  std::ofstream(d / ".hidden.bwb" / "manifest.yaml") << "x";
  std::ofstream(d / "README") << "x";
  fs::create_directories(d / "empty.bwb");
  fs::create_directory_symlink("..data/gone.bwb", d / "gone.bwb");
  // A plain (non-Kubernetes) bundle directory too.
  fs::create_directories(d / "plain.bwb");
  std::ofstream(d / "plain.bwb" / "manifest.yaml") << "x";
  auto found = scanBundleDir(d);
  ASSERT_EQ(found.size(), 3u);
  EXPECT_EQ(found[0], d / "a.bwb");  // the symlink path, not ..2026.../a.bwb
  EXPECT_EQ(found[1], d / "b.bwb");
  EXPECT_EQ(found[2], d / "plain.bwb");
  EXPECT_TRUE(scanBundleDir(d / "nonexistent").empty());
}

TEST(DaemonPlan, LoadsAdoptsSwapsUnloads) {
  fs::path dir = "/b";
  std::vector<FoundBundle> found = {
      {"/b/new.bwb", "new", 1, "enforce"},        // not loaded → load
      {"/b/same.bwb", "same", 2, "enforce"},      // loaded, same content → adopt
      {"/b/changed.bwb", "changed", 3, "enforce"},  // loaded, other content → load (swap)
      {"/b/mode.bwb", "mode", 4, "audit"},        // loaded in enforce → load
      {"/b/broken.bwb", "broken", 5, "enforce"},  // loaded but BROKEN → load
      {"/b/tampered.bwb", "tampered", 11, "enforce"},  // loaded, unchanged, TAMPERED → load (repair)
      {"/b/bad.bwb", "", 0, ""},                  // invalid bundle
      {"/b/dup.bwb", "same", 6, "enforce"},       // second bundle with the same name
  };
  std::vector<LoadedPolicy> loaded = {
      {"same", "/b/same.bwb", 2, "enforce", true},
      {"changed", "/b/changed.bwb", 99, "enforce", true},
      {"mode", "/b/mode.bwb", 4, "enforce", true},
      {"broken", "/b/broken.bwb", 5, "enforce", false},
      {"tampered", "/b/tampered.bwb", 11, "enforce", false, true},
      {"was-here", "/b/was-here.bwb", 7, "enforce", true},  // bundle removed → unload
      {"from-bad", "/b/bad.bwb", 8, "enforce", true},       // its bundle is now invalid → keep
      {"elsewhere", "/opt/x.bwb", 9, "enforce", true},      // loaded from elsewhere → not ours
      {"prefix", "/bb/y.bwb", 10, "enforce", true},         // /bb is not under /b
  };
  auto plan = planReconcile(found, loaded, dir, true);
  std::map<std::string, K> kinds;
  for (const auto &a : plan)
    if (!(a.policy == "same" && a.kind == K::Keep))  // the duplicate
      kinds[a.policy] = a.kind;
  EXPECT_EQ(kinds["new"], K::Load);
  EXPECT_EQ(kinds["same"], K::Adopt);
  EXPECT_EQ(kinds["changed"], K::Load);
  EXPECT_EQ(kinds["mode"], K::Load);
  EXPECT_EQ(kinds["broken"], K::Load);
  EXPECT_EQ(kinds["tampered"], K::Load);
  for (const auto &a : plan) {
    if (a.policy == "tampered") {
      EXPECT_NE(a.reason.find("tampered"), std::string::npos) << a.reason;
    }
  }
  EXPECT_EQ(kinds["was-here"], K::Unload);
  EXPECT_EQ(kinds["from-bad"], K::Keep);
  EXPECT_FALSE(kinds.count("elsewhere"));
  EXPECT_FALSE(kinds.count("prefix"));
  bool dupKept = false;
  for (const auto &a : plan)
    dupKept |= a.policy == "same" && a.kind == K::Keep && a.bundle == "/b/dup.bwb";
  EXPECT_TRUE(dupKept);
  // unload_removed: false never unloads.
  for (const auto &a : planReconcile(found, loaded, dir, false))
    EXPECT_NE(a.kind, K::Unload) << a.policy;
}

// switch: on_signal: a changed version is staged and held for SIGUSR1; what is not enforcing,
// broken or tampered is loaded at once.
TEST(DaemonPlan, OnSignalStagesChangesAndHoldsThem) {
  fs::path dir = "/b";
  std::vector<FoundBundle> found = {
      {"/b/new.bwb", "new", 1, "enforce"},          // not loaded → load now
      {"/b/changed.bwb", "changed", 3, "enforce"},  // other content → stage
      {"/b/mode.bwb", "mode", 4, "audit"},          // other mode → stage
      {"/b/held.bwb", "held", 5, "enforce"},        // this content is staged → hold
      {"/b/restaged.bwb", "restaged", 6, "enforce"},  // another content is staged → stage again
      {"/b/back.bwb", "back", 7, "enforce"},        // back to the enforcing content → unstage
      {"/b/broken.bwb", "broken", 8, "enforce"},    // BROKEN → load now (repair)
      {"/b/only.bwb", "only", 9, "enforce"},        // only staged by hand, nothing enforces → load now
      {"/b/same.bwb", "same", 10, "enforce"},       // unchanged, nothing staged → adopt
  };
  auto loadedAs = [](std::string name, uint64_t hash, std::string mode, uint64_t staged = 0,
                     std::string stagedMode = "enforce") {
    LoadedPolicy l{name, "/b/" + name + ".bwb", hash, mode, true};
    l.stagedHash = staged;
    l.stagedMode = staged ? stagedMode : "";
    return l;
  };
  std::vector<LoadedPolicy> loaded = {
      loadedAs("changed", 99, "enforce"),
      loadedAs("mode", 4, "enforce"),
      loadedAs("held", 98, "enforce", 5),
      loadedAs("restaged", 97, "enforce", 96),
      loadedAs("back", 7, "enforce", 95),
      loadedAs("broken", 94, "enforce"),
      loadedAs("only", 0, "enforce", 9),
      loadedAs("same", 10, "enforce"),
  };
  loaded[5].healthy = false;
  loaded[6].enforcing = false;
  std::map<std::string, K> kinds;
  for (const auto &a : planReconcile(found, loaded, dir, true, true))
    kinds[a.policy] = a.kind;
  EXPECT_EQ(kinds["new"], K::Load);
  EXPECT_EQ(kinds["changed"], K::Stage);
  EXPECT_EQ(kinds["mode"], K::Stage);
  EXPECT_EQ(kinds["held"], K::Hold);
  EXPECT_EQ(kinds["restaged"], K::Stage);
  EXPECT_EQ(kinds["back"], K::Unstage);
  EXPECT_EQ(kinds["broken"], K::Load);
  EXPECT_EQ(kinds["only"], K::Load);
  EXPECT_EQ(kinds["same"], K::Adopt);
  // The same state with immediate switches: every change is a load, nothing is held.
  for (const auto &a : planReconcile(found, loaded, dir, true, false)) {
    EXPECT_NE(a.kind, K::Stage) << a.policy;
    EXPECT_NE(a.kind, K::Hold) << a.policy;
    EXPECT_NE(a.kind, K::Unstage) << a.policy;
  }
}

TEST(DaemonMetrics, LabelEscaping) {
  EXPECT_EQ(promLabel("plain"), "\"plain\"");
  EXPECT_EQ(promLabel("a\"b\\c\nd"), "\"a\\\"b\\\\c\\nd\"");
}

// Live processes per mark: a sample per mark (0 included; an id no instance names by its
// id), and the processes holding any; only HELP and TYPE before marks exist or when the count
// failed.
TEST(DaemonMetrics, LiveMarks) {
  LiveMarks lm;
  lm.marks = {{1, "seq_expiry", "touched_10s", 0}, {2, "seq_expiry", "touched \"long\"", 3}, {0xab, "", "", 2}};
  lm.processes = 4;
  std::ostringstream o;
  markMetrics(o, lm);
  EXPECT_EQ(o.str(),
            "# HELP bulwark_mark_processes live processes that hold the mark now (unexpired)\n"
            "# TYPE bulwark_mark_processes gauge\n"
            "bulwark_mark_processes{policy=\"seq_expiry\",mark=\"touched_10s\"} 0\n"
            "bulwark_mark_processes{policy=\"seq_expiry\",mark=\"touched \\\"long\\\"\"} 3\n"
            "bulwark_mark_processes{id=\"0x00000000000000ab\"} 2\n"
            "# HELP bulwark_marked_processes live processes that hold at least one mark\n"
            "# TYPE bulwark_marked_processes gauge\n"
            "bulwark_marked_processes 4\n");
  std::ostringstream none;
  markMetrics(none, std::nullopt);
  EXPECT_EQ(none.str(), "# HELP bulwark_mark_processes live processes that hold the mark now (unexpired)\n"
                        "# TYPE bulwark_mark_processes gauge\n"
                        "# HELP bulwark_marked_processes live processes that hold at least one mark\n"
                        "# TYPE bulwark_marked_processes gauge\n");
}

TEST(BundleHash, ChangesWithAnyFile) {
  TmpDir t;
  rttest::BundleSpec s;
  s.deny = {{1, 2}};
  std::string p = rttest::MakeBundleFrom(BULWARK_RT_FIXTURE_DIR, t.path().string(), s);
  uint64_t h1 = readBundle(p).contentHash;
  EXPECT_EQ(readBundle(p).contentHash, h1) << "deterministic";
  s.deny = {{1, 3}};
  rttest::MakeBundleFrom(BULWARK_RT_FIXTURE_DIR, t.path().string(), s);
  uint64_t h2 = readBundle(p).contentHash;
  EXPECT_NE(h1, h2) << "map data changed";
  s.digest = "other";
  rttest::MakeBundleFrom(BULWARK_RT_FIXTURE_DIR, t.path().string(), s);
  EXPECT_NE(readBundle(p).contentHash, h2) << "manifest changed";
}

}  // namespace
}  // namespace bulwark::rt
