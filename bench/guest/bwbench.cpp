// bwbench: the guest side of bench/run. Runs in the QEMU guest as root, executes a plan
// written by bench/run and prints one JSON object per measurement on stdout, each on a line
// starting with "BWBENCH ". Progress and errors go to stderr.
//
//   bwbench plan FILE          run every step of a plan (format below)
//   bwbench op OP [ITERS]      time one operation with nothing set up (for trying things)
//
// Plan lines (whitespace separated; '#' starts a comment):
//   root DIR                         benchmark root (default /tmp/bwb): targets in DIR/t
//   mkpaths KIND N                   create the objects rules 1..N of KIND name (policygen.py)
//   group OP ITERS BATCHES ROUNDS    start a cost group: each config times OP ROUNDS times
//   cfg ID none                      nothing attached
//   cfg ID empty HOOK                bench/guest/empty_lsm.bpf.c's program for HOOK
//   cfg ID bulwark BUNDLE POLICY     `bulwark load BUNDLE` before, `bulwark unload` after
//   cfg ID bulwarks BUNDLE:POLICY,...  several policies loaded together (e.g. every shipped one)
//   cfg ID landlock ACCESS KIND N    Landlock: ACCESS (read|exec|remove) handled, allowed on
//                                    the rule objects 1..N of KIND, on DIR/t and on the
//                                    program directory of exec and mmap
//   mkdir DIR                        create DIR and its parents (cgroups a policy's scope names)
//   run                              run the group: ROUNDS rounds, every config once per
//                                    round, in a rotated order (ABAB...), each measured in a
//                                    fresh child process
//   swap ID V1 V2 POLICY ROUNDS      hot-swap latency (v1 allows DIR/t/swap, v2 denies it),
//                                    from the start of `bulwark load V2`
//   swapstaged ID V1 V2 POLICY ROUNDS  the same with V2 staged first (`load --stage`), from the
//                                    start of `bulwark switch POLICY`
//   swapsignal ID V1 V2 POLICY ROUNDS  the same with a daemon (`bulwark run`, switch: on_signal)
//                                    that staged V2, from its SIGUSR1
//   flood ID MODE BUNDLE POLICY SECONDS ROUNDS
//                                    MODE allow|deny: open DIR/t/flood_MODE in a loop while
//                                    `bulwark events --format json --follow` drains the ring
//
// Operations (all on DIR/t, which no benchmark rule names):
//   open     open(O_RDONLY) + close of an existing file
//   unlink   creat + close + unlink (the hook measured is path_unlink)
//   connect  socket(AF_INET, SOCK_STREAM) + connect to 127.0.0.1:9 (closed: ECONNREFUSED) + close
//   exec     fork + execve of a tiny static binary (in /usr/local/lib/bwbench) + wait
//   mmap     open + mmap(PROT_READ|PROT_EXEC) of 4 KiB + munmap + close
//   files    a file-heavy job in one op: create+write 64 files, read them all back, remove
//            them (the shape of `tar x`, `find | xargs cat` and `rm -rf` together)
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <linux/landlock.h>
#include <linux/random.h>
#include <sys/ioctl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char **environ;

namespace {

std::string gRoot = "/tmp/bwb";
bool gBatchLog = false;  // BWBENCH_BATCH_LOG: every batch's ns/op to stderr, in order
std::string gEmptyObj = "/bulwark/files/empty_lsm.bpf.o";
std::string gTrue = "/bulwark/bin/bwbench-true";

uint64_t nowNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

[[noreturn]] void die(const std::string &m) {
  std::fprintf(stderr, "bwbench: error: %s\n", m.c_str());
  std::exit(2);
}

std::string jsonStr(const std::string &s) {
  std::string o = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\')
      o += '\\', o += c;
    else if (c == '\n')
      o += "\\n";
    else if (static_cast<unsigned char>(c) < 0x20)
      o += ' ';
    else
      o += c;
  }
  return o + "\"";
}

// One JSON object, built field by field, printed as a "BWBENCH " line.
struct Json {
  std::string body;
  Json &add(const std::string &k, const std::string &v) { return raw(k, jsonStr(v)); }
  Json &add(const std::string &k, const char *v) { return raw(k, jsonStr(v)); }
  Json &add(const std::string &k, double v) {
    char b[64];
    std::snprintf(b, sizeof b, "%.6g", v);
    return raw(k, b);
  }
  Json &add(const std::string &k, uint64_t v) { return raw(k, std::to_string(v)); }
  Json &add(const std::string &k, int v) { return raw(k, std::to_string(v)); }
  Json &add(const std::string &k, bool v) { return raw(k, v ? "true" : "false"); }
  Json &raw(const std::string &k, const std::string &v) {
    body += (body.empty() ? "" : ",") + jsonStr(k) + ":" + v;
    return *this;
  }
  void print() const {
    std::printf("BWBENCH {%s}\n", body.c_str());
    std::fflush(stdout);
  }
};

std::string errText(int e) { return std::strerror(e); }

// ---- child processes ------------------------------------------------------------------------
struct Cmd {
  int status = -1;
  std::string out;  // stdout + stderr
  double wallMs = 0;
};

