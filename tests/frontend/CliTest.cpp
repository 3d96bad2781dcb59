// bulwarkc as users and CI run it: documented exit codes (docs/cli.md), output formats,
// fmt --check, explain. Runs the built binary (BULWARKC_PATH, from CMake).
#include "FrontendTestSupport.h"
#include "MiniJson.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

extern char **environ;

namespace bulwark::test {
namespace {

namespace fs = std::filesystem;

struct RunResult {
  int exitCode = -1;
  std::string out, err;
};

class BulwarkcCli : public ::testing::Test {
protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "bulwarkc-cli-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    tmp_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(tmp_, ec);
  }

  RunResult run(const std::vector<std::string> &args) {
    std::vector<std::string> argv{BULWARKC_PATH};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char *> cargv;
    for (auto &a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    std::string outPath = tmp_ + "/.stdout", errPath = tmp_ + "/.stderr";
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, outPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, errPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    pid_t pid;
    RunResult r;
    int rc = posix_spawn(&pid, cargv[0], &fa, nullptr, cargv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
      ADD_FAILURE() << "cannot run " << BULWARKC_PATH << ": " << strerror(rc);
      return r;
    }
    int status = 0;
    waitpid(pid, &status, 0);
    r.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.out = readFile(outPath);
    r.err = readFile(errPath);
    return r;
  }

  std::string write(const std::string &name, const std::string &text) {
    std::string path = tmp_ + "/" + name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }

  static std::string corpus(const std::string &name) { return frontendTestDir() + "/diagnostics/" + name; }

  std::string tmp_;
};

std::string describe(const RunResult &r) {
  return "exit " + std::to_string(r.exitCode) + "\n--- stdout:\n" + r.out + "--- stderr:\n" + r.err;
}

const char *kCleanPolicy = R"(policy clean {
  rule no_shadow {
    on file.open
    when file.path == "/etc/shadow"
    deny
  }
}
)";

// One unused list: a lint warning and nothing else.
const char *kWarningOnlyPolicy = R"(policy warns {
  list unused = ["/a"]

  rule no_shadow {
    on file.open
    when file.path == "/etc/shadow"
    deny
  }
}
)";

const char *kTypeErrorPolicy = R"(policy broken {
  rule ssh {
    on net.connect
    when net.dport == "22"
    deny
  }
}
)";

TEST_F(BulwarkcCli, ShippedPoliciesAndStdlibCheckClean) {
  auto r = run({"check", sourceDir() + "/policies", sourceDir() + "/stdlib"});
  EXPECT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_EQ(r.err, "") << describe(r);
}

TEST_F(BulwarkcCli, ShippedPoliciesAndStdlibLintClean) {
  auto r = run({"lint", sourceDir() + "/policies", sourceDir() + "/stdlib"});
  EXPECT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_EQ(r.err, "") << describe(r);
}

TEST_F(BulwarkcCli, CleanFileExits0) {
  std::string f = write("clean.bw", kCleanPolicy);
  EXPECT_EQ(run({"check", f}).exitCode, 0);
  EXPECT_EQ(run({"lint", f}).exitCode, 0);
}

TEST_F(BulwarkcCli, ErrorsExit1AndAreReportedOnStderr) {
  std::string f = write("broken.bw", kTypeErrorPolicy);
  auto r = run({"check", f});
  EXPECT_EQ(r.exitCode, 1) << describe(r);
  EXPECT_NE(r.err.find(f + ":4:23: error[E0006]: cannot compare 'net.dport' (port) with string \"22\""), std::string::npos)
      << describe(r);
  EXPECT_NE(r.err.find("1 error, 0 warnings generated."), std::string::npos) << describe(r);
  EXPECT_EQ(r.out, "");
}

TEST_F(BulwarkcCli, ErrorsExit1EvenAtFailLevelError) {
  std::string f = write("broken.bw", kTypeErrorPolicy);
  EXPECT_EQ(run({"lint", "--fail-level", "error", f}).exitCode, 1);
}

