#include "Guard.h"

#include "Bpf.h"
#include "Dispatchers.h"
#include "Error.h"
#include "System.h"

#include "guard.skel.h"

#include <bpf/libbpf.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cstdlib>
#include <cstring>

namespace bulwark::rt {

namespace {

constexpr const char *kTrustPrefix = "trusts-";

// One link per program, each pinned under <root>/guard/ by the program's name.
constexpr const char *kPrograms[] = {
    "bw_guard_map",   "bw_guard_bpf",     "bw_guard_rmdir", "bw_guard_rename", "bw_guard_mkdir",
    "bw_guard_mknod", "bw_guard_symlink", "bw_guard_link",  "bw_guard_mount",  "bw_guard_umount",
    "bw_guard_truncate", "bw_guard_ptrace",
};

// The hooks whose guard checks dispatchers make (dispatcher.bpf.c): lane 0's dispatcher of
// each is attached with the guard, so a write open of the runtime's executable, or an unlink
// of it or of a pin, meets its check with or without a policy on the hook.
constexpr const char *kDispatchedChecks[] = {"file_open", "path_unlink"};

FileIdentity identityOf(const struct stat &st) {
  return {uint64_t(major(st.st_dev)) << 20 | uint64_t(minor(st.st_dev)), uint64_t(st.st_ino)};
}

std::string markerName(const FileIdentity &id) {
  return kTrustPrefix + std::to_string(id.dev) + "-" + std::to_string(id.ino);
}

struct GuardObject {
  bw_guard *skel = nullptr;
  ~GuardObject() {
    if (skel)
      bw_guard::destroy(skel);
  }
};

} // namespace

FileIdentity pinRootIdentity(const PinLayout &pins) {
  struct stat root {};
  if (::stat(pins.root.c_str(), &root) != 0)
    throw Error(Exit::Failed, "cannot stat the pin root " + pins.root + ": " + errnoText(errno));
  return identityOf(root);
}

FileIdentity selfExecutable() {
  struct stat st {};
  if (::stat("/proc/self/exe", &st) != 0)
    throw Error(Exit::Failed, "cannot stat /proc/self/exe: " + errnoText(errno));
  return identityOf(st);
}

bool guardDisabledForTest() {
  const char *v = std::getenv("BULWARK_TEST_UNGUARDED");
  return v && std::strcmp(v, "1") == 0;
}

const char *const *guardPrograms(size_t *count) {
  *count = std::size(kPrograms);
  return kPrograms;
}

std::optional<FileIdentity> guardTrusts(const PinLayout &pins) {
  DIR *d = ::opendir(pins.guardDir().c_str());
  if (!d)
    return std::nullopt;
  std::optional<FileIdentity> out;
  while (auto *e = ::readdir(d)) {
    unsigned long long dev = 0, ino = 0;
    if (std::sscanf(e->d_name, "trusts-%llu-%llu", &dev, &ino) == 2)
      out = FileIdentity{dev, ino};
  }
  ::closedir(d);
  return out;
}

void checkGuardTrust(const PinLayout &pins) {
  FileIdentity self = selfExecutable();
  auto trusted = guardTrusts(pins);
  if (trusted && !(*trusted == self))
    throw Error(Exit::NoPermission,
                "the Bulwark state under " + pins.root + " is guarded for another bulwark executable (device " +
                    std::to_string(trusted->dev) + ", inode " + std::to_string(trusted->ino) +
                    "); this one is device " + std::to_string(self.dev) + ", inode " + std::to_string(self.ino),
                "run the bulwark binary that loaded the policies (see docs/security.md, \"Self-protection\")");
}

// Loads the guard object and attaches (and pins) each of its programs whose link is missing.
static void attachMissingPrograms(const PinLayout &pins, const FileIdentity &self, bool trusted) {
  GuardObject g;
  g.skel = bw_guard::open();
  if (!g.skel)
    throw Error(Exit::Internal, "cannot open the embedded guard object: " + errnoText(errno));
  FileIdentity rootId = pinRootIdentity(pins);
  g.skel->rodata->bw_guard_exe_dev = self.dev;
  g.skel->rodata->bw_guard_exe_ino = self.ino;
  g.skel->rodata->bw_guard_pin_dev = rootId.dev;
  g.skel->rodata->bw_guard_pin_ino = rootId.ino;
  clearLibbpfLog();
  if (bw_guard::load(g.skel) != 0)
    throw Error(Exit::Unsupported, "cannot load the self-protection programs: " + errnoText(errno),
                "see bulwark doctor; libbpf said:\n" + libbpfLog());
  mkdirs(pins.guardDir());
  if (!trusted)
    mkdirs(pins.guardDir() + "/" + markerName(self));
  for (const char *name : kPrograms) {
    std::string path = pins.guardLink(name);
    if (exists(path))
      continue;
    bpf_program *prog = bpf_object__find_program_by_name(g.skel->obj, name);
    bpf_link *link = prog ? bpf_program__attach_lsm(prog) : nullptr;
    if (!link)
      throw Error(Exit::Unsupported, std::string("cannot attach the self-protection program ") + name + ": " +
                                         errnoText(errno));
    int err = bpf_link__pin(link, path.c_str());
    bpf_link__destroy(link);  // closes our fd only; the pin keeps it attached
    if (err != 0)
      throw Error(Exit::Failed, "cannot pin " + path + ": " + errnoText(-err));
  }
}

void ensureGuard(const PinLayout &pins) {
  checkGuardTrust(pins);
  auto trusted = guardTrusts(pins);
  size_t missing = 0;
  for (const char *p : kPrograms)
    missing += !exists(pins.guardLink(p));
  if (!trusted || missing > 0)
    attachMissingPrograms(pins, selfExecutable(), trusted.has_value());
  for (const char *attach : kDispatchedChecks)
    ensureDispatcher(pins, *hookByAttach(attach), 0);
}

bool guardKeepsDispatcher(const PinLayout &pins, const Hook &h, uint32_t lane) {
  if (lane != 0 || !exists(pins.guardDir()))
    return false;
  for (const char *attach : kDispatchedChecks)
    if (&h == hookByAttach(attach))
      return true;
  return false;
}

std::vector<std::string> guardDispatchersMissing(const PinLayout &pins) {
  std::vector<std::string> out;
  for (const char *attach : kDispatchedChecks)
    if (const Hook &h = *hookByAttach(attach); !exists(pins.dispatcher(h, 0)))
      out.push_back(dispatcherProgName(h) + " (lane 0)");
  return out;
}

void dropGuard(const PinLayout &pins) {
  removeTree(pins.guardDir());
  // No policy is left (the caller's condition), so lane 0 of these hooks has no chain either.
  for (const char *attach : kDispatchedChecks)
    unpinDispatcher(pins, *hookByAttach(attach), 0);
}

} // namespace bulwark::rt
