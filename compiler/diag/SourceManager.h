// Owns the text of every file the compiler reads and maps offsets to line:column.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bulwark {

using FileId = uint32_t;

// A position in a source file. line and column are 1-based; column counts bytes.
struct SourceLoc {
  FileId file = 0;
  uint32_t offset = 0;
  uint32_t line = 0;
  uint32_t column = 0;
  uint32_t length = 1;  // bytes covered, for the underline

  bool valid() const { return line != 0; }
};

class SourceFile {
public:
  SourceFile(std::string path, std::string text);
  const std::string &path() const { return path_; }
  const std::string &text() const { return text_; }
  std::string_view lineText(uint32_t line) const;  // without the newline
  uint32_t lineCount() const { return static_cast<uint32_t>(lineStarts_.size()); }
  SourceLoc locAt(uint32_t offset, uint32_t length = 1) const;

private:
  std::string path_;
  std::string text_;
  std::vector<uint32_t> lineStarts_;
};

class SourceManager {
public:
  FileId add(std::string path, std::string text);
  // Reads a file from disk; nullopt with `error` set when it cannot be read.
  std::optional<FileId> load(const std::string &path, std::string *error);
  const SourceFile &file(FileId id) const { return *files_.at(id); }
  // The location of line:column in the file with this path (invalid when unknown).
  SourceLoc locFor(const std::string &path, uint32_t line, uint32_t column, uint32_t length = 1) const;
  size_t size() const { return files_.size(); }

private:
  std::vector<std::unique_ptr<SourceFile>> files_;
};

} // namespace bulwark
