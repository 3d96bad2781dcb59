#include "Dfa.h"

#include <algorithm>
#include <map>
#include <queue>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>

namespace bulwark::backend {

namespace {

// FNV-1a over a run of u32s: the key of the hash maps below (subsets, state signatures). Ids
// are still handed out in first-seen order, so the DFA is the same as with ordered maps.
uint64_t hashWords(const uint32_t *w, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; ++i)
    h = (h ^ w[i]) * 1099511628211ull;
  return h;
}

struct WordsHash {
  size_t operator()(const std::vector<uint32_t> &v) const { return hashWords(v.data(), v.size()); }
};

struct Nfa {
  struct Edge {
    std::bitset<256> set;
    uint32_t to;
  };
  std::vector<std::vector<Edge>> edges;
  std::vector<std::vector<uint32_t>> eps;
  std::vector<std::vector<uint32_t>> acceptOf;  // pattern indexes accepting here
  uint32_t add() {
    edges.emplace_back();
    eps.emplace_back();
    acceptOf.emplace_back();
    return static_cast<uint32_t>(edges.size() - 1);
  }
};

std::bitset<256> allBytes() {
  std::bitset<256> s;
  s.set();
  s.reset(0);
  return s;
}

// The NFA of the patterns (Thompson, from state 0) and every byte set its edges take.
Nfa buildNfa(const std::vector<DfaPattern> &pats, std::vector<std::bitset<256>> &sets) {
  Nfa nfa;
  uint32_t start = nfa.add();
  for (size_t pi = 0; pi < pats.size(); ++pi) {
    uint32_t cur = nfa.add();
    nfa.eps[start].push_back(cur);
    for (const auto &t : pats[pi].tokens) {
      uint32_t nx = nfa.add();
      switch (t.kind) {
      case ir::GlobToken::Kind::One:
        nfa.edges[cur].push_back({t.set, nx});
        sets.push_back(t.set);
        break;
      case ir::GlobToken::Kind::Star:
        nfa.edges[cur].push_back({t.set, cur});
        nfa.eps[cur].push_back(nx);
        sets.push_back(t.set);
        break;
      case ir::GlobToken::Kind::DirStar: {
        uint32_t q = nfa.add();
        std::bitset<256> slash;
        slash.set('/');
        nfa.eps[cur].push_back(nx);
        nfa.edges[cur].push_back({allBytes(), q});
        nfa.edges[q].push_back({allBytes(), q});
        nfa.edges[q].push_back({slash, nx});
        nfa.edges[cur].push_back({slash, nx});
        sets.push_back(slash);
        sets.push_back(allBytes());
        break;
      }
      }
      cur = nx;
    }
    nfa.acceptOf[cur].push_back(static_cast<uint32_t>(pi));
  }
  return nfa;
}

// dfa.classOf and dfa.classes: bytes with the same membership in every set are equivalent.
// (Sets repeat across patterns: compare each distinct set once.)
void byteClasses(const std::vector<std::bitset<256>> &sets, Dfa &dfa) {
  std::unordered_set<std::bitset<256>> seen;
  std::vector<std::bitset<256>> distinct;
  for (const auto &set : sets)
    if (seen.insert(set).second)
      distinct.push_back(set);
  // A class is numbered by the first byte in it, so the order of `distinct` does not matter.
  std::map<std::vector<bool>, uint32_t> sig;
  for (int b = 0; b < 256; ++b) {
    std::vector<bool> s;
    s.reserve(distinct.size() + 1);
    s.push_back(b == 0);
    for (const auto &set : distinct)
      s.push_back(set.test(b));
    dfa.classOf[b] = sig.emplace(s, static_cast<uint32_t>(sig.size())).first->second;
  }
  dfa.classes = static_cast<uint32_t>(sig.size());
}

// The classes each NFA edge takes ([state][edge]; a literal: one), so a move costs what the
// edges cover, not classes x edges.
std::vector<std::vector<std::vector<uint32_t>>> edgeClasses(const Nfa &nfa, const Dfa &dfa) {
  std::vector<int> rep(dfa.classes, -1);
  for (int b = 255; b >= 0; --b)
    rep[dfa.classOf[b]] = b;
  std::vector<std::vector<std::vector<uint32_t>>> out(nfa.edges.size());
  for (size_t x = 0; x < nfa.edges.size(); ++x)
    for (const auto &e : nfa.edges[x]) {
      std::vector<uint32_t> cs;
      for (uint32_t c = 0; c < dfa.classes; ++c)
        if (rep[c] > 0 && e.set.test(rep[c]))
          cs.push_back(c);
      out[x].push_back(std::move(cs));
    }
  return out;
}

// The subset DFA before minimisation: subset 0 is {} (dead), 1 the start's closure.
struct SubsetDfa {
  std::vector<std::vector<uint32_t>> subsets;  // NFA states of each DFA state
  std::vector<uint32_t> trans;                 // [state * classes + class] -> state
  std::vector<MatchVal> acc;                   // what ending in each state means
};

// Subset construction; nullopt (and *error) past about 4x maxStates subsets.
std::optional<SubsetDfa> subsetConstruction(const std::vector<DfaPattern> &pats, const Nfa &nfa, const Dfa &dfa,
                                            uint32_t maxStates, std::string *error) {
  auto classesOf = edgeClasses(nfa, dfa);
  std::vector<uint32_t> mark(nfa.edges.size(), 0);  // epoch marks for closures
  uint32_t epoch = 0;
  auto closure = [&](std::vector<uint32_t> s) {
    ++epoch;
    std::vector<uint32_t> out;
    for (uint32_t x : s)
      if (mark[x] != epoch) {
        mark[x] = epoch;
        out.push_back(x);
      }
    for (size_t k = 0; k < out.size(); ++k)
      for (uint32_t y : nfa.eps[out[k]])
        if (mark[y] != epoch) {
          mark[y] = epoch;
          out.push_back(y);
        }
    std::sort(out.begin(), out.end());
    return out;
  };
  SubsetDfa sd;
  std::unordered_map<std::vector<uint32_t>, uint32_t, WordsHash> ids;
  auto idOf = [&](std::vector<uint32_t> &&s) -> uint32_t {
    auto [it, fresh] = ids.try_emplace(std::move(s), static_cast<uint32_t>(sd.subsets.size()));
    if (fresh)
      sd.subsets.push_back(it->first);
    return it->second;
  };
  idOf({});
  idOf(closure({0}));
  std::vector<std::vector<uint32_t>> moved(dfa.classes);
  for (uint32_t i = 0; i < sd.subsets.size(); ++i) {
    if (sd.subsets.size() > static_cast<size_t>(maxStates) * 4 + 16) {
      if (error)
        *error = "glob set needs more than " + std::to_string(maxStates) + " DFA states";
      return std::nullopt;
    }
    for (auto &m : moved)
      m.clear();
    for (uint32_t x : sd.subsets[i])
      for (size_t k = 0; k < nfa.edges[x].size(); ++k)
        for (uint32_t c : classesOf[x][k])
          moved[c].push_back(nfa.edges[x][k].to);
    // Classes that move to the same NFA states (every byte a star takes) share one closure.
    size_t row = sd.trans.size();
    for (uint32_t c = 0; c < dfa.classes; ++c) {
      uint32_t same = c;
      for (uint32_t p = 0; p < c && same == c; ++p)
        if (moved[p] == moved[c])
          same = p;
      sd.trans.push_back(same != c ? sd.trans[row + same] : moved[c].empty() ? 0 : idOf(closure(moved[c])));
    }
  }
  sd.acc.resize(sd.subsets.size());
  for (uint32_t i = 0; i < sd.subsets.size(); ++i)
    for (uint32_t x : sd.subsets[i])
      for (uint32_t pi : nfa.acceptOf[x])
        sd.acc[i].add(pats[pi].val);
  return sd;
}

// The ids of n signatures of `width` words each (sigs, flat), numbered in first-seen order;
// returns how many distinct ones there are. An open-addressing table of indexes: one
// allocation per call, not one per signature (Moore refines 40,000 states many times).
uint32_t numberSignatures(const std::vector<uint32_t> &sigs, size_t width, size_t n, std::vector<uint32_t> &id) {
  size_t cap = 1;
  while (cap < 2 * n)
    cap <<= 1;
  std::vector<uint32_t> slot(cap, UINT32_MAX);  // index of the first signature seen there
  id.resize(n);
  uint32_t distinct = 0;
  for (uint32_t i = 0; i < n; ++i) {
    const uint32_t *s = &sigs[i * width];
    for (size_t h = hashWords(s, width) & (cap - 1);; h = (h + 1) & (cap - 1)) {
      if (slot[h] == UINT32_MAX) {
        slot[h] = i;
        id[i] = distinct++;
        break;
      }
      if (std::equal(s, s + width, &sigs[slot[h] * width])) {
        id[i] = id[slot[h]];
        break;
      }
    }
  }
  return distinct;
}

// Moore minimisation: the block of each subset state, blocks first by accept value, then
// refined by successor blocks until stable.
std::vector<uint32_t> minimalBlocks(const SubsetDfa &sd, uint32_t classes) {
  size_t n = sd.subsets.size();
  std::vector<uint32_t> block(n);
  std::map<MatchVal, uint32_t> b0;
  for (uint32_t i = 0; i < n; ++i)
    block[i] = b0.emplace(sd.acc[i], b0.size()).first->second;
  size_t blocks = b0.size(), width = classes + 1;
  std::vector<uint32_t> sigs(n * width), nb;
  for (;;) {
    for (uint32_t i = 0; i < n; ++i) {
      uint32_t *s = &sigs[i * width];
      s[0] = block[i];
      for (uint32_t c = 0; c < classes; ++c)
        s[c + 1] = block[sd.trans[i * classes + c]];
    }
    size_t refined = numberSignatures(sigs, width, n, nb);
    block.swap(nb);
    if (refined == blocks)
      return block;
    blocks = refined;
  }
}

// Renumbers the blocks: dead block 0, start block 1, then BFS order. Fills newId (block ->
// state) and returns, per state, a subset state of its block.
std::vector<uint32_t> renumber(const SubsetDfa &sd, const std::vector<uint32_t> &block, uint32_t classes,
                               std::map<uint32_t, uint32_t> &newId) {
  newId[block[0]] = 0;
  std::vector<uint32_t> repOf{0};
  if (!newId.count(block[1])) {
    newId[block[1]] = 1;
    repOf.push_back(1);
  } else {
    // start is equivalent to dead: nothing ever matches; keep a distinct start state
    newId[block[1]] = 0;
  }
  std::queue<uint32_t> q;
  q.push(1);
  std::set<uint32_t> visited{block[1]};
  while (!q.empty()) {
    uint32_t i = q.front();
    q.pop();
    for (uint32_t c = 0; c < classes; ++c) {
      uint32_t t = sd.trans[i * classes + c];
      if (visited.insert(block[t]).second) {
        if (!newId.count(block[t])) {
          newId[block[t]] = static_cast<uint32_t>(repOf.size());
          repOf.push_back(t);
        }
        q.push(t);
      }
    }
  }
  if (repOf.size() == 1)
    repOf.push_back(0);  // start == dead
  return repOf;
}

} // namespace

