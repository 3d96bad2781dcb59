// 256 policies loaded at once (the requirement; the lane design allows 1,024). The bundles
// were compiled by bulwarkc at build time from tests/vm/runtime/policies/scale-policies.sh and
// are shipped as /bulwark/files/scale/scale_<iii>.bwb. Policy i denies one action on hook
// i % 3 (file.open, process.exec, net.connect). Asserts: every policy's own deny fires
// with EPERM and its event and counter name its rule; list shows all of them; unloading
// one restores only its action; unloading all leaves no policy pins, no dispatcher and no
// program in the shared prog arrays. Prints the load time and the kernel memory.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <regex>
#include <set>
#include <sys/stat.h>

#include "RuntimeVmUtil.h"

namespace bulwark::rttest {
namespace {

constexpr int kPolicies = BULWARK_SCALE_POLICIES;
const std::string kDir = "/tmp/bw-scale";

enum class Kind { Open, Exec, Connect };

// The scheme of scale-policies.sh.
struct ScalePolicy {
  std::string name, rule, hook;
  Kind kind;
  std::string path;  // Open, Exec
  int port = 0;      // Connect
};

ScalePolicy ScalePolicyOf(int i) {
  char name[16];
  std::snprintf(name, sizeof name, "scale_%03d", i);
  std::string n = std::to_string(i);
  switch (i % 3) {
  case 0: return {name, "deny_open_" + n, "file.open", Kind::Open, kDir + "/open-" + n};
  case 1: return {name, "deny_exec_" + n, "process.exec", Kind::Exec, kDir + "/exec-" + n};
  default: return {name, "deny_connect_" + n, "net.connect", Kind::Connect, "", 20000 + i};
  }
}

int ConnectErrno(int port) {
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0)
    return errno;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(uint16_t(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int rc = connect(s, reinterpret_cast<sockaddr *>(&a), sizeof a);
  int err = rc == 0 ? 0 : errno;
  close(s);
  return err;
}

// errno of the policy's action: EPERM when denied; when allowed 0 (open, exec) or the
// network's answer (nothing listens on the port).
int ActionErrno(const ScalePolicy &p) {
  switch (p.kind) {
  case Kind::Open: return guest::OpenErrno(p.path);
  case Kind::Exec: {
    auto r = guest::RunInChild([&] {
      execl(p.path.c_str(), p.path.c_str(), static_cast<char *>(nullptr));
      return errno;
    });
    return r.exited ? r.exit_code : -1;
  }
  case Kind::Connect: return ConnectErrno(p.port);
  }
  return -1;
}

bool Denied(const ScalePolicy &p) { return ActionErrno(p) == EPERM; }

double Seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// Every file under dir, relative to it.
std::vector<std::string> FilesUnder(const std::string &dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
    if (!it->is_directory())
      out.push_back(it->path().lexically_relative(dir).string());
  return out;
}

// Programs left in the shared prog arrays bw_progs_* of a pin root.
int ProgramsInSharedArrays(const PinRoot &root) {
  int n = 0;
  for (const auto &f : FilesUnder(root.path() + "/shared")) {
    if (f.rfind("bw_progs_", 0) != 0)
      continue;
    int fd = bpf_obj_get((root.path() + "/shared/" + f).c_str());
    if (fd < 0)
      continue;
    uint32_t key = 0, next = 0;
    for (uint32_t *k = nullptr; bpf_map_get_next_key(fd, k, &next) == 0; k = &key) {
      uint32_t id = 0;
      key = next;
      if (bpf_map_lookup_elem(fd, &key, &id) == 0)
        n++;
    }
    close(fd);
  }
  return n;
}

TEST(Scale, ManyPoliciesAtOnce) {
  ASSERT_TRUE(guest::InGuest());
  PinRoot root;
  std::filesystem::create_directories(kDir);
  std::vector<ScalePolicy> policies;
  for (int i = 0; i < kPolicies; i++) {
    policies.push_back(ScalePolicyOf(i));
    const auto &p = policies.back();
    if (p.kind == Kind::Open)
      guest::WriteFile(p.path, "data");
    if (p.kind == Kind::Exec) {
      guest::WriteFile(p.path, "#!/bin/sh\nexit 0\n");
      chmod(p.path.c_str(), 0755);
    }
  }
  // Before loading: nothing is denied.
  ASSERT_EQ(ActionErrno(policies[0]), 0);  // open
  ASSERT_EQ(ActionErrno(policies[1]), 0);  // exec: the script runs
  ASSERT_NE(ActionErrno(policies[2]), EPERM);  // connect

  // ---- load all of them, one `bulwark load` each ----
  std::vector<double> wallMs, verifyMs, commandMs;
  std::regex timing(R"(load\+verify ([0-9.]+) ms, switch [0-9.]+ us, total ([0-9.]+) ms)");
  auto t0 = std::chrono::steady_clock::now();
  for (const auto &p : policies) {
    auto t = std::chrono::steady_clock::now();
    auto r = Bulwark(root, {"load", guest::GuestFile("scale/" + p.name + ".bwb")});
    ASSERT_EQ(r.exit_code, 0) << p.name << ": " << r.output;
    wallMs.push_back(Seconds(t) * 1000);
    std::smatch m;
    if (std::regex_search(r.output, m, timing)) {
      verifyMs.push_back(std::stod(m[1]));
      commandMs.push_back(std::stod(m[2]));
    }
  }
  double loadAll = Seconds(t0);
  std::printf("scale: %d policies loaded in %.1f s; per `bulwark load`: median %.0f ms (max %.0f ms); inside "
              "bulwark (lock to unlock) median %.0f ms, of which open+verify+load %.0f ms\n",
              kPolicies, loadAll, Median(wallMs), *std::max_element(wallMs.begin(), wallMs.end()),
              Median(commandMs), Median(verifyMs));
  // Does a load get slower as more are loaded? Medians of the first and the last lane.
  auto lanes = [](const std::vector<double> &v) {
    size_t n = std::min<size_t>(32, v.size());
    return std::make_pair(Median({v.begin(), v.begin() + n}), Median({v.end() - n, v.end()}));
  };
  auto [wall0, wall7] = lanes(wallMs);
  auto [inside0, inside7] = lanes(commandMs);
  auto [verify0, verify7] = lanes(verifyMs);
  std::printf("scale: first 32 loads vs last 32 (medians): whole command %.0f / %.0f ms, inside bulwark %.0f / "
              "%.0f ms, open+verify+load %.0f / %.0f ms\n",
              wall0, wall7, inside0, inside7, verify0, verify7);
  for (uint32_t lane = 0; lane < uint32_t(kPolicies + 31) / 32; lane++)
    EXPECT_TRUE(Exists(root.path() + "/dispatch/file_open-" + std::to_string(lane))) << "lane " << lane;

  // ---- list and status with all of them ----
  t0 = std::chrono::steady_clock::now();
  auto l = Bulwark(root, {"list"});
  double listS = Seconds(t0);
  ASSERT_EQ(l.exit_code, 0) << l.output;
  std::regex row(R"(\nscale_[0-9]{3} )");
  auto rows = std::distance(std::sregex_iterator(l.output.begin(), l.output.end(), row), std::sregex_iterator());
  EXPECT_EQ(rows, kPolicies) << l.output;
  EXPECT_EQ(l.output.find("BROKEN"), std::string::npos) << l.output;

  t0 = std::chrono::steady_clock::now();
  auto st = Bulwark(root, {"status"});
  double statusS = Seconds(t0);
  ASSERT_EQ(st.exit_code, 0) << st.output;
  EXPECT_NE(st.output.find("policies: " + std::to_string(kPolicies) + "\n"), std::string::npos) << st.output;
  std::smatch mem, shared;
  EXPECT_TRUE(std::regex_search(st.output, mem, std::regex(R"(kernel memory \(policies\): ([^\n]+))"))) << st.output;
  EXPECT_TRUE(std::regex_search(st.output, shared, std::regex(R"(shared maps: ([0-9]+), kernel memory ([^\n]+))")))
      << st.output;
  std::printf("scale: kernel memory of %d policies: %s; shared maps: %s; `bulwark list` %.2f s, "
              "`bulwark status` %.2f s\n",
              kPolicies, mem.size() > 1 ? mem[1].str().c_str() : "?", shared.size() > 2 ? shared[2].str().c_str() : "?",
              listS, statusS);
  std::smatch one;
  if (std::regex_search(st.output, one, std::regex(R"(\n  (scale_000 [^\n]+))")))
    std::printf("scale: one policy: %s\n", one[1].str().c_str());

  // ---- every policy's own deny fires (each lane's chain reaches every policy) ----
  Bulwark(root, {"events"});  // drain what loading produced
  for (const auto &p : policies)
    EXPECT_EQ(ActionErrno(p), EPERM) << p.name << " (" << p.hook << ") did not deny";
  std::string otherFile = kDir + "/not-denied";
  guest::WriteFile(otherFile, "x");
  EXPECT_EQ(guest::OpenErrno(otherFile), 0);
  EXPECT_NE(ConnectErrno(20000 + kPolicies + 1), EPERM);

  // Each denial's event names its policy and rule.
  auto ev = Bulwark(root, {"events", "--format", "json"});
  ASSERT_EQ(ev.exit_code, 0) << ev.output;
  int missing = 0;
  for (const auto &p : policies) {
    std::string want = "\"policy\":\"" + p.name + "\",\"rule\":\"" + p.rule + "\",\"action\":\"deny\",\"hook\":\"" +
                       p.hook + "\"";
    if (ev.output.find(want) == std::string::npos && ++missing <= 5)
      ADD_FAILURE() << "no event " << want;
  }
  EXPECT_EQ(missing, 0) << ev.output.substr(0, 4000);

  // Its counter too (a sample across every lane: one `status` per policy is slow under TCG).
  for (int i = 0; i < kPolicies; i += 13) {
    const auto &p = policies[i];
    auto s = Bulwark(root, {"status", p.name});
    ASSERT_EQ(s.exit_code, 0) << s.output;
    std::smatch m;
    ASSERT_TRUE(std::regex_search(s.output, m, std::regex("\n +0 " + p.rule + " +" + p.hook + " +deny +([0-9]+)")))
        << s.output;
    EXPECT_GE(std::stoi(m[1]), 1) << s.output;
  }

  // ---- unloading one restores only its action (one of each hook, in different lanes) ----
  std::set<int> unloaded;
  for (int victim : {129, 97, 200}) {
    if (victim >= kPolicies)
      continue;
    const auto &v = policies[victim];
    auto u = Bulwark(root, {"unload", v.name});
    ASSERT_EQ(u.exit_code, 0) << u.output;
    unloaded.insert(victim);
    EXPECT_NE(ActionErrno(v), EPERM) << v.name << " still denies after its unload";
    int stillDenying = 0;
    for (int i = 0; i < kPolicies; i++)
      if (!unloaded.count(i))
        stillDenying += Denied(policies[i]);
    EXPECT_EQ(stillDenying, kPolicies - int(unloaded.size())) << "after unloading " << v.name;
  }

  // ---- unload all: nothing of any policy stays ----
  t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < kPolicies; i++)
    if (!unloaded.count(i)) {
      auto u = Bulwark(root, {"unload", policies[i].name});
      ASSERT_EQ(u.exit_code, 0) << u.output;
    }
  std::printf("scale: %d policies unloaded in %.1f s\n", kPolicies - int(unloaded.size()), Seconds(t0));
  for (int i : {0, 1, 2, kPolicies - 1})
    EXPECT_NE(ActionErrno(policies[i]), EPERM) << policies[i].name;
  // Only the shared maps stay pinned, and their prog arrays are empty; and the names of
  // policy instances (their number sequence, and the retired ones whose records are not
  // read yet: docs/events.md).
  for (const auto &f : FilesUnder(root.path()))
    EXPECT_TRUE(f.rfind("shared/", 0) == 0 || f.rfind("instances/", 0) == 0) << "left pinned: " << f;
  EXPECT_EQ(ProgramsInSharedArrays(root), 0);
  EXPECT_EQ(CountLinks("bw_"), 0) << "a Bulwark program is still attached";
  EXPECT_EQ(Bulwark(root, {"list"}).output.find("no policies loaded"), 0u);
  std::filesystem::remove_all(kDir);
}

}  // namespace
}  // namespace bulwark::rttest
