#pragma once
// Test bundles built from the hand-written fixture objects (tests/runtime/fixtures), in the
// manifest format of the bundle library (abi/bundle). Shared by host and VM tests.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "Tables.h"  // abi/bundle: tables.bin

extern "C" {
#include "bw_abi.h"  // BW_ABI_VERSION
#include "deny_inode.h"
}

namespace bulwark::rttest {

// tables.bin of the fixture's rules (none for all_hooks).
inline void WriteTables(const std::filesystem::path &b, bool rules) {
  bundle::Manifest m;
  if (rules)
    m.rules = {{0, "deny-protected", "file.open", bundle::Action::Deny, "open of a protected file", "fixture.bw:3:3", "", {}},
               {1, "audit-watched", "file.open", bundle::Action::Audit, "open of a watched file", "fixture.bw:7:3", "", {}}};
  auto bytes = bundle::writeTables(m);
  std::ofstream(b / bundle::kTablesFile, std::ios::binary).write(reinterpret_cast<const char *>(bytes.data()),
                                                                  std::streamsize(bytes.size()));
}

struct FileId {
  unsigned long long dev = 0, ino = 0;
};

struct BundleSpec {
  std::string name = "deny-test";
  std::vector<FileId> deny;    // rule 0 (deny-protected)
  std::vector<FileId> audit;   // rule 1 (audit-watched)
  std::string object = "deny_inode.bpf.o";  // fixture object, in the fixture directory
  bool unlinkHook = false;  // object is deny_inode_unlink.bpf.o: also lists bw_path_unlink
  bool helper = false;      // object is deny_inode_helper.bpf.o: lists the helper bw_exec_helper
  bool allHooks = false;    // object is all_hooks.bpf.o: bw_all_<ID> on every LSM hook, no maps
  std::string mode = "enforce";
  int abi = BW_ABI_VERSION;
  int format = 2;
  std::string compiler = "bulwarkc 0.1.0";
  std::string digest = "0000";
};

// Writes <dir>/<name>.bwb (or the given directory name) and returns its path.
inline std::string MakeBundleFrom(const std::string &fixtureDir, const std::string &dir, const BundleSpec &s,
                                  std::string dirName = {}) {
  namespace fs = std::filesystem;
  fs::path b = fs::path(dir) / (dirName.empty() ? s.name + ".bwb" : dirName);
  fs::remove_all(b);
  fs::create_directories(b / "maps");
  fs::copy_file(fixtureDir + "/" + s.object, b / "policy.bpf.o");
  std::ofstream data(b / "maps/deny_inodes.bin", std::ios::binary);
  auto put = [&](const FileId &f, uint32_t rule, uint32_t action) {
    deny_key k{f.dev, f.ino};
    deny_val v{rule, action};
    data.write(reinterpret_cast<const char *>(&k), sizeof k);
    data.write(reinterpret_cast<const char *>(&v), sizeof v);
  };
  for (const auto &f : s.deny)
    put(f, 0, 1 /* BW_ACT_DENY */);
  for (const auto &f : s.audit)
    put(f, 1, 2 /* BW_ACT_AUDIT */);
  data.close();
  size_t entries = s.deny.size() + s.audit.size();
  std::ofstream m(b / "manifest.yaml");
  if (s.allHooks) {
    fs::remove_all(b / "maps");
    WriteTables(b, false);
    m << "format: bulwark-bundle\nformat_version: " << s.format << "\nabi: " << s.abi << "\ncompiler: \"" << s.compiler << "\"\n"
      << "policy:\n  name: \"" << s.name << "\"\n  mode: enforce\n  default: allow\n"
      << "  scope:\n    kind: host\n    paths: []\n  source_digest: \"" << s.digest << "\"\n"
      << "programs:\n";
#define BW_HOOK(id, name, kind, attach, summary)                                                   \
  if (std::string(#kind) == "LSM")                                                                 \
    m << "  - name: bw_all_" #id "\n    hook: " name "\n    attach: lsm/" attach "\n";
#include "hooks.def"
    m << "maps: []\nrodata:\n  - name: bw_cfg_slot\n    size: 4\n  - name: bw_cfg_lane\n    size: 4\nrule_count: 0\n";
    return b.string();
  }
  WriteTables(b, true);
  m << "format: bulwark-bundle\n"
    << "format_version: " << s.format << "\n"
    << "abi: " << s.abi << "\n"
    << "compiler: \"" << s.compiler << "\"\n"
    << "policy:\n"
    << "  name: \"" << s.name << "\"\n"
    << "  description: \"runtime test fixture\"\n"
    << "  mode: " << s.mode << "\n"
    << "  default: allow\n"
    << "  scope:\n"
    << "    kind: host\n"
    << "    paths: []\n"
    << "  source_digest: \"" << s.digest << "\"\n"
    << "programs:\n"
    << "  - name: bw_file_open\n"
    << "    hook: file.open\n"
    << "    attach: lsm/file_open\n";
  if (s.unlinkHook)
    m << "  - name: bw_path_unlink\n"
      << "    hook: file.unlink\n"
      << "    attach: lsm/path_unlink\n";
  if (s.helper)
    m << "helpers:\n"
      << "  - name: bw_exec_helper\n"
      << "    attach: lsm/bprm_committed_creds\n"
      << "    purpose: \"counts execs (test)\"\n";
  m << "maps:\n"
    << "  - name: bw_counters\n"
    << "    type: percpu_array\n"
    << "    key_size: 4\n"
    << "    value_size: 32\n"
    << "    max_entries: 3\n"
    << "    entries: 0\n"
    << "    data: \"\"\n"
    << "  - name: deny_inodes\n"
    << "    type: hash\n"
    << "    key_size: " << sizeof(deny_key) << "\n"
    << "    value_size: " << sizeof(deny_val) << "\n"
    << "    max_entries: " << (entries + 16) << "\n"
    << "    entries: " << entries << "\n"
    << "    data: \"maps/deny_inodes.bin\"\n"
    << "rodata:\n"
    << "  - name: bw_cfg_slot\n"
    << "    size: 4\n"
    << "    meaning: \"policy slot\"\n"
    << "  - name: bw_cfg_lane\n"
    << "    size: 4\n"
    << "    meaning: \"lane\"\n"
    << "  - name: bw_cfg_mode_override\n"
    << "    size: 4\n"
    << "    meaning: \"mode override\"\n"
    << "rule_count: 2\n";
  return b.string();
}

}  // namespace bulwark::rttest
