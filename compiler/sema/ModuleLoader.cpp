#include "ModuleLoader.h"

#include "Parser.h"

#include <cstdlib>
#include <filesystem>

namespace bulwark {

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
  dirs_.push_back(BULWARK_INSTALL_STDLIB);
  dirs_.push_back(BULWARK_SOURCE_STDLIB);
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
