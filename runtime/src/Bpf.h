// Thin helpers over libbpf and the bpf(2) syscall: owned fds, libbpf log capture,
// bpffs pins, object info.
#pragma once

#include <linux/bpf.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

struct bpf_object;
struct bpf_map;

namespace bulwark::rt {

class Fd {
public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd &&o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd &operator=(Fd &&o) noexcept;
  Fd(const Fd &) = delete;
  Fd &operator=(const Fd &) = delete;
  ~Fd();
  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  int release() { return std::exchange(fd_, -1); }

private:
  int fd_ = -1;
};

// libbpf output goes to a buffer (and to stderr with --verbose); load errors quote it.
void setupLibbpf(bool verbose);
void clearLibbpfLog();
std::string libbpfLog();
// The verifier's log of the last failed program load (between libbpf's BEGIN/END PROG
// LOAD LOG markers), shortened to its last `maxLines` lines; empty if none.
std::string verifierExcerpt(const std::string &log, size_t maxLines = 20);

// bpffs
bool isBpffs(const std::string &path);  // the path's file system is bpffs
void mkdirs(const std::string &path);   // mkdir -p; throws Error
void removeTree(const std::string &path);  // rm -r (unpins); ignores a missing path
bool exists(const std::string &path);

// Opens a pin; nullopt if it does not exist. Throws Error(Conflict) when the path
// exists but is not a BPF object.
std::optional<Fd> openPin(const std::string &path);
std::optional<Fd> openMapPin(const std::string &path);  // ... and must be a map
void pinFd(int fd, const std::string &path);            // throws Error

enum class BpfKind { Map, Prog, Link, Other };
BpfKind bpfKind(int fd);  // from the /proc/self/fd link (opens no file)

struct MapInfo {
  uint32_t id = 0, type = 0, keySize = 0, valueSize = 0, maxEntries = 0, flags = 0;
  std::string name;
};
std::optional<MapInfo> mapInfo(int fd);  // nullopt: not a map
struct ProgInfo {
  uint32_t id = 0, type = 0, xlatedLen = 0, jitedLen = 0;
  uint64_t runCnt = 0, runTimeNs = 0;
  uint32_t btfId = 0;      // the object's BTF (0: none)
  uint64_t debugInfo = 0;  // bytes of func_info, line_info and JITed line info the kernel keeps
  std::string name;
};
std::optional<ProgInfo> progInfo(int fd);
struct LinkInfo {
  uint32_t id = 0, type = 0, progId = 0;
};
std::optional<LinkInfo> linkInfo(int fd);
// "memlock:" of /proc/self/fdinfo/<fd>: kernel memory charged to a map or program.
uint64_t fdMemlock(int fd);
// Size of the kernel BTF object `id` (bpf_btf_info.btf_size); 0 if it cannot be read.
uint64_t btfSize(uint32_t id);

// Array-style map access (u32 key).
bool mapLookupU32(int fd, uint32_t key, uint32_t *value);
void mapUpdateU32(int fd, uint32_t key, uint32_t value, const std::string &what);
void mapUpdateFd(int fd, uint32_t key, int progFd, const std::string &what);
void mapDelete(int fd, uint32_t key);  // ignores ENOENT

// Returns once every BPF program that was running when it was called has finished (an RCU
// grace period: non-sleepable BPF LSM programs, which all of Bulwark's are, run inside RCU
// read-side sections). A program taken out of every prog array cannot run again, so after
// this its maps hold their final values.
void waitForRunningPrograms();  // throws Error

} // namespace bulwark::rt
