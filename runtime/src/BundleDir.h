// What the runtime needs from a bundle directory (docs/architecture.md, "Bundle format"),
// and its validation. The manifest is the bundle library's (abi/bundle).
#pragma once

#include "Bundle.h"  // abi/bundle: the manifest

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace bulwark::rt {

using BundleProgram = bundle::ProgramEntry;
using BundleHelper = bundle::HelperEntry;
using BundleIdentity = bundle::IdentityEntry;
using BundleMap = bundle::MapEntry;
using BundleRule = bundle::RuleEntry;
using BundleRodata = bundle::RodataEntry;

// A bundle directory as the runtime reads it: the manifest (one type, shared with bulwarkc),
// where it lives, and a hash of its files.
struct Bundle : bundle::Manifest {
  std::filesystem::path dir;
  uint64_t contentHash = 0;  // FNV-1a 64 over manifest, tables, object and map data (change detection)

  std::filesystem::path objectPath() const { return dir / bundle::kObjectFile; }
};

inline constexpr uint32_t kBundleFormat = bundle::kFormatVersion;

// Reads and validates a bundle without touching the kernel: manifest fields, ABI/format/
// compiler version, policy name, hooks known and LSM, map data files present and sized
// entries * (key + value), the object is a BPF ELF declaring the manifest's programs and
// maps with the manifest's sizes, and the ABI rodata. Throws Error(BadBundle) naming the
// problem.
Bundle readBundle(const std::filesystem::path &dir);

// FNV-1a 64 over the bundle's manifest, tables, object and map data files, in a fixed order.
// Throws Error(BadBundle) if a file cannot be read.
uint64_t bundleContentHash(const Bundle &b);

// Structural checks of an already-read manifest (no files touched). Exposed for tests.
void validateManifest(const Bundle &b);

// Policy names become pin directory names: [a-z0-9][a-z0-9_-]{0,62}, not a reserved name.
bool validPolicyName(const std::string &name, std::string *why = nullptr);

// "bulwarkc 0.1.0" → true when this runtime can load bundles of that compiler version.
bool compilerCompatible(const std::string &compiler, std::string *why = nullptr);

} // namespace bulwark::rt
