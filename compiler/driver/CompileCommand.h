// `bulwarkc compile` and `bulwarkc inspect`: checked policies → bundles, and back.
#pragma once

#include "Compilation.h"

#include <string>
#include <vector>

namespace bulwark {

struct CompileCommandOptions {
  std::string outDir = ".";
  std::vector<std::string> onlyPolicies;  // empty: all
  bool quiet = false;
};

// Compiles every checked policy of `c` (which must have been checked without errors) into
// <outDir>/<policy>.bwb. Back-end errors are added to c.diags(). Returns false on errors;
// *ioError is set when the output cannot be written.
bool compilePolicies(Compilation &c, const CompileCommandOptions &opts, std::string *ioError);

// The digest recorded in a bundle: over the policy's file and every module loaded, by content.
std::string sourceDigest(const SourceManager &sm, FileId policyFile);

int runInspect(const std::string &bundleDir, const std::string &format);

} // namespace bulwark
