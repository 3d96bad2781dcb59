// Summaries of an emitted BPF object, read with libbpf (programs, maps, BTF) and libelf
// (sections, relocation counts). Tests compare these, never raw IR.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace bwtest {

struct ObjSummary {
  bool opened = false;
  std::string error;
  std::vector<std::string> sections;                  // ELF section names, sorted
  std::map<std::string, std::string> programs;        // name -> section
  struct Map {
    uint32_t type = 0, keySize = 0, valueSize = 0, maxEntries = 0, flags = 0;
  };
  std::map<std::string, Map> maps;
  bool hasBtf = false;
  bool hasBtfExt = false;
  std::string license;
  std::map<std::string, size_t> relocations;          // ".rel<sec>" -> entries
  std::map<std::string, size_t> programInsns;         // name -> instructions
};

ObjSummary summarize(const std::vector<uint8_t> &object);

} // namespace bwtest
