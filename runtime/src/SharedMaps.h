// The maps all policies share (bw_gen, bw_slot_mode, bw_progs_<H>, bw_next_<H>, bw_unlink_quiet), opened
// from their pins on demand, and the lane chains over bw_next_<H>.
#pragma once

#include "Abi.h"
#include "Bpf.h"
#include "ChangeCount.h"
#include "Error.h"
#include "Hooks.h"
#include "Pins.h"
#include "Slots.h"

#include <functional>
#include <map>
#include <string>

namespace bulwark::rt {

// Kernel-side chain store over bw_next_<H>; every link it sets is a counted change, after
// which `relinked` (when given) hears of the lane it changed.
class MapChain : public ChainStore {
public:
  MapChain(int fd, std::string what, ChangeCount &changes, std::function<void(uint32_t lane)> relinked = {})
      : fd_(fd), what_(std::move(what)), changes_(changes), relinked_(std::move(relinked)) {}
  uint32_t get(uint32_t index) const override {
    uint32_t v = 0;
    return mapLookupU32(fd_, index, &v) ? v : 0;
  }
  void set(uint32_t index, uint32_t value) override {
    mapUpdateU32(fd_, index, value, what_);
    changes_.count();
    if (relinked_)
      relinked_(laneOfIndex(index));
  }

private:
  int fd_;
  std::string what_;
  ChangeCount &changes_;
  std::function<void(uint32_t)> relinked_;
};

// Shared maps, opened from their pins on demand. Every write that changes a chain (a program
// in or out, a lane link, a slot's mode, a generation) is followed by a counted change
// (ChangeCount), so an open kept as quiet under the chain before it is decided again.
class SharedMaps {
public:
  explicit SharedMaps(const PinLayout &pins) : pins_(pins), changes_(pins) {}
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
    if (!hasSlotModes())
      return;
    mapUpdateU32(slotMode(), slot, mode, "bw_slot_mode");
    changes_.count();
  }
  // bw_gen[slot] = gen: the switch. Its count needs no system call (ChangeCount::prepare ran
  // at the slot mode's write before it).
  void setGen(uint32_t slot, uint32_t gen) {
    changes_.prepare();
    mapUpdateU32(this->gen(), slot, gen, "bw_gen");
    changes_.count();
  }
  int progs(const Hook &h) { return open(progs_[h.index], progsMapName(h)); }
  int next(const Hook &h) { return open(next_[h.index], nextMapName(h)); }
  bool hasHook(const Hook &h) { return exists(pins_.sharedMap(progsMapName(h))); }
  MapChain chain(const Hook &h) {
    if (!keysOpens(h))
      return MapChain(next(h), nextMapName(h), changes_);
    return MapChain(next(h), nextMapName(h), changes_, [this, &h](uint32_t lane) { refreshOpenKeyed(h, lane); });
  }
  // -1 when no object declared it yet (then no dispatcher reads it).
  int hint() { return exists(pins_.sharedMap("bw_hint")) ? open(hintFd_, "bw_hint") : -1; }
  // bw_progs_<H>[index] = program `fd`. On path_unlink, bw_unlink_quiet[index] also says
  // whether it decides nothing (it only forgets labels, or passes through); the mark is
  // cleared first, so it never stands for a program that decides. bw_unlink_deciders counts
  // the entries that decide: up before such a program goes in, down after it went out. On
  // file_open, bw_open_keyed[index] says whether the program's decision can be quiet
  // (`canBeQuiet`), and the lane's keyed word follows (refreshOpenKeyed).
  void putProgram(const Hook &h, uint32_t index, int fd, bool quiet, bool canBeQuiet = false) {
    setOpenKeyed(h, index, false);
    bool marks = tellsQuiet(h);
    if (marks)
      countDeciders(h, 0);
    bool decided = marks && decides(h, index);
    if (marks && !quiet && !decided)
      countDeciders(h, +1);
    if (marks)
      mapUpdateU32(unlinkQuiet(), index, 0, "bw_unlink_quiet");
    mapUpdateFd(progs(h), index, fd, progsMapName(h));
    changes_.count();
    if (marks && quiet)
      mapUpdateU32(unlinkQuiet(), index, 1, "bw_unlink_quiet");
    if (marks && quiet && decided)
      countDeciders(h, -1);
    setOpenKeyed(h, index, canBeQuiet);
    refreshOpenKeyed(h, laneOf(index / 2));
  }
  // Takes bw_progs_<H>[index] out, its quiet mark first.
  void dropProgram(const Hook &h, uint32_t index) {
    setOpenKeyed(h, index, false);
    bool marks = tellsQuiet(h) && exists(pins_.sharedMap("bw_unlink_quiet"));
    if (marks)
      countDeciders(h, 0);
    bool decided = marks && decides(h, index);
    if (marks)
      mapUpdateU32(unlinkQuiet(), index, 0, "bw_unlink_quiet");
    mapDelete(progs(h), index);
    changes_.count();
    if (decided)
      countDeciders(h, -1);
    refreshOpenKeyed(h, laneOf(index / 2));
  }
  uint32_t genOf(uint32_t slot) {
    uint32_t g = 0;
    mapLookupU32(gen(), slot, &g);
    return g & 1;
  }

private:
  static bool tellsQuiet(const Hook &h) { return h.id == "FILE_UNLINK"; }
  // file_open keeps bw_open_keyed (from the maps an object declares with it).
  bool keysOpens(const Hook &h) { return h.id == "FILE_OPEN" && exists(pins_.sharedMap("bw_open_keyed")); }
  int openKeyed() { return open(openKeyedFd_, "bw_open_keyed"); }
  // bw_open_keyed[index] = `canBeQuiet` on file_open.
  void setOpenKeyed(const Hook &h, uint32_t index, bool canBeQuiet) {
    if (keysOpens(h))
      mapUpdateU32(openKeyed(), index, canBeQuiet ? 1 : 0, "bw_open_keyed");
  }
  // bw_next_FILE_OPEN[BW_NEXT_KEYED + lane]: 1 when the dispatcher keys the lane's opens: it
  // has two programs or more (a kept open skips them all), or one whose every program in the
  // prog array can be quiet (else the key would be paid on every open for nothing). A hint
  // only: an open is skipped for a key every program of the lane said was quiet, whatever
  // this word says.
  void refreshOpenKeyed(const Hook &h, uint32_t lane) {
    if (!keysOpens(h))
      return;
    auto slots = chainSlots(MapChain(next(h), nextMapName(h), changes_), lane);
    bool keyed = slots.size() >= 2 || (slots.size() == 1 && programsCanBeQuiet(h, slots[0]));
    mapUpdateU32(next(h), BW_NEXT_KEYED + lane, keyed ? 1 : 0, nextMapName(h));
  }
  // Slot `slot` holds a program of file_open, and each it holds can be quiet.
  bool programsCanBeQuiet(const Hook &h, uint32_t slot) {
    int held = 0;
    for (uint32_t gen : {0u, 1u}) {
      uint32_t id = 0, can = 0, index = progIndex(slot, gen);
      if (!mapLookupU32(progs(h), index, &id))
        continue;
      ++held;
      if (!mapLookupU32(openKeyed(), index, &can) || can != 1)
        return false;
    }
    return held > 0;
  }
  int unlinkQuiet() { return open(unlinkQuietFd_, "bw_unlink_quiet"); }
  // bw_progs_<H>[index] holds a program, and not a quiet one.
  bool decides(const Hook &h, uint32_t index) {
    uint32_t id = 0, quiet = 0;
    return mapLookupU32(progs(h), index, &id) && !(mapLookupU32(unlinkQuiet(), index, &quiet) && quiet == 1);
  }
  // Adds `delta` to bw_unlink_deciders[0] (+1 before a program that decides goes in, -1 after
  // one went out; 0 makes sure the count exists). A map never counted (created beside
  // programs already in place), or a count that would go below 0, is counted in full instead.
  // Without the map (a dispatcher object older than it) nothing: the dispatchers then walk
  // their lanes.
  void countDeciders(const Hook &h, int delta) {
    if (!exists(pins_.sharedMap("bw_unlink_deciders")))
      return;
    int fd = open(unlinkDecidersFd_, "bw_unlink_deciders");
    uint32_t n = 0, counted = 0;
    mapLookupU32(fd, 1, &counted);
    mapLookupU32(fd, 0, &n);
    if (counted == 1 && !(delta < 0 && n == 0)) {
      if (delta != 0)
        mapUpdateU32(fd, 0, n + delta, "bw_unlink_deciders");
      return;
    }
    n = 0;
    for (uint32_t i = 0; i < BW_PROG_ARRAY_SIZE; i++)
      n += decides(h, i) ? 1 : 0;
    if (delta > 0)  // the program is not in yet
      n += delta;
    mapUpdateU32(fd, 0, n, "bw_unlink_deciders");
    mapUpdateU32(fd, 1, 1, "bw_unlink_deciders");
  }
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
  ChangeCount changes_;
  Fd genFd_, slotModeFd_, unlinkQuietFd_, unlinkDecidersFd_, openKeyedFd_, hintFd_;
  std::map<uint32_t, Fd> progs_, next_;
};

} // namespace bulwark::rt
