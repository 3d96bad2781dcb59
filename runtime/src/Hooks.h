// The runtime's view of the hook catalogue (abi/Catalogue.h, read from abi/hooks.def, so
// the runtime never lists hooks by hand).
#pragma once

#include "Catalogue.h"  // abi/: the hook catalogue

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace bulwark::rt {

struct Hook {
  uint32_t index;          // order in hooks.def = bw_record.hook
  std::string_view id;     // "FILE_OPEN": suffix of bw_progs_/bw_next_/bw_dispatch_/bw_pass_
  std::string_view name;   // "file.open"
  bool lsm;                // false: kprobe (not dispatched)
  std::string_view attach; // "file_open" (LSM hook); empty for kprobe
  // The catalogue field shown as an event's "object" ("file.path"): the hook's first string
  // field, else its first address field, else its first own integer field; null: none.
  const FieldInfo *object;
};

std::span<const Hook> hooks();
const Hook *hookByIndex(uint32_t index);
const Hook *hookByName(std::string_view name);     // "file.open"
const Hook *hookByAttach(std::string_view attach); // "file_open"
// The hook a bundle program runs on: by its attach point ("lsm/kernel_load_data"), which
// tells companion attach points of one language hook apart; else by hook name.
template <class Program> const Hook *programHook(const Program &p) {
  if (p.attach.rfind("lsm/", 0) == 0)
    if (const Hook *h = hookByAttach(std::string_view(p.attach).substr(4))) return h;
  return hookByName(p.hook);
}
const Hook *hookById(std::string_view id);         // "FILE_OPEN"

// kprobe programs: section "kprobe/<function>"; the function, or empty for other sections.
inline constexpr std::string_view kKprobeSection = "kprobe/";
inline std::string_view kprobeFunction(std::string_view attach) {
  return attach.rfind(kKprobeSection, 0) == 0 ? attach.substr(kKprobeSection.size()) : std::string_view();
}
// How status, list and load name a kprobe hook: its section, "kprobe/do_unlinkat".
inline std::string kprobeHookName(std::string_view function) { return std::string(kKprobeSection) + std::string(function); }
// A language hook and the LSM attach points it is enforced at. Usually one; a companion
// entry of hooks.def repeats the name (kernel.module_load: kernel_read_file and
// kernel_load_data), so a policy's catalogue entries are shown grouped by hook.
struct HookUse {
  std::string name;                 // "kernel.module_load"
  std::vector<std::string> attach;  // {"kernel_read_file", "kernel_load_data"}
};
// Each language hook of `entries` once, in catalogue order, with its attach points.
std::vector<HookUse> groupByHook(const std::vector<const Hook *> &entries);
std::vector<std::string> hookNames(const std::vector<HookUse> &uses);

// Shared map / program names for a hook.
inline std::string progsMapName(const Hook &h) { return "bw_progs_" + std::string(h.id); }
inline std::string nextMapName(const Hook &h) { return "bw_next_" + std::string(h.id); }
inline std::string dispatcherProgName(const Hook &h) { return "bw_dispatch_" + std::string(h.id); }
inline std::string passProgName(const Hook &h) { return "bw_pass_" + std::string(h.id); }

} // namespace bulwark::rt
