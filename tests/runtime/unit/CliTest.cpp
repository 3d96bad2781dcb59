// The bulwark binary on the host: usage errors, documented exit codes, errors that name
// their cause, and doctor's verdict. Nothing here loads a program into the host kernel
// except doctor's test-load of an LSM probe, which this host refuses.
#include "TestBundle.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace {
namespace fs = std::filesystem;

struct Result {
  int code = -1;
  std::string out;
};

Result bulwark(std::vector<std::string> args) {
  args.insert(args.begin(), BULWARK_BIN);
  int p[2];
  if (pipe(p) != 0)
    return {};
  pid_t pid = fork();
  if (pid == 0) {
    dup2(p[1], 1);
    dup2(p[1], 2);
    close(p[0]);
    std::vector<char *> argv;
    for (auto &a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(p[1]);
  Result r;
  char buf[4096];
  for (ssize_t n; (n = read(p[0], buf, sizeof buf)) > 0;)
    r.out.append(buf, size_t(n));
  close(p[0]);
  int st = 0;
  waitpid(pid, &st, 0);
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return r;
}

std::string tmpRoot() { return (fs::temp_directory_path() / ("bw-cli-" + std::to_string(getpid()))).string(); }

TEST(Cli, UsageErrorsExitWith2) {
  for (auto args : std::vector<std::vector<std::string>>{
           {}, {"frobnicate"}, {"load"}, {"load", "x.bwb", "--mode", "bogus"}, {"unload"},
           {"events", "--format", "xml"}, {"list", "--no-such-flag"}, {"status", "a", "b"}, {"run"},
           {"load", "x.bwb", "--top-entries", "0"}, {"top", "--format", "xml"}, {"top", "--limit", "many"}}) {
    Result r = bulwark(args);
    EXPECT_EQ(r.code, 2) << "args: " << ::testing::PrintToString(args) << "\n" << r.out;
    EXPECT_NE(r.out.find("--help"), std::string::npos) << r.out;
  }
}

TEST(Cli, BadDaemonConfigExitsWith2) {
  fs::path dir = tmpRoot() + "-cfg";
  fs::create_directories(dir);
  std::ofstream(dir / "c.yaml") << "pin_root: /sys/fs/bpf/x\n";
  Result r = bulwark({"run", "--config", (dir / "c.yaml").string()});
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("config: 'bundle_dir' is required"), std::string::npos) << r.out;
  fs::remove_all(dir);
  Result m = bulwark({"run", "--config", "/nonexistent/bulwark.yaml"});
  EXPECT_EQ(m.code, 2) << m.out;
  EXPECT_NE(m.out.find("cannot read the config file"), std::string::npos) << m.out;
}

TEST(Cli, HelpAndVersion) {
  Result h = bulwark({"--help"});
  EXPECT_EQ(h.code, 0);
  for (const char *w : {"load", "unload", "list", "status", "events", "top", "doctor", "run", "Exit codes"})
    EXPECT_NE(h.out.find(w), std::string::npos) << w;
  Result l = bulwark({"load", "--help"});
  EXPECT_EQ(l.code, 0);
  EXPECT_NE(l.out.find("--mode"), std::string::npos);
  EXPECT_NE(l.out.find("--pin-root"), std::string::npos);
  Result v = bulwark({"--version"});
  EXPECT_EQ(v.code, 0);
  EXPECT_NE(v.out.find("bulwark 0.1.0 (kernel ABI " + std::to_string(BW_ABI_VERSION) + ")"), std::string::npos) << v.out;
}

TEST(Cli, BadBundleExitsWith4) {
  Result r = bulwark({"load", "/nonexistent/x.bwb", "--pin-root", tmpRoot()});
  EXPECT_EQ(r.code, 4) << r.out;
  EXPECT_NE(r.out.find("is not a directory"), std::string::npos) << r.out;
}

TEST(Cli, NothingLoaded) {
  std::string root = tmpRoot() + "/none";
  Result l = bulwark({"list", "--pin-root", root});
  EXPECT_EQ(l.code, 0) << l.out;
  EXPECT_NE(l.out.find("no policies loaded"), std::string::npos) << l.out;
  Result s = bulwark({"status", "ghost", "--pin-root", root});
  EXPECT_EQ(s.code, 7) << s.out;
  Result u = bulwark({"unload", "ghost", "--pin-root", root});
  EXPECT_EQ(u.code, 7) << u.out;
  EXPECT_NE(u.out.find("policy ghost is not loaded"), std::string::npos) << u.out;
  Result t = bulwark({"top", "--pin-root", root});
  EXPECT_EQ(t.code, 0) << t.out;
  EXPECT_NE(t.out.find("COUNT"), std::string::npos) << t.out;
  Result tp = bulwark({"top", "--policy", "ghost", "--pin-root", root});
  EXPECT_EQ(tp.code, 7) << tp.out;
  EXPECT_NE(tp.out.find("policy ghost is not loaded"), std::string::npos) << tp.out;
  Result e = bulwark({"events", "--pin-root", root});
  EXPECT_EQ(e.code, 7) << e.out;
  EXPECT_NE(e.out.find("no event ring buffer"), std::string::npos) << e.out;
}

TEST(Cli, LoadOutsideBpffsNamesTheCause) {
  fs::path dir = tmpRoot();
  fs::create_directories(dir);
  bulwark::rttest::BundleSpec spec;
  spec.deny = {{1, 1}};
  std::string b = bulwark::rttest::MakeBundleFrom(BULWARK_RT_FIXTURE_DIR, dir.string(), spec);
  Result r = bulwark({"load", b, "--pin-root", (dir / "pins").string()});
  if (geteuid() == 0) {
    EXPECT_EQ(r.code, 5) << r.out;
    EXPECT_NE(r.out.find("is not on a BPF file system"), std::string::npos) << r.out;
    // The hint names bpffs's standard place, never the pin root's parent (here under /tmp).
    EXPECT_NE(r.out.find("mount -t bpf bpf /sys/fs/bpf,"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("mount -t bpf bpf /tmp"), std::string::npos) << r.out;
    Result direct = bulwark({"load", b, "--pin-root", "/tmp/bulwark-no-such-pins"});
    EXPECT_EQ(direct.code, 5) << direct.out;
    EXPECT_EQ(direct.out.find("mount -t bpf bpf /tmp"), std::string::npos) << direct.out;
  } else {
    EXPECT_EQ(r.code, 6) << r.out;
    EXPECT_NE(r.out.find("missing privilege"), std::string::npos) << r.out;
  }
  EXPECT_FALSE(fs::exists(dir / "pins"));
  fs::remove_all(dir);
}

TEST(Cli, DoctorGivesAVerdict) {
  Result d = bulwark({"doctor"});
  ASSERT_TRUE(d.code == 0 || d.code == 5) << d.out;
  EXPECT_NE(d.out.find("verdict: "), std::string::npos) << d.out;
  for (const char *check : {"kernel", "btf", "bpf-lsm", "privilege", "bpffs", "load lsm", "load kprobe",
                            "load tracepoint", "ringbuf"})
    EXPECT_NE(d.out.find(check), std::string::npos) << check << "\n" << d.out;
  if (d.code == 5)
    EXPECT_NE(d.out.find("verdict: NOT SUPPORTED: Bulwark cannot enforce here"), std::string::npos) << d.out;
  else
    EXPECT_NE(d.out.find("verdict: OK"), std::string::npos) << d.out;
  std::printf("%s", d.out.c_str());
  Result j = bulwark({"doctor", "--json"});
  EXPECT_EQ(j.code, d.code);
  EXPECT_EQ(j.out.front(), '{');
  EXPECT_NE(j.out.find("\"can_enforce\":"), std::string::npos) << j.out;
  Result f = bulwark({"doctor", "--format", "json"});  // the option every command shares
  EXPECT_EQ(f.code, d.code);
  EXPECT_NE(f.out.find("\"can_enforce\":"), std::string::npos) << f.out;
  EXPECT_EQ(bulwark({"list", "--format", "yaml"}).code, 2);
}

}  // namespace
