#pragma once
// The unprivileged attacker of the VM attack tests (bulwark-attack's `userns`, the real-object
// suite's Attacker.h): uid and gid 1000, root of a user and mount namespace of its own, as
// `unshare -Urm` run by that user makes it.
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstring>

namespace bulwark::attacks {

constexpr uid_t kNamespaceUser = 1000;

// Becomes that user: drops to 1000, then unshares a user and a mount namespace mapping 0 to
// 1000. nullptr when done, else the step that failed (errno says why).
inline const char *EnterUserNamespace() {
  auto writeProc = [](const char *path, const char *text) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return false;
    bool ok = write(fd, text, std::strlen(text)) == static_cast<ssize_t>(std::strlen(text));
    int saved = errno;
    close(fd);
    errno = saved;
    return ok;
  };
  if (setgroups(0, nullptr) != 0) return "setgroups";
  if (setgid(kNamespaceUser) != 0) return "setgid";
  if (setuid(kNamespaceUser) != 0) return "setuid";
  if (prctl(PR_SET_DUMPABLE, 1) != 0) return "dumpable";  // else /proc/self/uid_map stays root's
  if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) return "unshare(CLONE_NEWUSER|CLONE_NEWNS)";
  if (!writeProc("/proc/self/uid_map", "0 1000 1")) return "write /proc/self/uid_map";
  if (!writeProc("/proc/self/setgroups", "deny")) return "write /proc/self/setgroups";
  if (!writeProc("/proc/self/gid_map", "0 1000 1")) return "write /proc/self/gid_map";
  return nullptr;
}

} // namespace bulwark::attacks
