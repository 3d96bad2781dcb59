// Atomic hot swap: two versions of one policy (v1 denies A, v2 denies B; both deny C;
// neither denies D) are swapped 100 times while a child process keeps opening the files.
// Every open whose whole duration falls between two swaps must match the version loaded
// then; C must never be allowed and D never denied, also while a swap is in flight.
#include <gtest/gtest.h>
#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <regex>

#include "RuntimeVmUtil.h"

namespace bulwark::rttest {
namespace {

// The swap sequence the parent publishes and what the child observes, in memory both map.
struct SwapObservations {
  std::atomic<uint64_t> seq;   // odd while a swap is in progress; version = (seq / 2) % 2
  std::atomic<int> stop;
  // results written by the child
  std::atomic<uint64_t> observations, stable, mismatches, gapC, spuriousD, otherErrno;
  std::atomic<uint64_t> sawA, sawB;  // stable observations under v1 / v2
  std::atomic<uint64_t> denials;     // opens that returned EPERM: each is one hit of deny-protected
};

// Hits of rule 0 (deny-protected) in `bulwark status deny-test`; -1 if the row is missing.
long long DenyHits(const PinRoot &root) {
  auto st = Bulwark(root, {"status", "deny-test"});
  std::smatch m;
  if (!std::regex_search(st.output, m, std::regex(R"(\n +0 deny-protected +file\.open +deny +([0-9]+))")))
    return -1;
  return std::stoll(m[1]);
}

TEST(HotSwap, HundredSwapsUnderLoadNeverMixVersions) {
  ASSERT_TRUE(guest::InGuest());
  TempDir tmp;
  PinRoot root;
  std::string a = tmp.CreateFile("a"), b = tmp.CreateFile("b"), c = tmp.CreateFile("c"), d = tmp.CreateFile("d");
  BundleSpec v1, v2;
  v1.deny = {IdOf(a), IdOf(c)};
  v2.deny = {IdOf(b), IdOf(c)};
  v1.digest = "v1";
  v2.digest = "v2";
  std::string b1 = MakeBundle(tmp.path(), v1, "v1.bwb");
  std::string b2 = MakeBundle(tmp.path(), v2, "v2.bwb");

  auto *sh = static_cast<SwapObservations *>(mmap(nullptr, sizeof(SwapObservations), PROT_READ | PROT_WRITE,
                                                 MAP_SHARED | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(sh, MAP_FAILED);
  new (sh) SwapObservations{};

  auto r = Bulwark(root, {"load", b1});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  sh->seq = 0;  // even: v1 (version index 0)

  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    while (!sh->stop.load()) {
      uint64_t s1 = sh->seq.load();
      int ea = guest::OpenErrno(a), eb = guest::OpenErrno(b), ec = guest::OpenErrno(c), ed = guest::OpenErrno(d);
      uint64_t s2 = sh->seq.load();
      sh->observations++;
      for (int e : {ea, eb, ec, ed}) {
        if (e != 0 && e != EPERM)
          sh->otherErrno++;
        if (e == EPERM)
          sh->denials++;
      }
      if (ec != EPERM)
        sh->gapC++;
      if (ed != 0)
        sh->spuriousD++;
      if (s1 == s2 && s1 % 2 == 0) {
        sh->stable++;
        bool v1Loaded = (s1 / 2) % 2 == 0;
        bool ok = v1Loaded ? (ea == EPERM && eb == 0) : (ea == 0 && eb == EPERM);
        if (!ok)
          sh->mismatches++;
        (v1Loaded ? sh->sawA : sh->sawB)++;
      }
    }
    _exit(0);
  }

  std::vector<double> switchUs, totalMs;
  std::regex timing(R"(switch ([0-9.]+) us, total ([0-9.]+) ms)");
  int failures = 0;
  for (int i = 0; i < 100; i++) {
    sh->seq++;  // odd: swapping
    auto s = Bulwark(root, {"load", i % 2 == 0 ? b2 : b1});
    sh->seq++;  // even again; the new version is loaded
    if (s.exit_code != 0) {
      ADD_FAILURE() << "swap " << i << ": " << s.output;
      if (++failures > 3)
        break;
      continue;
    }
    std::smatch m;
    if (std::regex_search(s.output, m, timing)) {
      switchUs.push_back(std::stod(m[1]));
      totalMs.push_back(std::stod(m[2]));
    }
    // Let the child observe the stable version for a moment.
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  sh->stop = 1;
  int status = 0;
  waitpid(child, &status, 0);

  std::printf("hot swap: %llu observations, %llu stable (v1 %llu, v2 %llu)\n",
              (unsigned long long)sh->observations.load(), (unsigned long long)sh->stable.load(),
              (unsigned long long)sh->sawA.load(), (unsigned long long)sh->sawB.load());
  if (!switchUs.empty()) {
    std::sort(switchUs.begin(), switchUs.end());
    std::sort(totalMs.begin(), totalMs.end());
    std::printf("hot swap timing over %zu swaps: bw_gen switch median %.1f us (max %.1f us); "
                "whole load command median %.1f ms (min %.1f, max %.1f)\n",
                switchUs.size(), switchUs[switchUs.size() / 2], switchUs.back(), totalMs[totalMs.size() / 2],
                totalMs.front(), totalMs.back());
  }
  EXPECT_EQ(sh->mismatches.load(), 0u) << "an open between swaps did not match the loaded version";
  EXPECT_EQ(sh->gapC.load(), 0u) << "C (denied by both versions) was allowed during a swap";
  EXPECT_EQ(sh->spuriousD.load(), 0u) << "D (denied by no version) was denied";
  EXPECT_EQ(sh->otherErrno.load(), 0u);
  EXPECT_GT(sh->sawA.load(), 0u);
  EXPECT_GT(sh->sawB.load(), 0u);

  // 100 swaps end on v1 (the last, i = 99, loads b1).
  EXPECT_EQ(guest::OpenErrno(a), EPERM);
  EXPECT_EQ(guest::OpenErrno(b), 0);
  // The rule's counter continued across all 100 swaps: every denial counted exactly once
  // (no count lost with a replaced generation, none carried twice).
  uint64_t denials = sh->denials.load() + 1;  // + the open of a just above
  std::printf("hot swap: %llu denials by deny-protected over 100 swaps\n", (unsigned long long)denials);
  EXPECT_GT(sh->denials.load(), 100u);
  EXPECT_EQ(DenyHits(root), (long long)denials);
  auto st = Bulwark(root, {"status", "deny-test"});
  EXPECT_EQ(st.exit_code, 0) << st.output;
  EXPECT_NE(st.output.find("source digest v1"), std::string::npos) << st.output;
  // Only the enforcing generation is pinned after a swap.
  int gens = Exists(root.path() + "/deny-test/gen0") + Exists(root.path() + "/deny-test/gen1");
  EXPECT_EQ(gens, 1);
  auto u = Bulwark(root, {"unload", "deny-test"});
  EXPECT_EQ(u.exit_code, 0) << u.output;
  EXPECT_EQ(guest::OpenErrno(c), 0);
  munmap(sh, sizeof(SwapObservations));
}

}  // namespace
}  // namespace bulwark::rttest
