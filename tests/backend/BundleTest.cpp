// Bundle directory round trip, byte-identical output, inspect text/JSON.
#include "Backend.h"
#include "Bundle.h"
#include "ObjectSummary.h"
#include "Tables.h"
#include "PolicyBuilder.h"
#include "bw_match.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <unistd.h>

using namespace bwtest;
using bulwark::HookId;
using bulwark::ir::TestOp;
namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path &p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream o;
  o << f.rdbuf();
  return o.str();
}

std::map<std::string, std::string> tree(const fs::path &dir) {
  std::map<std::string, std::string> out;
  for (const auto &e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file())
      out[fs::relative(e.path(), dir).string()] = slurp(e.path());
  return out;
}

bulwark::ir::Policy policy() {
  const HookId FO = HookId::FILE_OPEN;
  auto p = PolicyBuilder("bundle-test")
               .rule("deny-etc", FO, cTest(FO, "file.path", TestOp::Prefix, strs({"/etc/"})))
               .rule("audit-keys", FO, cTest(FO, "file.path", TestOp::Glob, strs({"/home/*/.ssh/*"})),
                     bulwark::ir::Action::Audit)
               .build();
  p.description = "quotes \" and: colons";
  p.scope.kind = bulwark::ir::Scope::Kind::Executable;
  p.scope.paths = {"/usr/bin/curl"};
  return p;
}

} // namespace

TEST(Bundle, WriteReadRoundTripAndDeterminism) {
  auto r = bulwark::backend::compileBundle(policy());
  ASSERT_TRUE(r) << r.errors[0].message;
  fs::path base = fs::temp_directory_path() / ("bw-bundle-test-" + std::to_string(getpid()));
  fs::remove_all(base);
  std::string err;
  ASSERT_TRUE(bulwark::backend::writeBundle(r->bundle, base / "a.bwb", &err)) << err;
  auto r2 = bulwark::backend::compileBundle(policy());
  ASSERT_TRUE(r2);
  ASSERT_TRUE(bulwark::backend::writeBundle(r2->bundle, base / "b.bwb", &err)) << err;
  auto ta = tree(base / "a.bwb"), tb = tree(base / "b.bwb");
  EXPECT_EQ(ta, tb);
  EXPECT_TRUE(ta.count("manifest.yaml"));
  EXPECT_TRUE(ta.count("tables.bin"));
  EXPECT_TRUE(ta.count("policy.bpf.o"));
  EXPECT_TRUE(ta.count("maps/bw_m_prefix.bin"));
  EXPECT_TRUE(ta.count("maps/bw_m_exact.bin"));  // the executable scope's entry

  bulwark::bundle::Bundle back;
  ASSERT_TRUE(bulwark::bundle::readBundle(base / "a.bwb", back, &err)) << err;
  EXPECT_EQ(back.object, r->bundle.object);
  EXPECT_EQ(back.mapData, r->bundle.mapData);
  EXPECT_EQ(bulwark::bundle::writeManifest(back.manifest), bulwark::bundle::writeManifest(r->bundle.manifest));
  EXPECT_EQ(back.manifest.policy.description, "quotes \" and: colons");
  EXPECT_EQ(back.manifest.policy.scope, bulwark::bundle::Scope::Executable);
  ASSERT_EQ(back.manifest.rules.size(), 2u);
  EXPECT_EQ(back.manifest.rules[1].action, bulwark::bundle::Action::Audit);
  EXPECT_EQ(back.manifest.rules[1].loc, "test.bw:3:3");

  // rewriting into an existing directory drops stale map files
  bulwark::bundle::Bundle fewer = back;
  fewer.manifest.maps.clear();
  fewer.mapData.clear();
  ASSERT_TRUE(bulwark::bundle::writeBundle(fewer, base / "a.bwb", &err));
  EXPECT_FALSE(fs::exists(base / "a.bwb/maps/bw_m_prefix.bin"));
  fs::remove_all(base);
}

