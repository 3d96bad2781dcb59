// Slot allocation and lane chains over an in-memory bw_next_<H>.
#include "Abi.h"
#include "Slots.h"

#include <gtest/gtest.h>

#include <map>

namespace bulwark::rt {
namespace {

class FakeChain : public ChainStore {
public:
  uint32_t get(uint32_t i) const override {
    auto it = m.find(i);
    return it == m.end() ? 0 : it->second;
  }
  void set(uint32_t i, uint32_t v) override {
    writes++;
    m[i] = v;
  }
  std::map<uint32_t, uint32_t> m;
  int writes = 0;
};

TEST(Slots, IndexesFollowTheAbi) {
  EXPECT_EQ(laneOf(0), 0u);
  EXPECT_EQ(laneOf(31), 0u);
  EXPECT_EQ(laneOf(32), 1u);
  EXPECT_EQ(laneOf(BW_MAX_POLICIES - 1), BW_MAX_LANES - 1);
  EXPECT_EQ(headIndex(3), 3u);
  EXPECT_EQ(nextIndex(0), uint32_t(BW_MAX_LANES));
  EXPECT_EQ(slotOfIndex(nextIndex(40)), 40u);
  EXPECT_EQ(slotOfIndex(headIndex(3)), std::nullopt);
  EXPECT_EQ(laneOfIndex(nextIndex(40)), laneOf(40));
  EXPECT_EQ(progIndex(5, 0), 10u);
  EXPECT_EQ(progIndex(5, 1), 11u);
  EXPECT_EQ(progIndex(5, 3), 11u);  // generation is one bit
  EXPECT_EQ(slotOfProgIndex(progIndex(5, 0)), 5u);
  EXPECT_EQ(slotOfProgIndex(progIndex(5, 1)), 5u);
  EXPECT_LE(BW_LANE_POLICIES + 1, 33) << "dispatcher + a full lane must fit the tail call limit";
}

TEST(Slots, AllocatesLowestFree) {
  EXPECT_EQ(allocateSlot({}), 0u);
  EXPECT_EQ(allocateSlot({0, 1, 3}), 2u);
  std::set<uint32_t> all;
  for (uint32_t i = 0; i < BW_MAX_POLICIES; i++)
    all.insert(i);
  EXPECT_FALSE(allocateSlot(all).has_value());
  all.erase(700);
  EXPECT_EQ(allocateSlot(all), 700u);
}

TEST(Slots, LinkPrependsAndIsIdempotent) {
  FakeChain c;
  linkSlot(c, 0);
  linkSlot(c, 1);
  linkSlot(c, 2);
  EXPECT_EQ(chainSlots(c, 0), (std::vector<uint32_t>{2, 1, 0}));
  int w = c.writes;
  linkSlot(c, 1);
  EXPECT_EQ(c.writes, w);
  EXPECT_EQ(chainSlots(c, 0), (std::vector<uint32_t>{2, 1, 0}));
  EXPECT_TRUE(inChain(c, 0));
  EXPECT_FALSE(inChain(c, 3));
}

TEST(Slots, LinkWritesSuccessorBeforeHead) {
  // A walk that reads the head after the first write must still see a valid chain.
  FakeChain c;
  linkSlot(c, 0);
  struct Recorder : FakeChain {
    std::vector<std::pair<uint32_t, uint32_t>> log;
    void set(uint32_t i, uint32_t v) override {
      log.push_back({i, v});
      FakeChain::set(i, v);
    }
  } r;
  r.m = c.m;
  linkSlot(r, 1);
  ASSERT_EQ(r.log.size(), 2u);
  EXPECT_EQ(r.log[0], std::make_pair(nextIndex(1), 1u));  // 1 → 0 (value slot+1)
  EXPECT_EQ(r.log[1], std::make_pair(headIndex(0), 2u));  // head → 1
}

TEST(Slots, UnlinkIsOneWriteAnywhereInTheChain) {
  for (uint32_t victim : {0u, 1u, 2u}) {
    FakeChain c;
    for (uint32_t s : {0u, 1u, 2u})
      linkSlot(c, s);
    int w = c.writes;
    EXPECT_TRUE(unlinkSlot(c, victim));
    EXPECT_EQ(c.writes, w + 1);
    auto rest = chainSlots(c, 0);
    EXPECT_EQ(rest.size(), 2u);
    for (auto s : rest)
      EXPECT_NE(s, victim);
    // The removed slot still points on, for a walk that is at it right now.
    if (victim != 0) {
      EXPECT_NE(c.get(nextIndex(victim)), 0u);
    }
    clearSlot(c, victim);
    EXPECT_EQ(c.get(nextIndex(victim)), 0u);
  }
  FakeChain empty;
  EXPECT_FALSE(unlinkSlot(empty, 4));
}

TEST(Slots, LanesAreIndependent) {
  FakeChain c;
  linkSlot(c, 1);
  linkSlot(c, 33);
  linkSlot(c, 40);
  EXPECT_EQ(chainSlots(c, 0), (std::vector<uint32_t>{1}));
  EXPECT_EQ(chainSlots(c, 1), (std::vector<uint32_t>{40, 33}));
  EXPECT_TRUE(unlinkSlot(c, 33));
  EXPECT_EQ(chainSlots(c, 1), (std::vector<uint32_t>{40}));
  EXPECT_EQ(chainSlots(c, 0), (std::vector<uint32_t>{1}));
}

TEST(Slots, CorruptChainsAreDetected) {
  FakeChain loop;
  loop.m[headIndex(0)] = 1;       // slot 0
  loop.m[nextIndex(0)] = 2;       // → slot 1
  loop.m[nextIndex(1)] = 1;       // → slot 0 again
  bool broken = false;
  EXPECT_EQ(chainSlots(loop, 0, &broken), (std::vector<uint32_t>{0, 1}));
  EXPECT_TRUE(broken);
  FakeChain foreign;
  foreign.m[headIndex(0)] = 40;   // slot 39 is in lane 1
  chainSlots(foreign, 0, &broken);
  EXPECT_TRUE(broken);
}

}  // namespace
}  // namespace bulwark::rt
