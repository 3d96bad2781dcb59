// Bundle validation without a kernel: manifest, versions, names, map data, the object.
#include "BundleDir.h"
#include "Error.h"
#include "Tables.h"
#include "TestBundle.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>

namespace bulwark::rt {
namespace {
namespace fs = std::filesystem;
using rttest::BundleSpec;

class BundleDirTest : public ::testing::Test {
protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / ("bw-bundle-test-" + std::to_string(getpid()) + "-" +
                                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
    fs::create_directories(dir);
    spec.deny = {{1, 2}, {3, 4}};
  }
  void TearDown() override { fs::remove_all(dir); }
  std::string make(const BundleSpec &s, const std::string &name = "b.bwb") {
    return rttest::MakeBundleFrom(BULWARK_RT_FIXTURE_DIR, dir.string(), s, name);
  }
  // Expects readBundle to fail with `code` and a message matching `pattern`.
  void expectBad(const std::string &bundle, Exit code, const std::string &pattern) {
    try {
      readBundle(bundle);
      ADD_FAILURE() << "readBundle accepted " << bundle;
    } catch (const Error &e) {
      EXPECT_EQ(int(e.code()), int(code)) << e.what();
      EXPECT_TRUE(std::regex_search(e.what(), std::regex(pattern))) << e.what() << "\n  !~ " << pattern;
    }
  }
  void writeTables(const std::string &dir, const bundle::Manifest &m) {
    auto bytes = bundle::writeTables(m);
    std::ofstream(dir + "/tables.bin", std::ios::binary | std::ios::trunc)
        .write(reinterpret_cast<const char *>(bytes.data()), std::streamsize(bytes.size()));
  }
  void edit(const std::string &bundle, const std::string &from, const std::string &to) {
    std::ifstream in(bundle + "/manifest.yaml");
    std::string s((std::istreambuf_iterator<char>(in)), {});
    auto pos = s.find(from);
    ASSERT_NE(pos, std::string::npos) << from;
    s.replace(pos, from.size(), to);
    std::ofstream(bundle + "/manifest.yaml", std::ios::trunc) << s;
  }
  fs::path dir;
  BundleSpec spec;
};

TEST_F(BundleDirTest, ReadsAValidBundle) {
  Bundle b = readBundle(make(spec));
  EXPECT_EQ(b.policy.name, "deny-test");
  EXPECT_EQ(b.abi, uint32_t(BW_ABI_VERSION));
  EXPECT_EQ(b.formatVersion, 2u);
  EXPECT_EQ(b.policy.mode, bulwark::bundle::Mode::Enforce);
  EXPECT_EQ(b.policy.scope, bulwark::bundle::Scope::Host);
  ASSERT_EQ(b.programs.size(), 1u);
  EXPECT_EQ(b.programs[0].hook, "file.open");
  ASSERT_EQ(b.rules.size(), 2u);
  EXPECT_EQ(b.rules[1].name, "audit-watched");
  EXPECT_EQ(b.rules[0].loc, "fixture.bw:3:3");
  bool found = false;
  for (const auto &m : b.maps)
    if (m.name == "deny_inodes") {
      found = true;
      EXPECT_EQ(m.entries, 2u);
      EXPECT_EQ(m.data, "maps/deny_inodes.bin");
    }
  EXPECT_TRUE(found);
}

TEST_F(BundleDirTest, VerifierRejectedObjectIsStructurallyValid) {
  spec.object = "rejected.bpf.o";
  EXPECT_NO_THROW(readBundle(make(spec)));  // only the kernel can tell
}

TEST_F(BundleDirTest, MissingPiecesAreCorrupt) {
  expectBad((dir / "nope").string(), Exit::BadBundle, "not a directory");
  std::string b = make(spec);
  fs::remove(b + "/policy.bpf.o");
  expectBad(b, Exit::BadBundle, "no policy\\.bpf\\.o");
  b = make(spec, "c.bwb");
  fs::remove(b + "/manifest.yaml");
  expectBad(b, Exit::BadBundle, "no manifest\\.yaml");
  b = make(spec, "d.bwb");
  fs::remove(b + "/maps/deny_inodes.bin");
  expectBad(b, Exit::BadBundle, "maps/deny_inodes\\.bin is missing");
}

TEST_F(BundleDirTest, CorruptFilesAreCorrupt) {
  std::string b = make(spec);
  std::ofstream(b + "/manifest.yaml", std::ios::trunc) << "{{{";
  expectBad(b, Exit::BadBundle, "corrupt bundle .*manifest\\.yaml");
  b = make(spec, "c.bwb");
  std::ofstream(b + "/policy.bpf.o", std::ios::trunc) << "not an elf";
  expectBad(b, Exit::BadBundle, "not an ELF file");
  b = make(spec, "d.bwb");
  fs::resize_file(b + "/policy.bpf.o", 300);
  expectBad(b, Exit::BadBundle, "not a valid BPF object");
  b = make(spec, "e.bwb");
  std::ofstream(b + "/maps/deny_inodes.bin", std::ios::app) << "x";
  expectBad(b, Exit::BadBundle, "has 49 bytes, expected 2 entries of 16\\+8 = 48");
  b = make(spec, "f.bwb");
  std::ofstream(b + "/manifest.yaml", std::ios::trunc) << "format: tarball\n";
  expectBad(b, Exit::BadBundle, "not a bulwark bundle manifest");
}

// tables.bin (the rule table): missing, cut short, or of another bundle is refused by name.
TEST_F(BundleDirTest, TablesMustBeWhole) {
  std::string b = make(spec);
  fs::remove(b + "/tables.bin");
  expectBad(b, Exit::BadBundle, "corrupt bundle .*: no tables\\.bin");
  b = make(spec, "b.bwb");
  fs::resize_file(b + "/tables.bin", fs::file_size(b + "/tables.bin") - 3);
  expectBad(b, Exit::BadBundle, "corrupt bundle .*: tables\\.bin: truncated at byte [0-9]+ reading rule 1 marks");
  b = make(spec, "c.bwb");
  writeTables(b, bundle::Manifest{});
  expectBad(b, Exit::BadBundle, "tables\\.bin: has 0 rules and 0 identity groups, the manifest 2 and 0");
  b = make(spec, "d.bwb");
  std::ofstream(b + "/tables.bin", std::ios::trunc) << "BWTB\x07";
  expectBad(b, Exit::BadBundle, "tables\\.bin: truncated at byte 4 reading version");
}

// The content hash (change detection of `bulwark run`) covers the rule table.
TEST_F(BundleDirTest, ContentHashCoversTheTables) {
  std::string b = make(spec);
  uint64_t before = readBundle(b).contentHash;
  bundle::Manifest m = readBundle(b);
  m.rules[1].message = "changed";
  writeTables(b, m);
  Bundle after = readBundle(b);
  EXPECT_EQ(after.rules[1].message, "changed");
  EXPECT_NE(after.contentHash, before);
}

TEST_F(BundleDirTest, VersionsMustMatch) {
  BundleSpec s = spec;
  s.abi = 99;
  expectBad(make(s), Exit::BadBundle, "targets kernel ABI 99, this runtime implements ABI " + std::to_string(BW_ABI_VERSION));
  s = spec;
  s.compiler = "bulwarkc 0.2.0";
  expectBad(make(s, "c.bwb"), Exit::BadBundle, "compiler bulwarkc 0\\.2\\.0, this runtime is 0\\.1\\.0");
  std::string b = make(spec, "d.bwb");
  edit(b, "format_version: 2", "format_version: 7");
  expectBad(b, Exit::BadBundle, "format version 7, this runtime reads format 2");
  // format 1 kept its rules in manifest.yaml and has no tables.bin: refused by its version
  b = make(spec, "e.bwb");
  edit(b, "format_version: 2", "format_version: 1");
  fs::remove(b + "/tables.bin");
  expectBad(b, Exit::BadBundle, "has format version 1, this runtime reads format 2");
  std::string why;
  EXPECT_TRUE(compilerCompatible("bulwarkc 0.1.7", &why)) << why;
  EXPECT_TRUE(compilerCompatible("0.1.0"));
  EXPECT_FALSE(compilerCompatible("bulwarkc 1.1.0"));
  EXPECT_FALSE(compilerCompatible("bulwarkc dev", &why));
  EXPECT_NE(why.find("X.Y.Z"), std::string::npos);
}

TEST_F(BundleDirTest, PolicyNamesArePinSafe) {
  std::string why;
  EXPECT_TRUE(validPolicyName("no-ssh-keys_2"));
  EXPECT_FALSE(validPolicyName("", &why));
  EXPECT_FALSE(validPolicyName("Upper", &why));
  EXPECT_FALSE(validPolicyName("a.b", &why));
  EXPECT_NE(why.find("'.'"), std::string::npos) << why;
  EXPECT_FALSE(validPolicyName("../x", &why));
  EXPECT_FALSE(validPolicyName("shared", &why));
  EXPECT_FALSE(validPolicyName("dispatch", &why));
  EXPECT_FALSE(validPolicyName(std::string(64, 'a'), &why));
  BundleSpec s = spec;
  s.name = "bad.name";
  expectBad(make(s), Exit::BadBundle, "policy name 'bad\\.name'");
}

TEST_F(BundleDirTest, ManifestMustDescribeTheObject) {
  std::string b = make(spec);
  edit(b, "- name: bw_file_open", "- name: bw_other");
  expectBad(b, Exit::BadBundle, "program 'bw_file_open' .* manifest does not list");
  b = make(spec, "c.bwb");
  edit(b, "attach: lsm/file_open", "attach: lsm/path_unlink");
  expectBad(b, Exit::BadBundle, "must be in section lsm/file_open");
  BundleSpec empty;  // no map data, so the sizes are checked against the object
  b = make(empty, "d.bwb");
  edit(b, "    key_size: 16", "    key_size: 12");
  expectBad(b, Exit::BadBundle, "map 'deny_inodes': the object has key/value size 16/8, the manifest 12/8");
  b = make(spec, "e.bwb");
  edit(b, "hook: file.open\n    attach", "hook: file.teleport\n    attach");
  expectBad(b, Exit::BadBundle, "unknown hook 'file\\.teleport'");
  b = make(spec, "f.bwb");
  bundle::Manifest rules;
  rules.rules = {{0, "a", "file.open", bundle::Action::Deny, "", "", "", {}}, {5, "b", "file.open", bundle::Action::Deny, "", "", "", {}}};
  writeTables(b, rules);
  expectBad(b, Exit::BadBundle, "has id 5, expected 1");
  b = make(spec, "g.bwb");
  edit(b, "  - name: bw_cfg_slot", "  - name: bw_cfg_nope");
  expectBad(b, Exit::BadBundle, "rodata 'bw_cfg_nope' but policy\\.bpf\\.o has no such variable");
}

TEST_F(BundleDirTest, KprobeProgramsMustNameTheirFunction) {
  // A manifest-level check (the fixture object has LSM programs only).
  std::string b = make(spec);
  edit(b, "hook: file.open\n    attach: lsm/file_open", "hook: kprobe\n    attach: lsm/file_open");
  expectBad(b, Exit::BadBundle, "must be in section kprobe/<kernel function>, not 'lsm/file_open'");
  b = make(spec, "k2.bwb");
  edit(b, "hook: file.open\n    attach: lsm/file_open", "hook: kprobe\n    attach: kprobe/../x");
  expectBad(b, Exit::BadBundle, "must be in section kprobe/<kernel function>, not 'kprobe/\\.\\./x'");
}

TEST_F(BundleDirTest, ObjectWithoutTheAbiRodataIsRefused) {
  // The runtime's own dispatcher object is a valid BPF ELF but not a policy.
  std::string b = make(spec);
  fs::copy_file(BULWARK_RT_DISPATCHER_OBJ, b + "/policy.bpf.o", fs::copy_options::overwrite_existing);
  expectBad(b, Exit::BadBundle, "no 'bw_cfg_slot' in \\.rodata|program 'bw_dispatch_");
}

}  // namespace
}  // namespace bulwark::rt
