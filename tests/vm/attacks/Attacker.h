#pragma once
// Helpers of the real-object attack suite: an attacker process (root in a private mount
// namespace, or uid 1000 in a user namespace of its own), the views it can shape (chroot,
// pivot_root, bind mounts, overlayfs) and the actions it tries. Every action reports the
// errno the kernel returned (0: it happened), so a table of cases decides what is expected.
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "../../attacks/UserNamespace.h"
#include "GuestUtil.h"

namespace bulwark::attacks {

constexpr uid_t kUser = kNamespaceUser;

enum class Who { Root, User };
inline const char *Name(Who w) { return w == Who::Root ? "root" : "uid 1000 in a user namespace"; }

// A failed setup step of the attacker (not a decision of the policy).
inline std::runtime_error SetupError(const std::string &what) {
  return std::runtime_error(what + ": " + std::strerror(errno));
}
inline void Check(long rc, const std::string &what) {
  if (rc < 0)
    throw SetupError(what);
}

inline void WriteText(const std::string &path, const std::string &text) {
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  Check(fd, "open " + path);
  ssize_t n = write(fd, text.data(), text.size());
  int saved = errno;
  close(fd);
  errno = saved;
  Check(n == static_cast<ssize_t>(text.size()) ? 0 : -1, "write " + path);
}

// Runs the calling thread on CPU `cpu` only: what is kept per CPU between events (bw_dirpath,
// bw_dirfacts, bw_quiet) is met by the next event only on the same CPU.
inline void OnCpu(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  Check(sched_setaffinity(0, sizeof set, &set), "sched_setaffinity");
}

// Everything the attacker process does from here on stays in its own mount namespace.
inline void PrivateMounts() { Check(mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr), "make / private"); }

// uid 1000 in a user and mount namespace of its own (UserNamespace.h).
inline void BecomeUserInNamespace() {
  if (const char *step = EnterUserNamespace())
    throw SetupError(step);
}

// `bulwark ARGS --pin-root PIN_ROOT`, as the suite's setup runs it.
inline guest::ChildResult Bulwark(const std::string &pinRoot, std::vector<std::string> args) {
  args.insert(args.begin(), "bulwark");
  args.insert(args.end(), {"--pin-root", pinRoot});
  return guest::RunCommand(args, std::chrono::seconds(180));
}

// Can uid 1000 make a user namespace in this kernel? (Debian: kernel.unprivileged_userns_clone)
inline bool UserNamespacesAllowed() {
  auto r = guest::RunInChild([] {
    try {
      BecomeUserInNamespace();
      return 0;
    } catch (...) {
      return 1;
    }
  });
  return r.exited && r.exit_code == 0;
}

// UserNamespacesAllowed, asked once per test process.
inline bool UserNs() {
  static const bool allowed = UserNamespacesAllowed();
  return allowed;
}
// In a gtest body: skips the case of uid 1000 where it cannot make a user namespace.
#define SKIP_IF_NO_USERNS(who)                                                                          \
  if ((who) == Who::User && !UserNs())                                                                   \
  GTEST_SKIP() << "uid 1000 cannot create a user namespace in this kernel"

// Runs body as an attacker process and returns its results (one errno per action), or
// throws with the child's message if its setup failed. `cgroup`: a cgroup directory the
// process joins first (while still root).
inline std::vector<int> AsAttacker(Who who, const std::function<std::vector<int>()> &body,
                                   const std::string &cgroup = {}) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0)
    throw guest::SystemError("pipe2");
  pid_t pid = fork();
  if (pid < 0)
    throw guest::SystemError("fork");
  if (pid == 0) {
    close(fds[0]);
    std::ostringstream out;
    try {
      if (!cgroup.empty())
        WriteText(cgroup + "/cgroup.procs", std::to_string(getpid()));
      if (who == Who::User)
        BecomeUserInNamespace();
      else
        Check(unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)");
      PrivateMounts();
      out << "ok";
      for (int r : body())
        out << ' ' << r;
    } catch (const std::exception &e) {
      out.str("setup failed: " + std::string(e.what()));
    }
    std::string s = out.str();
    if (write(fds[1], s.data(), s.size()) < 0)
      _exit(2);
    _exit(0);
  }
  close(fds[1]);
  std::string text;
  char buf[4096];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;)
    text.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  std::istringstream in(text);
  std::string head;
  in >> head;
  if (head != "ok")
    throw std::runtime_error(text.empty() ? "attacker process died (status " + std::to_string(status) + ")" : text);
  std::vector<int> results;
  for (int r; in >> r;)
    results.push_back(r);
  return results;
}

// ---- actions: each returns 0 if the kernel let it happen, else the errno ----

inline int Errno(long rc) { return rc < 0 ? errno : 0; }

