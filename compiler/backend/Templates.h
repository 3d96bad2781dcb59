// Template bitcode embedded at build time (bpf/templates, compiled by clang-19 to LLVM
// bitcode): "bw_lib" and one per LSM hook, named after the hook's attach point.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

namespace bulwark::backend {

struct TemplateBlob {
  std::string_view name;
  const unsigned char *data;
  size_t size;
};

std::span<const TemplateBlob> templateBlobs();
const TemplateBlob *findTemplate(std::string_view name);

} // namespace bulwark::backend
