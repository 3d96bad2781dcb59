// Shared helpers for the front-end tests: where the source tree is, reading files,
// listing policy files, and running the front end the way bulwarkc does.
#pragma once

#include "Compilation.h"

#include <memory>
#include <string>
#include <vector>

namespace bulwark::test {

// The repository root (set by CMake as BULWARK_SOURCE_DIR).
std::string sourceDir();
// tests/frontend in the source tree.
std::string frontendTestDir();

std::string readFile(const std::string &path);
// *.bw files directly in `dir` (not recursive), sorted; absolute paths.
std::vector<std::string> bwFilesIn(const std::string &dir);
// *.bw files under `dir`, recursively, sorted.
std::vector<std::string> bwFilesUnder(const std::string &dir);

// Every .bw file the project ships: policies/ and stdlib/.
std::vector<std::string> shippedPolicyFiles();

// `file` relative to the repository root, for readable test output.
std::string relativeToSource(const std::string &file);

// A compilation of one file from disk with lint (as `bulwarkc lint FILE`), with
// `extraStdlib` searched first for imports.
std::unique_ptr<Compilation> lintFile(const std::string &path, const std::vector<std::string> &extraStdlib = {});

// Formats `text` (parsed as `name`). Returns false and sets *why when it does not parse
// without errors (bulwarkc fmt refuses such files).
bool formatText(const std::string &name, const std::string &text, std::string *out, std::string *why);

// Number of comments the parser finds in `text` (0 if it does not parse).
size_t countComments(const std::string &name, const std::string &text);

// Google Test parameter names: letters, digits and '_' only.
std::string testNameFor(const std::string &path);

} // namespace bulwark::test
