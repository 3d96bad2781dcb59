#include "ObjectSummary.h"

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <gelf.h>
#include <libelf.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace bwtest {

ObjSummary summarize(const std::vector<uint8_t> &object) {
  ObjSummary s;
  // ELF view
  elf_version(EV_CURRENT);
  Elf *elf = elf_memory(const_cast<char *>(reinterpret_cast<const char *>(object.data())), object.size());
  if (elf) {
    size_t shstrndx = 0;
    elf_getshdrstrndx(elf, &shstrndx);
    for (Elf_Scn *scn = elf_nextscn(elf, nullptr); scn; scn = elf_nextscn(elf, scn)) {
      GElf_Shdr sh;
      gelf_getshdr(scn, &sh);
      const char *name = elf_strptr(elf, shstrndx, sh.sh_name);
      if (!name)
        continue;
      s.sections.push_back(name);
      if (!std::strcmp(name, ".BTF"))
        s.hasBtf = true;
      if (!std::strcmp(name, ".BTF.ext"))
        s.hasBtfExt = true;
      if (sh.sh_type == SHT_REL && sh.sh_entsize)
        s.relocations[name] = sh.sh_size / sh.sh_entsize;
      if (!std::strcmp(name, "license")) {
        Elf_Data *d = elf_getdata(scn, nullptr);
        if (d && d->d_buf)
          s.license = static_cast<const char *>(d->d_buf);
      }
    }
    elf_end(elf);
  }
  std::sort(s.sections.begin(), s.sections.end());

  // libbpf view
  LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = "policy");
  bpf_object *obj = bpf_object__open_mem(object.data(), object.size(), &opts);
  if (!obj) {
    s.error = std::strerror(errno);
    return s;
  }
  s.opened = true;
  bpf_program *p;
  bpf_object__for_each_program(p, obj) {
    s.programs[bpf_program__name(p)] = bpf_program__section_name(p);
    s.programInsns[bpf_program__name(p)] = bpf_program__insn_cnt(p);
  }
  bpf_map *m;
  bpf_object__for_each_map(m, obj) {
    ObjSummary::Map x;
    x.type = bpf_map__type(m);
    x.keySize = bpf_map__key_size(m);
    x.valueSize = bpf_map__value_size(m);
    x.maxEntries = bpf_map__max_entries(m);
    x.flags = bpf_map__map_flags(m);
    s.maps[bpf_map__name(m)] = x;
  }
  if (!bpf_object__btf(obj))
    s.hasBtf = false;
  bpf_object__close(obj);
  return s;
}

} // namespace bwtest