TEST_F(BulwarkcCli, WarningsExit1OnlyAtFailLevelWarning) {
  std::string f = write("warns.bw", kWarningOnlyPolicy);
  auto byDefault = run({"lint", f});
  EXPECT_EQ(byDefault.exitCode, 1) << describe(byDefault);
  EXPECT_NE(byDefault.err.find("warning[W0108]: list 'unused' is never used"), std::string::npos) << describe(byDefault);
  EXPECT_EQ(run({"lint", "--fail-level", "warning", f}).exitCode, 1);
  auto atError = run({"lint", "--fail-level", "error", f});
  EXPECT_EQ(atError.exitCode, 0) << describe(atError);
  EXPECT_NE(atError.err.find("warning[W0108]"), std::string::npos) << "still reported, only not failing";
  // check does not lint.
  auto check = run({"check", f});
  EXPECT_EQ(check.exitCode, 0) << describe(check);
  EXPECT_EQ(check.err, "");
}

TEST_F(BulwarkcCli, BadFlagsExit2) {
  std::string f = write("clean.bw", kCleanPolicy);
  EXPECT_EQ(run({"check", "--no-such-flag", f}).exitCode, 2);
  EXPECT_EQ(run({"check", "--format", "xml", f}).exitCode, 2);
  EXPECT_EQ(run({"lint", "--fail-level", "note", f}).exitCode, 2);
  EXPECT_EQ(run({"frobnicate", f}).exitCode, 2);
  EXPECT_EQ(run({}).exitCode, 2);
  EXPECT_EQ(run({"check"}).exitCode, 2) << "paths are required";
  EXPECT_EQ(run({"explain"}).exitCode, 2);
}

TEST_F(BulwarkcCli, MissingInputExits2) {
  auto r = run({"check", tmp_ + "/does-not-exist.bw"});
  EXPECT_EQ(r.exitCode, 2) << describe(r);
  EXPECT_NE(r.err.find("no such file or directory"), std::string::npos) << describe(r);
  EXPECT_EQ(run({"lint", tmp_ + "/does-not-exist.bw"}).exitCode, 2);
  EXPECT_EQ(run({"fmt", "--check", tmp_ + "/does-not-exist.bw"}).exitCode, 2);
}

TEST_F(BulwarkcCli, UnwritableOutputExits2) {
  std::string f = write("clean.bw", kCleanPolicy);
  auto r = run({"check", "--format", "json", "-o", tmp_ + "/no/such/dir/out.json", f});
  EXPECT_EQ(r.exitCode, 2) << describe(r);
}

TEST_F(BulwarkcCli, FmtCheckPrintsAUnifiedDiffAndExits1WithoutWriting) {
  const std::string messy = "policy p{\nrule r{on file.open when file.path==\"/x\" deny}\n}\n";
  std::string f = write("messy.bw", messy);
  auto r = run({"fmt", "--check", f});
  EXPECT_EQ(r.exitCode, 1) << describe(r);
  EXPECT_NE(r.out.find("--- a/" + (f[0] == '/' ? f.substr(1) : f)), std::string::npos) << describe(r);
  EXPECT_NE(r.out.find("+++ b/" + (f[0] == '/' ? f.substr(1) : f)), std::string::npos) << describe(r);
  EXPECT_NE(r.out.find("\n@@ -1,3 +1,7 @@\n"), std::string::npos) << describe(r);
  EXPECT_NE(r.out.find("\n-policy p{\n"), std::string::npos) << describe(r);
  EXPECT_NE(r.out.find("\n+policy p {\n"), std::string::npos) << describe(r);
  EXPECT_NE(r.out.find("\n+    when file.path == \"/x\"\n"), std::string::npos) << describe(r);
  EXPECT_EQ(readFile(f), messy) << "--check must not change the file";
}

