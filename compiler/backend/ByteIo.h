// Unaligned little-endian (host order) reads and writes of fixed-width values in byte
// buffers: ELF, BTF and instruction images of the objects the back end emits.
#pragma once

#include <cstdint>
#include <cstring>

namespace bulwark::backend {

template <class T> T rd(const uint8_t *p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

template <class T> void wr(uint8_t *p, T v) { std::memcpy(p, &v, sizeof v); }

} // namespace bulwark::backend