TEST(Bundle, InspectTextAndJson) {
  auto r = bulwark::backend::compileBundle(policy());
  ASSERT_TRUE(r);
  std::string text = bulwark::bundle::inspectText(r->bundle);
  EXPECT_NE(text.find("policy bundle-test"), std::string::npos);
  EXPECT_NE(text.find("bw_file_open  lsm/file_open"), std::string::npos);
  EXPECT_NE(text.find("#1 audit-keys  file.open -> audit"), std::string::npos);
  std::string json = bulwark::bundle::inspectJson(r->bundle);
  EXPECT_EQ(json.front(), '{');
  EXPECT_NE(json.find("\"description\":\"quotes \\\" and: colons\""), std::string::npos);
  EXPECT_NE(json.find("\"attach\":\"lsm/file_open\""), std::string::npos);
}

TEST(Bundle, RejectsCorruptInput) {
  bulwark::bundle::Manifest m;
  std::string err;
  EXPECT_FALSE(bulwark::bundle::readManifest("format: other\n", m, &err));
  EXPECT_FALSE(bulwark::bundle::readManifest("{{{", m, &err));
  auto r = bulwark::backend::compileBundle(policy());
  ASSERT_TRUE(r);
  fs::path dir = fs::temp_directory_path() / ("bw-bundle-test-c-" + std::to_string(getpid()));
  ASSERT_TRUE(bulwark::backend::writeBundle(r->bundle, dir, &err));
  std::ofstream(dir / "maps/bw_m_prefix.bin", std::ios::app) << "x";
  bulwark::bundle::Bundle b;
  EXPECT_FALSE(bulwark::bundle::readBundle(dir, b, &err));
  EXPECT_NE(err.find("size"), std::string::npos);
  fs::remove_all(dir);
}

// An old bundle (format 1: rules in the YAML) is refused by its version, not misread.
TEST(Bundle, OldFormatIsRefusedByVersion) {
  bulwark::bundle::Manifest m;
  std::string err;
  EXPECT_FALSE(bulwark::bundle::readManifest("format: bulwark-bundle\nformat_version: 1\nabi: 2\nrules: []\n", m, &err));
  EXPECT_NE(err.find("bundle format version 1, this build reads format 2"), std::string::npos) << err;
  EXPECT_EQ(m.formatVersion, 1u);
}

namespace tables {

using bulwark::bundle::Manifest;

Manifest sample() {
  Manifest m;
  m.rules = {{0, "deny-etc", "file.open", bulwark::bundle::Action::Deny, "{file.path}", "p.bw:3:3", "", {}},
             {1, "watch", "kernel.probe", bulwark::bundle::Action::Audit, "", "p.bw:9:3", "do_sys_open",
              {{"read_credential", 0xfedcba9876543210ull}, {"", 7}}}};
  m.identity = {{4, bulwark::bundle::IdentityKind::Exact, "file.path", {"/etc/gshadow", "/etc/shadow"}}};
  m.ruleCount = 2;
  m.identity[0].pathCount = 2;
  return m;
}

// readTables into a manifest that lists what sample() lists; the error, or "" when it reads.
std::string read(const std::vector<uint8_t> &bytes) {
  Manifest m = sample();
  m.rules.clear();
  m.identity[0].paths.clear();
  std::string err;
  return bulwark::bundle::readTables(bytes, m, &err) ? "" : err;
}

void putU32(std::vector<uint8_t> &b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; i++)
    b[at + i] = uint8_t(v >> (8 * i));
}

// The tables of sample() with the u32 at byte `at` replaced by `v`, read.
std::string readPatched(size_t at, uint32_t v) {
  auto b = bulwark::bundle::writeTables(sample());
  putU32(b, at, v);
  return read(b);
}

} // namespace tables

