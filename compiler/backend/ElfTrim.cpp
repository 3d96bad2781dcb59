#include "ElfTrim.h"

#include "ByteIo.h"

#include <cstring>

namespace bulwark::backend {

const char *const kUnreadSections[3] = {".rel.BTF.ext", ".debug_frame", ".rel.debug_frame"};

namespace {

struct Headers {
  uint64_t shoff = 0;
  uint16_t shentsize = 0, shnum = 0, shstrndx = 0;
  uint8_t *at(std::vector<uint8_t> &elf, int i) const { return &elf[shoff + static_cast<size_t>(i) * shentsize]; }
};

const char *readHeaders(const std::vector<uint8_t> &elf, Headers &h) {
  if (elf.size() < 64 || std::memcmp(elf.data(), "\x7f" "ELF", 4) || elf[4] != 2 || elf[5] != 1)
    return "not a little-endian ELF64 object";
  h.shoff = rd<uint64_t>(&elf[0x28]);
  h.shentsize = rd<uint16_t>(&elf[0x3a]);
  h.shnum = rd<uint16_t>(&elf[0x3c]);
  h.shstrndx = rd<uint16_t>(&elf[0x3e]);
  if (h.shentsize < 64 || h.shstrndx >= h.shnum || h.shoff + uint64_t(h.shnum) * h.shentsize != elf.size())
    return "section headers are not at the end of the object";
  return nullptr;
}

bool unread(const char *name) {
  for (const char *n : kUnreadSections)
    if (!std::strcmp(name, n))
      return true;
  return false;
}

// Empties section `i` (offset `off`, `size` bytes): moves what follows up by `size` rounded
// down to 8 bytes (every section's alignment holds), and every offset after it.
void empty(std::vector<uint8_t> &elf, Headers &h, int i, uint64_t off, uint64_t size) {
  uint64_t cut = size & ~uint64_t(7);
  wr<uint64_t>(h.at(elf, i) + 32, 0);
  if (cut == 0)
    return;
  for (int j = 0; j < h.shnum; ++j) {
    uint8_t *sh = h.at(elf, j);
    uint64_t o = rd<uint64_t>(sh + 24);
    if (j != i && o >= off + size)
      wr<uint64_t>(sh + 24, o - cut);
  }
  elf.erase(elf.begin() + static_cast<std::ptrdiff_t>(off), elf.begin() + static_cast<std::ptrdiff_t>(off + cut));
  h.shoff -= cut;
  wr<uint64_t>(&elf[0x28], h.shoff);
}

} // namespace

bool elfTrim(std::vector<uint8_t> &elf, std::string *error) {
  Headers h;
  if (const char *why = readHeaders(elf, h)) {
    *error = why;
    return false;
  }
  for (int i = 0; i < h.shnum; ++i) {
    uint64_t strOff = rd<uint64_t>(h.at(elf, h.shstrndx) + 24);
    uint32_t name = rd<uint32_t>(h.at(elf, i));
    uint64_t off = rd<uint64_t>(h.at(elf, i) + 24), size = rd<uint64_t>(h.at(elf, i) + 32);
    if (strOff + name >= h.shoff || off + size > h.shoff)
      continue;
    if (size && unread(reinterpret_cast<const char *>(&elf[strOff + name])))
      empty(elf, h, i, off, size);
  }
  return true;
}

} // namespace bulwark::backend
