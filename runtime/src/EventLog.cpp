#include "EventLog.h"

#include "Error.h"
#include "System.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <thread>

namespace bulwark::rt {

namespace {
constexpr size_t kFlushAt = 256 << 10;  // buffered bytes that force a write

std::string lockPath(const std::string &log) { return log + ".lock"; }

bool writeAll(int fd, const char *p, size_t n) {
  while (n) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return false;
    p += w;
    n -= size_t(w);
  }
  return true;
}

// Complete lines read from `fd` since the last call; a line still being written stays in `rest`.
bool readLines(int fd, std::string &rest, const std::function<bool(const std::string &)> &onLine) {
  char buf[64 << 10];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return true;
    rest.append(buf, size_t(n));
    size_t start = 0;
    for (size_t nl; (nl = rest.find('\n', start)) != std::string::npos; start = nl + 1)
      if (nl > start && !onLine(rest.substr(start, nl - start)))
        return false;
    rest.erase(0, start);
  }
}

uint64_t inodeOf(const std::string &path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? uint64_t(st.st_ino) : 0;
}
} // namespace

std::string defaultEventLog() {
  const char *e = std::getenv("BULWARK_EVENT_LOG");
  return e && *e ? e : kEventLogDefault;
}

EventLog::EventLog(std::string path, uint64_t maxBytes, const std::string &pinRoot)
    : path_(std::move(path)), maxBytes_(maxBytes) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path_).parent_path(), ec);
  lock_ = Fd(::open(lockPath(path_).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640));
  if (!lock_)
    throw Error(Exit::Failed, "cannot open the event log lock " + lockPath(path_) + ": " + errnoText(errno));
  if (::flock(lock_.get(), LOCK_EX | LOCK_NB) != 0)
    throw Error(Exit::Conflict, "another bulwark daemon writes the event log " + path_,
                "give this daemon another event_log in its config");
  std::string owner = pinRoot + "\n";
  if (::ftruncate(lock_.get(), 0) != 0 || !writeAll(lock_.get(), owner.data(), owner.size()))
    throw Error(Exit::Failed, "cannot write the event log lock " + lockPath(path_) + ": " + errnoText(errno));
  openFile();
}

EventLog::~EventLog() { flush(); }

void EventLog::openFile() {
  fd_ = Fd(::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640));
  if (!fd_)
    throw Error(Exit::Failed, "cannot open the event log " + path_ + ": " + errnoText(errno));
  struct stat st {};
  size_ = ::fstat(fd_.get(), &st) == 0 ? uint64_t(st.st_size) : 0;  // a restarted daemon appends
}

// <path> becomes <path>.1 (replacing the one before), and a new <path> is started.
void EventLog::rotate() {
  if (::rename(path_.c_str(), (path_ + ".1").c_str()) != 0)
    return;  // keep appending past the cap rather than lose events
  rotations_++;
  openFile();
}

// A line that would take the file past its cap starts a new file: what is buffered is written
// first, then the file is rotated.
void EventLog::append(std::string_view line) {
  if (size_ + buf_.size() && size_ + buf_.size() + line.size() + 1 > maxBytes_) {
    flush();
    rotate();
  }
  buf_.append(line);
  buf_ += '\n';
  if (buf_.size() >= kFlushAt)
    flush();
}

void EventLog::flush() {
  if (buf_.empty() || !fd_)
    return;
  if (writeAll(fd_.get(), buf_.data(), buf_.size())) {
    size_ += buf_.size();
  } else if (writeErrors_++ == 0) {
    std::fprintf(stderr, "bulwark: error: writing the event log %s failed: %s (events are still read and counted)\n",
                 path_.c_str(), errnoText(errno).c_str());
  }
  buf_.clear();
}

