// bulwark-attack: performs one real system call an attacker would, and reports whether the
// kernel allowed it. Used by the demo (scripts/demo) and the policy library's VM tests.
//
//   bulwark-attack ACTION ARGS...      exit 0: allowed   10: blocked (EPERM/EACCES)
//                                      11: killed is reported by the shell   20: failed otherwise
//                                      2: usage
// Every action is a plain syscall on objects the caller names, so tests decide what is touched.
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "UserNamespace.h"

namespace {

using Args = std::vector<std::string>;

// The outcome of one syscall: -1 with errno set on failure, as the kernel returned it.
int report(const char *what, long rc) {
  if (rc >= 0) {
    std::printf("allowed: %s\n", what);
    return 0;
  }
  int e = errno;
  if (e == EPERM || e == EACCES) {
    std::printf("blocked: %s: %s\n", what, std::strerror(e));
    return 10;
  }
  std::printf("failed: %s: %s\n", what, std::strerror(e));
  return 20;
}

int openFile(const Args &a) {
  int flags = a.size() > 1 && a[1] == "write" ? O_WRONLY | O_CREAT : O_RDONLY;
  int fd = open(a[0].c_str(), flags | O_CLOEXEC, 0600);
  if (fd >= 0) close(fd);
  return report("open", fd);
}

// open relative to a directory fd: the kernel never sees the protected path as a string.
int openAt(const Args &a) {
  int dir = open(a[0].c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return report("open directory", dir);
  int fd = openat(dir, a[1].c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) close(fd);
  close(dir);
  return report("openat", fd);
}

int execFile(const Args &a) {
  pid_t pid = fork();
  if (pid == 0) {
    std::vector<char *> argv;
    for (const auto &s : a) argv.push_back(const_cast<char *>(s.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(errno == EPERM || errno == EACCES ? 110 : 120);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFSIGNALED(status)) {
    std::printf("killed: exec: signal %d\n", WTERMSIG(status));
    return 11;
  }
  int code = WEXITSTATUS(status);
  errno = code == 110 ? EPERM : code == 120 ? ENOEXEC : 0;
  return report("exec", code == 110 || code == 120 ? -1 : 0);
}

// execv from a second thread: the kernel makes that thread the process's leader (de_thread),
// so what the kernel keeps per process must follow it. The new program's exit status is ours.
int threadExec(const Args &a) {
  std::thread t([&a] {
    std::vector<char *> argv;
    for (const auto &s : a) argv.push_back(const_cast<char *>(s.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    std::printf("%s: exec: %s\n", errno == EPERM || errno == EACCES ? "blocked" : "failed", std::strerror(errno));
    std::fflush(stdout);
    _exit(errno == EPERM || errno == EACCES ? 10 : 20);
  });
  t.join();
  return 20;  // not reached: the thread's exec replaces the process or exits it
}

// PROG run by an unprivileged user as it can run it (UserNamespace.h). The program's exit
// status is ours; 20 when the namespace cannot be made (the kernel forbids it to users).
int userNs(const Args &a) {
  if (const char *step = bulwark::attacks::EnterUserNamespace()) {
    std::printf("failed: user namespace: %s: %s\n", step, std::strerror(errno));
    return 20;
  }
  std::vector<char *> argv;
  for (const auto &s : a) argv.push_back(const_cast<char *>(s.c_str()));
  argv.push_back(nullptr);
  execv(argv[0], argv.data());
  return report("exec", -1);
}

int mmapExec(const Args &a) {
  int fd = open(a[0].c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return report("open for mmap", -1);
  void *p = mmap(nullptr, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
  int saved = errno;
  close(fd);
  errno = saved;
  if (p != MAP_FAILED) munmap(p, 4096);
  return report("mmap PROT_EXEC", p == MAP_FAILED ? -1 : 0);
}

// mmap without PROT_EXEC, then mprotect(PROT_EXEC): the same as mapping it executable.
int mprotectExec(const Args &a) {
  int fd = open(a[0].c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return report("open for mmap", -1);
  void *p = mmap(nullptr, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (p == MAP_FAILED) return report("mmap PROT_READ", -1);
  int rc = mprotect(p, 4096, PROT_READ | PROT_EXEC);
  int saved = errno;
  munmap(p, 4096);
  errno = saved;
  return report("mprotect PROT_EXEC", rc);
}

// A program that exists in no directory: copied into a memfd, run with execveat(AT_EMPTY_PATH).
int memfdExec(const Args &a) {
  int src = open(a[0].c_str(), O_RDONLY | O_CLOEXEC);
  if (src < 0) return report("open", -1);
  int mem = static_cast<int>(syscall(SYS_memfd_create, "payload", 0));
  if (mem < 0) return report("memfd_create", -1);
  char buf[65536];
  for (ssize_t n; (n = read(src, buf, sizeof buf)) > 0;)
    if (write(mem, buf, static_cast<size_t>(n)) != n) return report("write memfd", -1);
  close(src);
  pid_t pid = fork();
  if (pid == 0) {
    std::vector<char *> argv;
    for (const auto &s : a) argv.push_back(const_cast<char *>(s.c_str()));
    argv.push_back(nullptr);
    char *envp[] = {nullptr};
    syscall(SYS_execveat, mem, "", argv.data(), envp, AT_EMPTY_PATH);
    _exit(errno == EPERM || errno == EACCES ? 110 : 120);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  close(mem);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 110) {
    errno = EPERM;
    return report("fexecve of a memfd", -1);
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 120) {
    errno = EINVAL;
    return report("fexecve of a memfd", -1);
  }
  return report("fexecve of a memfd", 0);
}

int connectTo(const Args &a) {
  sockaddr_storage ss{};
  socklen_t len;
  int family;
  auto *v4 = reinterpret_cast<sockaddr_in *>(&ss);
  auto *v6 = reinterpret_cast<sockaddr_in6 *>(&ss);
  uint16_t port = static_cast<uint16_t>(std::stoi(a[1]));
  if (inet_pton(AF_INET, a[0].c_str(), &v4->sin_addr) == 1) {
    family = AF_INET; v4->sin_family = AF_INET; v4->sin_port = htons(port); len = sizeof *v4;
  } else if (inet_pton(AF_INET6, a[0].c_str(), &v6->sin6_addr) == 1) {
    family = AF_INET6; v6->sin6_family = AF_INET6; v6->sin6_port = htons(port); len = sizeof *v6;
  } else {
    std::fprintf(stderr, "bad address %s\n", a[0].c_str());
    return 2;
  }
  int s = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s < 0) return report("socket", -1);
  long rc = connect(s, reinterpret_cast<sockaddr *>(&ss), len);
  // Non-blocking: EINPROGRESS / ENETUNREACH / ECONNREFUSED mean the LSM let it through.
  if (rc < 0 && errno != EPERM && errno != EACCES) rc = 0;
  int saved = errno;
  close(s);
  errno = saved;
  return report("connect", rc);
}

int bindPort(const Args &a) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(std::stoi(a[0])));
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  long rc = bind(s, reinterpret_cast<sockaddr *>(&sa), sizeof sa);
  if (rc == 0 && a.size() > 1 && a[1] == "listen") rc = listen(s, 1);
  int saved = errno;
  close(s);
  errno = saved;
  return report(a.size() > 1 ? "bind+listen" : "bind", rc);
}

int rawSocket(const Args &a) {
  int s = a[0] == "packet" ? socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0) : socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
  if (s >= 0) close(s);
  return report("socket", s);
}

int ptraceAttach(const Args &a) {
  pid_t target = static_cast<pid_t>(std::stoi(a[0]));
  long rc = ptrace(PTRACE_ATTACH, target, nullptr, nullptr);
  if (rc == 0) {
    waitpid(target, nullptr, 0);
    ptrace(PTRACE_DETACH, target, nullptr, nullptr);
  }
  return report("ptrace attach", rc);
}

int setUid(const Args &a) { return report("setuid", setuid(static_cast<uid_t>(std::stoul(a[0])))); }

int doMount(const Args &a) { return report("mount", mount(a[0].c_str(), a[1].c_str(), a[2].c_str(), 0, nullptr)); }

int moduleLoad(const Args &a) {
  // finit_module reads the file in the kernel (LSM kernel_read_file); init_module takes the
  // image from memory (LSM kernel_load_data). An attacker can use either: try both.
  int fd = open(a[0].c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return report("open module", -1);
  long rc = syscall(SYS_finit_module, fd, "", 0);
  int r1 = report("finit_module", rc);
  // init_module rejects an image shorter than an ELF header before it asks the LSMs, so
  // always hand it a full buffer (the file's bytes, zero-padded).
  char buf[4096] = {};
  if (pread(fd, buf, sizeof buf, 0) < 0) buf[0] = 0;
  close(fd);
  rc = syscall(SYS_init_module, buf, sizeof buf, "");
  int r2 = report("init_module", rc);
  // Blocked only when both doors are shut; through either one is not blocked.
  if (r1 == 10 && r2 == 10) return 10;
  return r1 == 0 || r2 == 0 ? 0 : 20;
}

int bpfProgLoad(const Args &) {
  // The smallest valid program: r0 = 0; exit.
  struct bpf_insn insns[2] = {};
  insns[0].code = BPF_ALU64 | BPF_MOV | BPF_K;
  insns[1].code = BPF_JMP | BPF_EXIT;
  union bpf_attr attr {};
  attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
  attr.insns = reinterpret_cast<uint64_t>(insns);
  attr.insn_cnt = 2;
  attr.license = reinterpret_cast<uint64_t>("GPL");
  long fd = syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr);
  if (fd >= 0) close(static_cast<int>(fd));
  return report("bpf(BPF_PROG_LOAD)", fd);
}

int unlinkPath(const Args &a) { return report("unlink", unlink(a[0].c_str())); }
int renamePath(const Args &a) { return report("rename", rename(a[0].c_str(), a[1].c_str())); }
int linkPath(const Args &a) { return report("link", link(a[0].c_str(), a[1].c_str())); }
int chmodPath(const Args &a) { return report("chmod", chmod(a[0].c_str(), static_cast<mode_t>(std::stoul(a[1], nullptr, 8)))); }
// A process of N more threads that sleep SECONDS; with `leader-exits` its first thread exits at
// once, so the process runs on without its leader (a zombie until the group ends).
int sleepThreads(const Args &a) {
  int n = std::stoi(a[0]);
  unsigned secs = static_cast<unsigned>(std::stoul(a[1]));
  for (int i = 0; i < n; i++)
    std::thread([secs] { sleep(secs); }).detach();
  if (a.size() > 2 && a[2] == "leader-exits")
    syscall(SYS_exit, 0);  // this thread only, not exit_group
  sleep(secs);
  return 0;
}

int killPid(const Args &a) { return report("kill", kill(static_cast<pid_t>(std::stoi(a[0])), std::stoi(a[1]))); }

struct Action {
  const char *name;
  size_t minArgs;
  const char *usage;
  std::function<int(const Args &)> run;
};

const std::vector<Action> kActions = {
    {"open", 1, "PATH [write]", openFile},
    {"openat", 2, "DIR NAME", openAt},
    {"exec", 1, "PATH [ARGS...]", execFile},
    {"thread-exec", 1, "PATH [ARGS...]", threadExec},
    {"mmap-exec", 1, "PATH", mmapExec},
    {"mprotect-exec", 1, "PATH", mprotectExec},
    {"memfd-exec", 1, "PATH [ARGS...]", memfdExec},
    {"connect", 2, "ADDR PORT", connectTo},
    {"bind", 1, "PORT [listen]", bindPort},
    {"raw-socket", 1, "inet|packet", rawSocket},
    {"ptrace", 1, "PID", ptraceAttach},
    {"setuid", 1, "UID", setUid},
    {"mount", 3, "SOURCE TARGET FSTYPE", doMount},
    {"module", 1, "FILE", moduleLoad},
    {"bpf-load", 0, "", bpfProgLoad},
    {"unlink", 1, "PATH", unlinkPath},
    {"rename", 2, "FROM TO", renamePath},
    {"link", 2, "EXISTING NEW", linkPath},
    {"chmod", 2, "PATH OCTAL_MODE", chmodPath},
    {"kill", 2, "PID SIGNAL", killPid},
    {"threads", 2, "N SECONDS [leader-exits]", sleepThreads},
    {"userns", 1, "PROG [ARGS...] (as uid 1000, root of its own user namespace)", userNs},
};

int usage() {
  std::fprintf(stderr, "usage: bulwark-attack ACTION ARGS...\n");
  for (const auto &a : kActions) std::fprintf(stderr, "  %-11s %s\n", a.name, a.usage);
  std::fprintf(stderr, "exit: 0 allowed, 10 blocked (EPERM/EACCES), 11 killed, 20 failed otherwise, 2 usage\n");
  return 2;
}

} // namespace

int main(int argc, char **argv) {
  if (argc < 2) return usage();
  std::string name = argv[1];
  Args args(argv + 2, argv + argc);
  for (const auto &a : kActions)
    if (name == a.name) {
      if (args.size() < a.minArgs) return usage();
      try {
        return a.run(args);
      } catch (const std::exception &e) {
        std::fprintf(stderr, "bulwark-attack: bad argument: %s\n", e.what());
        return 2;
      }
    }
  return usage();
}
