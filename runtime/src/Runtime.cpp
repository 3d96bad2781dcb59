// The runtime's entry points are spread by concern: Load.cpp (load, in named steps),
// Unload.cpp, Inspect.cpp (list, status); this file holds what they share.
#include "Runtime.h"

#include "Abi.h"
#include "Error.h"
#include "System.h"

#include <cstdlib>
#include <filesystem>

namespace bulwark::rt {
namespace fs = std::filesystem;

std::string defaultPinRoot() {
  const char *env = std::getenv("BULWARK_PIN_ROOT");
  return env && *env ? env : BW_PIN_ROOT_DEFAULT;
}

Runtime::Runtime(std::string pinRoot) : pins_{std::move(pinRoot)} {
  while (pins_.root.size() > 1 && pins_.root.back() == '/')
    pins_.root.pop_back();
}

void Runtime::preflight(bool needLsm) {
  std::string missing;
  if (!havePrivilege(&missing))
    throw Error(Exit::NoPermission, "missing privilege: bulwark needs " + missing,
                "run bulwark as root");
  fs::path parent = fs::path(pins_.root).parent_path();
  std::string probe = exists(pins_.root) ? pins_.root : parent.string();
  if (!isBpffs(probe))
    throw Error(Exit::Unsupported, "the pin root " + pins_.root + " is not on a BPF file system",
                bpffsMountHint(pins_.root));
  std::string why;
  auto lsms = activeLsms(&why);
  if (needLsm && lsms && !bpfLsmActive(*lsms)) {
    std::string list;
    for (auto &l : *lsms)
      list += (list.empty() ? "" : ",") + l;
    throw Error(Exit::Unsupported, "the BPF LSM is not active in this kernel (active LSMs: " + list + ")",
                "boot with lsm=" + list + ",bpf (CONFIG_BPF_LSM=y is needed); see bulwark doctor");
  }
}

} // namespace bulwark::rt
