// bw-make-event: makes one real kernel event for the back-end VM tests, from wherever it is
// copied to (static, so a copy at /usr/bin/cat or /bin/bash runs as that program: the
// kernel then reports that path as process.exe and its name as process.comm).
//
//   bw-make-event [setup...] ACTION ARGS...
//   setup:  --cgroup DIR        join the cgroup v2 directory DIR first
//           --resuid R E        setresuid(R, E, E) (real uid R, effective uid E)
//           --chdir DIR         chdir(DIR)
//           --sync              after setup, write 'r' to stdout and wait for a byte on stdin
//                               (the test attaches its programs in between)
//           --hold              after the action, write its result (one byte) to stdout
//                               and wait for a byte on stdin before exiting
//           --serve IN OUT      instead of one action, serve a process of a sequence
//                               (tests/vm/difftest): read commands from fd IN, one a line,
//                               arguments separated by tabs, and answer each on fd OUT with
//                               a line "RESULT PID" (RESULT as the exit status below). A
//                               served process starts by answering "0 PID". Commands:
//                                 [--chdir DIR] ACTION ARGS...   as below
//                                 fork IN2 OUT2   fork; the child serves IN2/OUT2, the
//                                                 parent answers with the child's pid
//                                 exec PATH [ARG0]  execve(PATH) of a copy of this program,
//                                                 which goes on serving (it answers "0 PID")
//                                 exit
//   actions:
//     true                      exit 0
//     open PATH [r|w|rw|path] [N]  open(2) N times (default 1); `path`: O_PATH
//     exec PATH [ARG0]          execve(PATH, {ARG0 or PATH, "true"}): a copy of this program
//                               exits 0 when the exec is allowed
//     mmap-exec PATH PROT       mmap(PROT) of the file's first page (PROT: a number)
//     connect ADDR PORT         non-blocking TCP connect (IPv4 or IPv6)
//     socket FAMILY TYPE PROTO  socket(2) with those numbers
//     setuid UID | setresuid R E
//     unlink PATH | chmod PATH MODE (octal) | rename OLD NEW | link OLD NEW
//     mount SRC TARGET FSTYPE   mount(2), unmounted again when it succeeds
//     module PATH               finit_module(2) of the file
//     bpf CMD                   bpf(CMD, ...): BPF_PROG_LOAD (5) loads `r0 = 0; exit`,
//                               other commands get a zeroed attr (so they fail after the LSM)
//     ptrace-attach PID         PTRACE_SEIZE (mode ATTACH): detached when this process exits
//     ptrace-read PID           readlink /proc/PID/exe (mode READ|FSCREDS)
// Exit status: 0 when the last call succeeded, else its errno (EPERM = 1); 125 usage/setup.
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
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

int fail(const char *what) {
  std::fprintf(stderr, "bw-make-event: %s: %s\n", what, std::strerror(errno));
  return 125;
}

int result(long rc) { return rc < 0 ? errno : 0; }

int doOpen(int argc, char **argv) {
  if (argc < 1)
    return 125;
  std::string mode = argc > 1 ? argv[1] : "r";
  int flags = mode == "w" ? O_WRONLY : mode == "rw" ? O_RDWR : mode == "path" ? O_PATH : O_RDONLY;
  long n = argc > 2 ? std::atol(argv[2]) : 1;
  int last = 0;
  for (long i = 0; i < n; ++i) {
    int fd = open(argv[0], flags | O_CLOEXEC);
    last = fd < 0 ? errno : 0;
    if (fd >= 0)
      close(fd);
  }
  return last;
}

int doConnect(const char *addr, int port) {
  sockaddr_storage ss{};
  socklen_t len;
  int family;
  auto *v4 = reinterpret_cast<sockaddr_in *>(&ss);
  auto *v6 = reinterpret_cast<sockaddr_in6 *>(&ss);
  if (inet_pton(AF_INET, addr, &v4->sin_addr) == 1) {
    family = AF_INET;
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    len = sizeof *v4;
  } else if (inet_pton(AF_INET6, addr, &v6->sin6_addr) == 1) {
    family = AF_INET6;
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    len = sizeof *v6;
  } else {
    return 125;
  }
  int s = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s < 0)
    return fail("socket");
  int rc = result(connect(s, reinterpret_cast<sockaddr *>(&ss), len));
  close(s);
  // the LSM said yes if the connect got as far as the network
  return rc == EINPROGRESS || rc == ENETUNREACH || rc == ECONNREFUSED || rc == EHOSTUNREACH ? 0 : rc;
}