Cmd runCmd(const std::vector<std::string> &argv) {
  Cmd r;
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0)
    die("pipe: " + errText(errno));
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, p[1], 1);
  posix_spawn_file_actions_adddup2(&fa, p[1], 2);
  std::vector<char *> av;
  for (auto &a : argv)
    av.push_back(const_cast<char *>(a.c_str()));
  av.push_back(nullptr);
  uint64_t t0 = nowNs();
  pid_t pid;
  int rc = posix_spawnp(&pid, av[0], &fa, nullptr, av.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  close(p[1]);
  if (rc != 0) {
    close(p[0]);
    r.status = 127;
    r.out = "cannot start " + argv[0] + ": " + errText(rc);
    return r;
  }
  char buf[65536];
  ssize_t n;
  while ((n = read(p[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0)
      r.out.append(buf, size_t(n));
  close(p[0]);
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  r.wallMs = double(nowNs() - t0) / 1e6;
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return r;
}

std::string tail(const std::string &s, size_t n = 400) {
  return s.size() <= n ? s : s.substr(s.size() - n);
}

// Value of "KEY <number>" in bulwark's "timing: load+verify X ms, switch Y us, total Z ms".
double numberAfter(const std::string &s, const std::string &key) {
  auto p = s.find(key);
  if (p == std::string::npos)
    return -1;
  return std::atof(s.c_str() + p + key.size());
}

// Counters of one rule from `bulwark status POLICY` (the row whose RULE column is `rule`).
struct RuleCount {
  bool found = false;
  uint64_t hits = 0, emitted = 0, dropped = 0, limited = 0;
  uint64_t ringDrops = 0;
};

// Events that skipped a lane as kept quiet ones (opens and mappings, connects), of every
// policy (`bulwark status`; no policy counts them); 0 before a dispatcher keeps any.
uint64_t quietSkips() {
  Cmd c = runCmd({"bulwark", "status"});
  if (c.status != 0)
    return 0;
  uint64_t skips = 0;
  for (const std::string key : {"quiet opens: ", "quiet connects: "}) {
    auto at = c.out.find(key);
    if (at != std::string::npos)
      skips += std::strtoull(c.out.c_str() + at + key.size(), nullptr, 10);
  }
  return skips;
}

RuleCount ruleCounters(const std::string &policy, const std::string &rule) {
  RuleCount rc;
  Cmd c = runCmd({"bulwark", "status", policy});
  if (c.status != 0)
    return rc;
  std::istringstream in(c.out);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string id, name, hook, action;
    if (line.rfind("drops:", 0) == 0) {
      rc.ringDrops = std::strtoull(line.c_str() + 6, nullptr, 10);
      continue;
    }
    if (!(ls >> id >> name >> hook >> action) || name != rule)
      continue;
    if (ls >> rc.hits >> rc.emitted >> rc.dropped >> rc.limited)
      rc.found = true;
  }
  return rc;
}

void pinToCpu(int cpu) {
  cpu_set_t s;
  CPU_ZERO(&s);
  CPU_SET(cpu, &s);
  sched_setaffinity(0, sizeof s, &s);
}

int cpuCount() {
  cpu_set_t s;
  CPU_ZERO(&s);
  if (sched_getaffinity(0, sizeof s, &s) != 0)
    return 1;
  return CPU_COUNT(&s);
}

std::vector<std::string> split(const std::string &s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur, sep))
    if (!cur.empty())
      out.push_back(cur);
  return out;
}

// The guest has no entropy source: until its random generator initialises (minutes into a
// run) connect, unlink and exec take slower paths and the baselines drift. Credit it a seed
// first. Fixed bytes: the benchmark needs an initialised generator, not secrets.
void seedRandom() {
  alignas(rand_pool_info) unsigned char raw[sizeof(rand_pool_info) + 64] = {};
  auto *info = reinterpret_cast<rand_pool_info *>(raw);
  info->entropy_count = 8 * 64;
  info->buf_size = 64;
  for (uint32_t i = 0; i < 64; ++i)
    raw[sizeof(rand_pool_info) + i] = static_cast<unsigned char>(0x9e * (i + 1) + 0x37);
  int fd = ::open("/dev/urandom", O_WRONLY | O_CLOEXEC);
  if (fd < 0 || ::ioctl(fd, RNDADDENTROPY, info) != 0)
    std::fprintf(stderr, "bwbench: cannot seed the random generator: %s\n", std::strerror(errno));
  if (fd >= 0)
    ::close(fd);
}

const std::string kProgramDir = "/usr/local/lib/bwbench";
void mkdirs(const std::string &p);
void copyFile(const std::string &from, const std::string &to, mode_t mode);

// The shipped kernel_tampering policy lets only the listed BPF managers use bpf(): run the
// runtime from where it is installed (/usr/local/sbin), as an operator's would be.
void installRuntime() {
  const std::string to = "/usr/local/sbin/bulwark";
  std::string path = getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin";
  std::istringstream dirs(path);
  for (std::string d; std::getline(dirs, d, ':');)
    if (d != "/usr/local/sbin" && access((d + "/bulwark").c_str(), X_OK) == 0) {
      mkdirs("/usr/local/sbin");
      copyFile(d + "/bulwark", to, 0755);
      break;
    }
  setenv("PATH", ("/usr/local/sbin:" + path).c_str(), 1);
}