TEST_F(BulwarkcCli, FmtRewritesInPlaceThenCheckIsClean) {
  std::string f = write("messy.bw", "policy p{\nrule r{on file.open when file.path==\"/x\" deny}\n}\n");
  auto r = run({"fmt", f});
  EXPECT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_EQ(readFile(f), "policy p {\n  rule r {\n    on file.open\n    when file.path == \"/x\"\n    deny\n  }\n}\n");
  auto again = run({"fmt", "--check", f});
  EXPECT_EQ(again.exitCode, 0) << describe(again);
  EXPECT_EQ(again.out, "");
}

TEST_F(BulwarkcCli, FmtCheckIsCleanOnShippedFiles) {
  auto r = run({"fmt", "--check", sourceDir() + "/policies", sourceDir() + "/stdlib"});
  EXPECT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_EQ(r.out, "");
}

TEST_F(BulwarkcCli, FmtRefusesFilesWithSyntaxErrors) {
  const std::string bad = "policy p {\n  rule r { on file.open }\n}\n";
  std::string f = write("bad.bw", bad);
  auto r = run({"fmt", f});
  EXPECT_EQ(r.exitCode, 1) << describe(r);
  EXPECT_NE(r.err.find("error[E0001]"), std::string::npos) << describe(r);
  EXPECT_EQ(readFile(f), bad);
}

TEST_F(BulwarkcCli, ExplainPrintsTheRegisteredExplanation) {
  auto r = run({"explain", "E0006"});
  EXPECT_EQ(r.exitCode, 0) << describe(r);
  const DiagKindInfo *k = findDiagKind("E0006");
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(r.out, "E0006: type mismatch (error)\n\n" + std::string(k->explanation) + "\n");
}

TEST_F(BulwarkcCli, ExplainUnknownCodeExits2) {
  auto r = run({"explain", "E9999"});
  EXPECT_EQ(r.exitCode, 2) << describe(r);
  EXPECT_NE(r.err.find("unknown diagnostic code 'E9999'"), std::string::npos) << describe(r);
  EXPECT_EQ(r.out, "");
}

TEST_F(BulwarkcCli, ExplainListNamesEveryCode) {
  auto r = run({"explain", "--list"});
  EXPECT_EQ(r.exitCode, 0) << describe(r);
  for (const auto &k : allDiagKinds())
    EXPECT_NE(r.out.find(std::string(k.code) + "  " + std::string(severityName(k.severity)) + "  " + std::string(k.title) + "\n"),
              std::string::npos)
        << k.code;
}

TEST_F(BulwarkcCli, GithubFormatPrintsWorkflowCommands) {
  std::string f = write("broken.bw", kTypeErrorPolicy);
  auto r = run({"check", "--format", "github", f});
  EXPECT_EQ(r.exitCode, 1) << describe(r);
  EXPECT_EQ(r.out, "::error file=" + f + ",line=4,col=23,title=E0006 type mismatch::cannot compare 'net.dport' (port) with "
                   "string \"22\" (help: write the number without quotes)\n");
  std::string w = write("warns.bw", kWarningOnlyPolicy);
  auto lint = run({"lint", "--format", "github", w});
  EXPECT_EQ(lint.out, "::warning file=" + w + ",line=2,col=8,title=W0108 unused declaration::list 'unused' is never used\n");
}

TEST_F(BulwarkcCli, JsonAndSarifGoToStdoutAsValidJson) {
  std::string f = write("broken.bw", kTypeErrorPolicy);
  for (std::string format : {"json", "sarif"}) {
    auto r = run({"lint", "--format", format, f});
    EXPECT_EQ(r.exitCode, 1) << format;
    EXPECT_EQ(r.err, "") << format;
    std::string error;
    auto doc = parseJson(r.out, &error);
    ASSERT_TRUE(doc) << format << ": " << error << "\n" << r.out;
    if (format == "json") {
      ASSERT_NE(doc->at("diagnostics[0].code"), nullptr);
      EXPECT_EQ(doc->at("diagnostics[0].code")->string, "E0006");
    } else {
      ASSERT_NE(doc->at("runs[0].results[0].ruleId"), nullptr);
      EXPECT_EQ(doc->at("runs[0].results[0].ruleId")->string, "E0006");
    }
  }
}

