// Filling a policy's maps from the bundle's map data (maps/<name>.bin).
#pragma once

#include "BundleDir.h"

#include <bpf/libbpf.h>

namespace bulwark::rt {

// Fills a per-policy map from maps/<name>.bin. Per-CPU maps get the value on every CPU.
// Throws Error.
void fillMap(bpf_map *map, const Bundle &b, const BundleMap &m);

} // namespace bulwark::rt
