#include "SourceManager.h"

#include <algorithm>
#include <fstream>
#include <sstream>

namespace bulwark {

SourceFile::SourceFile(std::string path, std::string text) : path_(std::move(path)), text_(std::move(text)) {
  lineStarts_.push_back(0);
  for (uint32_t i = 0; i < text_.size(); ++i)
    if (text_[i] == '\n')
      lineStarts_.push_back(i + 1);
}

std::string_view SourceFile::lineText(uint32_t line) const {
  if (line == 0 || line > lineStarts_.size())
    return {};
  uint32_t begin = lineStarts_[line - 1];
  uint32_t end = line < lineStarts_.size() ? lineStarts_[line] - 1 : static_cast<uint32_t>(text_.size());
  std::string_view v(text_.data() + begin, end - begin);
  if (!v.empty() && v.back() == '\r')
    v.remove_suffix(1);
  return v;
}

SourceLoc SourceFile::locAt(uint32_t offset, uint32_t length) const {
  auto it = std::upper_bound(lineStarts_.begin(), lineStarts_.end(), offset);
  uint32_t line = static_cast<uint32_t>(it - lineStarts_.begin());
  SourceLoc loc;
  loc.offset = offset;
  loc.line = line;
  loc.column = offset - lineStarts_[line - 1] + 1;
  loc.length = length == 0 ? 1 : length;
  return loc;
}

SourceLoc SourceManager::locFor(const std::string &path, uint32_t line, uint32_t column, uint32_t length) const {
  for (FileId id = 0; id < files_.size(); ++id) {
    const SourceFile &f = *files_[id];
    if (f.path() != path || line == 0 || line > f.lineCount()) continue;
    uint32_t lineStart = static_cast<uint32_t>(f.lineText(line).data() - f.text().data());
    SourceLoc loc = f.locAt(lineStart + (column ? column - 1 : 0), length);
    loc.file = id;
    return loc;
  }
  return {};
}

FileId SourceManager::add(std::string path, std::string text) {
  files_.push_back(std::make_unique<SourceFile>(std::move(path), std::move(text)));
  return static_cast<FileId>(files_.size() - 1);
}

std::optional<FileId> SourceManager::load(const std::string &path, std::string *error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (error)
      *error = "cannot read '" + path + "'";
    return std::nullopt;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return add(path, ss.str());
}

} // namespace bulwark
