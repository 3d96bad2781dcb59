#include "Slots.h"

#include "Abi.h"

namespace bulwark::rt {

uint32_t laneOf(uint32_t slot) { return slot / kLanePolicies; }
uint32_t headIndex(uint32_t lane) { return lane; }
uint32_t nextIndex(uint32_t slot) { return kMaxLanes + slot; }
std::optional<uint32_t> slotOfIndex(uint32_t index) {
  return index < kMaxLanes ? std::nullopt : std::optional(index - kMaxLanes);
}
uint32_t laneOfIndex(uint32_t index) {
  auto slot = slotOfIndex(index);
  return slot ? laneOf(*slot) : index;
}
uint32_t progIndex(uint32_t slot, uint32_t gen) { return slot * 2 + (gen & 1); }
uint32_t slotOfProgIndex(uint32_t index) { return index / 2; }

std::optional<uint32_t> allocateSlot(const std::set<uint32_t> &used) {
  for (uint32_t s = 0; s < kMaxPolicies; s++)
    if (!used.count(s))
      return s;
  return std::nullopt;
}

std::vector<uint32_t> chainSlots(const ChainStore &s, uint32_t lane, bool *broken) {
  std::vector<uint32_t> out;
  if (broken)
    *broken = false;
  uint32_t link = s.get(headIndex(lane));
  while (link != 0) {
    uint32_t slot = link - 1;
    if (link > kMaxPolicies || laneOf(slot) != lane || out.size() >= kLanePolicies) {
      if (broken)
        *broken = true;
      break;
    }
    bool loop = false;
    for (auto x : out)
      loop |= x == slot;
    if (loop) {
      if (broken)
        *broken = true;
      break;
    }
    out.push_back(slot);
    link = s.get(nextIndex(slot));
  }
  return out;
}

bool inChain(const ChainStore &s, uint32_t slot) {
  for (auto x : chainSlots(s, laneOf(slot)))
    if (x == slot)
      return true;
  return false;
}

void linkSlot(ChainStore &s, uint32_t slot) {
  if (inChain(s, slot))
    return;
  uint32_t lane = laneOf(slot);
  s.set(nextIndex(slot), s.get(headIndex(lane)));
  s.set(headIndex(lane), slot + 1);
}

bool unlinkSlot(ChainStore &s, uint32_t slot) {
  uint32_t lane = laneOf(slot);
  uint32_t prevIndex = headIndex(lane);
  for (auto x : chainSlots(s, lane)) {
    if (x == slot) {
      s.set(prevIndex, s.get(nextIndex(slot)));
      return true;
    }
    prevIndex = nextIndex(x);
  }
  return false;
}

void clearSlot(ChainStore &s, uint32_t slot) { s.set(nextIndex(slot), 0); }

} // namespace bulwark::rt
