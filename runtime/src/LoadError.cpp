#include "LoadError.h"

#include "Bpf.h"
#include "System.h"

namespace bulwark::rt {

Error loadError(int err, const std::string &what) {
  std::string log = libbpfLog();
  std::string excerpt = verifierExcerpt(log);
  std::string missing;
  if (!havePrivilege(&missing))
    return Error(Exit::NoPermission, what + ": missing privilege (" + missing + ")", "run bulwark as root");
  std::string why;
  auto lsms = activeLsms(&why);
  if (lsms && !bpfLsmActive(*lsms))
    return Error(Exit::Unsupported, what + ": the BPF LSM is not active in this kernel",
                 "boot with lsm=...,bpf; see bulwark doctor");
  auto btfMissing = log.find("failed to find kernel BTF type ID");
  if (btfMissing != std::string::npos) {
    auto end = log.find('\n', btfMissing);
    return Error(Exit::Unsupported,
                 what + ": a hook is not in this kernel (" + log.substr(btfMissing, end - btfMissing) + ")",
                 "the kernel is too old for a hook the policy uses");
  }
  if (!excerpt.empty())
    return Error(Exit::Failed, what + ": the verifier rejected a program (" + errnoText(err) +
                                   "); verifier log, last lines:\n" + excerpt,
                 "the bundle does not verify on kernel " + kernelRelease() +
                     "; rebuild it or report a compiler bug");
  if (err == EPERM || err == EACCES)
    return Error(Exit::Unsupported,
                 what + ": the kernel refused to load a BPF LSM program (" + errnoText(err) +
                     ") although bulwark has the privileges",
                 "this kernel does not allow BPF LSM (trampoline) programs; run bulwark doctor");
  std::string tail = log.size() > 2000 ? log.substr(log.size() - 2000) : log;
  return Error(Exit::Failed, what + ": " + errnoText(err) + (tail.empty() ? "" : "\nlibbpf said:\n" + tail));
}

// Checks that every pinned-by-name map of the object either does not exist yet or is
// a map of the same shape (what libbpf requires to reuse it), so a conflicting pin is
// reported as such and not as a generic load failure.
void checkSharedPins(bpf_object *obj) {
  bpf_map *m;
  bpf_object__for_each_map(m, obj) {
    const char *path = bpf_map__pin_path(m);
    if (!path)
      continue;
    auto fd = openPin(path);
    if (!fd)
      continue;
    auto info = mapInfo(fd->get());
    if (!info)
      throw Error(Exit::Conflict, "pin path " + std::string(path) + " is taken by a BPF object that is not a map",
                  "something else uses this pin root; use another --pin-root or remove it");
    if (info->type != bpf_map__type(m) || info->keySize != bpf_map__key_size(m) ||
        info->valueSize != bpf_map__value_size(m) || info->maxEntries != bpf_map__max_entries(m) ||
        info->flags != bpf_map__map_flags(m))
      throw Error(Exit::Conflict,
                  "pin path " + std::string(path) + " is taken by a map that does not match (type " +
                      std::to_string(info->type) + ", key " + std::to_string(info->keySize) + ", value " +
                      std::to_string(info->valueSize) + ", max_entries " + std::to_string(info->maxEntries) +
                      "; wanted type " + std::to_string(bpf_map__type(m)) + ", key " +
                      std::to_string(bpf_map__key_size(m)) + ", value " + std::to_string(bpf_map__value_size(m)) +
                      ", max_entries " + std::to_string(bpf_map__max_entries(m)) + ")",
                  "another program or another Bulwark ABI owns this pin root; use another --pin-root");
  }
}

} // namespace bulwark::rt
