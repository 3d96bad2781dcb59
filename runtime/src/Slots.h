// Slot allocation and lane chains (pure logic; the kernel side is a ChainStore over the
// bw_next_<H> map, tests use an in-memory one).
//
// bw_next_<H> layout (bw_abi.h): entries [0, BW_MAX_LANES) are the lane heads, entry
// BW_MAX_LANES + slot is the slot's successor; values are slot + 1, 0 ends the chain.
// Slot s belongs to lane s / BW_LANE_POLICIES, so a lane never holds more policies than
// one event may tail-call.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <vector>

namespace bulwark::rt {

class ChainStore {
public:
  virtual ~ChainStore() = default;
  virtual uint32_t get(uint32_t index) const = 0;
  virtual void set(uint32_t index, uint32_t value) = 0;
};

uint32_t laneOf(uint32_t slot);
uint32_t headIndex(uint32_t lane);
uint32_t nextIndex(uint32_t slot);
uint32_t laneOfIndex(uint32_t index);  // the lane whose chain entry `index` (a head or a next) is
std::optional<uint32_t> slotOfIndex(uint32_t index);  // the slot whose successor `index` is; none for a head
uint32_t progIndex(uint32_t slot, uint32_t gen);  // index in bw_progs_<H>
uint32_t slotOfProgIndex(uint32_t index);         // the slot whose program bw_progs_<H>[index] is

// Lowest free slot, or nullopt when all BW_MAX_POLICIES are used.
std::optional<uint32_t> allocateSlot(const std::set<uint32_t> &used);

// Slots of the lane's chain, head first. Stops at a loop or an out-of-lane entry
// (corruption) and reports it through *broken.
std::vector<uint32_t> chainSlots(const ChainStore &s, uint32_t lane, bool *broken = nullptr);
bool inChain(const ChainStore &s, uint32_t slot);

// Puts the slot at the head of its lane's chain: first its successor, then the head, so
// a walk in progress sees either the old or the new chain. No-op if already linked.
void linkSlot(ChainStore &s, uint32_t slot);
// Removes the slot with one write to its predecessor (or the head). The slot's own
// successor entry is left alone so a walk currently at the slot continues correctly;
// clear it (clearSlot) after a grace period. Returns false if the slot was not linked.
bool unlinkSlot(ChainStore &s, uint32_t slot);
void clearSlot(ChainStore &s, uint32_t slot);

} // namespace bulwark::rt
