#pragma once
// Helpers for the runtime's VM tests: build test bundles from the hand-written fixture
// object (deny_inode.bpf.o, shipped as a FILE), run the bulwark binary (a TOOL, on PATH),
// and a private pin root per test so nothing outside the test is touched.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
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

// Polls `cond` every 100 ms until it holds or `seconds` have passed; its last value.
// Where a tool is in the guest (the run-vm binaries first), else its bare name.
inline std::string Which(const std::string &tool) {
  for (const char *dir : {"/bulwark/bin", "/usr/local/sbin", "/usr/sbin", "/usr/bin"})
    if (Exists(std::string(dir) + "/" + tool))
      return std::string(dir) + "/" + tool;
  return tool;
}

inline bool WaitFor(const std::function<bool()> &cond, double seconds = 60) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(int(seconds * 1000));
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond())
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return cond();
}

// The whole HTTP/1.0 answer of 127.0.0.1:`port` to GET `path` (the daemon's metrics); empty
// when nothing listens.
inline std::string HttpGet(int port, const std::string &path) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(uint16_t(port));
  inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  std::string out;
  if (connect(fd, reinterpret_cast<sockaddr *>(&sa), sizeof sa) == 0) {
    std::string req = "GET " + path + " HTTP/1.0\r\n\r\n";
    (void)!write(fd, req.data(), req.size());
    char buf[4096];
    for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;)
      out.append(buf, size_t(n));
  }
  close(fd);
  return out;
}

// The number after "key": in `text` (JSON of `status` or `top`); 0 when there is none.
inline uint64_t Number(const std::string &text, const std::string &key) {
  std::smatch m;
  return std::regex_search(text, m, std::regex("\"" + key + "\":([0-9]+)")) ? std::stoull(m[1]) : 0;
}

// The JSON objects (one level deep) of the array `key` in `text`.
inline std::vector<std::string> Objects(const std::string &text, const std::string &key) {
  std::vector<std::string> out;
  size_t at = text.find("\"" + key + "\":[");
  if (at == std::string::npos)
    return out;
  for (size_t i = text.find('[', at) + 1; i < text.size() && text[i] != ']';) {
    size_t end = text.find('}', i);
    out.push_back(text.substr(i, end + 1 - i));
    i = end + 1 + (text[end + 1] == ',');
  }
  return out;
}

// `status --format json`: the hits of one rule.
inline uint64_t Hits(const PinRoot &root, const std::string &policy, const std::string &rule) {
  auto r = Bulwark(root, {"status", policy, "--format", "json"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  for (const auto &o : Objects(r.output, "rules"))
    if (o.find("\"rule\":\"" + rule + "\"") != std::string::npos)
      return Number(o, "hits");
  return 0;
}

// The non-empty lines of `text`.
inline std::vector<std::string> Lines(const std::string &text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);)
    if (!l.empty())
      out.push_back(l);
  return out;
}

}  // namespace bulwark::rttest