std::optional<Dfa> buildDfa(const std::vector<DfaPattern> &pats, uint32_t maxStates,
                            std::string *error) {
  std::vector<std::bitset<256>> sets;
  Nfa nfa = buildNfa(pats, sets);
  Dfa dfa;
  byteClasses(sets, dfa);
  auto sd = subsetConstruction(pats, nfa, dfa, maxStates, error);
  if (!sd)
    return std::nullopt;
  std::vector<uint32_t> block = minimalBlocks(*sd, dfa.classes);
  std::map<uint32_t, uint32_t> newId;
  std::vector<uint32_t> repOf = renumber(*sd, block, dfa.classes, newId);
  dfa.states = static_cast<uint32_t>(repOf.size());
  if (dfa.states > maxStates) {
    if (error)
      *error = "glob set needs " + std::to_string(dfa.states) + " DFA states (limit " +
               std::to_string(maxStates) + ")";
    return std::nullopt;
  }
  dfa.next.assign(static_cast<size_t>(dfa.states) * dfa.classes, 0);
  dfa.accept.assign(dfa.states, MatchVal{});
  for (uint32_t s = 1; s < dfa.states; ++s) {
    uint32_t i = repOf[s];
    dfa.accept[s] = sd->acc[i];
    for (uint32_t c = 0; c < dfa.classes; ++c) {
      auto it = newId.find(block[sd->trans[i * dfa.classes + c]]);
      dfa.next[s * dfa.classes + c] = it == newId.end() ? 0 : it->second;
    }
  }
  return dfa;
}