TEST(Tables, RoundTrip) {
  tables::Manifest m = tables::sample(), back = tables::sample();
  back.rules.clear();
  back.identity[0].paths.clear();
  std::string err;
  ASSERT_TRUE(bulwark::bundle::readTables(bulwark::bundle::writeTables(m), back, &err)) << err;
  ASSERT_EQ(back.rules.size(), 2u);
  EXPECT_EQ(back.rules[1].name, "watch");
  EXPECT_EQ(back.rules[1].action, bulwark::bundle::Action::Audit);
  EXPECT_EQ(back.rules[1].function, "do_sys_open");
  EXPECT_EQ(back.rules[0].message, "{file.path}");
  EXPECT_EQ(back.identity[0].paths, m.identity[0].paths);
  // The marks a rule sets (name and kernel id): the runtime names a sequence's earlier steps
  // with them.
  EXPECT_TRUE(back.rules[0].marks.empty());
  ASSERT_EQ(back.rules[1].marks.size(), 2u);
  EXPECT_EQ(back.rules[1].marks[0].name, "read_credential");
  EXPECT_EQ(back.rules[1].marks[0].id, 0xfedcba9876543210ull);
  EXPECT_EQ(back.rules[1].marks[1].name, "");
  EXPECT_EQ(back.rules[1].marks[1].id, 7u);
}

// A mark list's count, name and id are bounds-checked like the other fields.
TEST(Tables, RuleMarksAreBoundsChecked) {
  auto with = tables::readPatched;
  // rule 1's marks: after rule 0 (no marks) and rule 1's id, name, hook, action, message, loc, function
  size_t rule1 = 20 + 4 + (4 + 8) + (4 + 9) + 4 + (4 + 11) + (4 + 8) + 4 + 4;
  size_t marks = rule1 + 4 + (4 + 5) + (4 + 12) + 4 + 4 + (4 + 8) + (4 + 11);
  EXPECT_NE(with(marks, 0xffffffffu).find("rule 1 marks is 4294967295, more than the"), std::string::npos)
      << with(marks, 0xffffffffu);
  std::string name = with(marks + 4, 0xffffffffu);  // the first mark's name length
  EXPECT_NE(name.find("truncated at byte " + std::to_string(marks + 8) + " reading rule 1 marks (4294967295 bytes"),
            std::string::npos)
      << name;
}

// Every cut of the file is an error naming where it was cut, never a crash.
TEST(Tables, TruncatedAnywhereIsAnError) {
  auto bytes = bulwark::bundle::writeTables(tables::sample());
  for (size_t n = 0; n < bytes.size(); n++) {
    std::string err = tables::read(std::vector<uint8_t>(bytes.begin(), bytes.begin() + long(n)));
    EXPECT_NE(err.find("tables.bin: "), std::string::npos) << n;
    EXPECT_TRUE(err.find("truncated") != std::string::npos || err.find("bytes left") != std::string::npos)
        << n << ": " << err;
  }
  EXPECT_EQ(tables::read(bytes), "");
  bytes.push_back(0);
  EXPECT_NE(tables::read(bytes).find("1 bytes after the last table"), std::string::npos);
}

TEST(Tables, HeaderAndCountsAreChecked) {
  const auto good = bulwark::bundle::writeTables(tables::sample());
  auto with = tables::readPatched;
  // header: magic, version, rule count, rule field count, identity group count
  EXPECT_NE(with(0, 0x464c457f).find("bad magic"), std::string::npos);
  EXPECT_NE(with(4, 9).find("version 9, this reader reads version 1"), std::string::npos);
  EXPECT_NE(with(8, 0xffffffffu).find("rule count is 4294967295, more than the"), std::string::npos);
  EXPECT_NE(with(8, 1).find("has 1 rules and 1 identity groups, the manifest 2 and 1"), std::string::npos);
  EXPECT_NE(with(12, 6).find("rules have 6 fields, this reader reads 8"), std::string::npos);
  EXPECT_NE(with(16, 0xffffffffu).find("4294967295 identity groups"), std::string::npos);
  // the first rule: id (20), then the length of its name
  EXPECT_NE(with(24, 0xffffffffu).find("truncated at byte 28 reading rule 0 name (4294967295 bytes needed"),
            std::string::npos);
  // the action of the first rule: after id, name, hook
  size_t action = 20 + 4 + (4 + 8) + (4 + 9);
  EXPECT_NE(with(action, 7).find("rule 0 action is 7 (expected allow, deny, audit or kill)"), std::string::npos);
  // the identity group's path count: after the two rules
  size_t paths = good.size() - (4 + 4 + 12) - (4 + 11);
  EXPECT_NE(with(paths, 0xffffffffu).find("identity group 4 path count is 4294967295, more than the"),
            std::string::npos);
  EXPECT_NE(with(paths, 1).find("identity group 4 has 1 paths, the manifest 2"), std::string::npos);
}

