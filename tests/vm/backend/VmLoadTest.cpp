// Runs in the run-vm guest (6.1): the compiled file.open bundle loads through the real
// verifier and, attached directly (standalone: no dispatcher, lane unset), denies open()
// of the files its rules name with EPERM while other files open.
#include "Bundle.h"
#include "GuestBundle.h"
#include "GuestUtil.h"
#include "bw_abi.h"
#include "bw_event.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>
#include <bpf/bpf.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>

#include <cstdio>
#include <map>

namespace {

const char *kBundle = "/bulwark/files/vmtest.bwb";

using bwguest::Loaded;
using bwguest::setRodata;

int openErrno(const std::string &path, int flags = O_RDONLY) {
  int fd = open(path.c_str(), flags, 0644);
  if (fd < 0)
    return errno;
  close(fd);
  return 0;
}

// Loads a bundle as the runtime does (bwguest::loadBundle: sizes, the kernel's lock addresses,
// `tweak`, verifier stats in bwguest::libbpfLog(), map data, identity labels).
void load(Loaded &l, const char *path = kBundle, bwguest::Tweak tweak = {}) {
  ASSERT_NO_FATAL_FAILURE(bwguest::loadBundle(l, path, std::move(tweak)));
}

} // namespace

TEST(BackendVm, FileOpenBundleLoadsAndDenies) {
  if (!bulwark::guest::InGuest())
    GTEST_SKIP() << "needs the run-vm guest";
  Loaded l;
  ASSERT_NO_FATAL_FAILURE(load(l));
  const bulwark::bundle::Bundle &b = l.bundle;
  bpf_program *prog = bpf_object__find_program_by_name(l.obj, "bw_file_open");
  ASSERT_NE(prog, nullptr);
  bpf_prog_info info{};
  uint32_t len = sizeof(info);
  ASSERT_EQ(bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len), 0);
  std::printf("verifier: bw_file_open verified_insns=%u xlated=%u bytes, object %zu bytes\n",
              info.verified_insns, info.xlated_prog_len, b.object.size());
  const std::string &log = bwguest::libbpfLog();
  auto pos = log.find("processed ");
  if (pos != std::string::npos)
    std::printf("verifier log: %s\n", log.substr(pos, log.find('\n', pos) - pos).c_str());

  mkdir("/tmp/bwvm", 0755);
  mkdir("/tmp/bwvm/secret", 0755);
  mkdir("/tmp/bwvm/a", 0755);
  mkdir("/tmp/bwvm/a/b", 0755);
  mkdir("/tmp/bwvm/a-directory-longer-than-32-bytes", 0755);
  mkdir("/tmp/bwvm/b-directory-longer-than-32-bytes", 0755);
  const char *longHeld = "/tmp/bwvm/a-directory-longer-than-32-bytes/held.conf";
  const char *longOther = "/tmp/bwvm/b-directory-longer-than-32-bytes/held.conf";  // differs in the 42nd byte from the end
  const char *longLock = "/tmp/bwvm/a-directory-longer-than-32-bytes/db.lock";
  for (const char *f : {"/tmp/bwvm/denied.txt", "/tmp/bwvm/allowed.txt", "/tmp/bwvm/secret/x",
                        "/tmp/bwvm/a/b/c.key", "/tmp/bwvm/a/b/c.txt", "/tmp/bwvm/db.lock", longHeld, longOther,
                        longLock})
    bulwark::guest::WriteFile(f, "x");

  l.links.push_back(bpf_program__attach_lsm(prog));
  ASSERT_NE(l.links.back(), nullptr) << std::strerror(errno);
  int denied = openErrno("/tmp/bwvm/denied.txt");
  int allowed = openErrno("/tmp/bwvm/allowed.txt");
  int secret = openErrno("/tmp/bwvm/secret/x");
  int key = openErrno("/tmp/bwvm/a/b/c.key");
  int txt = openErrno("/tmp/bwvm/a/b/c.txt");
  int lockRead = openErrno("/tmp/bwvm/db.lock", O_RDONLY);
  int lockWrite = openErrno("/tmp/bwvm/db.lock", O_WRONLY);
  int held = openErrno(longHeld), other = openErrno(longOther);
  int longLockRead = openErrno(longLock, O_RDONLY), longLockWrite = openErrno(longLock, O_WRONLY);
  l.detachAll();
  EXPECT_EQ(denied, EPERM);
  EXPECT_EQ(allowed, 0);
  EXPECT_EQ(secret, EPERM);
  EXPECT_EQ(key, EPERM);
  EXPECT_EQ(txt, 0);
  EXPECT_EQ(lockRead, 0);
  EXPECT_EQ(lockWrite, EPERM);
  EXPECT_EQ(held, EPERM) << "a suffix longer than 32 bytes";
  EXPECT_EQ(other, 0) << "a path that differs from the suffix only beyond its last 32 bytes";
  EXPECT_EQ(longLockRead, 0);
  EXPECT_EQ(longLockWrite, EPERM) << "a short suffix of a long path";
  EXPECT_EQ(openErrno("/tmp/bwvm/denied.txt"), 0) << "detached program still denies";

  // counters: per-CPU, rule 0 was hit at least once
  int cfd = bpf_map__fd(bpf_object__find_map_by_name(l.obj, "bw_counters"));
  int ncpu = libbpf_num_possible_cpus();
  std::vector<bw_counter> vals(ncpu);
  uint32_t k = 0;
  ASSERT_EQ(bpf_map_lookup_elem(cfd, &k, vals.data()), 0);
  uint64_t hits = 0, emitted = 0;
  for (auto &v : vals) {
    hits += v.hits;
    emitted += v.emitted;
  }
  EXPECT_GE(hits, 1u);
  EXPECT_GE(emitted, 1u);
}

