// What the runtime needs from a bundle directory (docs/architecture.md, "Bundle format"),
// and its validation. Reading the manifest is delegated to the bundle library
// (abi/bundle).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace bulwark::rt {

struct BundleProgram {
  std::string name;    // ELF program (function) name
  std::string hook;    // language hook name, "file.open"
  std::string attach;  // "lsm/file_open"
};

// A program that is not a policy hook (e.g. the process.exe cache filled at exec): attached
// directly with the policy's generation, never chained, never in a prog array.
struct BundleHelper {
  std::string name;    // "bw_exe_exec"
  std::string attach;  // "lsm/bprm_committed_creds"
  std::string purpose;
};

// Path strings also matched by file identity (bw_m_ident; see Identity.h).
struct BundleIdentity {
  uint32_t group = 0;
  std::string kind;   // exact | prefix
  std::string field;  // "file.path"
  std::vector<std::string> paths;
};

struct BundleMap {
  std::string name;
  std::string type;    // "hash", "array", "lpm_trie", ...
  uint32_t keySize = 0;
  uint32_t valueSize = 0;
  uint32_t maxEntries = 0;  // 0 = number of possible CPUs
  uint64_t entries = 0;  // records in `data`
  std::string data;      // relative to the bundle, "maps/<name>.bin"; empty = no data
};

struct BundleRule {
  uint32_t id = 0;
  std::string name;
  std::string hook;
  std::string action;  // allow, deny, audit, kill
  std::string message;
  std::string loc;     // file:line:col
  std::string function;  // kprobe rules: the kernel function
};

struct BundleRodata {
  std::string name;    // const volatile global the runtime may set ("bw_cfg_slot")
  uint32_t size = 0;
  std::string meaning;
};

struct Bundle {
  std::filesystem::path dir;
  uint32_t format = 0;       // format_version
  uint32_t abi = 0;
  std::string compiler;  // "bulwarkc 0.1.0" or "0.1.0"
  std::string name;
  std::string description;
  std::string mode;          // enforce | audit
  std::string defaultAction; // allow | deny
  std::string scope = "host";             // host | cgroup | executable
  std::vector<std::string> scopePaths;    // cgroup v2 paths (cgroup scope)
  std::string sourceDigest;
  std::vector<BundleProgram> programs;
  std::vector<BundleHelper> helpers;
  std::vector<BundleIdentity> identity;
  std::vector<BundleMap> maps;
  std::vector<BundleRodata> rodata;
  std::vector<BundleRule> rules;

  uint64_t contentHash = 0;  // FNV-1a 64 over manifest, object and map data (change detection)

  std::filesystem::path objectPath() const { return dir / "policy.bpf.o"; }
};

inline constexpr uint32_t kBundleFormat = 1;

// Reads and validates a bundle without touching the kernel: manifest fields, ABI/format/
// compiler version, policy name, hooks known and LSM, map data files present and sized
// entries * (key + value), the object is a BPF ELF declaring the manifest's programs and
// maps with the manifest's sizes, and the ABI rodata. Throws Error(BadBundle) naming the
// problem.
Bundle readBundle(const std::filesystem::path &dir);

// FNV-1a 64 over the bundle's manifest, object and map data files, in a fixed order.
// Throws Error(BadBundle) if a file cannot be read.
uint64_t bundleContentHash(const Bundle &b);

// Structural checks of an already-read manifest (no files touched). Exposed for tests.
void validateManifest(const Bundle &b);

// Policy names become pin directory names: [a-z0-9][a-z0-9_-]{0,62}, not a reserved name.
bool validPolicyName(const std::string &name, std::string *why = nullptr);

// "bulwarkc 0.1.0" → true when this runtime can load bundles of that compiler version.
bool compilerCompatible(const std::string &compiler, std::string *why = nullptr);

} // namespace bulwark::rt