// The exec helper (process.exe cache) is opt-in: without it the manifest has no `helpers`
// and the object no extra program; with it both list bw_exe_exec, and the task storage map
// bw_exe (max_entries 0) stays out of the manifest's sized maps either way.
bulwark::ir::Policy globOnlyPolicy() {  // no exact/prefix path group: no identity programs
  const HookId FO = HookId::FILE_OPEN;
  return PolicyBuilder("glob-only")
      .rule("audit-keys", FO, cTest(FO, "file.path", TestOp::Glob, strs({"/home/*/.ssh/*"})), bulwark::ir::Action::Audit)
      .build();
}

TEST(Bundle, ExeCacheHelperIsOptIn) {
  auto plain = bulwark::backend::compileBundle(globOnlyPolicy());
  ASSERT_TRUE(plain);
  EXPECT_TRUE(plain->bundle.manifest.helpers.empty());
  EXPECT_EQ(bulwark::bundle::writeManifest(plain->bundle.manifest).find("helpers"), std::string::npos);
  auto s = summarize(plain->bundle.object);
  EXPECT_EQ(s.programs.size(), 1u);
  ASSERT_TRUE(s.maps.count("bw_exe"));
  EXPECT_EQ(s.maps["bw_exe"].type, 29u /* BPF_MAP_TYPE_TASK_STORAGE */);
  EXPECT_EQ(s.maps["bw_exe"].maxEntries, 0u);

  bulwark::backend::BackendOptions o;
  o.exeCacheProgram = true;
  auto with = bulwark::backend::compileBundle(globOnlyPolicy(), o);
  ASSERT_TRUE(with) << with.errors[0].message;
  ASSERT_EQ(with->bundle.manifest.helpers.size(), 1u);
  EXPECT_EQ(with->bundle.manifest.helpers[0].name, "bw_exe_exec");
  EXPECT_EQ(with->bundle.manifest.helpers[0].attach, "lsm/bprm_committed_creds");
  auto sw = summarize(with->bundle.object);
  EXPECT_EQ(sw.programs["bw_exe_exec"], "lsm/bprm_committed_creds");
  EXPECT_EQ(sw.programs["bw_file_open"], "lsm/file_open");
  bulwark::bundle::Manifest back;
  std::string err;
  ASSERT_TRUE(bulwark::bundle::readManifest(bulwark::bundle::writeManifest(with->bundle.manifest), back, &err)) << err;
  ASSERT_EQ(back.helpers.size(), 1u);
  EXPECT_EQ(back.helpers[0].attach, "lsm/bprm_committed_creds");
  for (const auto &m : with->bundle.manifest.maps)
    EXPECT_NE(m.name, "bw_exe");
  EXPECT_NE(bulwark::bundle::inspectText(with->bundle).find("helpers (1)"), std::string::npos);
  // the rodata the runtime may set includes the new switches
  std::set<std::string> ro;
  for (const auto &r : with->bundle.manifest.rodata)
    ro.insert(r.name);
  for (const char *n : {"bw_cfg_rec_rate", "bw_cfg_rec_burst", "bw_cfg_exe_cache"})
    EXPECT_TRUE(ro.count(n)) << n;
}

