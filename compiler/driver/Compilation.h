// One run of the front end over a set of inputs: collects files (directories are
// searched for *.bw, sorted), parses them, runs sema and optionally lint. The driver,
// the tests and the fuzzer all go through this.
#pragma once

#include "Ast.h"
#include "Diagnostic.h"
#include "ModuleLoader.h"
#include "Sema.h"

#include <memory>
#include <string>
#include <vector>

namespace bulwark {

struct CompilationOptions {
  std::vector<std::string> stdlibDirs;
  SemaOptions sema;
};

class Compilation {
public:
  explicit Compilation(CompilationOptions opts = {});

  // Adds files and directories (recursively, *.bw). Returns false with *error on I/O problems.
  bool addInputs(const std::vector<std::string> &paths, std::string *error);
  // Adds in-memory source (tests, fuzzer).
  void addSource(const std::string &name, const std::string &text);

  // Parses every input; then sema on the files that parsed cleanly.
  const SemaResult &check();
  void lint();

  SourceManager &sources() { return sm_; }
  DiagnosticEngine &diags() { return diags_; }
  const std::vector<std::unique_ptr<ast::File>> &files() const { return files_; }
  const SemaResult &semaResult() const { return sema_; }

private:
  CompilationOptions opts_;
  SourceManager sm_;
  DiagnosticEngine diags_;
  std::vector<FileId> inputs_;
  std::vector<std::unique_ptr<ast::File>> files_;
  std::unique_ptr<ModuleLoader> modules_;
  SemaResult sema_;
  bool checked_ = false;
};

// Expands directories into their *.bw files (sorted); files are kept as given.
bool collectPolicyFiles(const std::vector<std::string> &paths, std::vector<std::string> *out, std::string *error);

} // namespace bulwark
