#include "Integrity.h"

#include "Abi.h"
#include "Bpf.h"
#include "Error.h"
#include "PolicyState.h"
#include "Scope.h"
#include "Slots.h"

#include <cstring>
#include <optional>

namespace bulwark::rt {
namespace {

// The prog-array entry of hook h at slot*2+gen holds the program pinned for it.
void checkProgramEntry(const PinLayout &pins, SharedMaps &shared, const std::string &policy, uint32_t slot,
                       uint32_t gen, const Hook &h, std::vector<std::string> &out) {
  std::string entry = progsMapName(h) + "[" + std::to_string(progIndex(slot, gen)) + "]";
  std::optional<Fd> pin;
  try {
    pin = openPin(pins.prog(policy, gen, h));
  } catch (const Error &) {
  }
  auto loaded = pin ? progInfo(pin->get()) : std::nullopt;
  uint32_t id = 0;
  bool present = mapLookupU32(shared.progs(h), progIndex(slot, gen), &id);
  if (!loaded)
    out.push_back("the pin of the " + std::string(h.name) + " program (" + pins.prog(policy, gen, h) + ") is missing");
  if (!present)
    out.push_back(entry + " is empty: the " + std::string(h.name) + " program is missing");
  else if (loaded && loaded->id != id)
    out.push_back(entry + " holds program id " + std::to_string(id) + ", not the loaded " + std::to_string(loaded->id));
}

// The bw_slot_scope entry of the active generation: one that passes over the policy outside
// cgroups other than those it was loaded with would skip its decisions there. An entry that is
// not a cgroup scope never passes over anything (the program tests its own scope).
void checkSlotScope(const PinLayout &pins, SharedMaps &shared, const PolicySummary &s, std::vector<std::string> &out) {
  uint32_t index = progIndex(s.slot, s.gen);
  auto got = shared.slotScope(index);
  if (!got || got->kind != BW_SLOT_SCOPE_CGROUP)
    return;
  bw_slot_scope want = slotScopeOf(readScopeRecords(pins, s.name, s.gen));
  if (std::memcmp(&*got, &want, sizeof want) != 0)
    out.push_back("bw_slot_scope[" + std::to_string(index) + "] passes over the policy outside " +
                  std::to_string(got->count) + " cgroup(s) it was not loaded with");
}

} // namespace

std::vector<std::string> checkWiring(const PinLayout &pins, SharedMaps &shared, const PolicySummary &s) {
  std::vector<std::string> out;
  std::string slot = std::to_string(s.slot);
  uint32_t raw = 0;
  mapLookupU32(shared.gen(), s.slot, &raw);
  if (raw > 1)
    out.push_back("bw_gen[" + slot + "] is " + std::to_string(raw) + ", not a generation");
  if (s.active.valid != 1)
    return out;  // an interrupted first load: a problem, not tampering
  if (!exists(pins.genDir(s.name, s.gen))) {
    out.push_back("bw_gen[" + slot + "] points at generation " + std::to_string(s.gen) +
                  ", which holds no loaded version");
    return out;  // nothing below can match
  }
  uint32_t wantMode = s.active.mode == BW_MODE_AUDIT ? BW_SLOT_AUDIT : BW_SLOT_ENFORCE;
  // (An interrupted unload clears the mode before it is done: its problems say so.)
  if (s.problems.empty() && !hooksOfMask(s.active.hooksMask).empty() && shared.hasSlotModes()) {
    uint32_t word = shared.slotModeOf(s.slot);
    if ((word & BW_SLOT_MODE_MASK) != wantMode)
      out.push_back("bw_slot_mode[" + slot + "] is " + std::to_string(word & BW_SLOT_MODE_MASK) + ", loaded " +
                    std::to_string(wantMode));
    else if (s.active.instance && word >> BW_SLOT_MODE_BITS != s.active.instance)
      out.push_back("bw_slot_mode[" + slot + "] names instance " + std::to_string(word >> BW_SLOT_MODE_BITS) +
                    ", loaded instance " + std::to_string(s.active.instance));
  }
  for (const Hook *h : hooksOfMask(s.active.hooksMask))
    if (shared.hasHook(*h))
      checkProgramEntry(pins, shared, s.name, s.slot, s.gen, *h, out);
  checkSlotScope(pins, shared, s, out);
  return out;
}

std::vector<std::string> checkStaged(const PinLayout &pins, SharedMaps &shared, const PolicyState &st, uint32_t cur) {
  std::vector<std::string> out;
  uint32_t slot = st.header.slot, next = cur ^ 1;
  const StateRecord &staged = st.gens[next];
  uint64_t curMask = st.gens[cur].valid == kGenLoaded ? st.gens[cur].hooksMask : 0;
  if (!exists(pins.genDir(st.name, next))) {
    out.push_back("its directory " + pins.genDir(st.name, next) + " is missing");
    return out;
  }
  if (!exists(pins.rules(st.name, next)))
    out.push_back("its rule table " + pins.rules(st.name, next) + " is missing");
  for (const Hook *h : hooksOfMask(staged.hooksMask | curMask)) {
    if (!shared.hasHook(*h)) {
      out.push_back("the shared maps of " + std::string(h->name) + " are missing");
      continue;
    }
    if ((staged.hooksMask >> h->index) & 1)
      checkProgramEntry(pins, shared, st.name, slot, next, *h, out);
    else if (uint32_t id = 0; !mapLookupU32(shared.progs(*h), progIndex(slot, next), &id))
      out.push_back(progsMapName(*h) + "[" + std::to_string(progIndex(slot, next)) + "] is empty: the pass-through of " +
                    std::string(h->name) + " is missing");
    if (!inChain(shared.chain(*h), slot))
      out.push_back(std::string(h->name) + " is not linked into lane " + std::to_string(laneOf(slot)));
    if (!exists(pins.dispatcher(*h, laneOf(slot))))
      out.push_back("no dispatcher for " + std::string(h->name) + " in lane " + std::to_string(laneOf(slot)));
  }
  return out;
}

} // namespace bulwark::rt
