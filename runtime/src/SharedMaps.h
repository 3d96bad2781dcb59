// The maps all policies share (bw_gen, bw_slot_mode, bw_slot_scope, bw_progs_<H>, bw_next_<H>, bw_unlink_quiet), opened
// from their pins on demand, and the lane chains over bw_next_<H>.
#pragma once

#include "Abi.h"
#include "Bpf.h"
#include "ChangeCount.h"
#include "Error.h"
#include "Hooks.h"
#include "Pins.h"
#include "Slots.h"

#include <bpf/bpf.h>

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <string>

namespace bulwark::rt {

// Kernel-side chain store over bw_next_<H>; every link it sets is a counted change, after
// which `relinked` (when given) hears of the entry it set.
class MapChain : public ChainStore {
public:
  MapChain(int fd, std::string what, ChangeCount &changes, std::function<void(uint32_t index)> relinked = {})
      : fd_(fd), what_(std::move(what)), changes_(changes), relinked_(std::move(relinked)) {}
  uint32_t get(uint32_t index) const override {
    uint32_t v = 0;
    return mapLookupU32(fd_, index, &v) ? v : 0;
  }
  void set(uint32_t index, uint32_t value) override {
    mapUpdateU32(fd_, index, value, what_);
    changes_.count();
    if (relinked_)
      relinked_(index);
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
    if (!keysQuiet(h))
      return MapChain(next(h), nextMapName(h), changes_);
    // the slot whose successor is set is about to be linked, or stays: counted in its lane
    return MapChain(next(h), nextMapName(h), changes_, [this, &h](uint32_t index) {
      refreshKeyed(laneOfIndex(index), h, slotOfIndex(index));
    });
  }
  // -1 when no object declared it yet (then no dispatcher reads it).
  int hint() { return exists(pins_.sharedMap("bw_hint")) ? open(hintFd_, "bw_hint") : -1; }
  // bw_progs_<H>[index] = program `fd`. On path_unlink, bw_unlink_quiet[index] also says
  // whether it decides nothing (it only forgets labels, or passes through); the mark is
  // cleared first, so it never stands for a program that decides. bw_unlink_deciders counts
  // the entries that decide: up before such a program goes in, down after it went out. On
  // file_open and mmap_file, bw_quiet_progs holds `quietWord` for it (BW_KEYED and the key
  // parts when the program's decision can be quiet, else 0), and the lane's keyed words follow
  // (refreshKeyed), counting the slot as in the lane before it is linked.
  void putProgram(const Hook &h, uint32_t index, int fd, bool quiet, uint32_t quietWord = 0) {
    setQuietWord(h, index, 0);
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
    setQuietWord(h, index, quietWord);
    if (keysQuiet(h))
      refreshKeyed(laneOf(slotOfProgIndex(index)), h, slotOfProgIndex(index));
  }
  // Takes bw_progs_<H>[index] out, its quiet mark first.
  void dropProgram(const Hook &h, uint32_t index) {
    setQuietWord(h, index, 0);
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
    if (keysQuiet(h))
      refreshKeyed(laneOf(slotOfProgIndex(index)), h);
  }
  // bw_slot_scope exists once an object that declares it was loaded; without it no program
  // reads a scope entry.
  bool hasSlotScopes() { return exists(pins_.sharedMap("bw_slot_scope")); }
  // bw_slot_scope[index], or nothing without the map.
  std::optional<bw_slot_scope> slotScope(uint32_t index) {
    bw_slot_scope s{};
    if (!hasSlotScopes() || bpf_map_lookup_elem(open(slotScopeFd_, "bw_slot_scope"), &index, &s) != 0)
      return std::nullopt;
    return s;
  }
  // bw_slot_scope[index] = `scope` (the policy version whose programs go to `index` next), or
  // nothing without the map. Returns what was there before, for the undo of a load that fails.
  bw_slot_scope setSlotScope(uint32_t index, const bw_slot_scope &scope) {
    if (!hasSlotScopes())
      return {};
    bw_slot_scope before = slotScope(index).value_or(bw_slot_scope{});
    if (bpf_map_update_elem(open(slotScopeFd_, "bw_slot_scope"), &index, &scope, BPF_ANY) != 0)
      throw Error(Exit::Failed, "cannot update bw_slot_scope: " + errnoText(errno));
    return before;
  }
  uint32_t genOf(uint32_t slot) {
    uint32_t g = 0;
    mapLookupU32(gen(), slot, &g);
    return g & 1;
  }

private:
  static bool tellsQuiet(const Hook &h) { return h.id == "FILE_UNLINK"; }
  // The hooks whose dispatchers key opens, mappings and connects, and where their programs'
  // words are in bw_quiet_progs (which exists once an object that declares it was loaded).
  static std::optional<uint32_t> quietBase(const Hook &h) {
    if (h.id == "FILE_OPEN")
      return 0;
    if (h.id == "FILE_MMAP_EXEC")
      return BW_PROG_ARRAY_SIZE;
    if (h.id == "NET_CONNECT")
      return 2 * BW_PROG_ARRAY_SIZE;
    return std::nullopt;
  }
  bool keysQuiet(const Hook &h) { return quietBase(h) && hasQuietProgs(); }
  // Once opened it stays: a SharedMaps lives for one command, so its pin is looked up once.
  bool hasQuietProgs() { return quietProgsFd_ || exists(pins_.sharedMap("bw_quiet_progs")); }
  int quietProgs() { return open(quietProgsFd_, "bw_quiet_progs"); }
  void setQuietWord(const Hook &h, uint32_t index, uint32_t word) {
    if (keysQuiet(h))
      mapUpdateU32(quietProgs(), *quietBase(h) + index, word, "bw_quiet_progs");
  }
  // What the programs of one hook's lane say: how many, how many can be quiet, the key parts
  // they read (one that is never quiet: all).
  struct LaneQuiet {
    size_t slots = 0;
    int held = 0, quiet = 0;
    uint32_t parts = 0;
  };
  // The lane's slots are its chain's and `pending`, a slot about to be linked.
  LaneQuiet laneQuiet(const Hook &h, uint32_t lane, std::optional<uint32_t> pending) {
    LaneQuiet q;
    if (!hasHook(h))
      return q;
    auto slots = chainSlots(MapChain(next(h), nextMapName(h), changes_), lane);
    if (pending && laneOf(*pending) == lane && std::find(slots.begin(), slots.end(), *pending) == slots.end())
      slots.push_back(*pending);
    q.slots = slots.size();
    for (uint32_t slot : slots)
      for (uint32_t gen : {0u, 1u}) {
        uint32_t id = 0, word = 0, index = progIndex(slot, gen);
        if (!mapLookupU32(progs(h), index, &id))
          continue;
        ++q.held;
        bool can = mapLookupU32(quietProgs(), *quietBase(h) + index, &word) && (word & BW_KEYED);
        q.quiet += can;
        q.parts |= can ? word & BW_KEY_FULL : BW_KEY_FULL;
      }
    return q;
  }
  // The keyed words of lane `lane` on file_open, mmap_file and socket_connect (bw_next_<H> from
  // BW_NEXT_KEYED): BW_KEYED when the dispatcher keys the lane's events (file_open: two
  // programs or more, a kept open skips them all, or one whose every program can be quiet,
  // else the key would be paid on every open for nothing; mmap_file: any program;
  // socket_connect: every program can be quiet, as a connect's key costs about what one
  // decision does), and on the file hooks the key parts both lanes' programs read, as their
  // entries are shared. `changed` is the hook whose lane changed (the file hooks' words are
  // written together, socket_connect's alone); its `pending` slot counts as in its lane, so
  // the parts are there before its program runs; they leave after it left the chain. A hint:
  // an event is skipped only for a key every program of the lane said was quiet.
  void refreshKeyed(uint32_t lane, const Hook &changed, std::optional<uint32_t> pending = std::nullopt) {
    if (!hasQuietProgs())
      return;
    const Hook *connect = hookById("NET_CONNECT");
    if (&changed == connect) {
      LaneQuiet c = laneQuiet(*connect, lane, pending);
      if (hasHook(*connect))
        mapUpdateU32(next(*connect), BW_NEXT_KEYED + lane,
                     c.held > 0 && c.quiet == c.held ? BW_KEYED | (c.parts & BW_KEY_CGROUP) : 0, nextMapName(*connect));
      return;
    }
    const Hook *fileOpen = hookById("FILE_OPEN"), *fileMmap = hookById("FILE_MMAP_EXEC");
    LaneQuiet o = laneQuiet(*fileOpen, lane, &changed == fileOpen ? pending : std::nullopt);
    LaneQuiet m = laneQuiet(*fileMmap, lane, &changed == fileMmap ? pending : std::nullopt);
    uint32_t parts = o.parts | m.parts;
    bool openKeyed = o.slots >= 2 || (o.held > 0 && o.quiet == o.held);
    if (hasHook(*fileOpen))
      mapUpdateU32(next(*fileOpen), BW_NEXT_KEYED + lane, openKeyed ? BW_KEYED | parts : 0, nextMapName(*fileOpen));
    if (hasHook(*fileMmap))
      mapUpdateU32(next(*fileMmap), BW_NEXT_KEYED + lane, m.held > 0 ? BW_KEYED | parts : 0, nextMapName(*fileMmap));
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
  Fd genFd_, slotModeFd_, unlinkQuietFd_, unlinkDecidersFd_, quietProgsFd_, hintFd_, slotScopeFd_;
  std::map<uint32_t, Fd> progs_, next_;
};

} // namespace bulwark::rt