TEST_F(BulwarkcCli, OutputFlagWritesTheReportToAFile) {
  std::string f = write("broken.bw", kTypeErrorPolicy);
  std::string out = tmp_ + "/report.sarif";
  auto r = run({"check", "--format", "sarif", "-o", out, f});
  EXPECT_EQ(r.exitCode, 1) << describe(r);
  EXPECT_EQ(r.out, "");
  std::string error;
  EXPECT_TRUE(parseJson(readFile(out), &error)) << error;
}

TEST_F(BulwarkcCli, CheckOfADirectoryFindsItsPolicies) {
  write("a.bw", kCleanPolicy);
  fs::create_directories(tmp_ + "/sub");
  write("sub/b.bw", kTypeErrorPolicy);
  write("notes.txt", "not a policy {");
  auto r = run({"check", tmp_});
  EXPECT_EQ(r.exitCode, 1) << describe(r);
  EXPECT_NE(r.err.find("sub/b.bw:4:23: error[E0006]"), std::string::npos) << describe(r);
  EXPECT_EQ(r.err.find("notes.txt"), std::string::npos) << describe(r);
}

TEST_F(BulwarkcCli, StdlibFlagAddsAModuleDirectory) {
  fs::create_directories(tmp_ + "/lib/site");
  write("lib/site/paths.bw", "list secrets = [\"/srv/secret\"]\n");
  std::string f = write("uses.bw", "import site.paths\n\npolicy p {\n  rule r {\n    on file.open\n    when file.path in "
                                   "paths.secrets\n    deny\n  }\n}\n");
  auto without = run({"check", f});
  EXPECT_EQ(without.exitCode, 1) << describe(without);
  EXPECT_NE(without.err.find("error[E0002]: module 'site.paths' not found"), std::string::npos) << describe(without);
  auto with = run({"check", "--stdlib", tmp_ + "/lib", f});
  EXPECT_EQ(with.exitCode, 0) << describe(with);
}

TEST_F(BulwarkcCli, KprobeWithMissingBtfIsAnError) {
  std::string f = write("kp.bw", "policy p {\n  rule r {\n    on kprobe \"do_unlinkat\"\n    audit\n  }\n}\n");
  auto r = run({"check", "--btf", tmp_ + "/no-btf", f});
  EXPECT_EQ(r.exitCode, 1) << describe(r);
  EXPECT_NE(r.err.find("error[E0020]: cannot read kernel BTF from '" + tmp_ + "/no-btf'"), std::string::npos) << describe(r);
}

// Sema types the arguments from BTF, the back end makes one kprobe/<fn> program per
// function, and inspect lists it with its section.
TEST_F(BulwarkcCli, KprobePolicyCompilesToAKprobeProgram) {
  const std::string btf = "/sys/kernel/btf/vmlinux";
  if (!fs::exists(btf))
    GTEST_SKIP() << "needs kernel BTF at " << btf;
  std::string f = write("kp.bw", "policy kp {\n  rule r {\n    on kprobe \"do_unlinkat\"\n    when arg0 < 0\n"
                                 "    audit\n  }\n  rule k {\n    on kprobe \"do_mkdirat\"\n    kill\n  }\n}\n");
  auto c = run({"compile", "--btf", btf, "--out-dir", tmp_ + "/out", f});
  ASSERT_EQ(c.exitCode, 0) << describe(c);
  auto i = run({"inspect", tmp_ + "/out/kp.bwb"});
  ASSERT_EQ(i.exitCode, 0) << describe(i);
  EXPECT_NE(i.out.find("bw_kp_do_unlinkat  kprobe/do_unlinkat  (kprobe)"), std::string::npos) << describe(i);
  EXPECT_NE(i.out.find("bw_kp_do_mkdirat  kprobe/do_mkdirat  (kprobe)"), std::string::npos) << describe(i);
  EXPECT_NE(i.out.find("programs (2)"), std::string::npos) << describe(i);
}

