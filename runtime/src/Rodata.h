// A policy object while it is loaded (closed with the object), and its `const volatile`
// .rodata globals, set by name before the load.
#pragma once

#include <bpf/libbpf.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace bulwark::rt {

struct PolicyObject {
  bpf_object *obj = nullptr;
  PolicyObject() = default;
  PolicyObject(const PolicyObject &) = delete;
  ~PolicyObject() {
    if (obj)
      bpf_object__close(obj);
  }
};

// Sets a `const volatile` global of .rodata by name (its size must be `size`). Returns
// false if the object has no such variable.
// Throws Error(BadBundle) if the variable has another size.
bool setRodata(bpf_object *obj, std::string_view var, const void *value, size_t size);
bool setRodataU32(bpf_object *obj, std::string_view var, uint32_t value);

} // namespace bulwark::rt