inline int OpenRead(const std::string &path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return errno;
  close(fd);
  return 0;
}

// An exec that passed execve's checks but whose process was killed before it ran (e.g. a
// later check failed after the point of no return) reports kKilled + the signal.
constexpr int kKilled = 1000;

// Runs the program as `busybox true` (every payload is a copy of the static busybox) in a
// child; 0 if it ran and succeeded, else the errno of execve.
inline int ExecFd(int dirfd, const std::string &path, int flags) {
  pid_t pid = fork();
  if (pid < 0)
    return errno;
  if (pid == 0) {
    const char *argv[] = {"busybox", "true", nullptr};
    const char *envp[] = {"PATH=/bin", nullptr};
    syscall(SYS_execveat, dirfd, path.c_str(), argv, envp, flags);
    _exit(errno < 100 ? 100 + errno : 99);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFSIGNALED(status))
    return kKilled + WTERMSIG(status);
  int code = WEXITSTATUS(status);
  return code == 0 ? 0 : code > 100 ? code - 100 : ENOEXEC;
}
inline int Exec(const std::string &path) { return ExecFd(AT_FDCWD, path, 0); }

inline int MapExec(const std::string &path, bool viaMprotect) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return errno;
  int prot = viaMprotect ? PROT_READ : PROT_READ | PROT_EXEC;
  void *p = mmap(nullptr, 4096, prot, MAP_PRIVATE, fd, 0);
  int rc = p == MAP_FAILED ? errno : 0;
  close(fd);
  if (rc == 0 && viaMprotect)
    rc = Errno(mprotect(p, 4096, PROT_READ | PROT_EXEC));
  if (p != MAP_FAILED)
    munmap(p, 4096);
  return rc;
}
inline int MmapExec(const std::string &path) { return MapExec(path, false); }
inline int MprotectExec(const std::string &path) { return MapExec(path, true); }

inline bool Denied(int err) { return err == EPERM || err == EACCES; }
inline std::string Describe(int err) {
  if (err >= kKilled)
    return "killed by signal " + std::to_string(err - kKilled) + " after execve's checks passed";
  return err == 0 ? "allowed" : Denied(err) ? std::string("denied (") + std::strerror(err) + ")"
                                            : std::string("failed (") + std::strerror(err) + ")";
}

// ---- file helpers ----

// read/write: copy_file_range refuses to cross filesystems on 6.1.
inline bool CopyFd(int in, int out) {
  char buf[65536];
  for (ssize_t n; (n = read(in, buf, sizeof buf)) != 0;) {
    if (n < 0 || write(out, buf, static_cast<size_t>(n)) != n)
      return false;
  }
  return true;
}

inline void CopyFile(const std::string &from, const std::string &to, mode_t mode = 0755) {
  int in = open(from.c_str(), O_RDONLY | O_CLOEXEC);
  Check(in, "open " + from);
  int out = open(to.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  bool ok = out >= 0 && CopyFd(in, out);
  int saved = errno;
  close(in);
  if (out >= 0)
    close(out);
  errno = saved;
  if (!ok)
    throw SetupError("copy " + from + " to " + to);
  Check(chmod(to.c_str(), mode), "chmod " + to);
}

inline std::string MakeTempDir(const std::string &under) {
  std::string templ = under + "/vXXXXXX";
  if (!mkdtemp(templ.data()))
    throw SetupError("mkdtemp " + templ);
  return templ;
}

inline void MkDir(const std::string &path, mode_t mode = 0755) {
  if (mkdir(path.c_str(), mode) != 0 && errno != EEXIST)
    throw SetupError("mkdir " + path);
}

// Removes a tree with *at() calls, so depth and length do not matter.
inline void RemoveTreeAt(int dirfd, const std::string &name) {
  int fd = openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    unlinkat(dirfd, name.c_str(), 0);
    return;
  }
  std::vector<std::string> entries;
  if (DIR *d = fdopendir(dup(fd))) {
    while (dirent *e = readdir(d))
      if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0)
        entries.emplace_back(e->d_name);
    closedir(d);
  }
  for (const auto &e : entries)
    RemoveTreeAt(fd, e);
  close(fd);
  unlinkat(dirfd, name.c_str(), AT_REMOVEDIR);
}
inline void RemoveTree(const std::string &path) { RemoveTreeAt(AT_FDCWD, path); }

// `dir` afresh, empty, with mode 1777 (anyone may make their own files in it).
inline void FreshSharedDir(const std::string &dir) {
  RemoveTree(dir);
  MkDir(dir);
  Check(chmod(dir.c_str(), 01777), "chmod 1777 " + dir);
}

inline bool FilesystemKnown(const std::string &type) {
  return guest::ReadFile("/proc/filesystems").find("\t" + type + "\n") != std::string::npos;
}

}  // namespace bulwark::attacks
