#include "FrontendTestSupport.h"

#include "DiagnosticRender.h"
#include "Formatter.h"
#include "Parser.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace fs = std::filesystem;

namespace bulwark::test {

std::string sourceDir() { return BULWARK_SOURCE_DIR; }
std::string frontendTestDir() { return sourceDir() + "/tests/frontend"; }

std::string readFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> bwFilesIn(const std::string &dir) {
  std::vector<std::string> out;
  for (const auto &e : fs::directory_iterator(dir))
    if (e.is_regular_file() && e.path().extension() == ".bw") out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> bwFilesUnder(const std::string &dir) {
  std::vector<std::string> out;
  for (const auto &e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file() && e.path().extension() == ".bw") out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> shippedPolicyFiles() {
  auto out = bwFilesUnder(sourceDir() + "/policies");
  auto std = bwFilesUnder(sourceDir() + "/stdlib");
  out.insert(out.end(), std.begin(), std.end());
  return out;
}

std::string relativeToSource(const std::string &file) {
  std::error_code ec;
  auto rel = fs::relative(file, sourceDir(), ec);
  return ec ? file : rel.string();
}

std::unique_ptr<Compilation> lintFile(const std::string &path, const std::vector<std::string> &extraStdlib) {
  CompilationOptions opts;
  opts.stdlibDirs = extraStdlib;
  auto c = std::make_unique<Compilation>(opts);
  std::string err;
  if (!c->addInputs({path}, &err)) throw std::runtime_error(err);
  c->lint();
  c->diags().sort();
  return c;
}

bool formatText(const std::string &name, const std::string &text, std::string *out, std::string *why) {
  SourceManager sm;
  DiagnosticEngine diags;
  FileId id = sm.add(name, text);
  auto file = parseFile(sm, id, diags);
  if (diags.errorCount()) {
    if (why) *why = renderDiagnostics(sm, diags.all(), DiagFormat::Text, {});
    return false;
  }
  *out = formatFile(sm.file(id), *file);
  return true;
}

size_t countComments(const std::string &name, const std::string &text) {
  SourceManager sm;
  DiagnosticEngine diags;
  FileId id = sm.add(name, text);
  auto file = parseFile(sm, id, diags);
  return file->comments.size();
}

std::string testNameFor(const std::string &path) {
  std::string s = fs::path(path).stem().string();
  for (char &c : s)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return s;
}

} // namespace bulwark::test
