// The leading bytes a view string must start with to be looked up (Identity.h viewHeads,
// bw_cfg_view_head, abi/rodata.def and bpf/lib/bw_identity.h): every listed path passes, others mostly do not.
#include "Identity.h"

#include <gtest/gtest.h>

#include <cstring>
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