// Not-UTF-8 input used to be an internal error, exit 3 (KnownFrontEndBugsTest.cpp).
TEST_F(BulwarkcCli, NonUtf8InputIsAFindingNotAnInternalError) {
  std::string f = write("latin1.bw", "policy p {\n  # caf\xe9\n}\n");
  auto r = run({"check", f});
  EXPECT_EQ(r.exitCode, 1) << describe(r);
  EXPECT_NE(r.err.find("error[E0001]"), std::string::npos) << describe(r);
  EXPECT_EQ(run({"fmt", "--check", f}).exitCode, 1);
}

TEST_F(BulwarkcCli, ExplainIsCaseInsensitive) {
  auto upper = run({"explain", "E0006"}), lower = run({"explain", "e0006"});
  EXPECT_EQ(lower.exitCode, 0) << describe(lower);
  EXPECT_EQ(lower.out, upper.out);
}

TEST_F(BulwarkcCli, CheckOfADirectoryWithoutPoliciesSaysSo) {
  fs::create_directories(tmp_ + "/empty");
  write("empty/notes.txt", "no policies here");
  auto r = run({"check", tmp_ + "/empty"});
  EXPECT_EQ(r.exitCode, 2) << describe(r);
  EXPECT_NE(r.err.find("no policy files (*.bw) in directory '" + tmp_ + "/empty'"), std::string::npos) << describe(r);
}

TEST_F(BulwarkcCli, VersionPrintsTheStdlibOfTheBuildTree) {
  auto v = run({"--version"});
  EXPECT_NE(v.out.find("stdlib search path: " + sourceDir() + "/stdlib\n"), std::string::npos) << describe(v);
}

// ---- bulwarkc test ----

// A scoped allowlist, as policies/exec_allowlist.bw, with one test per expectation kind.
const char *kScopedPolicy = R"(policy scoped {
  default deny
  scope cgroup "/sys/fs/cgroup/app.slice"

  rule app {
    on process.exec
    when exec.path == "/usr/local/bin/app"
    allow
  }

  rule negative_pid {
    on process.exec
    when process.tgid == -100
    deny
  }
}
)";

const char *kScopedTests = R"(tests:
  - name: the app runs in its cgroup
    hook: process.exec
    event: {exec.path: /usr/local/bin/app, process.cgroup: /app.slice/app.service}
    expect: {action: allow, rule: app}
  - name: bash on the host is allowed
    hook: process.exec
    event: {exec.path: /bin/bash, process.cgroup: /}
    expect: {action: allow, in_scope: false, denied: false}
  - name: a sibling cgroup is outside the scope too
    hook: process.exec
    event: {exec.path: /bin/bash, process.cgroup: /app.slice2}
    expect: {action: allow, in_scope: false}
  - name: bash in the app's cgroup is denied
    hook: process.exec
    event: {exec.path: /bin/bash, process.cgroup: /app.slice}
    expect: {action: deny, default: true, denied: true}
  - name: in audit mode it is only recorded
    mode: audit
    hook: process.exec
    event: {exec.path: /bin/bash}
    expect: {action: deny, denied: false}
  - name: negative integers
    hook: process.exec
    event: {exec.path: /usr/local/bin/app2, process.tgid: -100}
    expect: {action: deny, rule: negative_pid}
)";

