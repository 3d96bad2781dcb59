// Bundle format: a directory <policy>.bwb/ with manifest.yaml (what a person reads),
// tables.bin (rule table, identity paths: Tables.h), policy.bpf.o and maps/<name>.bin
// (see docs/architecture.md). yaml-cpp only (no LLVM): the runtime links
// this library too. Writing is deterministic: identical Bundle values give identical bytes.
#pragma once

#include "Words.h"

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace bulwark::bundle {

// 2: the rule table and the identity groups' paths moved to tables.bin (Tables.h).
constexpr uint32_t kFormatVersion = 2;
constexpr const char *kManifestFile = "manifest.yaml";
constexpr const char *kObjectFile = "policy.bpf.o";

struct PolicyInfo {
  std::string name;
  std::string description;
  Mode mode = Mode::Enforce;
  Action defaultAction = Action::Allow;  // allow or deny
  Scope scope = Scope::Host;
  std::vector<std::string> scopePaths; // cgroup v2 paths or executable paths
  std::string sourceDigest;            // sha256 hex
};

struct ProgramEntry {
  std::string name;    // function / program name in the object, "bw_file_open"
  std::string hook;    // "file.open"
  std::string attach;  // ELF section: "lsm/file_open"
  // false: the program has no rules and only keeps identity labels current (a path policy's
  // path_unlink without file.unlink rules). Written only when false; absent means true.
  bool decides = true;
  // true: on file.open, its decision can say "no rule of mine holds for any open with this
  // key" (abi/bw_quiet.bpf.h), so a lane of this program alone is worth keying. Written only
  // when true; absent means false.
  bool quiet = false;
  // When quiet: what its quiet key must hold besides the file (manifest `quiet_key`: view,
  // ancestors; bw_abi.h BW_KEY_*).
  bool quietView = false;
  bool quietAncestors = false;
};

// A program that is not a policy hook: attached directly by the runtime (never chained,
// never in a prog array), e.g. the process.exe cache filled at exec. Listed only when the
// bundle has one (bulwarkc option), so bundles without helpers are unchanged.
struct HelperEntry {
  std::string name;     // "bw_exe_exec"
  std::string attach;   // "lsm/bprm_committed_creds"
  std::string purpose;
};

// A group of path strings also matched by file identity (device, inode) in bw_m_ident:
// the runtime stats every path of an exact group at load and stores what the path means
// (its bw_m_exact value) under the file's identity; prefix groups are learned only (the
// path_link/path_rename programs record links and renames of files under the prefix).
struct IdentityEntry {
  uint32_t group = 0;
  IdentityKind kind = IdentityKind::Exact;
  std::string field;               // "file.path"
  std::vector<std::string> paths;  // sorted; in tables.bin
  uint32_t pathCount = 0;          // read from the manifest: how many paths tables.bin must hold
  // A path without an object at load is matched by name too (the process's view adds denials);
  // false where no view match of the group can add anything, so its strings are never read.
  bool view = true;
};

struct MapEntry {
  std::string name;         // map name in the object, "bw_m_exact"
  std::string type;         // hash | lpm_trie | array | percpu_array
  uint32_t keySize = 0;
  uint32_t valueSize = 0;
  uint32_t maxEntries = 0;  // the runtime sets it before load; 0 = number of possible CPUs
  uint32_t entries = 0;     // records in the data file
  std::string data;         // "maps/<name>.bin", empty when there are no initial entries
};

// A mark a rule sets: its name and the kernel's id of it (FNV-1a 64 of policy NUL name), so
// the runtime names the marks a record tells of.
struct MarkEntry {
  std::string name;
  uint64_t id = 0;
};

struct RuleEntry {
  uint32_t id = 0;
  std::string name;
  std::string hook;
  Action action = Action::Allow;
  std::string message;
  std::string loc;     // file:line:col
  std::string function;  // kprobe rules: the kernel function; empty otherwise
  std::vector<MarkEntry> marks;  // the marks the rule sets
};

// A const volatile global of the object that the runtime may set before load.
struct RodataEntry {
  std::string name;
  uint32_t size = 0;
  std::string meaning;
};

struct Manifest {
  uint32_t formatVersion = kFormatVersion;
  uint32_t abi = 1;
  std::string compiler;  // "bulwarkc 0.1.0"
  PolicyInfo policy;
  std::vector<ProgramEntry> programs;
  std::vector<HelperEntry> helpers;
  std::vector<IdentityEntry> identity;
  std::vector<MapEntry> maps;
  std::vector<RodataEntry> rodata;
  std::vector<RuleEntry> rules;  // in tables.bin
  uint32_t ruleCount = 0;        // read from the manifest: how many rules tables.bin must hold
};

struct Bundle {
  Manifest manifest;
  std::vector<uint8_t> object;                              // policy.bpf.o
  std::map<std::string, std::vector<uint8_t>> mapData;      // by MapEntry::data path
};

std::string writeManifest(const Manifest &m);
// Reads manifest.yaml; a field of a typed value spelled otherwise than Words.h says is an error,
// and so is another format version. Rules and identity paths come from tables.bin (readTables).
bool readManifest(const std::string &yaml, Manifest &out, std::string *error);

// Writes <dir>/manifest.yaml, <dir>/tables.bin, <dir>/policy.bpf.o, <dir>/maps/*.bin. The directory is
// created; files of an earlier bundle in it are replaced (stale maps/*.bin removed).
bool writeBundle(const Bundle &b, const std::filesystem::path &dir, std::string *error);
bool readBundle(const std::filesystem::path &dir, Bundle &out, std::string *error);

// Human-readable and JSON descriptions of a bundle (manifest, map contents summary).
std::string inspectText(const Bundle &b);
std::string inspectJson(const Bundle &b);

} // namespace bulwark::bundle