// ---- operations -----------------------------------------------------------------------------
// Creates `n` files of 512 bytes in `dir`, reads each back, removes them; 0 or the first errno.
int fileJob(const std::string &dir, int n) {
  char buf[512];
  std::memset(buf, 'b', sizeof buf);
  auto name = [&](int i) { return dir + "/f" + std::to_string(i); };
  for (int i = 0; i < n; ++i) {
    int fd = ::open(name(i).c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
      return errno;
    bool ok = ::write(fd, buf, sizeof buf) == ssize_t(sizeof buf);
    ::close(fd);
    if (!ok)
      return EIO;
  }
  for (int i = 0; i < n; ++i) {
    int fd = ::open(name(i).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      return errno;
    bool ok = ::read(fd, buf, sizeof buf) == ssize_t(sizeof buf);
    ::close(fd);
    if (!ok)
      return EIO;
  }
  for (int i = 0; i < n; ++i)
    if (::unlink(name(i).c_str()) != 0)
      return errno;
  return 0;
}

// Returns 0 on success, else the errno of the step that failed.
using OpFn = std::function<int()>;

OpFn makeOp(const std::string &op) {
  std::string t = gRoot + "/t";
  if (op == "open") {
    std::string f = t + "/file";
    return [f] {
      int fd = ::open(f.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0)
        return errno;
      ::close(fd);
      return 0;
    };
  }
  if (op == "unlink") {
    std::string f = t + "/u/x";
    return [f] {
      int fd = ::open(f.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
      if (fd < 0)
        return errno;
      ::close(fd);
      return ::unlink(f.c_str()) == 0 ? 0 : errno;
    };
  }
  if (op == "connect") {
    return [] {
      int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (s < 0)
        return errno;
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(9);
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      int rc = ::connect(s, reinterpret_cast<sockaddr *>(&a), sizeof a);
      int e = rc == 0 ? 0 : errno;
      ::close(s);
      return e == ECONNREFUSED ? 0 : (e ? e : EISCONN);
    };
  }
  if (op == "mmap") {
    std::string f = kProgramDir + "/true";
    return [f] {
      int fd = ::open(f.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0)
        return errno;
      void *m = ::mmap(nullptr, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
      int e = m == MAP_FAILED ? errno : 0;
      if (!e)
        ::munmap(m, 4096);
      ::close(fd);
      return e;
    };
  }
  if (op == "files") {
    std::string d = t + "/tree";
    return [d] { return fileJob(d, 64); };
  }
  if (op == "exec") {
    std::string exe = kProgramDir + "/true";
    return [exe] {
      pid_t pid = fork();
      if (pid < 0)
        return errno;
      if (pid == 0) {
        char *argv[] = {const_cast<char *>(exe.c_str()), nullptr};
        char *envp[] = {nullptr};
        execve(exe.c_str(), argv, envp);
        _exit(100 + errno);
      }
      int st = 0;
      while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
          return errno;
      if (!WIFEXITED(st))
        return EINTR;
      return WEXITSTATUS(st) == 0 ? 0 : WEXITSTATUS(st) >= 100 ? WEXITSTATUS(st) - 100 : EIO;
    };
  }
  die("unknown operation " + op);
}

struct Timing {
  int err = 0;            // errno of a failed operation, 0 if all succeeded
  double median = 0, p25 = 0, mean = 0, min = 0;  // ns per operation over batches
  uint64_t ops = 0;
};

// Warm-up, then `batches` batches of `iters / batches` operations; ns/op per batch.
Timing timeOp(const OpFn &fn, uint64_t iters, uint64_t batches) {
  Timing t;
  batches = std::max<uint64_t>(1, std::min(batches, iters));
  uint64_t per = std::max<uint64_t>(1, iters / batches);
  for (uint64_t i = 0; i < std::min<uint64_t>(per, 200); ++i)
    if ((t.err = fn()) != 0)
      return t;
  std::vector<double> v;
  double sum = 0;
  for (uint64_t b = 0; b < batches; ++b) {
    uint64_t t0 = nowNs();
    for (uint64_t i = 0; i < per; ++i)
      if ((t.err = fn()) != 0)
        return t;
    double ns = double(nowNs() - t0) / double(per);
    if (gBatchLog)
      std::fprintf(stderr, "batch %" PRIu64 " %.0f\n", b, ns);
    v.push_back(ns);
    sum += ns;
    t.ops += per;
  }
  std::sort(v.begin(), v.end());
  t.median = v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
  t.p25 = v[(v.size() - 1) / 4];
  t.mean = sum / double(v.size());
  t.min = v.front();
  return t;
}

// ---- rule objects and targets -----------------------------------------------------------------
std::string rulePath(const std::string &kind, int i) {
  char b[32];
  std::snprintf(b, sizeof b, kind == "exact" ? "/r/f%05d" : "/r/d%05d", i);
  return gRoot + b;
}

void mkdirs(const std::string &p) {
  std::string cur;
  std::stringstream ss(p);
  std::string part;
  while (std::getline(ss, part, '/')) {
    if (part.empty())
      continue;
    cur += "/" + part;
    if (::mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST)
      die("mkdir " + cur + ": " + errText(errno));
  }
}

void writeFile(const std::string &p, const std::string &data, mode_t mode = 0644) {
  int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0 || ::write(fd, data.data(), data.size()) != ssize_t(data.size()))
    die("write " + p + ": " + errText(errno));
  ::close(fd);
}

// The whole file; nullopt if it cannot be opened.
std::optional<std::string> readFile(const std::string &p) {
  std::ifstream in(p, std::ios::binary);
  if (!in)
    return std::nullopt;
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void copyFile(const std::string &from, const std::string &to, mode_t mode) {
  auto data = readFile(from);
  if (!data)
    die("cannot read " + from);
  writeFile(to, *data, mode);
  ::chmod(to.c_str(), mode);
}

void setupTargets() {
  std::string t = gRoot + "/t";
  mkdirs(t + "/u");
  mkdirs(t + "/tree");
  mkdirs(gRoot + "/r");
  writeFile(t + "/file", "bench\n");
  writeFile(t + "/swap", "swap\n");
  writeFile(t + "/flood_allow", "a\n");
  writeFile(t + "/flood_deny", "d\n");
  if (access(gTrue.c_str(), X_OK) == 0) {
    copyFile(gTrue, t + "/true", 0755);
    // exec and mmap run a program from outside the writable directories the shipped
    // no_exec_from_writable policy denies (the benchmark root is in /tmp)
    mkdirs(kProgramDir);
    copyFile(gTrue, kProgramDir + "/true", 0755);
  }
}

void mkpaths(const std::string &kind, int n) {
  uint64_t t0 = nowNs();
  for (int i = 1; i <= n; ++i) {
    std::string p = rulePath(kind, i);
    if (kind == "exact") {
      int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0755);
      if (fd < 0)
        die("create " + p + ": " + errText(errno));
      ::close(fd);
    } else if (::mkdir(p.c_str(), 0755) != 0 && errno != EEXIST) {
      die("mkdir " + p + ": " + errText(errno));
    }
  }
  std::fprintf(stderr, "bwbench: created %d %s rule objects in %.1f ms\n", n, kind.c_str(),
               double(nowNs() - t0) / 1e6);
}

// ---- Landlock (in the measuring child only: it cannot be undone) -------------------------------
struct LlRulesetAttr {
  uint64_t handled_access_fs;  // the ABI 1 layout: 6.1 knows nothing after this
};

int landlockAbi() {
  long v = syscall(SYS_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
  return v < 0 ? -errno : int(v);
}

// Returns "" on success, else what failed. Sets *setupMs.
std::string applyLandlock(const std::string &access, const std::string &kind, int n, double *setupMs) {
  uint64_t t0 = nowNs();
  uint64_t handled = access == "read"   ? LANDLOCK_ACCESS_FS_READ_FILE
                     : access == "exec" ? LANDLOCK_ACCESS_FS_EXECUTE
                     : access == "remove" ? LANDLOCK_ACCESS_FS_REMOVE_FILE
                                          : 0;
  if (!handled)
    return "unknown landlock access " + access;
  LlRulesetAttr attr{handled};
  int rs = int(syscall(SYS_landlock_create_ruleset, &attr, sizeof attr, 0));
  if (rs < 0)
    return "landlock_create_ruleset: " + errText(errno);
  auto addRule = [&](const std::string &path) -> std::string {
    int fd = ::open(path.c_str(), O_PATH | O_CLOEXEC);
    if (fd < 0)
      return "open " + path + ": " + errText(errno);
    landlock_path_beneath_attr pb{};
    pb.allowed_access = handled;
    pb.parent_fd = fd;
    long rc = syscall(SYS_landlock_add_rule, rs, LANDLOCK_RULE_PATH_BENEATH, &pb, 0);
    int e = errno;
    ::close(fd);
    return rc == 0 ? "" : "landlock_add_rule " + path + ": " + errText(e);
  };
  for (int i = 1; i <= n; ++i)
    if (auto e = addRule(rulePath(kind, i)); !e.empty())
      return e;
  for (const std::string &dir : {gRoot + "/t", kProgramDir})
    if (auto e = addRule(dir); !e.empty())
      return e;
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    return "PR_SET_NO_NEW_PRIVS: " + errText(errno);
  if (syscall(SYS_landlock_restrict_self, rs, 0) != 0)
    return "landlock_restrict_self: " + errText(errno);
  ::close(rs);
  *setupMs = double(nowNs() - t0) / 1e6;
  return "";
}

// ---- the empty BPF LSM program ----------------------------------------------------------------
struct EmptyProg {
  bpf_object *obj = nullptr;
  bpf_link *link = nullptr;
  std::string attach(const std::string &hook) {
    obj = bpf_object__open_file(gEmptyObj.c_str(), nullptr);
    if (!obj)
      return "cannot open " + gEmptyObj + ": " + errText(errno);
    bpf_program *want = nullptr, *p;
    bpf_object__for_each_program(p, obj) {
      bool mine = std::string(bpf_program__name(p)) == "empty_" + hook;
      bpf_program__set_autoload(p, mine);
      if (mine)
        want = p;
    }
    if (!want)
      return "no program empty_" + hook + " in " + gEmptyObj;
    if (int e = bpf_object__load(obj))
      return "cannot load empty_" + hook + ": " + errText(-e);
    link = bpf_program__attach_lsm(want);
    if (!link)
      return "cannot attach empty_" + hook + ": " + errText(errno);
    return "";
  }
  void detach() {
    if (link)
      bpf_link__destroy(link);
    if (obj)
      bpf_object__close(obj);
    link = nullptr;
    obj = nullptr;
  }
};

// ---- cost groups ------------------------------------------------------------------------------
struct Config {
  std::string id;
  std::vector<std::string> args;  // kind, then its arguments
};

struct Group {
  std::string op;
  uint64_t iters = 1000, batches = 10;
  int rounds = 3;
  std::vector<Config> cfgs;
};

struct ChildResult {
  Timing t;
  double landlockMs = 0;
  char error[200] = {};
};

// Times the operation in a fresh child process (symmetric for every config; Landlock needs it).
ChildResult measureInChild(const Group &g, const Config *landlock) {
  auto *res = static_cast<ChildResult *>(
      mmap(nullptr, sizeof(ChildResult), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
  if (res == MAP_FAILED)
    die("mmap: " + errText(errno));
  new (res) ChildResult();
  std::fflush(stdout);
  std::fflush(stderr);
  pid_t pid = fork();
  if (pid < 0)
    die("fork: " + errText(errno));
  if (pid == 0) {
    if (landlock) {
      std::string e = applyLandlock(landlock->args[1], landlock->args[2], std::atoi(landlock->args[3].c_str()),
                                    &res->landlockMs);
      if (!e.empty()) {
        std::snprintf(res->error, sizeof res->error, "%s", e.c_str());
        _exit(1);
      }
    }
    malloc_trim(0);  // fork+exec copies this process's page tables: keep it the same size every time
    OpFn fn = makeOp(g.op);
    res->t = timeOp(fn, g.iters, g.batches);
    if (res->t.err)
      std::snprintf(res->error, sizeof res->error, "%s failed: %s", g.op.c_str(), std::strerror(res->t.err));
    _exit(0);
  }
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  ChildResult out = *res;
  munmap(res, sizeof(ChildResult));
  if (!WIFEXITED(st) && !out.error[0])
    std::snprintf(out.error, sizeof out.error, "measuring child died (signal %d)", WTERMSIG(st));
  return out;
}

// Lets deferred kernel work finish (RCU callbacks and workqueues freeing the maps and
// programs of an unloaded policy, the verifier's leftovers) so it does not run inside the
// next measurement. The CPU is idle meanwhile; under -icount sleep=off that costs no real time.
void settle() { usleep(250000); }

// Measures config `c` once (setup, timing in a child, teardown) and prints its record.
void measureConfig(const Group &g, const Config &c, int round, int seq) {
  Json j;
  j.add("type", "cost").add("op", g.op).add("config", c.id).add("setup", c.args[0]).add("round", round).add("seq", seq);
  std::string error;
  EmptyProg empty;
  std::string policy;
  std::vector<std::string> loadedSet;  // "bulwarks": the policies loaded, unloaded after
  const Config *ll = nullptr;
  uint64_t hitsBefore = 0, quietBefore = 0;
  bool counted = false;
  if (c.args[0] == "empty") {
    error = empty.attach(c.args[1]);
  } else if (c.args[0] == "bulwark") {
    Cmd l = runCmd({"bulwark", "load", c.args[1]});
    if (l.status != 0) {
      error = "bulwark load failed (" + std::to_string(l.status) + "): " + tail(l.out);
    } else {
      policy = c.args[2];
      j.add("load_wall_ms", l.wallMs)
          .add("load_verify_ms", numberAfter(l.out, "load+verify "))
          .add("switch_us", numberAfter(l.out, "switch "))
          .add("load_total_ms", numberAfter(l.out, "total "));
      RuleCount rc = ruleCounters(policy, "(default)");
      counted = rc.found;
      hitsBefore = rc.hits;
      quietBefore = quietSkips();
    }
  } else if (c.args[0] == "bulwarks") {
    for (const auto &item : split(c.args[1], ',')) {
      auto colon = item.rfind(':');
      Cmd l = runCmd({"bulwark", "load", item.substr(0, colon)});
      if (l.status != 0) {
        error = "bulwark load " + item + " failed (" + std::to_string(l.status) + "): " + tail(l.out);
        break;
      }
      loadedSet.push_back(item.substr(colon + 1));
    }
  } else if (c.args[0] == "landlock") {
    ll = &c;
  }
  if (error.empty()) {
    settle();
    ChildResult cr = measureInChild(g, ll);
    if (cr.error[0])
      error = cr.error;
    j.add("ns_median", cr.t.median)
        .add("ns_p25", cr.t.p25)
        .add("ns_mean", cr.t.mean)
        .add("ns_min", cr.t.min)
        .add("ops", cr.t.ops);
    if (ll)
      j.add("landlock_setup_ms", cr.landlockMs);
    if (counted) {
      // The policy's default counter and the events that skipped its lane as kept quiet ones
      // must together have seen (at least) every measured operation: proof that the program
      // ran on these syscalls, or had decided nothing for the same open or connect before.
      RuleCount rc = ruleCounters(policy, "(default)");
      j.add("default_hits", rc.hits - hitsBefore).add("quiet_hits", quietSkips() - quietBefore);
    }
  }
  if (c.args[0] == "empty")
    empty.detach();
  for (const auto &name : loadedSet) {
    Cmd u = runCmd({"bulwark", "unload", name});
    if (u.status != 0 && error.empty())
      error = "bulwark unload " + name + " failed: " + tail(u.out);
  }
  if (!policy.empty()) {
    Cmd u = runCmd({"bulwark", "unload", policy});
    if (u.status != 0 && error.empty())
      error = "bulwark unload failed: " + tail(u.out);
  }
  settle();
  if (!error.empty())
    j.add("error", error);
  j.print();
  std::fprintf(stderr, "bwbench: %s %-28s round %d %s\n", g.op.c_str(), c.id.c_str(), round,
               error.empty() ? "" : error.c_str());
}

// Every round: the baseline (the first config, "none"), then each other config followed by
// the baseline again, so every measurement sits between two baseline measurements taken
// seconds apart (drift cancels). The order of the other configs rotates every round and is
// reversed on odd rounds.
void runGroup(const Group &g) {
  if (g.cfgs.empty() || g.cfgs[0].args[0] != "none")
    die("a group starts with its baseline: cfg none none");
  const size_t n = g.cfgs.size() - 1;
  for (int r = 0; r < g.rounds; ++r) {
    int seq = 0;
    measureConfig(g, g.cfgs[0], r, seq++);
    for (size_t k = 0; k < n; ++k) {
      size_t idx = 1 + ((r % 2 == 0) ? (k + size_t(r)) % n : (n - 1 - k + size_t(r)) % n);
      measureConfig(g, g.cfgs[idx], r, seq++);
      measureConfig(g, g.cfgs[0], r, seq++);
    }
  }
}

// ---- hot swap -----------------------------------------------------------------------------------
struct SwapShared {
  std::atomic<int> stop{0};
  std::atomic<int> ready{0};
  std::atomic<uint64_t> flipBefore{0}, flipAfter{0}, opens{0};
  std::atomic<uint64_t> genSeen{0};  // when the hammer first saw bw_gen[slot] change
  std::atomic<uint64_t> opensAfterGen{0};  // opens v1 still allowed after that
  std::atomic<int> otherErr{0};
  // The next denied opens after the first: the longest, and the last (code run before by then)
  std::atomic<uint64_t> nextDeniedMaxNs{0}, nextDeniedLastNs{0};
};

// Slot number from `bulwark load`'s "loaded policy NAME (slot N, ...".
int slotOf(const std::string &out) {
  auto p = out.find("(slot ");
  return p == std::string::npos ? -1 : std::atoi(out.c_str() + p + 6);
}

// A daemon (`bulwark run`, switch: on_signal) over a bundle directory with one entry, POLICY.bwb,
// a symlink to the version published last.
struct SignalDaemon {
  std::string dir = gRoot + "/swapd", log = dir + "/daemon.log", entry;
  pid_t pid = -1;

  std::string logText() const { return readFile(log).value_or(""); }
  bool waitForLog(const std::string &what, int seconds = 120) const {
    for (int i = 0; i < seconds * 100; ++i) {
      if (logText().find(what) != std::string::npos)
        return true;
      usleep(10000);
    }
    return false;
  }
  void publish(const std::string &bundle) {  // an atomic replace of the entry
    std::string tmp = entry + ".new";
    ::unlink(tmp.c_str());
    if (::symlink(bundle.c_str(), tmp.c_str()) != 0 || ::rename(tmp.c_str(), entry.c_str()) != 0)
      die("publishing " + bundle + ": " + errText(errno));
  }
  // Starts over the loaded v1 (adopted, not loaded again) and stages v2; "" or an error.
  std::string start(const std::string &v1, const std::string &v2, const std::string &policy) {
    runCmd({"rm", "-rf", dir});
    mkdirs(dir + "/bundles");
    entry = dir + "/bundles/" + policy + ".bwb";
    publish(v1);
    writeFile(dir + "/bulwark.yaml", "bundle_dir: bundles\nevents: none\nevent_log: none\n"
                                     "switch: on_signal\ndebounce_seconds: 0.1\nscope_check_seconds: 0\n");
    pid = fork();
    if (pid == 0) {
      int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(fd, 1);
      dup2(fd, 2);
      execlp("bulwark", "bulwark", "run", "--config", (dir + "/bulwark.yaml").c_str(), nullptr);
      _exit(127);
    }
    if (!waitForLog("adopted policy " + policy))
      return "the daemon did not adopt v1: " + tail(logText());
    publish(v2);
    if (!waitForLog("staged policy " + policy))
      return "the daemon did not stage v2: " + tail(logText());
    return "";
  }
  void stop() {
    if (pid <= 0)
      return;
    kill(pid, SIGTERM);
    waitpid(pid, nullptr, 0);
    pid = -1;
  }
};

// The hammer's five opens after the first v2 denial: how long a v2 decision takes once its code
// has run (under TCG the first run of new code includes translating it).
void timeNextDecisions(const std::string &path, SwapShared &sh) {
  for (int k = 0; k < 5; ++k) {
    uint64_t a = nowNs();
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    uint64_t took = nowNs() - a;
    if (fd >= 0)
      ::close(fd);
    sh.nextDeniedMaxNs = std::max<uint64_t>(sh.nextDeniedMaxNs, took);
    sh.nextDeniedLastNs = took;
  }
}

enum class SwapVia { Load, Switch, Signal };

void runSwap(const std::string &id, const std::string &v1, const std::string &v2, const std::string &policy,
             int rounds, SwapVia via) {
  bool staged = via != SwapVia::Load;
  std::string path = gRoot + "/t/swap";
  int cpus = cpuCount();
  for (int r = 0; r < rounds; ++r) {
    Json j;
    j.add("type", "swap").add("config", id).add("round", r).add("cpus", cpus).add("staged", staged)
        .add("via", via == SwapVia::Load ? "load" : via == SwapVia::Switch ? "switch" : "signal");
    std::string error;
    Cmd l1 = runCmd({"bulwark", "load", v1});
    if (l1.status != 0) {
      j.add("error", "loading v1 failed: " + tail(l1.out)).print();
      continue;
    }
    // Staged: v2 is loaded, verified and wired before the clock starts; what is timed is the
    // `switch` command.
    Cmd st;
    SignalDaemon daemon;
    if (via == SwapVia::Switch) {
      st = runCmd({"bulwark", "load", "--stage", v2});
      if (st.status != 0) {
        j.add("error", "staging v2 failed: " + tail(st.out)).print();
        runCmd({"bulwark", "unload", policy});
        continue;
      }
    } else if (via == SwapVia::Signal) {
      std::string why = daemon.start(v1, v2, policy);
      if (!why.empty()) {
        daemon.stop();
        j.add("error", why).print();
        runCmd({"bulwark", "unload", policy});
        continue;
      }
    }
    // The hammer also watches bw_gen[slot] (the generation switch bulwark writes), so the
    // latency splits into "until the switch" and "switch to first v2 decision".
    int slot = slotOf(l1.out);
    int genFd = bpf_obj_get("/sys/fs/bpf/bulwark/shared/bw_gen");
    uint32_t gen0 = 0;
    if (genFd >= 0 && slot >= 0)
      bpf_map_lookup_elem(genFd, &slot, &gen0);
    auto *sh = static_cast<SwapShared *>(
        mmap(nullptr, sizeof(SwapShared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
    new (sh) SwapShared();
    std::fflush(stdout);
    pid_t ham = fork();
    if (ham == 0) {
      if (cpus > 1)
        pinToCpu(cpus - 1);
      sh->ready = 1;
      while (!sh->stop) {
        if (!sh->genSeen && genFd >= 0 && slot >= 0) {
          uint32_t g = gen0;
          if (bpf_map_lookup_elem(genFd, &slot, &g) == 0 && g != gen0)
            sh->genSeen = nowNs();
        }
        uint64_t t0 = nowNs();
        int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        uint64_t t1 = nowNs();
        sh->opens++;
        if (fd >= 0) {
          ::close(fd);
          if (sh->genSeen)
            sh->opensAfterGen++;
          continue;
        }
        if (errno == EPERM) {
          sh->flipBefore = t0;
          sh->flipAfter = t1;
          if (!sh->genSeen)  // switched between this iteration's bw_gen read and its open
            sh->genSeen = t0;
          timeNextDecisions(path, *sh);
          break;
        }
        sh->otherErr = errno;
        break;
      }
      _exit(0);
    }
    if (cpus > 1)
      pinToCpu(0);
    while (!sh->ready)
      usleep(1000);
    usleep(100000);  // the hammer is in its loop, v1 allowing
    uint64_t opensBefore = sh->opens;
    uint64_t issue = nowNs();
    Cmd l2;
    if (via == SwapVia::Signal) {
      kill(daemon.pid, SIGUSR1);
      daemon.waitForLog("switched policy " + policy, 10);
      l2.out = daemon.logText();
      l2.status = l2.out.find("switched policy " + policy) != std::string::npos ? 0 : 1;
    } else {
      l2 = runCmd(staged ? std::vector<std::string>{"bulwark", "switch", policy}
                         : std::vector<std::string>{"bulwark", "load", v2});
    }
    uint64_t exited = nowNs();
    for (int i = 0; i < 10000 && !sh->flipAfter && !sh->otherErr; ++i)
      usleep(1000);
    sh->stop = 1;
    waitpid(ham, nullptr, 0);
    daemon.stop();
    if (l2.status != 0)
      error = (staged ? "switching to v2 failed: " : "loading v2 failed: ") + tail(l2.out);
    else if (sh->otherErr)
      error = "hammer open failed: " + errText(sh->otherErr);
    else if (!sh->flipAfter)
      error = "v2 never denied within 10 s";
    else if (opensBefore == 0)
      error = "the hammer made no call before the swap";
    j.add("latency_ms", sh->flipAfter ? double(sh->flipAfter - issue) / 1e6 : -1.0)
        .add("resolution_us", double(sh->flipAfter - sh->flipBefore) / 1e3)
        .add("bulwark_exit_ms", double(exited - issue) / 1e6)
        .add("load_verify_ms", numberAfter(staged ? st.out : l2.out, "load+verify "))
        .add("switch_us", numberAfter(l2.out, "switch "))
        .add("checks_ms", staged ? numberAfter(l2.out, "checks ") : -1.0)
        .add("load_total_ms", numberAfter(l2.out, "total "))
        .add("hammer_opens", uint64_t(sh->opens))
        .add("next_denied_max_us", double(sh->nextDeniedMaxNs) / 1e3)
        .add("next_denied_last_us", double(sh->nextDeniedLastNs) / 1e3)
        .add("slot", slot);
    if (sh->genSeen && sh->flipAfter) {
      j.add("until_switch_ms", double(sh->genSeen - issue) / 1e6)
          .add("switch_to_decision_us", double(int64_t(sh->flipAfter - sh->genSeen)) / 1e3)
          .add("v1_decisions_after_switch", uint64_t(sh->opensAfterGen));
    }
    if (genFd >= 0)
      close(genFd);
    if (!error.empty())
      j.add("error", error);
    munmap(sh, sizeof(SwapShared));
    if (cpus > 1) {
      cpu_set_t all;
      CPU_ZERO(&all);
      for (int c = 0; c < cpus; ++c)
        CPU_SET(c, &all);
      sched_setaffinity(0, sizeof all, &all);
    }
    Cmd u = runCmd({"bulwark", "unload", policy});
    if (u.status != 0)
      j.add("unload_error", tail(u.out));
    j.print();
    std::fprintf(stderr, "bwbench: swap %s round %d %s\n", id.c_str(), r, error.c_str());
  }
}

// utime + stime of a process, from /proc/PID/stat (clock ticks).
double procCpuSeconds(pid_t pid) {
  std::string all = readFile("/proc/" + std::to_string(pid) + "/stat").value_or("");
  auto p = all.rfind(')');
  if (p == std::string::npos)
    return 0;
  std::istringstream ss(all.substr(p + 2));
  std::string f;
  unsigned long long ut = 0, st = 0;
  for (int i = 3; i <= 15 && ss >> f; ++i) {
    if (i == 14)
      ut = std::strtoull(f.c_str(), nullptr, 10);
    if (i == 15)
      st = std::strtoull(f.c_str(), nullptr, 10);
  }
  return double(ut + st) / double(sysconf(_SC_CLK_TCK));
}

// ---- event flood --------------------------------------------------------------------------------
void runFlood(const std::string &id, const std::string &mode, const std::string &bundle, const std::string &policy,
              double seconds, int rounds) {
  std::string path = gRoot + "/t/flood_" + mode;
  std::string rule = "flood_" + mode;
  int cpus = cpuCount();
  for (int r = 0; r < rounds; ++r) {
    Json j;
    j.add("type", "flood").add("config", id).add("mode", mode).add("round", r).add("cpus", cpus);
    Cmd l = runCmd({"bulwark", "load", bundle});
    if (l.status != 0) {
      j.add("error", "bulwark load failed: " + tail(l.out)).print();
      continue;
    }
    // the reader: bulwark events into a pipe; a thread counts the lines
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0)
      die("pipe: " + errText(errno));
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[1], 1);
    const char *argv[] = {"bulwark", "events", "--format", "json", "--follow", nullptr};
    pid_t reader;
    if (posix_spawnp(&reader, "bulwark", &fa, nullptr, const_cast<char **>(argv), environ) != 0)
      die("cannot start bulwark events");
    posix_spawn_file_actions_destroy(&fa);
    close(p[1]);
    std::atomic<uint64_t> lines{0}, bytes{0};
    std::atomic<uint64_t> lastLineNs{nowNs()};
    std::thread counter([&] {
      char buf[1 << 16];
      ssize_t n;
      while ((n = read(p[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
        if (n <= 0)
          continue;
        lines += uint64_t(std::count(buf, buf + n, '\n'));
        bytes += uint64_t(n);
        lastLineNs = nowNs();
      }
    });
    usleep(500000);  // the reader has attached to the ring buffer
    RuleCount before = ruleCounters(policy, rule);
    uint64_t linesBefore = lines, bytesBefore = bytes;
    double cpuBefore = procCpuSeconds(reader);
    uint64_t windowStart = nowNs();
    // the flood, in a child pinned to the last CPU
    struct FloodShared {
      uint64_t calls, eperm, other, ns;
    };
    auto *fs = static_cast<FloodShared *>(
        mmap(nullptr, sizeof(FloodShared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
    *fs = {};
    std::fflush(stdout);
    pid_t fl = fork();
    if (fl == 0) {
      if (cpus > 1)
        pinToCpu(cpus - 1);
      uint64_t t0 = nowNs(), end = t0 + uint64_t(seconds * 1e9);
      uint64_t calls = 0, eperm = 0, other = 0;
      while (true) {
        for (int i = 0; i < 64; ++i) {
          int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
          calls++;
          if (fd >= 0)
            ::close(fd);
          else if (errno == EPERM)
            eperm++;
          else
            other++;
        }
        if (nowNs() >= end)
          break;
      }
      *fs = {calls, eperm, other, nowNs() - t0};
      _exit(0);
    }
    waitpid(fl, nullptr, 0);
    // let the reader drain: until it has everything emitted, or 2 s without a new line
    RuleCount after = ruleCounters(policy, rule);
    uint64_t want = after.emitted - before.emitted;
    uint64_t drainStart = nowNs();
    while (lines - linesBefore < want && nowNs() - lastLineNs < 2000000000ull)
      usleep(20000);
    double drainMs = double(nowNs() - drainStart) / 1e6;
    double readerCpuS = procCpuSeconds(reader) - cpuBefore;
    double windowS = double(nowNs() - windowStart) / 1e9;
    kill(reader, SIGINT);
    int st = 0;
    rusage ru{};
    while (wait4(reader, &st, 0, &ru) < 0 && errno == EINTR) {
    }
    counter.join();
    close(p[0]);
    double readerCpuTotal = double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                            double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    double s = double(fs->ns) / 1e9;
    uint64_t delivered = lines - linesBefore;
    j.add("seconds", s)
        .add("syscalls", fs->calls)
        .add("eperm", fs->eperm)
        .add("other_errors", fs->other)
        .add("syscalls_per_s", double(fs->calls) / s)
        .add("rule_hits", after.hits - before.hits)
        .add("decisions_per_s", double(after.hits - before.hits) / s)
        .add("emitted", after.emitted - before.emitted)
        .add("dropped", after.dropped - before.dropped)
        .add("limited", after.limited - before.limited)
        .add("ring_drops", after.ringDrops - before.ringDrops)
        .add("delivered", delivered)
        .add("delivered_bytes", uint64_t(bytes) - bytesBefore)
        .add("events_per_s", double(delivered) / s)
        .add("drain_ms", drainMs)
        .add("reader_cpu_s", readerCpuS)
        .add("reader_cpu_pct", 100.0 * readerCpuS / windowS)
        .add("reader_window_s", windowS)
        .add("reader_cpu_total_s", readerCpuTotal)
        .add("reader_cpu_per_event_us", delivered ? 1e6 * readerCpuS / double(delivered) : 0.0)
        .add("counters_found", before.found && after.found);
    uint64_t calls = fs->calls;
    munmap(fs, sizeof(FloodShared));
    Cmd u = runCmd({"bulwark", "unload", policy});
    if (u.status != 0)
      j.add("unload_error", tail(u.out));
    j.print();
    std::fprintf(stderr, "bwbench: flood %s round %d: %" PRIu64 " syscalls, %" PRIu64 " delivered\n", id.c_str(), r,
                 calls, delivered);
  }
}

// ---- environment --------------------------------------------------------------------------------
std::string readAll(const std::string &p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void printEnv() {
  utsname u{};
  uname(&u);
  std::string cpu;
  std::istringstream in(readAll("/proc/cpuinfo"));
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) {
      cpu = line.substr(line.find(':') + 2);
      break;
    }
  std::string lsm = readAll("/sys/kernel/security/lsm");
  Json j;
  j.add("type", "env")
      .add("kernel", std::string(u.release) + " " + u.version)
      .add("machine", u.machine)
      .add("cpu", cpu)
      .add("cpus", cpuCount())
      .add("lsm", lsm)
      .add("landlock_abi", landlockAbi());
  j.print();
}

int runPlan(const std::string &file) {
  std::ifstream in(file);
  if (!in)
    die("cannot read plan " + file);
  seedRandom();
  installRuntime();
  printEnv();
  setupTargets();
  std::optional<Group> g;
  std::string line;
  int lineNo = 0;
  while (std::getline(in, line)) {
    ++lineNo;
    if (auto h = line.find('#'); h != std::string::npos)
      line.resize(h);
    std::istringstream ls(line);
    std::vector<std::string> w;
    for (std::string t; ls >> t;)
      w.push_back(t);
    if (w.empty())
      continue;
    auto need = [&](size_t n) {
      if (w.size() != n)
        die(file + ":" + std::to_string(lineNo) + ": '" + w[0] + "' takes " + std::to_string(n - 1) + " arguments");
    };
    if (w[0] == "root") {
      need(2);
      gRoot = w[1];
      setupTargets();
    } else if (w[0] == "mkdir") {
      need(2);
      mkdirs(w[1]);
    } else if (w[0] == "mkpaths") {
      need(3);
      mkpaths(w[1], std::atoi(w[2].c_str()));
    } else if (w[0] == "group") {
      need(5);
      g = Group{w[1], std::strtoull(w[2].c_str(), nullptr, 10), std::strtoull(w[3].c_str(), nullptr, 10),
                std::atoi(w[4].c_str()), {}};
      makeOp(w[1]);
    } else if (w[0] == "cfg") {
      if (!g || w.size() < 3)
        die(file + ":" + std::to_string(lineNo) + ": cfg needs an id and a setup, after a group");
      g->cfgs.push_back({w[1], std::vector<std::string>(w.begin() + 2, w.end())});
      const auto &a = g->cfgs.back().args;
      size_t want = a[0] == "none"       ? 1
                    : a[0] == "empty"    ? 2
                    : a[0] == "bulwark"  ? 3
                    : a[0] == "bulwarks" ? 2
                    : a[0] == "landlock" ? 4
                                         : 0;
      if (want == 0 || a.size() != want)
        die(file + ":" + std::to_string(lineNo) + ": bad cfg");
    } else if (w[0] == "run") {
      if (!g)
        die(file + ":" + std::to_string(lineNo) + ": run without a group");
      runGroup(*g);
      g.reset();
    } else if (w[0] == "swap" || w[0] == "swapstaged" || w[0] == "swapsignal") {
      need(6);
      SwapVia via = w[0] == "swap" ? SwapVia::Load : w[0] == "swapstaged" ? SwapVia::Switch : SwapVia::Signal;
      runSwap(w[1], w[2], w[3], w[4], std::atoi(w[5].c_str()), via);
    } else if (w[0] == "flood") {
      need(7);
      runFlood(w[1], w[2], w[3], w[4], std::atof(w[5].c_str()), std::atoi(w[6].c_str()));
    } else {
      die(file + ":" + std::to_string(lineNo) + ": unknown step " + w[0]);
    }
  }
  Json().add("type", "done").print();
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  // A fixed mmap threshold: large buffers (10,000-rule `bulwark status` output) are unmapped
  // when freed instead of growing the heap for good, which would make every later fork (the
  // exec benchmark) copy more page tables than the earlier ones.
  mallopt(M_MMAP_THRESHOLD, 64 * 1024);
  libbpf_set_print([](libbpf_print_level lvl, const char *fmt, va_list ap) {
    return lvl == LIBBPF_WARN ? std::vfprintf(stderr, fmt, ap) : 0;
  });
  if (const char *e = getenv("BWBENCH_EMPTY_OBJ"))
    gEmptyObj = e;
  if (const char *e = getenv("BWBENCH_TRUE"))
    gTrue = e;
  gBatchLog = getenv("BWBENCH_BATCH_LOG") != nullptr;
  if (argc >= 3 && std::string(argv[1]) == "plan")
    return runPlan(argv[2]);
  if (argc >= 3 && std::string(argv[1]) == "op") {
    seedRandom();
    setupTargets();
    Group g{argv[2], argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 10000,
            argc > 4 ? std::strtoull(argv[4], nullptr, 10) : 10, 1, {}};
    Timing t = timeOp(makeOp(g.op), g.iters, g.batches);
    if (t.err)
      die(g.op + " failed: " + errText(t.err));
    std::printf("%s: median %.0f ns/op, mean %.0f, min %.0f (%" PRIu64 " ops)\n", g.op.c_str(), t.median, t.mean,
                t.min, t.ops);
    return 0;
  }
  std::fprintf(stderr, "usage: bwbench plan FILE | bwbench op open|unlink|connect|exec [ITERS [BATCHES]]\n");
  return 2;
}