namespace {

struct Rec {
  uint32_t rule, action, flags, hook;
  std::vector<std::string> strs;
};

int onRecord(void *ctx, void *data, size_t size) {
  auto *out = static_cast<std::vector<Rec> *>(ctx);
  if (size < sizeof(bw_record))
    return 0;
  auto *r = static_cast<const bw_record *>(data);
  Rec x{r->rule, r->action, r->flags, r->hook, {}};
  size_t off = sizeof(bw_record);
  for (int i = 0; i < BW_STR_SLOTS; ++i) {
    if (!r->str_len[i] || off + r->str_len[i] > size)
      continue;
    x.strs.emplace_back(static_cast<const char *>(data) + off, r->str_len[i] - 1);
    off += r->str_len[i];
  }
  out->push_back(x);
  return 0;
}

int childStatus(const std::function<int()> &fn) {
  pid_t pid = fork();
  if (pid == 0)
    _exit(fn());
  int st = 0;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 200;
}

int errnoOf(int rc) { return rc < 0 ? errno : 0; }

int connectTo(int family, const char *addr, int port) {
  int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return errno;
  int rc;
  if (family == AF_INET) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    inet_pton(AF_INET, addr, &sa.sin_addr);
    rc = connect(fd, reinterpret_cast<sockaddr *>(&sa), sizeof sa);
  } else {
    sockaddr_in6 sa{};
    sa.sin6_family = AF_INET6;
    sa.sin6_port = htons(port);
    inet_pton(AF_INET6, addr, &sa.sin6_addr);
    rc = connect(fd, reinterpret_cast<sockaddr *>(&sa), sizeof sa);
  }
  int e = rc < 0 ? errno : 0;
  close(fd);
  return e;
}

int bindTo(int port, bool doListen) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int e = errnoOf(bind(fd, reinterpret_cast<sockaddr *>(&sa), sizeof sa));
  if (!e && doListen)
    e = errnoOf(listen(fd, 1));
  close(fd);
  return e;
}

} // namespace