TEST_F(BulwarkcCli, TestHonoursScopeAndMode) {
  write("scoped.bw", kScopedPolicy);
  write("scoped_test.yaml", kScopedTests);
  auto r = run({"test", tmp_, "--min-coverage", "100"});
  EXPECT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_NE(r.out.find("coverage scoped: 2/2 rules\n"), std::string::npos) << describe(r);
  EXPECT_NE(r.out.find("\n6 passed, 0 failed\n"), std::string::npos) << describe(r);
}

TEST_F(BulwarkcCli, TestReportsAWrongScopeExpectation) {
  write("scoped.bw", kScopedPolicy);
  write("scoped_test.yaml", R"(tests:
  - name: bash on the host
    hook: process.exec
    event: {exec.path: /bin/bash, process.cgroup: /}
    expect: {action: deny}
  - name: misspelt key
    hook: process.exec
    event: {exec.path: /bin/bash}
    expect: {acton: deny}
)");
  auto r = run({"test", tmp_});
  EXPECT_EQ(r.exitCode, 1) << describe(r);
  EXPECT_NE(r.out.find("scoped_test.yaml:5:22: FAIL bash on the host: expected deny, got allow (outside the policy's scope)"),
            std::string::npos) << describe(r);
  EXPECT_NE(r.out.find("scoped_test.yaml:9:14: FAIL misspelt key: unknown key 'acton' in `expect`"), std::string::npos)
      << describe(r);
}

// A sequence test: marks carry from step to step; a wrong expectation or a bad step is
// reported at its YAML node.
TEST_F(BulwarkcCli, TestRunsSequencesOfSteps) {
  write("seq.bw", R"(policy seq {
  rule read_key {
    on file.open
    when file.path startswith "/root/.ssh/"
    mark process "read_key" for 1m
  }

  rule connect_after {
    on net.connect
    when process.marks has "read_key"
    deny
  }
}
)");
  write("seq_test.yaml", R"(tests:
  - name: read, fork, connect
    steps:
      - {pid: 2, hook: file.open, event: {file.path: /root/.ssh/id_rsa}, expect: {marks: [read_key]}}
      - {fork: 2, child: 3}
      - {exec: 3}
      - {pid: 3, hook: net.connect, event: {net.dport: 443}, expect: {action: deny, rule: connect_after}}
      - {sleep: 1m}
      - {pid: 3, hook: net.connect, event: {net.dport: 443}, expect: {action: allow, marks: []}}
  - name: wrong
    steps:
      - {pid: 2, hook: net.connect, event: {net.dport: 443}, expect: {action: deny}}
  - name: bad step
    steps:
      - {sleep: soon}
)");
  auto r = run({"test", tmp_});
  EXPECT_EQ(r.exitCode, 1) << describe(r);
  EXPECT_NE(r.out.find("coverage seq: 2/2 rules\n"), std::string::npos) << describe(r);
  EXPECT_NE(r.out.find("seq_test.yaml:12:79: FAIL wrong: expected deny, got allow (policy default)"), std::string::npos)
      << describe(r);
  EXPECT_NE(r.out.find("seq_test.yaml:15:17: FAIL bad step: 'soon' is not a duration"), std::string::npos) << describe(r);
  EXPECT_NE(r.out.find("\n1 passed, 2 failed\n"), std::string::npos) << describe(r);
}

TEST_F(BulwarkcCli, TestFailsForAPolicyWithoutTests) {
  write("scoped.bw", kScopedPolicy);
  write("scoped_test.yaml", kScopedTests);
  std::string untested = write("untested.bw", kCleanPolicy);
  auto r = run({"test", tmp_});
  EXPECT_EQ(r.exitCode, 1) << describe(r);
  EXPECT_NE(r.out.find(untested + ":1:8: FAIL tests of policy clean: no test for policy clean (write tests in " + tmp_ +
                       "/untested_test.yaml)"),
            std::string::npos) << describe(r);
  EXPECT_NE(r.out.find("\n6 passed, 1 failed\n"), std::string::npos) << describe(r);
}