int doBpf(int cmd) {
  union bpf_attr attr;
  std::memset(&attr, 0, sizeof attr);
  struct bpf_insn insns[2];
  std::memset(insns, 0, sizeof insns);
  if (cmd == BPF_PROG_LOAD) {
    insns[0].code = BPF_ALU64 | BPF_MOV | BPF_K;
    insns[1].code = BPF_JMP | BPF_EXIT;
    attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
    attr.insns = reinterpret_cast<uint64_t>(insns);
    attr.insn_cnt = 2;
    attr.license = reinterpret_cast<uint64_t>("GPL");
  }
  long fd = syscall(SYS_bpf, cmd, &attr, sizeof attr);
  int rc = result(fd);
  if (fd >= 0)
    close(static_cast<int>(fd));
  return rc;
}

int act(int argc, char **argv) {
  if (argc < 1)
    return 125;
  std::string a = argv[0];
  argc--;
  argv++;
  auto need = [&](int n) { return argc >= n; };
  if (a == "true")
    return 0;
  if (a == "open")
    return doOpen(argc, argv);
  if (a == "exec" && need(1)) {
    char *args[] = {argc > 1 ? argv[1] : argv[0], const_cast<char *>("true"), nullptr};
    execv(argv[0], args);
    return errno;
  }
  if (a == "mmap-exec" && need(2)) {
    int fd = open(argv[0], O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      return fail("open for mmap");
    void *p = mmap(nullptr, 4096, std::atoi(argv[1]), MAP_PRIVATE, fd, 0);
    int rc = p == MAP_FAILED ? errno : 0;
    if (p != MAP_FAILED)
      munmap(p, 4096);
    close(fd);
    return rc;
  }
  if (a == "connect" && need(2))
    return doConnect(argv[0], std::atoi(argv[1]));
  if (a == "socket" && need(3)) {
    int s = socket(std::atoi(argv[0]), std::atoi(argv[1]), std::atoi(argv[2]));
    int rc = result(s);
    if (s >= 0)
      close(s);
    return rc;
  }
  if (a == "setuid" && need(1))
    return result(setuid(static_cast<uid_t>(std::atol(argv[0]))));
  if (a == "setresuid" && need(2))
    return result(setresuid(static_cast<uid_t>(std::atol(argv[0])), static_cast<uid_t>(std::atol(argv[1])),
                            static_cast<uid_t>(-1)));
  if (a == "mount" && need(3)) {
    int rc = result(mount(argv[0], argv[1], argv[2], 0, nullptr));
    if (rc == 0)
      umount2(argv[1], MNT_DETACH);
    return rc;
  }
  if (a == "module" && need(1)) {
    int fd = open(argv[0], O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      return fail("open module");
    int rc = result(syscall(SYS_finit_module, fd, "", 0));
    close(fd);
    return rc;
  }
  if (a == "bpf" && need(1))
    return doBpf(std::atoi(argv[0]));
  if (a == "unlink" && need(1))
    return result(unlink(argv[0]));
  if (a == "chmod" && need(2))
    return result(chmod(argv[0], static_cast<mode_t>(std::strtol(argv[1], nullptr, 8))));
  if (a == "rename" && need(2))
    return result(rename(argv[0], argv[1]));
  if (a == "link" && need(2))
    return result(link(argv[0], argv[1]));
  if (a == "ptrace-attach" && need(1))
    return result(ptrace(PTRACE_SEIZE, std::atoi(argv[0]), nullptr, nullptr));
  if (a == "ptrace-read" && need(1)) {
    char buf[256];
    std::string link = std::string("/proc/") + argv[0] + "/exe";
    return result(readlink(link.c_str(), buf, sizeof buf));
  }
  std::fprintf(stderr, "bw-make-event: bad action %s\n", a.c_str());
  return 125;
}

struct Setup {
  bool sync = false, hold = false;
  int serveIn = -1, serveOut = -1;
};

// The options before the action (see the top); advances `i` past them. 0, or 125 on failure.
int setup(int argc, char **argv, int &i, Setup &s) {
  for (; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; ++i) {
    std::string o = argv[i];
    if (o == "--cgroup" && i + 1 < argc) {
      std::string procs = std::string(argv[++i]) + "/cgroup.procs";
      int fd = open(procs.c_str(), O_WRONLY | O_CLOEXEC);
      if (fd < 0 || write(fd, "0", 1) != 1)
        return fail(procs.c_str());
      close(fd);
    } else if (o == "--resuid" && i + 2 < argc) {
      uid_t r = static_cast<uid_t>(std::atol(argv[i + 1])), e = static_cast<uid_t>(std::atol(argv[i + 2]));
      i += 2;
      if (setresuid(r, e, e) < 0)
        return fail("setresuid");
    } else if (o == "--chdir" && i + 1 < argc) {
      if (chdir(argv[++i]) < 0)
        return fail("chdir");
    } else if (o == "--sync") {
      s.sync = true;
    } else if (o == "--hold") {
      s.hold = true;
    } else if (o == "--serve" && i + 2 < argc) {
      s.serveIn = std::atoi(argv[i + 1]);
      s.serveOut = std::atoi(argv[i + 2]);
      i += 2;
    } else {
      std::fprintf(stderr, "bw-make-event: bad option %s\n", o.c_str());
      return 125;
    }
  }
  return 0;
}

bool answer(int out, int rc, long pid) {
  std::string line = std::to_string(rc) + " " + std::to_string(pid) + "\n";
  return write(out, line.data(), line.size()) == static_cast<ssize_t>(line.size());
}

// One command line from `in`, split at tabs; false at the end of the input.
bool command(int in, std::vector<std::string> &args) {
  args.assign(1, "");
  char c;
  for (;;) {
    if (read(in, &c, 1) != 1)
      return false;
    if (c == '\n')
      return true;
    if (c == '\t')
      args.emplace_back();
    else
      args.back() += c;
  }
}

// `exec PATH [ARG0]` of a served process: the copy of this program goes on serving.
int serveExec(char **args, int n, int in, int out) {
  std::string fdIn = std::to_string(in), fdOut = std::to_string(out);
  char *argv[] = {args[n > 2 ? 2 : 1], const_cast<char *>("--serve"), fdIn.data(), fdOut.data(), nullptr};
  execv(args[1], argv);
  return errno;
}

// A process of a sequence: does what the test runner says, one command at a time.
int serve(int in, int out) {
  if (!answer(out, 0, getpid()))
    return fail("serve");
  std::vector<std::string> line;
  while (command(in, line)) {
    std::vector<char *> argv;
    for (auto &a : line)
      argv.push_back(a.data());
    int i = 0, n = static_cast<int>(argv.size());
    Setup unused;
    int rc = setup(n, argv.data(), i, unused);
    std::string a = i < n ? argv[i] : "";
    long pid = getpid();
    if (rc == 0 && a == "exit")
      return 0;
    if (rc == 0 && a == "fork" && n - i == 3) {
      pid = fork();
      if (pid == 0)
        return serve(std::atoi(argv[i + 1]), std::atoi(argv[i + 2]));
      rc = pid < 0 ? errno : 0;
    } else if (rc == 0 && a == "exec" && n - i >= 2) {
      rc = serveExec(argv.data() + i, n - i, in, out);
    } else if (rc == 0) {
      rc = act(n - i, argv.data() + i);
    }
    if (!answer(out, rc, pid))
      return fail("serve");
  }
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  int i = 1;
  Setup s;
  if (int rc = setup(argc, argv, i, s))
    return rc;
  if (s.serveIn >= 0)
    return serve(s.serveIn, s.serveOut);
  bool sync = s.sync, hold = s.hold;
  if (sync) {
    char c = 'r';
    if (write(1, &c, 1) != 1 || read(0, &c, 1) != 1)
      return fail("sync");
  }
  int rc = act(argc - i, argv + i);
  if (hold) {
    char c = static_cast<char>(rc);
    if (write(1, &c, 1) != 1 || read(0, &c, 1) != 1)
      return fail("hold");
  }
  return rc;
}
