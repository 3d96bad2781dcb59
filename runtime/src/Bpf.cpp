#include "Bpf.h"

#include "Error.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

namespace bulwark::rt {

std::string errnoText(int err) { return std::strerror(err); }

Fd &Fd::operator=(Fd &&o) noexcept {
  if (this != &o) {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = std::exchange(o.fd_, -1);
  }
  return *this;
}

Fd::~Fd() {
  if (fd_ >= 0)
    ::close(fd_);
}

// ---- libbpf log --------------------------------------------------------------------------
namespace {
std::mutex gLogMutex;
std::string gLog;
bool gVerbose = false;

int printFn(enum libbpf_print_level level, const char *fmt, va_list args) {
  char buf[8192];
  va_list copy;
  va_copy(copy, args);
  int n = std::vsnprintf(buf, sizeof buf, fmt, copy);
  va_end(copy);
  if (n < 0)
    return 0;
  std::string s(buf, std::min<size_t>(size_t(n), sizeof buf - 1));
  if (size_t(n) >= sizeof buf) {  // a verifier log comes as one message: keep all of it
    s.assign(size_t(n) + 1, '\0');
    va_copy(copy, args);
    std::vsnprintf(s.data(), s.size(), fmt, copy);
    va_end(copy);
    s.resize(size_t(n));
  }
  {
    std::lock_guard lock(gLogMutex);
    if (level != LIBBPF_DEBUG || gVerbose) {
      gLog += s;
      if (gLog.size() > (1u << 20))
        gLog.erase(0, gLog.size() - (1u << 20));
    }
  }
  if (gVerbose)
    std::fputs(s.c_str(), stderr);
  return n;
}
} // namespace

void setupLibbpf(bool verbose) {
  gVerbose = verbose;
  libbpf_set_print(printFn);
  libbpf_set_strict_mode(LIBBPF_STRICT_ALL);
}

void clearLibbpfLog() {
  std::lock_guard lock(gLogMutex);
  gLog.clear();
}

std::string libbpfLog() {
  std::lock_guard lock(gLogMutex);
  return gLog;
}

std::string verifierExcerpt(const std::string &log, size_t maxLines) {
  auto begin = log.rfind("-- BEGIN PROG LOAD LOG --");
  if (begin == std::string::npos)
    return {};
  auto end = log.find("-- END PROG LOAD LOG --", begin);
  std::string body = log.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
  body = body.substr(body.find('\n') == std::string::npos ? body.size() : body.find('\n') + 1);
  std::vector<std::string> lines;
  std::istringstream in(body);
  for (std::string line; std::getline(in, line);)
    if (!line.empty())
      lines.push_back(line);
  std::string out;
  size_t from = lines.size() > maxLines ? lines.size() - maxLines : 0;
  if (from > 0)
    out += "  ... (" + std::to_string(from) + " earlier lines)\n";
  for (size_t i = from; i < lines.size(); i++)
    out += "  " + lines[i] + "\n";
  return out;
}

// ---- bpffs --------------------------------------------------------------------------------
bool isBpffs(const std::string &path) {
  struct statfs st {};
  return ::statfs(path.c_str(), &st) == 0 && static_cast<unsigned long>(st.f_type) == BPF_FS_MAGIC;
}

bool exists(const std::string &path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

void mkdirs(const std::string &path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec)
    throw Error(Exit::Failed, "cannot create directory " + path + ": " + ec.message());
}

void removeTree(const std::string &path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
  if (ec && ec != std::errc::no_such_file_or_directory)
    throw Error(Exit::Failed, "cannot remove pins under " + path + ": " + ec.message());
}

std::optional<Fd> openPin(const std::string &path) {
  int fd = bpf_obj_get(path.c_str());
  if (fd >= 0)
    return Fd(fd);
  int err = errno;
  if (err == ENOENT && !exists(path))
    return std::nullopt;
  if (err == EACCES || err == EPERM)
    throw Error(Exit::NoPermission, "cannot open pin " + path + ": " + errnoText(err),
                "run bulwark as root");
  throw Error(Exit::Conflict, "pin path " + path + " is taken by something that is not a BPF object (" +
                                  errnoText(err) + ")",
              "remove it, or use another --pin-root");
}

std::optional<Fd> openMapPin(const std::string &path) {
  auto fd = openPin(path);
  if (fd && !mapInfo(fd->get()))
    throw Error(Exit::Conflict, "pin path " + path + " holds a BPF object that is not a map",
                "something else uses this pin path; remove it or use another --pin-root");
  return fd;
}

void pinFd(int fd, const std::string &path) {
  if (bpf_obj_pin(fd, path.c_str()) != 0) {
    int err = errno;
    if (err == EEXIST)
      throw Error(Exit::Conflict, "pin path " + path + " is already taken");
    throw Error(Exit::Failed, "cannot pin " + path + ": " + errnoText(err));
  }
}

// ---- info ---------------------------------------------------------------------------------
// The fd's anonymous inode names what it is. readlink opens no file: reading fdinfo does,
// and every loaded file.open policy then runs for it (load and list ask this of every
// loaded policy's state pin, so with 256 policies that was most of a load's run time
// under TCG). fdinfo remains the fallback for a name this table does not know.
BpfKind bpfKind(int fd) {
  static constexpr std::pair<std::string_view, BpfKind> kinds[] = {
      {"anon_inode:bpf-map", BpfKind::Map},   {"anon_inode:bpf-prog", BpfKind::Prog},
      {"anon_inode:bpf-link", BpfKind::Link}, {"anon_inode:bpf_link", BpfKind::Link},  // pinned / new
  };
  char target[64];
  ssize_t n = ::readlink(("/proc/self/fd/" + std::to_string(fd)).c_str(), target, sizeof target);
  if (n > 0 && size_t(n) < sizeof target)
    for (const auto &[name, kind] : kinds)
      if (std::string_view(target, size_t(n)) == name)
        return kind;
  std::ifstream in("/proc/self/fdinfo/" + std::to_string(fd));
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("map_type:", 0) == 0)
      return BpfKind::Map;
    if (line.rfind("prog_type:", 0) == 0)
      return BpfKind::Prog;
    if (line.rfind("link_type:", 0) == 0)
      return BpfKind::Link;
  }
  return BpfKind::Other;
}

