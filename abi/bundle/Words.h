// The manifest's typed values. Each is the ABI's number (bw_abi.h, bw_match.h) in C++ and is
// spelled as a word only at the edges: manifest.yaml, and output people read.
#pragma once

extern "C" {
#include "bw_abi.h"
#include "bw_match.h"
}

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace bulwark::bundle {

enum class Mode : uint32_t { Enforce = BW_MODE_ENFORCE, Audit = BW_MODE_AUDIT };
enum class Action : uint32_t { Allow = BW_ACT_ALLOW, Deny = BW_ACT_DENY, Audit = BW_ACT_AUDIT, Kill = BW_ACT_KILL };
enum class Scope : uint32_t { Host = BW_SCOPE_HOST, Cgroup = BW_SCOPE_CGROUP, Executable = BW_SCOPE_EXECUTABLE };
enum class IdentityKind : uint32_t { Exact = BW_IDENT_EXACT, Prefix = BW_IDENT_PREFIX };

template <class E> struct Word {
  E value;
  std::string_view text;
};

inline constexpr Word<Mode> kModeWords[] = {{Mode::Enforce, "enforce"}, {Mode::Audit, "audit"}};
inline constexpr Word<Action> kActionWords[] = {
    {Action::Allow, "allow"}, {Action::Deny, "deny"}, {Action::Audit, "audit"}, {Action::Kill, "kill"}};
inline constexpr Word<Scope> kScopeWords[] = {
    {Scope::Host, "host"}, {Scope::Cgroup, "cgroup"}, {Scope::Executable, "executable"}};
inline constexpr Word<IdentityKind> kIdentityKindWords[] = {{IdentityKind::Exact, "exact"},
                                                             {IdentityKind::Prefix, "prefix"}};

constexpr std::span<const Word<Mode>> wordsOf(Mode) { return kModeWords; }
constexpr std::span<const Word<Action>> wordsOf(Action) { return kActionWords; }
constexpr std::span<const Word<Scope>> wordsOf(Scope) { return kScopeWords; }
constexpr std::span<const Word<IdentityKind>> wordsOf(IdentityKind) { return kIdentityKindWords; }

template <class E> constexpr std::string_view word(E v) {
  for (const auto &w : wordsOf(E{}))
    if (w.value == v)
      return w.text;
  return "unknown";
}

template <class E> constexpr std::optional<E> parseWord(std::string_view text) {
  for (const auto &w : wordsOf(E{}))
    if (w.text == text)
      return w.value;
  return std::nullopt;
}

// "enforce or audit", "allow, deny, audit or kill": for error messages.
template <class E> std::string expectedWords() {
  auto ws = wordsOf(E{});
  std::string out;
  for (size_t i = 0; i < ws.size(); i++)
    out += (i == 0 ? "" : i + 1 == ws.size() ? " or " : ", ") + std::string(ws[i].text);
  return out;
}

} // namespace bulwark::bundle
