#pragma once
// Helpers for the runtime's VM tests: build test bundles from the hand-written fixture
// object (deny_inode.bpf.o, shipped as a FILE), run the bulwark binary (a TOOL, on PATH),
// and a private pin root per test so nothing outside the test is touched.
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include <bpf/bpf.h>

#include "GuestUtil.h"

#include "TestBundle.h"

namespace bulwark::rttest {

using guest::ChildResult;
using guest::GuestFile;
using guest::KernelDev;
using guest::RunCommand;
using guest::TempDir;

inline FileId IdOf(const std::string &path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0)
    throw guest::SystemError("stat " + path);
  return {KernelDev(st.st_dev), st.st_ino};
}

// Writes <dir>/<name>.bwb (or the given directory name) from a fixture shipped to the guest.
inline std::string MakeBundle(const std::string &dir, const BundleSpec &s, std::string dirName = {}) {
  return MakeBundleFrom(std::string(std::getenv("BULWARK_VM_FILES") ? std::getenv("BULWARK_VM_FILES") : "/bulwark/files"),
                        dir, s, dirName);
}

// A pin root of its own under /sys/fs/bpf; everything under it is removed (and so
// detached) on destruction.
class PinRoot {
public:
  PinRoot() {
    static std::atomic<int> n{0};
    path_ = "/sys/fs/bpf/bwtest-" + std::to_string(getpid()) + "-" + std::to_string(n++);
  }
  ~PinRoot() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string &path() const { return path_; }

private:
  std::string path_;
};

inline ChildResult Bulwark(const PinRoot &root, std::vector<std::string> args) {
  std::vector<std::string> argv{"bulwark"};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back("--pin-root");
  argv.push_back(root.path());
  if (getenv("BULWARK_TEST_VERBOSE")) argv.push_back("-v");
  return RunCommand(argv, std::chrono::seconds(120));
}

// Attached links whose program's name starts with `prefix` (kernel names are cut at 15
// characters), found by walking every link id: what is really attached, pins or not.
inline int CountLinks(const std::string &prefix) {
  int n = 0;
  for (__u32 id = 0; bpf_link_get_next_id(id, &id) == 0;) {
    int lfd = bpf_link_get_fd_by_id(id);
    if (lfd < 0)
      continue;
    bpf_link_info li{};
    __u32 len = sizeof li;
    if (bpf_obj_get_info_by_fd(lfd, &li, &len) == 0) {
      int pfd = bpf_prog_get_fd_by_id(li.prog_id);
      if (pfd >= 0) {
        bpf_prog_info pi{};
        __u32 plen = sizeof pi;
        if (bpf_obj_get_info_by_fd(pfd, &pi, &plen) == 0 && std::string(pi.name).rfind(prefix, 0) == 0)
          n++;
        close(pfd);
      }
    }
    close(lfd);
  }
  return n;
}

inline bool Exists(const std::string &p) {
  struct stat st {};
  return lstat(p.c_str(), &st) == 0;
}

}  // namespace bulwark::rttest
