#pragma once
// Small helpers for test binaries that run inside the run-vm guest (as root, PID 1's child,
// with /sys/fs/cgroup, /sys/fs/bpf, securityfs and tracefs mounted). Header-only.
// Errors are thrown as std::runtime_error; GoogleTest reports them as test failures.
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace bulwark::guest {

inline std::runtime_error SystemError(const std::string& what) {
  return std::runtime_error(what + ": " + std::strerror(errno));
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw SystemError("open " + path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

inline void WriteFile(const std::string& path, std::string_view data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw SystemError("open " + path + " for writing");
  out << data;
  out.flush();  // cgroup files report errors on write, not on close
  if (!out) throw SystemError("write " + path);
}

// True only inside the run-vm guest: run-vm puts bulwark.vm=1 on the kernel command line,
// which nothing on the host can fake. Tests that load LSM/kprobe programs check this first.
inline bool InGuest() {
  try {
    std::istringstream words(ReadFile("/proc/cmdline"));
    for (std::string word; words >> word;)
      if (word == "bulwark.vm=1") return true;
  } catch (const std::runtime_error&) {
  }
  return false;
}

// Path of a file shipped with run-vm --file (bulwark_add_vm_test FILES): /bulwark/files/<name>.
inline std::string GuestFile(std::string_view name) {
  const char* dir = std::getenv("BULWARK_VM_FILES");
  return std::string(dir != nullptr ? dir : "/bulwark/files") + "/" + std::string(name);
}

// Kernel-internal dev_t (MKDEV: major << 20 | minor), as BPF sees inode->i_sb->s_dev.
// stat()'s st_dev uses the user-space encoding, which differs for large minors.
inline unsigned long long KernelDev(dev_t user_dev) {
  return (static_cast<unsigned long long>(major(user_dev)) << 20) | minor(user_dev);
}

// A fresh directory under /tmp, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    std::string pattern = "/tmp/bulwark-test.XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) throw SystemError("mkdtemp");
    path_ = pattern;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    nftw(
        path_.c_str(), [](const char* p, const struct stat*, int, FTW*) { return remove(p); }, 16,
        FTW_DEPTH | FTW_PHYS);
  }
  const std::string& path() const { return path_; }
  // Creates (or replaces) a file in the directory and returns its path.
  std::string CreateFile(std::string_view name, std::string_view contents = "") const {
    std::string file = path_ + "/" + std::string(name);
    WriteFile(file, contents);
    return file;
  }

 private:
  std::string path_;
};

// A child cgroup v2 of the root (/sys/fs/cgroup/<name>.<pid>). Enter() moves the calling
// process in; on destruction the process moves back and the cgroup is removed.
class ChildCgroup {
 public:
  explicit ChildCgroup(std::string_view name)
      : path_("/sys/fs/cgroup/" + std::string(name) + "." + std::to_string(getpid())) {
    if (mkdir(path_.c_str(), 0755) != 0) throw SystemError("mkdir " + path_);
  }
  ChildCgroup(const ChildCgroup&) = delete;
  ChildCgroup& operator=(const ChildCgroup&) = delete;
  ~ChildCgroup() {
    try {
      if (!return_to_.empty()) WriteFile(return_to_ + "/cgroup.procs", std::to_string(getpid()));
      // Move leftover processes (e.g. AddProcess'd children) out so rmdir can succeed.
      std::istringstream pids(ReadFile(path_ + "/cgroup.procs"));
      for (std::string pid; pids >> pid;) WriteFile("/sys/fs/cgroup/cgroup.procs", pid);
    } catch (const std::runtime_error&) {
    }
    rmdir(path_.c_str());
  }
  const std::string& path() const { return path_; }
  // The cgroup id BPF helpers return (bpf_get_current_cgroup_id) is the directory's inode.
  unsigned long long id() const {
    struct stat st {};
    if (stat(path_.c_str(), &st) != 0) throw SystemError("stat " + path_);
    return st.st_ino;
  }
  void Enter() {
    if (return_to_.empty()) return_to_ = CurrentCgroupDir();
    AddProcess(getpid());
  }
  void AddProcess(pid_t pid) const { WriteFile(path_ + "/cgroup.procs", std::to_string(pid)); }
  static std::string CurrentCgroupDir() {
    std::string line = ReadFile("/proc/self/cgroup");  // cgroup v2 only: "0::/path\n"
    auto start = line.find("::");
    if (start == std::string::npos) throw std::runtime_error("unexpected /proc/self/cgroup: " + line);
    std::string relative = line.substr(start + 2, line.find('\n') - start - 2);
    return "/sys/fs/cgroup" + (relative == "/" ? std::string() : relative);
  }

 private:
  std::string path_;
  std::string return_to_;
};

struct ChildResult {
  bool exited = false;     // exited normally; exit_code is valid
  int exit_code = -1;
  int signal = 0;          // the signal that killed it, if any
  bool timed_out = false;  // killed by us after the timeout
  std::string output;      // stdout + stderr (RunCommand only)
};

namespace detail {
inline ChildResult WaitChild(pid_t pid, int output_fd, std::chrono::milliseconds timeout) {
  ChildResult result;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  for (;;) {
    if (output_fd >= 0) {
      pollfd pfd{output_fd, POLLIN, 0};
      if (poll(&pfd, 1, 10) > 0) {
        char buffer[4096];
        ssize_t n = read(output_fd, buffer, sizeof(buffer));
        if (n > 0) {
          result.output.append(buffer, static_cast<size_t>(n));
          continue;
        }
        close(output_fd);  // EOF: the child closed its output; just wait for it now
        output_fd = -1;
      }
    }
    pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0) throw SystemError("waitpid");
    if (std::chrono::steady_clock::now() >= deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      result.timed_out = true;
      break;
    }
    if (output_fd < 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (output_fd >= 0) {  // drain what the child wrote just before exiting
    char buffer[4096];
    for (ssize_t n; (n = read(output_fd, buffer, sizeof(buffer))) > 0;) result.output.append(buffer, static_cast<size_t>(n));
    close(output_fd);
  }
  result.exited = WIFEXITED(status);
  if (result.exited) result.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
  return result;
}
}  // namespace detail

// Runs fn in a forked child (a different process: its own tgid) and returns how it ended;
// the child exits with fn's return value. Killed after the timeout.
inline ChildResult RunInChild(const std::function<int()>& fn,
                              std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  pid_t pid = fork();
  if (pid < 0) throw SystemError("fork");
  if (pid == 0) {
    int code = 1;
    try {
      code = fn();
    } catch (...) {
    }
    _exit(code);
  }
  return detail::WaitChild(pid, -1, timeout);
}

// Runs a program (PATH is searched) with its stdout and stderr captured. exit_code is 127
// if it could not be started.
inline ChildResult RunCommand(const std::vector<std::string>& argv,
                              std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  if (argv.empty()) throw std::invalid_argument("RunCommand: empty argv");
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) throw SystemError("pipe2");
  pid_t pid = fork();
  if (pid < 0) throw SystemError("fork");
  if (pid == 0) {
    dup2(pipe_fds[1], STDOUT_FILENO);
    dup2(pipe_fds[1], STDERR_FILENO);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(pipe_fds[1]);
  return detail::WaitChild(pid, pipe_fds[0], timeout);
}

// open(path, flags): 0 if it succeeded (the fd is closed again), else the errno.
inline int OpenErrno(const std::string& path, int flags = O_RDONLY) {
  int fd = open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return errno;
  close(fd);
  return 0;
}

// 0, or the errno of unlink(path).
inline int UnlinkErrno(const std::string& path) { return ::unlink(path.c_str()) == 0 ? 0 : errno; }

}  // namespace bulwark::guest