namespace {
// "2026-12-02T06:31:02.114210Z" -> ns since the epoch; 0 if it is not such a time.
uint64_t parseIsoTime(const std::string &t) {
  struct tm tm {};
  const char *end = strptime(t.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!end)
    return 0;
  uint64_t ns = uint64_t(timegm(&tm)) * 1000000000ull;
  if (*end == '.') {
    uint64_t scale = 100000000ull;
    for (++end; *end >= '0' && *end <= '9'; ++end, scale /= 10)
      ns += uint64_t(*end - '0') * scale;
  }
  return ns;
}
} // namespace

// yaml-cpp reads JSON (a YAML subset, with the same string escapes).
std::optional<Event> parseEventLine(const std::string &line) {
  try {
    YAML::Node n = YAML::Load(line);
    if (!n.IsMap() || !n["policy"] || !n["time"])
      return std::nullopt;
    auto str = [&](const char *k) { return n[k] ? n[k].as<std::string>() : std::string(); };
    auto num = [&](const char *k) { return n[k] ? n[k].as<uint64_t>() : uint64_t(0); };
    Event e;
    e.timeNs = parseIsoTime(str("time"));
    e.hostname = str("hostname"), e.bootId = str("boot_id");
    e.policy = str("policy"), e.rule = str("rule"), e.action = str("action"), e.hook = str("hook");
    e.function = str("function"), e.message = str("message");
    e.instance = uint32_t(num("instance")), e.slot = uint32_t(num("slot"));
    e.pid = uint32_t(num("pid")), e.tgid = uint32_t(num("tgid")), e.ppid = uint32_t(num("ppid"));
    e.uid = uint32_t(num("uid")), e.euid = uint32_t(num("euid")), e.gid = uint32_t(num("gid"));
    e.comm = str("comm"), e.exe = str("exe"), e.cgroupId = num("cgroup_id"), e.cgroup = str("cgroup");
    e.object = str("object");
    if (n["fields"] && n["fields"].IsMap())
      for (const auto &kv : n["fields"])
        e.fields.emplace_back(kv.first.as<std::string>(), kv.second.as<std::string>());
    if (n["after"] && n["after"].IsSequence())
      for (const auto &a : n["after"]) {
        auto field = [&](const char *k) { return a[k] ? a[k].as<std::string>() : std::string(); };
        e.after.push_back({field("mark"), field("policy"), field("rule"), a["instance"] ? a["instance"].as<uint32_t>() : 0,
                           parseIsoTime(field("set")), field("on")});
      }
    return e;
  } catch (const YAML::Exception &) {
    return std::nullopt;
  }
}

bool daemonWritesLog(const std::string &path, const std::string &pinRoot) {
  Fd fd(::open(lockPath(path).c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd)
    return false;
  if (::flock(fd.get(), LOCK_SH | LOCK_NB) == 0)
    return false;  // no daemon holds it
  char buf[4096];
  ssize_t n = ::pread(fd.get(), buf, sizeof buf - 1, 0);
  std::string owner = n > 0 ? std::string(buf, size_t(n)) : "";
  return owner == pinRoot + "\n";
}

void readEventLog(const std::string &path, bool follow, const std::function<bool()> &stop,
                  const std::function<bool(const std::string &)> &onLine) {
  std::string rest;
  if (Fd old(::open((path + ".1").c_str(), O_RDONLY | O_CLOEXEC)); old)
    if (!readLines(old.get(), rest, onLine))
      return;
  rest.clear();
  Fd cur(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!cur && errno != ENOENT)
    throw Error(Exit::Failed, "cannot read the event log " + path + ": " + errnoText(errno));
  for (;;) {
    if (cur && !readLines(cur.get(), rest, onLine))
      return;
    if (!follow || stop())
      return;
    uint64_t ino = inodeOf(path);
    struct stat st {};
    if (ino && (!cur || (::fstat(cur.get(), &st) == 0 && uint64_t(st.st_ino) != ino))) {
      if (cur && !readLines(cur.get(), rest, onLine))  // the rotated file's last lines
        return;
      rest.clear();
      cur = Fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
      continue;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

} // namespace bulwark::rt