// Exact and prefix groups on path fields are also matched by file identity: the manifest
// lists them with their paths (the runtime stats the exact ones), bw_m_ident has room for
// them plus what is learned, and the policy has programs on path_link, path_rename and
// path_unlink (chained like any hook, no extra helper attachments).
// Strings that are not paths (process.comm) and suffix/glob groups are not identity groups.
TEST(Bundle, IdentityGroupsListPathsAndHelpers) {
  const HookId FO = HookId::FILE_OPEN;
  auto p = PolicyBuilder("ident")
               .rule("shadow", FO, cTest(FO, "file.path", TestOp::Eq, strs({"/etc/shadow", "/etc/gshadow"})))
               .rule("ssh", FO, cTest(FO, "file.path", TestOp::Prefix, strs({"/root/.ssh/"})))
               .rule("keys", FO, cTest(FO, "file.path", TestOp::Suffix, strs({".pem"})))
               .rule("cat", FO, cTest(FO, "process.comm", TestOp::Eq, strs({"cat"})))
               .build();
  auto r = bulwark::backend::compileBundle(p);
  ASSERT_TRUE(r) << r.errors[0].message;
  const auto &m = r->bundle.manifest;
  ASSERT_EQ(m.identity.size(), 2u);
  EXPECT_EQ(m.identity[0].kind, bulwark::bundle::IdentityKind::Exact);
  EXPECT_EQ(m.identity[0].field, "file.path");
  EXPECT_EQ(m.identity[0].paths, (std::vector<std::string>{"/etc/gshadow", "/etc/shadow"}));
  EXPECT_EQ(m.identity[1].kind, bulwark::bundle::IdentityKind::Prefix);
  EXPECT_EQ(m.identity[1].paths, (std::vector<std::string>{"/root/.ssh/"}));
  EXPECT_NE(m.identity[0].group, m.identity[1].group);
  EXPECT_TRUE(m.helpers.empty());
  std::set<std::string> programs;
  for (const auto &p : m.programs)
    programs.insert(p.name + " " + p.hook + " " + p.attach);
  EXPECT_EQ(programs, (std::set<std::string>{"bw_file_open file.open lsm/file_open",
                                             "bw_path_link file.link lsm/path_link",
                                             "bw_path_rename file.rename lsm/path_rename",
                                             "bw_path_unlink file.unlink lsm/path_unlink"}));
  bool sized = false;
  for (const auto &x : m.maps)
    if (x.name == "bw_m_ident") {
      sized = true;
      // the prefix group's fail-closed entry, then room for the runtime's labels: two per
      // exact path (the file, its name in its directory), one per prefix (its directory)
      EXPECT_EQ(x.entries, 1u);
      EXPECT_EQ(x.maxEntries, 1u + 2u * 2u + 1u + BW_IDENT_LEARN_SLACK);
      EXPECT_EQ(x.keySize, uint32_t(sizeof(bw_ident_key)));
      EXPECT_EQ(x.data, "maps/bw_m_ident.bin");
    }
  EXPECT_TRUE(sized);
  bulwark::bundle::Manifest back;
  std::string err;
  ASSERT_TRUE(bulwark::bundle::readManifest(bulwark::bundle::writeManifest(m), back, &err)) << err;
  ASSERT_TRUE(bulwark::bundle::readTables(bulwark::bundle::writeTables(m), back, &err)) << err;
  ASSERT_EQ(back.identity.size(), 2u);
  EXPECT_EQ(back.identity[0].paths, m.identity[0].paths);
  EXPECT_EQ(back.identity[1].group, m.identity[1].group);
  EXPECT_NE(bulwark::bundle::inspectText(r->bundle).find("identity groups (2)"), std::string::npos);
  EXPECT_NE(bulwark::bundle::inspectJson(r->bundle).find("\"paths\":[\"/etc/gshadow\",\"/etc/shadow\"]"),
            std::string::npos);
  // a manifest naming an unknown identity kind is refused
  std::string yaml = bulwark::bundle::writeManifest(m);
  auto at = yaml.find("kind: prefix");
  ASSERT_NE(at, std::string::npos);
  yaml.replace(at, 12, "kind: suffix");
  EXPECT_FALSE(bulwark::bundle::readManifest(yaml, back, &err));
  EXPECT_NE(err.find("identity kind"), std::string::npos) << err;
}