std::optional<MapInfo> mapInfo(int fd) {
  if (bpfKind(fd) != BpfKind::Map)
    return std::nullopt;
  bpf_map_info info{};
  __u32 len = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0)
    return std::nullopt;
  MapInfo m;
  m.id = info.id;
  m.type = info.type;
  m.keySize = info.key_size;
  m.valueSize = info.value_size;
  m.maxEntries = info.max_entries;
  m.flags = info.map_flags;
  m.name = info.name;
  return m;
}

std::optional<ProgInfo> progInfo(int fd) {
  if (bpfKind(fd) != BpfKind::Prog)
    return std::nullopt;
  bpf_prog_info info{};
  __u32 len = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0)
    return std::nullopt;
  ProgInfo p;
  p.id = info.id;
  p.type = info.type;
  p.xlatedLen = info.xlated_prog_len;
  p.jitedLen = info.jited_prog_len;
  p.runCnt = info.run_cnt;
  p.runTimeNs = info.run_time_ns;
  p.btfId = info.btf_id;
  p.debugInfo = uint64_t(info.nr_func_info) * info.func_info_rec_size +
                uint64_t(info.nr_line_info) * info.line_info_rec_size +
                uint64_t(info.nr_jited_line_info) * info.jited_line_info_rec_size;
  p.name = info.name;
  return p;
}

std::optional<LinkInfo> linkInfo(int fd) {
  if (bpfKind(fd) != BpfKind::Link)
    return std::nullopt;
  bpf_link_info info{};
  __u32 len = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0)
    return std::nullopt;
  return LinkInfo{info.id, info.type, info.prog_id};
}

uint64_t fdMemlock(int fd) {
  std::ifstream in("/proc/self/fdinfo/" + std::to_string(fd));
  for (std::string line; std::getline(in, line);)
    if (line.rfind("memlock:", 0) == 0)
      return std::strtoull(line.c_str() + 8, nullptr, 10);
  return 0;
}

uint64_t btfSize(uint32_t id) {
  Fd fd(bpf_btf_get_fd_by_id(id));
  if (!fd)
    return 0;
  bpf_btf_info info{};
  __u32 len = sizeof(info);
  return bpf_obj_get_info_by_fd(fd.get(), &info, &len) == 0 ? info.btf_size : 0;
}

// ---- map access -----------------------------------------------------------------------------
bool mapLookupU32(int fd, uint32_t key, uint32_t *value) {
  return bpf_map_lookup_elem(fd, &key, value) == 0;
}

void mapUpdateU32(int fd, uint32_t key, uint32_t value, const std::string &what) {
  if (bpf_map_update_elem(fd, &key, &value, BPF_ANY) != 0)
    throw Error(Exit::Failed, "cannot update " + what + ": " + errnoText(errno));
}

void mapUpdateFd(int fd, uint32_t key, int progFd, const std::string &what) {
  uint32_t v = static_cast<uint32_t>(progFd);
  if (bpf_map_update_elem(fd, &key, &v, BPF_ANY) != 0)
    throw Error(Exit::Failed, "cannot insert into " + what + ": " + errnoText(errno));
}

void mapDelete(int fd, uint32_t key) { bpf_map_delete_elem(fd, &key); }

// The kernel waits for an RCU grace period after every successful update of a map-in-map
// (maybe_wait_bpf_programs in kernel/bpf/syscall.c), so a one-entry ARRAY_OF_MAPS is the
// portable way to ask for synchronize_rcu() from user space.
void waitForRunningPrograms() {
  Fd inner(bpf_map_create(BPF_MAP_TYPE_ARRAY, "bw_sync_inner", 4, 4, 1, nullptr));
  if (!inner)
    throw Error(Exit::Failed, "cannot create a map to wait for running programs: " + errnoText(errno));
  LIBBPF_OPTS(bpf_map_create_opts, opts, .inner_map_fd = uint32_t(inner.get()));
  Fd outer(bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, "bw_sync", 4, 4, 1, &opts));
  if (!outer)
    throw Error(Exit::Failed, "cannot create a map to wait for running programs: " + errnoText(errno));
  uint32_t key = 0, value = uint32_t(inner.get());
  if (bpf_map_update_elem(outer.get(), &key, &value, BPF_ANY) != 0)
    throw Error(Exit::Failed, "cannot wait for running programs: " + errnoText(errno));
}

} // namespace bulwark::rt