TEST_F(BulwarkcCli, TestFailsWhenItFindsNoTests) {
  write("mod.bw", "list only = [\"/a\"]\n");  // a module: no policy, nothing to test
  auto r = run({"test", tmp_});
  EXPECT_EQ(r.exitCode, 1) << describe(r);
  EXPECT_NE(r.out.find("no policy tests found"), std::string::npos) << describe(r);
  EXPECT_NE(r.out.find("0 passed, 0 failed"), std::string::npos) << describe(r);
}

TEST_F(BulwarkcCli, TestJsonReport) {
  write("scoped.bw", kScopedPolicy);
  write("scoped_test.yaml", std::string(kScopedTests) + R"(  - name: wrong
    hook: process.exec
    event: {exec.path: /bin/bash}
    expect: {action: allow}
)");
  auto r = run({"test", tmp_, "--format", "json"});
  EXPECT_EQ(r.exitCode, 1) << describe(r);
  std::string error;
  auto doc = parseJson(r.out, &error);
  ASSERT_TRUE(doc) << error << "\n" << r.out;
  ASSERT_NE(doc->at("tests[6].status"), nullptr) << r.out;
  EXPECT_EQ(doc->at("tests[6].status")->string, "fail");
  EXPECT_EQ(doc->at("tests[6].name")->string, "wrong");
  EXPECT_EQ(doc->at("tests[6].policy")->string, "scoped");
  EXPECT_EQ(doc->at("tests[6].message")->string, "expected allow, got deny (policy default)");
  EXPECT_EQ(doc->at("tests[0].status")->string, "pass");
  EXPECT_EQ(doc->at("coverage[0].exercised")->number, 2);
  EXPECT_EQ(doc->at("passed")->number, 6);
  EXPECT_EQ(doc->at("failed")->number, 1);
}

TEST_F(BulwarkcCli, TestGithubAnnotations) {
  write("scoped.bw", kScopedPolicy);
  write("scoped_test.yaml", R"(tests:
  - name: wrong, with a comma
    hook: process.exec
    event: {exec.path: /bin/bash}
    expect: {action: allow}
)");
  auto r = run({"test", tmp_, "--format", "github"});
  EXPECT_EQ(r.exitCode, 1) << describe(r);
  EXPECT_NE(r.out.find("::error file=" + tmp_ + "/scoped_test.yaml,line=5,col=22,title=bulwarkc test%3A wrong%2C with a "
                       "comma::expected allow, got deny (policy default)\n"),
            std::string::npos) << describe(r);
}

TEST_F(BulwarkcCli, TestJunitReportToAFile) {
  write("scoped.bw", kScopedPolicy);
  write("scoped_test.yaml", kScopedTests);
  std::string out = tmp_ + "/report.xml";
  auto r = run({"test", tmp_, "--format", "junit", "-o", out, "--min-coverage", "100"});
  EXPECT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "6 passed, 0 failed\n");
  std::string xml = readFile(out);
  EXPECT_EQ(xml.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"bulwarkc test\" tests=\"7\" failures=\"0\">", 0), 0u)
      << xml;
  EXPECT_NE(xml.find("<testcase name=\"bash on the host is allowed\" classname=\"scoped\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("<testsuite name=\"rule coverage\" tests=\"1\" failures=\"0\""), std::string::npos) << xml;
}

TEST_F(BulwarkcCli, VersionAndHooks) {
  auto v = run({"--version"});
  EXPECT_EQ(v.exitCode, 0) << describe(v);
  EXPECT_EQ(v.out.rfind("bulwarkc ", 0), 0u) << describe(v);
  auto h = run({"hooks"});
  EXPECT_EQ(h.exitCode, 0) << describe(h);
  EXPECT_NE(h.out.find("| `file.open` |"), std::string::npos);
}

} // namespace
} // namespace bulwark::test
