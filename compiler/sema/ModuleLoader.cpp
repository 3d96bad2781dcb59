#include "ModuleLoader.h"

#include "Parser.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>

namespace bulwark {

namespace fs = std::filesystem;

std::vector<std::string> defaultStdlibDirs() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return {BULWARK_INSTALL_STDLIB};
  // An installed binary uses the stdlib of its own prefix, so a package unpacked anywhere
  // (dpkg -x, cmake --install --prefix) is self-contained; then the configured location.
  fs::path own = (exe.parent_path() / BULWARK_STDLIB_FROM_BINDIR).lexically_normal();
  std::vector<std::string> installed{own.string()};
  if (own != fs::path(BULWARK_INSTALL_STDLIB)) installed.push_back(BULWARK_INSTALL_STDLIB);
  if (fs::is_directory(own, ec)) return installed;
  // A binary in the build tree compiles against the source tree's stdlib, never an
  // installed (maybe older) copy.
  const fs::path buildTree = BULWARK_BUILD_TREE;
  if (std::mismatch(buildTree.begin(), buildTree.end(), exe.begin(), exe.end()).first == buildTree.end())
    return {BULWARK_SOURCE_STDLIB};
  return installed;
}

ModuleLoader::ModuleLoader(SourceManager &sm, DiagnosticEngine &diags, std::vector<std::string> extraDirs)
    : sm_(sm), diags_(diags), dirs_(std::move(extraDirs)) {
  if (const char *env = std::getenv("BULWARK_STDLIB")) {
    std::string s = env;
    size_t pos = 0;
    while (pos <= s.size()) {
      size_t next = s.find(':', pos);
      std::string dir = s.substr(pos, next == std::string::npos ? std::string::npos : next - pos);
      if (!dir.empty()) dirs_.push_back(dir);
      if (next == std::string::npos) break;
      pos = next + 1;
    }
  }
  for (auto &dir : defaultStdlibDirs()) dirs_.push_back(std::move(dir));
}

std::string ModuleLoader::findModuleFile(const std::string &module) const {
  std::string rel = module;
  for (char &c : rel)
    if (c == '.') c = '/';
  rel += ".bw";
  for (const auto &dir : dirs_) {
    std::filesystem::path p = std::filesystem::path(dir) / rel;
    std::error_code ec;
    if (std::filesystem::is_regular_file(p, ec))
      return p.string();
  }
  return {};
}

const ast::File *ModuleLoader::load(const std::string &module) {
  if (auto it = loaded_.find(module); it != loaded_.end())
    return it->second.get();
  std::string path = findModuleFile(module);
  if (path.empty())
    return nullptr;
  std::string err;
  auto id = sm_.load(path, &err);
  if (!id)
    return nullptr;
  auto file = parseFile(sm_, *id, diags_);
  return (loaded_[module] = std::move(file)).get();
}

} // namespace bulwark
