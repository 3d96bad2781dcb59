// The leading bytes a view string must start with to be looked up (Identity.h viewHeads,
// bw_cfg_view_head, abi/rodata.def and bpf/lib/bw_identity.h): every listed path passes, others mostly do not.
#include "Identity.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

using bulwark::rt::viewHeads;

namespace {

// What the BPF gate does with the first 8 bytes of a NUL-terminated string.
bool passes(const std::string &s, const uint64_t (&head)[BW_VIEW_HEADS], const uint64_t (&mask)[BW_VIEW_HEADS]) {
  char buf[8] = {};
  std::memcpy(buf, s.c_str(), std::min<size_t>(8, s.size() + 1));
  uint64_t w;
  std::memcpy(&w, buf, 8);
  for (int j = 0; j < BW_VIEW_HEADS; ++j)
    if ((w & mask[j]) == head[j])
      return true;
  return false;
}

} // namespace

TEST(ViewHeads, EveryPathAndWhatExtendsItPassesOthersDoNot) {
  std::vector<std::string> paths = {"/etc/ssh/ssh_host_rsa_key", "/etc/ssh/ssh_host_ed25519_key",
                                    "/root/.aws/credentials", "/root/.kube/config", "/a"};
  uint64_t head[BW_VIEW_HEADS], mask[BW_VIEW_HEADS];
  viewHeads(paths, head, mask);
  for (const auto &p : paths) {
    EXPECT_TRUE(passes(p, head, mask)) << p;
    EXPECT_TRUE(passes(p + "/below", head, mask)) << p;
  }
  for (const char *other : {"/tmp/bwb/t/f00001", "/etc/passwd", "/root/.bashrc", "/usr/bin/cat", ""})
    EXPECT_FALSE(passes(other, head, mask)) << other;
}

TEST(ViewHeads, ManyDifferentPathsShortenTheHeadsUntilFourRemain) {
  std::vector<std::string> paths = {"/srv/a1/x", "/srv/b2/x", "/srv/c3/x", "/srv/d4/x", "/srv/e5/x", "/opt/z"};
  uint64_t head[BW_VIEW_HEADS], mask[BW_VIEW_HEADS];
  viewHeads(paths, head, mask);
  for (const auto &p : paths)
    EXPECT_TRUE(passes(p, head, mask)) << p;
  EXPECT_TRUE(passes("/srv/q9/y", head, mask));  // the shorter head "/srv/" covers it
  EXPECT_FALSE(passes("/tmp/x", head, mask));
}

TEST(ViewHeads, NoPathsLetsEveryStringThrough) {
  uint64_t head[BW_VIEW_HEADS], mask[BW_VIEW_HEADS];
  viewHeads({}, head, mask);
  EXPECT_TRUE(passes("/anything", head, mask));
}

// The heads of every view group together (bw_cfg_view_any_*) are compared first, once per
// policy: a string any group's own heads let through must pass them too, whatever the groups.
TEST(ViewHeads, TheHeadsOfAllGroupsTogetherPassWhatAnyGroupPasses) {
  std::mt19937 rng(20261205);
  const std::vector<std::string> parts = {"/", "e", "et", "etc", "root", ".ssh", "s", "sh", "var", "tmp", "x", "/r"};
  auto randomPath = [&](size_t maxParts) {
    std::string p;
    for (size_t n = 1 + rng() % maxParts; n > 0; --n)
      p += parts[rng() % parts.size()];
    return p;
  };
  int ruledOut = 0;
  for (int round = 0; round < 300; ++round) {
    std::vector<std::vector<std::string>> groups(1 + rng() % 5);
    std::vector<std::string> all;
    for (auto &g : groups) {
      for (size_t n = 1 + rng() % 6; n > 0; --n)
        g.push_back(randomPath(6));
      all.insert(all.end(), g.begin(), g.end());
    }
    uint64_t anyHead[BW_VIEW_HEADS], anyMask[BW_VIEW_HEADS];
    viewHeads(all, anyHead, anyMask);
    for (const auto &g : groups) {
      uint64_t head[BW_VIEW_HEADS], mask[BW_VIEW_HEADS];
      viewHeads(g, head, mask);
      std::vector<std::string> strings = g;
      for (const auto &p : g)
        strings.push_back(p + randomPath(3));
      for (int k = 0; k < 50; ++k)
        strings.push_back(randomPath(8));
      for (const auto &s : strings) {
        if (passes(s, head, mask)) {
          ASSERT_TRUE(passes(s, anyHead, anyMask)) << s << " (round " << round << ")";
        }
        ruledOut += !passes(s, anyHead, anyMask);
      }
    }
  }
  EXPECT_GT(ruledOut, 1000);  // the heads together still rule strings out
}
