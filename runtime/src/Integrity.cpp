#include "Integrity.h"

#include "Abi.h"
#include "Bpf.h"
#include "Error.h"
#include "PolicyState.h"

#include <optional>

namespace bulwark::rt {

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
  for (const Hook *h : hooksOfMask(s.active.hooksMask)) {
    if (!shared.hasHook(*h))
      continue;
    std::string entry = progsMapName(*h) + "[" + std::to_string(progIndex(s.slot, s.gen)) + "]";
    std::optional<Fd> pin;
    try {
      pin = openPin(pins.prog(s.name, s.gen, *h));
    } catch (const Error &) {
    }
    auto loaded = pin ? progInfo(pin->get()) : std::nullopt;
    uint32_t id = 0;
    bool present = mapLookupU32(shared.progs(*h), progIndex(s.slot, s.gen), &id);
    if (!loaded)
      out.push_back("the pin of the " + std::string(h->name) + " program (" + pins.prog(s.name, s.gen, *h) +
                    ") is missing");
    if (!present)
      out.push_back(entry + " is empty: the " + std::string(h->name) + " program is missing");
    else if (loaded && loaded->id != id)
      out.push_back(entry + " holds program id " + std::to_string(id) + ", not the loaded " +
                    std::to_string(loaded->id));
  }
  return out;
}

} // namespace bulwark::rt