MatchVal runDfa(const Dfa &dfa, std::string_view s) {
  uint32_t st = 1;
  for (unsigned char ch : s) {
    st = dfa.next[st * dfa.classes + dfa.classOf[ch]];
    if (st == 0)
      return {};
  }
  return dfa.accept[st];
}

namespace {

// The bytes a pattern's strings all start with, up to 8: its leading one-byte tokens.
std::string literalStart(const std::vector<ir::GlobToken> &tokens) {
  std::string out;
  for (const auto &t : tokens) {
    if (out.size() == 8 || t.kind != ir::GlobToken::Kind::One || t.set.count() != 1)
      break;
    for (size_t c = 0; c < 256; ++c)
      if (t.set.test(c)) {
        out.push_back(static_cast<char>(c));
        break;
      }
  }
  return out;
}

// The distinct starts cut to `n` bytes, leaving out any that a shorter one begins. In sorted
// order every string between a start and one it begins begins with it too, so comparing with
// the last start kept is enough.
std::vector<std::string> cutStarts(const std::vector<std::string> &starts, size_t n) {
  std::set<std::string> cut;
  for (const auto &s : starts)
    cut.insert(s.substr(0, n));
  std::vector<std::string> kept;
  for (const auto &s : cut)
    if (kept.empty() || !s.starts_with(kept.back()))
      kept.push_back(s);
  return kept;
}

GlobHead headOf(const std::string &start) {
  GlobHead h;
  for (size_t i = 0; i < start.size(); ++i) {
    h.value |= uint64_t(static_cast<uint8_t>(start[i])) << (8 * i);
    h.mask |= uint64_t(0xff) << (8 * i);
  }
  return h;
}

} // namespace

bool headsAdmit(const std::vector<GlobHead> &heads, uint64_t first) {
  return std::any_of(heads.begin(), heads.end(), [&](const GlobHead &h) { return (first & h.mask) == h.value; });
}

std::vector<GlobHead> dfaHeads(const std::vector<DfaPattern> &patterns, size_t maxHeads) {
  constexpr size_t kShortest = 2;  // every path starts with '/': one byte rules nothing out
  std::vector<std::string> starts;
  for (const auto &p : patterns) {
    starts.push_back(literalStart(p.tokens));
    if (starts.back().size() < kShortest)
      return {};
  }
  for (size_t n = 8; n >= kShortest && !starts.empty(); --n) {
    auto cut = cutStarts(starts, n);
    if (cut.size() > maxHeads)
      continue;
    std::vector<GlobHead> heads;
    for (const auto &s : cut)
      heads.push_back(headOf(s));
    return heads;
  }
  return {};
}

} // namespace bulwark::backend
