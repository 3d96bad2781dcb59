#include "Compilation.h"

#include "Lint.h"
#include "Parser.h"

#include <algorithm>
#include <filesystem>

namespace bulwark {

namespace fs = std::filesystem;

bool collectPolicyFiles(const std::vector<std::string> &paths, std::vector<std::string> *out, std::string *error) {
  for (const auto &p : paths) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      std::vector<std::string> found;
      for (auto it = fs::recursive_directory_iterator(p, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
        if (it->is_regular_file() && it->path().extension() == ".bw") found.push_back(it->path().string());
      if (ec) {
        *error = "cannot read directory '" + p + "': " + ec.message();
        return false;
      }
      if (found.empty()) {
        *error = "no policy files (*.bw) in directory '" + p + "'";
        return false;
      }
      std::sort(found.begin(), found.end());
      out->insert(out->end(), found.begin(), found.end());
    } else if (fs::exists(p, ec)) {
      out->push_back(p);
    } else {
      *error = "no such file or directory: '" + p + "'";
      return false;
    }
  }
  return true;
}

Compilation::Compilation(CompilationOptions opts) : opts_(std::move(opts)) {
  modules_ = std::make_unique<ModuleLoader>(sm_, diags_, opts_.stdlibDirs);
}

bool Compilation::addInputs(const std::vector<std::string> &paths, std::string *error) {
  std::vector<std::string> files;
  if (!collectPolicyFiles(paths, &files, error)) return false;
  for (const auto &f : files) {
    auto id = sm_.load(f, error);
    if (!id) return false;
    inputs_.push_back(*id);
  }
  return true;
}

void Compilation::addSource(const std::string &name, const std::string &text) { inputs_.push_back(sm_.add(name, text)); }

const SemaResult &Compilation::check() {
  if (checked_) return sema_;
  checked_ = true;
  std::vector<const ast::File *> clean;
  for (FileId id : inputs_) {
    files_.push_back(parseFile(sm_, id, diags_));
    if (!files_.back()->hasSyntaxErrors) clean.push_back(files_.back().get());
  }
  Sema sema(sm_, diags_, *modules_, opts_.sema);
  sema_ = sema.check(clean);
  return sema_;
}

void Compilation::lint() {
  check();
  // Warnings are reported for the files the user asked about, not for imported modules
  // (lint the stdlib by passing its files).
  DiagnosticEngine warnings;
  bulwark::lint(sm_, sema_, warnings);
  for (const auto &d : warnings.all())
    if (std::find(inputs_.begin(), inputs_.end(), d.loc.file) != inputs_.end()) diags_.report(d.id, d.loc, d.message) = d;
}

} // namespace bulwark
