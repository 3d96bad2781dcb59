// The count of changes that decisions kept between events rest on (bw_hint's BW_HINT_DECISIONS,
// bw_abi.h): the runtime adds one after every change of a chain (a program in or out, a lane
// link, a slot's mode, the switch), so no open kept as quiet before it is skipped after it
// (bw_quiet). Written through a mapping of bw_hint, so counting a change is no bpf() call: the
// switch stays the last one of a load.
#pragma once

#include "Pins.h"

#include <cstdint>
#include <memory>

namespace bulwark::rt {

// bw_hint's words mapped (a writable view of the shared array map at fd); throws when the map
// is not the ABI's array or cannot be mapped.
class HintWords {
public:
  explicit HintWords(int fd);
  HintWords(const HintWords &) = delete;
  HintWords &operator=(const HintWords &) = delete;
  ~HintWords();
  uint64_t &operator[](uint32_t word) { return words_[word]; }

private:
  uint64_t *words_ = nullptr;
};

class ChangeCount {
public:
  explicit ChangeCount(const PinLayout &pins) : pins_(pins) {}
  ChangeCount(const ChangeCount &) = delete;
  ChangeCount &operator=(const ChangeCount &) = delete;
  ~ChangeCount();
  // Maps bw_hint now, when pinned (a later count() then makes no system call).
  void prepare();
  // One more change; nothing when bw_hint is not pinned (no object that reads it was loaded).
  void count();

private:
  const PinLayout &pins_;
  std::unique_ptr<HintWords> words_;
};

} // namespace bulwark::rt
