// Finds, reads and parses imported modules (`import std.files` → <dir>/std/files.bw)
// once per compilation. Search order: --stdlib directories, $BULWARK_STDLIB (colon
// separated), then defaultStdlibDirs().
#pragma once

#include "Ast.h"
#include "Diagnostic.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace bulwark {

// The stdlib of this binary: <prefix>/share/bulwark/stdlib beside an installed one (found
// from the binary's own path), then the configured install location; the source tree's for
// a binary in the build tree.
std::vector<std::string> defaultStdlibDirs();

class ModuleLoader {
public:
  ModuleLoader(SourceManager &sm, DiagnosticEngine &diags, std::vector<std::string> extraDirs);

  // The parsed module, or null if it cannot be found (the caller reports E0002).
  const ast::File *load(const std::string &module);
  const std::vector<std::string> &searchPath() const { return dirs_; }
  std::string findModuleFile(const std::string &module) const;

private:
  SourceManager &sm_;
  DiagnosticEngine &diags_;
  std::vector<std::string> dirs_;
  std::map<std::string, std::unique_ptr<ast::File>> loaded_;
};

} // namespace bulwark
