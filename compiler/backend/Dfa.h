// Glob sets -> one minimal DFA over byte classes, with a MatchVal per state telling what
// ending the string there means (the back end stores it in bw_m_dfa / bw_m_dfa_acc).
#pragma once

#include "GlobPattern.h"
#include "Lowering.h"

#include <array>
#include <optional>
#include <string>
#include <vector>

namespace bulwark::backend {

struct Dfa {
  uint32_t classes = 0;
  std::array<uint32_t, 256> classOf{};
  uint32_t states = 0;               // state 0 = dead, 1 = start
  std::vector<uint32_t> next;        // states * classes
  std::vector<MatchVal> accept;      // per state; best == kNoRule and no atoms: rejects
};

struct DfaPattern {
  std::vector<ir::GlobToken> tokens;
  MatchVal val;
};

// nullopt when the DFA would exceed maxStates (*error says so).
std::optional<Dfa> buildDfa(const std::vector<DfaPattern> &patterns, uint32_t maxStates,
                            std::string *error);
// Runs the DFA like the BPF side does; returns the accept value of the final state.
MatchVal runDfa(const Dfa &dfa, std::string_view s);

// The heads of a glob group: each pattern's literal first bytes (up to 8), cut shorter until at
// most `maxHeads` distinct ones remain, and none that another head starts. A string that starts
// with none of them matches no pattern, so the decision code skips the DFA walk. Empty (always
// walk) when a pattern starts with fewer than two literal bytes or the heads cannot be so few.
std::vector<GlobHead> dfaHeads(const std::vector<DfaPattern> &patterns, size_t maxHeads);
// Whether a string whose first word (little-endian) is `first` starts with one of `heads`.
bool headsAdmit(const std::vector<GlobHead> &heads, uint64_t first);

} // namespace bulwark::backend
