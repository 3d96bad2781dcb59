#include "Rodata.h"

#include "Error.h"

#include <bpf/btf.h>

#include <cstring>
#include <string>
#include <vector>

namespace bulwark::rt {

bool setRodata(bpf_object *obj, std::string_view var, const void *value, size_t size) {
  bpf_map *rodata = nullptr;
  bpf_map *m;
  bpf_object__for_each_map(m, obj) {
    std::string n = bpf_map__name(m);
    if (bpf_map__is_internal(m) && n.size() >= 7 && n.compare(n.size() - 7, 7, ".rodata") == 0)
      rodata = m;
  }
  const btf *bt = bpf_object__btf(obj);
  if (!rodata || !bt)
    return false;
  int id = btf__find_by_name_kind(bt, ".rodata", BTF_KIND_DATASEC);
  if (id <= 0)
    return false;
  const btf_type *ds = btf__type_by_id(bt, id);
  const btf_var_secinfo *vs = btf_var_secinfos(ds);
  for (int i = 0; i < btf_vlen(ds); i++, vs++) {
    const btf_type *v = btf__type_by_id(bt, vs->type);
    if (var != btf__name_by_offset(bt, v->name_off))
      continue;
    if (vs->size != size)
      throw Error(Exit::BadBundle, "rodata variable " + std::string(var) + " has " + std::to_string(vs->size) +
                                       " bytes, the runtime expects " + std::to_string(size));
    size_t total = 0;
    const void *cur = bpf_map__initial_value(rodata, &total);
    if (!cur || vs->offset + size > total)
      return false;
    std::vector<char> data(static_cast<const char *>(cur), static_cast<const char *>(cur) + total);
    std::memcpy(data.data() + vs->offset, value, size);
    if (bpf_map__set_initial_value(rodata, data.data(), data.size()) != 0)
      throw Error(Exit::Internal, "cannot set rodata " + std::string(var));
    return true;
  }
  return false;
}

bool setRodataU32(bpf_object *obj, std::string_view var, uint32_t value) {
  return setRodata(obj, var, &value, sizeof value);
}

} // namespace bulwark::rt
