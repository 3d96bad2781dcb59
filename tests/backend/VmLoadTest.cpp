// Runs in the run-vm guest (6.1): the compiled file.open bundle loads through the real
// verifier and, attached directly (standalone: no dispatcher, lane unset), denies open()
// of the files its rules name with EPERM while other files open.
#include "Bundle.h"
#include "GuestUtil.h"
#include "bw_abi.h"
#include "bw_event.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>
#include <sys/mount.h>

#include <cstdio>
#include <map>

namespace {

const char *kBundle = "/bulwark/files/vmtest.bwb";

struct Loaded {
  bpf_object *obj = nullptr;
  bpf_link *link = nullptr;
  std::string log;
  ~Loaded() {
    if (link)
      bpf_link__destroy(link);
    if (obj)
      bpf_object__close(obj);
  }
};

std::string g_log;
int printFn(enum libbpf_print_level, const char *fmt, va_list ap) {
  char buf[4096];
  vsnprintf(buf, sizeof buf, fmt, ap);
  g_log += buf;
  return 0;
}

int openErrno(const std::string &path, int flags = O_RDONLY) {
  int fd = open(path.c_str(), flags, 0644);
  if (fd < 0)
    return errno;
  close(fd);
  return 0;
}

void load(Loaded &l, bulwark::bundle::Bundle &b) {
  std::string err;
  ASSERT_TRUE(bulwark::bundle::readBundle(kBundle, b, &err)) << err;
  mkdir("/sys/fs/bpf/bwtest", 0700);
  LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = "vmtest",
              .pin_root_path = "/sys/fs/bpf/bwtest");
  l.obj = bpf_object__open_mem(b.object.data(), b.object.size(), &opts);
  ASSERT_NE(l.obj, nullptr) << "open: " << std::strerror(errno);
  for (const auto &m : b.manifest.maps) {
    bpf_map *map = bpf_object__find_map_by_name(l.obj, m.name.c_str());
    ASSERT_NE(map, nullptr) << m.name;
    uint32_t n = m.maxEntries ? m.maxEntries : static_cast<uint32_t>(libbpf_num_possible_cpus());
    ASSERT_EQ(bpf_map__set_max_entries(map, n), 0) << m.name;
  }
  bpf_program *p;
  bpf_object__for_each_program(p, l.obj) bpf_program__set_log_level(p, 4 /* stats */);
  g_log.clear();
  libbpf_set_print(printFn);
  int rc = bpf_object__load(l.obj);
  ASSERT_EQ(rc, 0) << "load failed: " << rc << "\n" << g_log.substr(g_log.size() > 20000 ? g_log.size() - 20000 : 0);
  for (const auto &m : b.manifest.maps) {
    if (m.data.empty())
      continue;
    int fd = bpf_map__fd(bpf_object__find_map_by_name(l.obj, m.name.c_str()));
    const auto &bytes = b.mapData[m.data];
    size_t rec = m.keySize + m.valueSize;
    for (size_t off = 0; off + rec <= bytes.size(); off += rec)
      ASSERT_EQ(bpf_map_update_elem(fd, bytes.data() + off, bytes.data() + off + m.keySize, 0), 0)
          << m.name << ": " << std::strerror(errno);
  }
}

} // namespace

TEST(BackendVm, FileOpenBundleLoadsAndDenies) {
  if (!bulwark::guest::InGuest())
    GTEST_SKIP() << "needs the run-vm guest";
  Loaded l;
  bulwark::bundle::Bundle b;
  ASSERT_NO_FATAL_FAILURE(load(l, b));
  bpf_program *prog = bpf_object__find_program_by_name(l.obj, "bw_file_open");
  ASSERT_NE(prog, nullptr);
  bpf_prog_info info{};
  uint32_t len = sizeof(info);
  ASSERT_EQ(bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len), 0);
  std::printf("verifier: bw_file_open verified_insns=%u xlated=%u bytes, object %zu bytes\n",
              info.verified_insns, info.xlated_prog_len, b.object.size());
  auto pos = g_log.find("processed ");
  if (pos != std::string::npos)
    std::printf("verifier log: %s\n", g_log.substr(pos, g_log.find('\n', pos) - pos).c_str());

  mkdir("/tmp/bwvm", 0755);
  mkdir("/tmp/bwvm/secret", 0755);
  mkdir("/tmp/bwvm/a", 0755);
  mkdir("/tmp/bwvm/a/b", 0755);
  for (const char *f : {"/tmp/bwvm/denied.txt", "/tmp/bwvm/allowed.txt", "/tmp/bwvm/secret/x",
                        "/tmp/bwvm/a/b/c.key", "/tmp/bwvm/a/b/c.txt", "/tmp/bwvm/db.lock"})
    bulwark::guest::WriteFile(f, "x");

  l.link = bpf_program__attach_lsm(prog);
  ASSERT_NE(l.link, nullptr) << std::strerror(errno);
  int denied = openErrno("/tmp/bwvm/denied.txt");
  int allowed = openErrno("/tmp/bwvm/allowed.txt");
  int secret = openErrno("/tmp/bwvm/secret/x");
  int key = openErrno("/tmp/bwvm/a/b/c.key");
  int txt = openErrno("/tmp/bwvm/a/b/c.txt");
  int lockRead = openErrno("/tmp/bwvm/db.lock", O_RDONLY);
  int lockWrite = openErrno("/tmp/bwvm/db.lock", O_WRONLY);
  bpf_link__destroy(l.link);
  l.link = nullptr;
  EXPECT_EQ(denied, EPERM);
  EXPECT_EQ(allowed, 0);
  EXPECT_EQ(secret, EPERM);
  EXPECT_EQ(key, EPERM);
  EXPECT_EQ(txt, 0);
  EXPECT_EQ(lockRead, 0);
  EXPECT_EQ(lockWrite, EPERM);
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
