// `status` counts a policy's kernel memory from what the kernel reports for each of its
// objects: the parts it prints are compared with the fdinfo memlock and bpf_prog_info of the
// pinned maps and programs, read here directly (unguarded, so this process may open them).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>

#include "RuntimeVmUtil.h"

namespace bulwark::rttest {
namespace {

// A "name:" line of /proc/self/fdinfo/<fd>, or "" if there is none.
std::string FdInfo(int fd, const std::string &name) {
  std::ifstream in("/proc/self/fdinfo/" + std::to_string(fd));
  for (std::string line; std::getline(in, line);)
    if (line.rfind(name + ":", 0) == 0)
      return line.substr(name.size() + 1);
  return "";
}

uint64_t FdMemlock(int fd) { return std::strtoull(FdInfo(fd, "memlock").c_str(), nullptr, 10); }

uint64_t MemAvailableKiB() {
  std::ifstream in("/proc/meminfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("MemAvailable:", 0) == 0)
      return std::strtoull(line.c_str() + 13, nullptr, 10);
  return 0;
}

// What the kernel says about the pinned maps and programs under a directory (and extra pins).
struct Counted {
  uint64_t maps = 0, programs = 0, jit = 0;
};

void CountPin(const std::string &path, Counted &c, std::set<__u32> &progs) {
  int fd = bpf_obj_get(path.c_str());
  if (fd < 0)
    return;
  bpf_prog_info pi{};
  __u32 len = sizeof pi;
  if (!FdInfo(fd, "map_type").empty()) {
    c.maps += FdMemlock(fd);
  } else if (!FdInfo(fd, "prog_type").empty() && bpf_obj_get_info_by_fd(fd, &pi, &len) == 0 &&
             progs.insert(pi.id).second) {
    c.programs += FdMemlock(fd);
    c.jit += (pi.jited_prog_len + 63) / 64 * 64;
  }
  close(fd);
}

uint64_t Part(const std::string &json, const std::string &key) {
  std::smatch m;
  if (!std::regex_search(json, m, std::regex("\"" + key + "\":([0-9]+)")))
    return ~0ull;
  return std::stoull(m[1]);
}

TEST(Memory, StatusCountsWhatTheKernelReportsForEachObject) {
  ASSERT_TRUE(guest::InGuest());
  setenv("BULWARK_TEST_UNGUARDED", "1", 1);
  TempDir tmp;
  PinRoot root;
  std::string a = tmp.CreateFile("a");
  BundleSpec v1;
  v1.deny = {IdOf(a)};
  for (uint64_t i = 0; i < 500; ++i)  // enough entries that the hash map's layout shows
    v1.deny.push_back(FileId{IdOf(a).dev, 1000000 + i});
  uint64_t before = MemAvailableKiB();
  auto r = Bulwark(root, {"load", MakeBundle(tmp.path(), v1)});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  uint64_t after = MemAvailableKiB();

  auto st = Bulwark(root, {"status", "deny-test", "--format", "json"});
  ASSERT_EQ(st.exit_code, 0) << st.output;
  const std::string &j = st.output;
  uint64_t instance = Part(j, "instance");
  Counted c;
  std::set<__u32> progs;
  for (const auto &e : std::filesystem::recursive_directory_iterator(root.path() + "/deny-test"))
    if (!e.is_directory())
      CountPin(e.path().string(), c, progs);
  CountPin(root.path() + "/instances/" + std::to_string(instance), c, progs);

  EXPECT_EQ(Part(j, "maps"), c.maps) << j;
  EXPECT_EQ(Part(j, "programs"), c.programs) << j;
  EXPECT_EQ(Part(j, "jit"), c.jit) << j;
  EXPECT_GT(c.jit, 0u);
  EXPECT_GT(Part(j, "btf"), 0u) << "the object's BTF is loaded with it: " << j;
  uint64_t total = Part(j, "kernel_memory");
  EXPECT_EQ(total, Part(j, "maps") + Part(j, "map_layout") + Part(j, "programs") + Part(j, "jit") +
                       Part(j, "debug_info") + Part(j, "btf"))
      << j;
  // The hash map's 517 elements hold more than (key + value) x entries on 6.1.
  EXPECT_GT(Part(j, "map_layout"), 0u) << j;
  EXPECT_GT(total, c.maps + c.programs) << "more than the memlock alone that status reported before";
  std::printf("memory: status %llu B (memlock of maps and programs alone %llu B); MemAvailable fell by %lld KiB "
              "during the load\n",
              (unsigned long long)total, (unsigned long long)(c.maps + c.programs),
              (long long)before - (long long)after);
  auto text = Bulwark(root, {"status", "deny-test"});
  EXPECT_NE(text.output.find("not counted:"), std::string::npos) << text.output;
  EXPECT_NE(text.output.find("JIT images"), std::string::npos) << text.output;
  ASSERT_EQ(Bulwark(root, {"unload", "deny-test"}).exit_code, 0);
  unsetenv("BULWARK_TEST_UNGUARDED");
}

}  // namespace
}  // namespace bulwark::rttest