TEST(BackendVm, AllHooksVerifyAndEnforce) {
  if (!bulwark::guest::InGuest())
    GTEST_SKIP() << "needs the run-vm guest";
  // fixtures, before the load: it labels the objects the rules name
  system("rm -rf /tmp/bwvm; mkdir -p /tmp/bwvm/noren /tmp/bwvm/nomount /tmp/bwvm/okmount");
  for (const char *f : {"/tmp/bwvm/nounlink", "/tmp/bwvm/f", "/tmp/bwvm/f2", "/tmp/bwvm/nochmod",
                        "/tmp/bwvm/nomap", "/tmp/bwvm/audited", "/tmp/bwvm/okunlink"})
    bulwark::guest::WriteFile(f, std::string(4096, 'x'));
  system("cp /bulwark/bin/busybox /tmp/bwvm/noexec-bb; cp /bulwark/bin/busybox /tmp/bwvm/okexec");

  Loaded l;
  ASSERT_NO_FATAL_FAILURE(load(l, "/bulwark/files/allhooks.bwb"));
  const bulwark::bundle::Bundle &b = l.bundle;
  // 17 hooks; kernel.module_load has two attach points (kernel_read_file, kernel_load_data),
  // file.mmap_exec two (mmap_file, file_mprotect).
  ASSERT_EQ(b.manifest.programs.size(), 19u);
  bpf_program *p;
  std::vector<bpf_link *> links;
  bpf_object__for_each_program(p, l.obj) {
    bpf_prog_info info{};
    uint32_t len = sizeof(info);
    ASSERT_EQ(bpf_obj_get_info_by_fd(bpf_program__fd(p), &info, &len), 0);
    std::printf("verifier: %-28s verified_insns=%6u xlated=%6u bytes\n", bpf_program__name(p),
                info.verified_insns, info.xlated_prog_len);
  }
  std::printf("object %zu bytes\n", b.object.size());

  std::vector<Rec> recs;
  ring_buffer *rb = ring_buffer__new(bpf_map__fd(bpf_object__find_map_by_name(l.obj, "bw_events")),
                                     onRecord, &recs, nullptr);
  ASSERT_NE(rb, nullptr);

  bpf_object__for_each_program(p, l.obj) {
    bpf_link *k = bpf_program__attach_lsm(p);
    ASSERT_NE(k, nullptr) << bpf_program__name(p) << ": " << std::strerror(errno);
    links.push_back(k);
  }
  std::map<std::string, int> got;
  got["unlink"] = errnoOf(unlink("/tmp/bwvm/nounlink"));
  got["unlink-ok"] = errnoOf(unlink("/tmp/bwvm/okunlink"));
  got["rename"] = errnoOf(rename("/tmp/bwvm/f2", "/tmp/bwvm/noren/f2"));
  got["chmod"] = errnoOf(chmod("/tmp/bwvm/nochmod", 0666));
  got["chmod-ok"] = errnoOf(chmod("/tmp/bwvm/nochmod", 0644));
  got["link"] = errnoOf(link("/tmp/bwvm/f", "/tmp/bwvm/nolink"));
  got["link-ok"] = errnoOf(link("/tmp/bwvm/f", "/tmp/bwvm/oklink"));
  {
    int fd = open("/tmp/bwvm/nomap", O_RDONLY);
    void *m = mmap(nullptr, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
    got["mmap-exec"] = m == MAP_FAILED ? errno : 0;
    if (m != MAP_FAILED)
      munmap(m, 4096);
    m = mmap(nullptr, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
    got["mmap-read"] = m == MAP_FAILED ? errno : 0;
    if (m != MAP_FAILED)
      munmap(m, 4096);
    close(fd);
  }
  got["exec"] = childStatus([] {
    char *argv[] = {const_cast<char *>("true"), nullptr};
    execv("/tmp/bwvm/noexec-bb", argv);
    return errno;
  });
  got["exec-ok"] = childStatus([] {
    char *argv[] = {const_cast<char *>("true"), nullptr};
    execv("/tmp/bwvm/okexec", argv);
    return 100 + errno;
  });
  {
    pid_t c = fork();
    if (c == 0) {
      for (;;)
        pause();
    }
    got["signal"] = errnoOf(kill(c, SIGUSR2));
    got["signal-ok"] = errnoOf(kill(c, SIGKILL));
    waitpid(c, nullptr, 0);
  }
  got["setuid"] = childStatus([] { return setuid(4242) < 0 ? errno : 0; });
  got["setuid-ok"] = childStatus([] { return setuid(4241) < 0 ? errno : 0; });
  got["connect4"] = connectTo(AF_INET, "10.99.1.1", 9);
  got["connect6"] = connectTo(AF_INET6, "fd00:99::1", 9);
  got["connect4-other-port"] = connectTo(AF_INET, "10.99.1.1", 10);
  got["bind"] = bindTo(4444, false);
  got["bind-ok"] = bindTo(4446, false);
  got["listen"] = bindTo(4445, true);
  {
    int fd = socket(AF_INET, SOCK_DGRAM, 253);
    got["socket"] = fd < 0 ? errno : 0;
    if (fd >= 0)
      close(fd);
  }
  got["bpf-obj-get"] = errnoOf(bpf_obj_get("/sys/fs/bpf/bw-does-not-exist"));
  got["mount"] = errnoOf(mount("none", "/tmp/bwvm/nomount", "tmpfs", 0, nullptr));
  got["mount-ok"] = errnoOf(mount("none", "/tmp/bwvm/okmount", "tmpfs", 0, nullptr));
  got["open-audit"] = openErrno("/tmp/bwvm/audited");
  for (auto *k : links)
    bpf_link__destroy(k);
  umount("/tmp/bwvm/okmount");
  ring_buffer__consume(rb);
  ring_buffer__free(rb);

  std::map<std::string, int> want = {
      {"unlink", EPERM}, {"unlink-ok", 0}, {"rename", EPERM}, {"chmod", EPERM}, {"chmod-ok", 0},
      {"link", EPERM}, {"link-ok", 0}, {"mmap-exec", EPERM}, {"mmap-read", 0}, {"exec", EPERM},
      {"exec-ok", 0}, {"signal", EPERM}, {"signal-ok", 0}, {"setuid", EPERM}, {"setuid-ok", 0},
      {"connect4", EPERM}, {"connect6", EPERM}, {"bind", EPERM}, {"bind-ok", 0},
      {"listen", EPERM}, {"socket", EPERM}, {"bpf-obj-get", EPERM}, {"mount", EPERM},
      {"mount-ok", 0}, {"open-audit", 0}};
  for (auto &[k, v] : want)
    EXPECT_EQ(got[k], v) << k << " -> " << std::strerror(got[k]);
  EXPECT_NE(got["connect4-other-port"], EPERM);

  // records: one per denial, with the hook's strings; the audit rule too
  std::map<uint32_t, int> perRule;
  bool auditSeen = false, unlinkPath = false;
  for (const auto &r : recs) {
    perRule[r.rule]++;
    if (r.action == 2 /* audit */) {
      for (auto &s : r.strs)
        auditSeen = auditSeen || s == "/tmp/bwvm/audited";
    }
    if (b.manifest.rules.at(r.rule < b.manifest.rules.size() ? r.rule : 0).name == "no-unlink")
      for (auto &s : r.strs)
        unlinkPath = unlinkPath || s == "/tmp/bwvm/nounlink";
  }
  std::printf("records: %zu\n", recs.size());
  for (const auto &r : recs) {
    std::printf("  rule %u action %u flags %u hook %u:", r.rule, r.action, r.flags, r.hook);
    for (auto &s : r.strs)
      std::printf(" '%s'", s.c_str());
    std::printf("\n");
  }
  EXPECT_TRUE(auditSeen);
  EXPECT_TRUE(unlinkPath);
  EXPECT_GE(recs.size(), 14u);
}

// Chained mode (lane set): the fold into bw_state and the tail call are live code now and
// must pass the verifier too (tail calls mixed with bpf-to-bpf calls, stack limits).
TEST(BackendVm, ChainedModeVerifiesAndFolds) {
  if (!bulwark::guest::InGuest())
    GTEST_SKIP() << "needs the run-vm guest";
  system("rm -rf /sys/fs/bpf/bwtest/*");
  Loaded l;
  ASSERT_NO_FATAL_FAILURE(load(l, "/bulwark/files/allhooks.bwb", [](bpf_object *o) {
    uint32_t lane = 0, slot = 3;
    ASSERT_TRUE(setRodata(o, "bw_cfg_lane", &lane, 4));
    ASSERT_TRUE(setRodata(o, "bw_cfg_slot", &slot, 4));
  }));
  bpf_program *p;
  bpf_object__for_each_program(p, l.obj) {
    bpf_prog_info info{};
    uint32_t len = sizeof(info);
    ASSERT_EQ(bpf_obj_get_info_by_fd(bpf_program__fd(p), &info, &len), 0);
    std::printf("chained: %-28s verified_insns=%6u\n", bpf_program__name(p), info.verified_insns);
  }
  // attached alone, the program folds into bw_state: reset it as a dispatcher would
  int st = bpf_map__fd(bpf_object__find_map_by_name(l.obj, "bw_state"));
  uint32_t ncpu = uint32_t(libbpf_num_possible_cpus());
  for (uint32_t cpu = 0; cpu < ncpu; cpu++) {  // one entry per CPU, keyed by its number
    bw_state zero{};
    ASSERT_EQ(bpf_map_update_elem(st, &cpu, &zero, 0), 0);
  }
  system("mkdir -p /tmp/bwvm; echo x > /tmp/bwvm/nounlink; echo x > /tmp/bwvm/ok");
  bpf_program *prog = bpf_object__find_program_by_name(l.obj, "bw_path_unlink");
  bpf_link *link = bpf_program__attach_lsm(prog);
  ASSERT_NE(link, nullptr);
  int okFirst = errnoOf(unlink("/tmp/bwvm/ok"));
  int denied = errnoOf(unlink("/tmp/bwvm/nounlink"));
  bpf_link__destroy(link);
  EXPECT_EQ(okFirst, 0);
  EXPECT_EQ(denied, EPERM);
  uint32_t depth = 0, verdict = 0;
  for (uint32_t cpu = 0; cpu < ncpu; cpu++) {
    bw_state s{};
    ASSERT_EQ(bpf_map_lookup_elem(st, &cpu, &s), 0);
    depth += s.depth;
    verdict |= s.verdict;
  }
  EXPECT_EQ(depth, 2u);  // two events walked through this policy
  EXPECT_EQ(static_cast<int>(verdict), -EPERM);
}
