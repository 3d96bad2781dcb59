// Live processes per mark (`bulwark status`, metrics): counted now, in the kernel's task list,
// by a task iterator (bpf/runtime/live_marks.bpf.c) over the shared marks storage bw_marks.
// Unlike bw_mark_stats (marks ever set), a process that exited or a mark that expired is not
// counted.
#pragma once

#include "Json.h"
#include "Pins.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace bulwark::rt {

struct LiveMark {
  uint64_t id = 0;
  std::string policy, mark;  // empty when no instance pinned now names the id
  uint64_t processes = 0;
};

struct LiveMarks {
  // Every mark a loaded policy sets (0 processes included), then ids no instance names.
  std::vector<LiveMark> marks;
  uint64_t processes = 0;  // live processes holding at least one mark
  uint64_t full = 0;       // of those, processes whose slots overflowed (they fail closed)
};

// nullopt before a policy with marks was loaded (no bw_marks pinned). Throws Error when the
// iterator cannot be loaded or run.
std::optional<LiveMarks> liveMarks(const PinLayout &pins);
// The same, a failure told in *error (and nullopt) instead: status, top and the metrics show
// the rest without it.
std::optional<LiveMarks> liveMarks(const PinLayout &pins, std::string *error);

// "policy/mark", or the id in hex for a mark no instance names.
std::string liveMarkName(const LiveMark &m);

// `top`, for a policy whose rules set marks: the line "policy: live processes per mark: a 3,
// b 0" ("" for a policy without marks), and in JSON its "live_marks" member (none then).
std::string topMarksLine(const LiveMarks &lm, const std::string &policy);
void topMarksJson(JsonWriter &w, const LiveMarks &lm, const std::string &policy);

} // namespace bulwark::rt
