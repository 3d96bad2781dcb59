// The maps all policies share (bw_gen, bw_slot_mode, bw_progs_<H>, bw_next_<H>, bw_unlink_quiet), opened
// from their pins on demand, and the lane chains over bw_next_<H>.
#pragma once

#include "Bpf.h"
#include "Error.h"
#include "Hooks.h"
#include "Pins.h"
#include "Slots.h"

#include <map>
#include <string>

namespace bulwark::rt {

// Kernel-side chain store over bw_next_<H>.
class MapChain : public ChainStore {
public:
  MapChain(int fd, std::string what) : fd_(fd), what_(std::move(what)) {}
  uint32_t get(uint32_t index) const override {
    uint32_t v = 0;
    return mapLookupU32(fd_, index, &v) ? v : 0;
  }
  void set(uint32_t index, uint32_t value) override { mapUpdateU32(fd_, index, value, what_); }

private:
  int fd_;
  std::string what_;
};

// Shared maps, opened from their pins on demand.
class SharedMaps {
public:
  explicit SharedMaps(const PinLayout &pins) : pins_(pins) {}
  bool present() { return exists(pins_.sharedMap("bw_gen")); }
  int gen() { return open(genFd_, "bw_gen"); }
  // bw_slot_mode exists once an object that chains LSM hooks was loaded (kprobe-only
  // policies have no chain and do not create it).
  bool hasSlotModes() { return exists(pins_.sharedMap("bw_slot_mode")); }
  int slotMode() { return open(slotModeFd_, "bw_slot_mode"); }
  // The raw word: enum bw_slot_mode in the low bits, the instance above (bw_abi.h).
  uint32_t slotModeOf(uint32_t slot) {
    uint32_t m = 0;
    if (hasSlotModes())
      mapLookupU32(slotMode(), slot, &m);
    return m;
  }
  void setSlotMode(uint32_t slot, uint32_t mode) {
    if (hasSlotModes())
      mapUpdateU32(slotMode(), slot, mode, "bw_slot_mode");
  }
  int progs(const Hook &h) { return open(progs_[h.index], progsMapName(h)); }
  int next(const Hook &h) { return open(next_[h.index], nextMapName(h)); }
  bool hasHook(const Hook &h) { return exists(pins_.sharedMap(progsMapName(h))); }
  MapChain chain(const Hook &h) { return MapChain(next(h), nextMapName(h)); }
  // -1 when no object declared it yet (then no dispatcher reads it).
  int hint() { return exists(pins_.sharedMap("bw_hint")) ? open(hintFd_, "bw_hint") : -1; }
  // bw_progs_<H>[index] = program `fd`. On path_unlink, bw_unlink_quiet[index] also says
  // whether it decides nothing (it only forgets labels, or passes through); the mark is
  // cleared first, so it never stands for a program that decides.
  void putProgram(const Hook &h, uint32_t index, int fd, bool quiet) {
    bool marks = tellsQuiet(h);
    if (marks)
      mapUpdateU32(unlinkQuiet(), index, 0, "bw_unlink_quiet");
    mapUpdateFd(progs(h), index, fd, progsMapName(h));
    if (marks && quiet)
      mapUpdateU32(unlinkQuiet(), index, 1, "bw_unlink_quiet");
  }
  // Takes bw_progs_<H>[index] out, its quiet mark first.
  void dropProgram(const Hook &h, uint32_t index) {
    if (tellsQuiet(h) && exists(pins_.sharedMap("bw_unlink_quiet")))
      mapUpdateU32(unlinkQuiet(), index, 0, "bw_unlink_quiet");
    mapDelete(progs(h), index);
  }
  uint32_t genOf(uint32_t slot) {
    uint32_t g = 0;
    mapLookupU32(gen(), slot, &g);
    return g & 1;
  }

private:
  static bool tellsQuiet(const Hook &h) { return h.id == "FILE_UNLINK"; }
  int unlinkQuiet() { return open(unlinkQuietFd_, "bw_unlink_quiet"); }
  int open(Fd &fd, const std::string &name) {
    if (!fd) {
      auto f = openMapPin(pins_.sharedMap(name));
      if (!f)
        throw Error(Exit::Failed, "shared map " + pins_.sharedMap(name) + " is not pinned",
                    "load a policy first (the shared maps are created by the first load)");
      fd = std::move(*f);
    }
    return fd.get();
  }
  const PinLayout &pins_;
  Fd genFd_, slotModeFd_, unlinkQuietFd_, hintFd_;
  std::map<uint32_t, Fd> progs_, next_;
};

} // namespace bulwark::rt
