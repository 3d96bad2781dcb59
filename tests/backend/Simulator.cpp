#include "Simulator.h"
#include "Dfa.h"
#include "bw_match.h"

#include <algorithm>
#include <cstring>

namespace bwtest {

using namespace bulwark;
using namespace bulwark::backend;
using Bytes = std::vector<uint8_t>;

namespace {

MatchVal valOf(const Bytes &v) {
  MatchVal m;
  std::memcpy(&m.best, v.data(), 4);
  for (uint32_t i = 0; i < kAtomWords; ++i)
    std::memcpy(&m.atoms[i], v.data() + 8 + 8 * i, 8);
  return m;
}

const MapImage *img(const Lowered &low, const char *name) {
  auto it = low.maps.find(name);
  return it == low.maps.end() ? nullptr : &it->second;
}

void le(Bytes &b, uint64_t v, int n) {
  for (int i = 0; i < n; ++i)
    b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

std::optional<MatchVal> exactLookup(const MapImage *m, const Bytes &key) {
  if (!m)
    return std::nullopt;
  for (size_t i = 0; i < m->size(); ++i)
    if (std::ranges::equal(m->key(i), key))
      return valOf(Bytes(m->value(i).begin(), m->value(i).end()));
  return std::nullopt;
}

bool bitsEqual(const uint8_t *a, const uint8_t *b, uint32_t bits) {
  for (uint32_t i = 0; i < bits; ++i)
    if (((a[i / 8] >> (7 - i % 8)) & 1) != ((b[i / 8] >> (7 - i % 8)) & 1))
      return false;
  return true;
}

// LPM trie semantics: the entry with the longest prefixlen <= the query's whose bits match.
std::optional<MatchVal> lpmLookup(const MapImage *m, const Bytes &key) {
  if (!m)
    return std::nullopt;
  uint32_t qlen;
  std::memcpy(&qlen, key.data(), 4);
  const MatchVal *best = nullptr;
  uint32_t bestLen = 0;
  MatchVal tmp;
  std::vector<MatchVal> keep;
  keep.reserve(m->size());
  for (size_t i = 0; i < m->size(); ++i) {
    auto k = m->key(i);
    Bytes v(m->value(i).begin(), m->value(i).end());
    uint32_t plen;
    std::memcpy(&plen, k.data(), 4);
    if (plen > qlen || (best && plen < bestLen))
      continue;
    if (bitsEqual(k.data() + 4, key.data() + 4, plen)) {
      keep.push_back(valOf(v));
      best = &keep.back();
      bestLen = plen;
    }
  }
  if (!best)
    return std::nullopt;
  return *best;
}

// A small address group's networks, compared as the generated code compares them.
std::optional<MatchVal> netsLookup(const Group &g, const ir::Cidr &a) {
  uint64_t w[2] = {0, 0};
  for (size_t i = 0; i < 16; ++i)
    w[i / 8] |= static_cast<uint64_t>(a.addr[i]) << (8 * (i % 8));
  std::optional<MatchVal> r;
  for (const auto &n : g.nets)
    if ((w[0] & n.mask[0]) == n.value[0] && (w[1] & n.mask[1]) == n.value[1]) {
      if (!r)
        r = MatchVal{};
      r->add(n.val);
    }
  return r;
}

// The lookup of group `g` under group number `id` (its own, or its full identity values).
std::optional<MatchVal> lookupAs(const Lowered &low, const Group &g, uint32_t id, const ir::Event &ev) {
  std::optional<MatchVal> r;
  std::string s;
  if (auto it = ev.find(std::string(g.field.name)); it != ev.end())
    if (auto *p = std::get_if<std::string>(&it->second))
      s = *p;
  switch (g.kind) {
  case GroupKind::Exact: {
    Bytes k;
    le(k, id, 4);
    le(k, s.size(), 4);
    le(k, fnv1a64(s), 8);
    r = exactLookup(img(low, "bw_m_exact"), k);
    break;
  }
  case GroupKind::Prefix:
  case GroupKind::Suffix: {
    std::string t = s;
    if (g.kind == GroupKind::Suffix)
      std::reverse(t.begin(), t.end());
    t = t.substr(0, g.kind == GroupKind::Prefix ? kLpmStrMax : low.suffixKeyBytes);  // the kernel's key
    Bytes k;
    le(k, 32 + 8 * t.size(), 4);
    for (int i = 3; i >= 0; --i)
      k.push_back(static_cast<uint8_t>(id >> (8 * i)));
    k.insert(k.end(), t.begin(), t.end());
    k.resize(8 + kLpmStrMax, 0);
    r = lpmLookup(img(low, g.kind == GroupKind::Prefix ? "bw_m_prefix" : "bw_m_suffix"), k);
    break;
  }
  case GroupKind::Cidr: {
    auto it = ev.find(std::string(g.field.name));
    const ir::Cidr *a = it == ev.end() ? nullptr : std::get_if<ir::Cidr>(&it->second);
    if (!a)
      return std::nullopt;
    if (!g.nets.empty())
      return netsLookup(g, *a);
    Bytes k;
    le(k, 32 + 128, 4);
    for (int i = 3; i >= 0; --i)
      k.push_back(static_cast<uint8_t>(g.id >> (8 * i)));
    k.insert(k.end(), a->addr.begin(), a->addr.end());
    r = lpmLookup(img(low, "bw_m_cidr"), k);
    break;
  }
  case GroupKind::IntSet: {
    int64_t x = 0;
    if (auto it = ev.find(std::string(g.field.name)); it != ev.end())
      if (auto *p = std::get_if<int64_t>(&it->second))
        x = *p;
    Bytes k;
    le(k, g.id, 4);
    le(k, 0, 4);
    le(k, static_cast<uint64_t>(x), 8);
    r = exactLookup(img(low, "bw_m_int"), k);
    break;
  }
  case GroupKind::Glob: {
    const MapImage *d = img(low, "bw_m_dfa");
    const MapImage *a = img(low, "bw_m_dfa_acc");
    auto word = [&](uint32_t i) {  // array entries are in index order; check the key too
      uint32_t v, k;
      std::memcpy(&k, d->key(i).data(), 4);
      std::memcpy(&v, d->value(i).data(), 4);
      return k == i ? v : 0xdeadbeefu;
    };
    if (!g.heads.empty()) {  // as the decision code does: none of the heads, no walk
      uint64_t first = 0;
      for (size_t i = 0; i < 8 && i < s.size(); ++i)
        first |= uint64_t(static_cast<uint8_t>(s[i])) << (8 * i);
      if (!headsAdmit(g.heads, first))
        break;
    }
    uint32_t ncls = word(g.dfaBase), accBase = word(g.dfaBase + 1);
    uint32_t t = g.dfaBase + 2, st = 1;
    for (unsigned char c : s) {
      st = word(t + 256 + st * ncls + word(t + c));
      if (!st)
        break;
    }
    if (st)
      r = valOf(Bytes(a->value(accBase + st).begin(), a->value(accBase + st).end()));
    break;
  }
  }
  return r;
}

// An identity group matches the process's view (its own values) and the object, which here
// is the file at the location the path names, as the runtime labels it (the full values).
uint32_t lookup(const Lowered &low, const Group &g, const ir::Event &ev, MatchVal &acc) {
  MatchVal v;
  if (auto r = lookupAs(low, g, g.id, ev))
    v.add(*r);
  if (g.identity)
    if (auto r = lookupAs(low, g, g.id | BW_GROUP_IDENT_VAL, ev))
      v.add(*r);
  for (uint32_t i = 0; i < kAtomWords; ++i)
    acc.atoms[i] |= v.atoms[i];
  return v.best;
}

bool evalL(const LCond &c, const MatchVal &acc, const ir::Event &ev, HookId hook) {
  switch (c.kind) {
  case LCond::Kind::True: return true;
  case LCond::Kind::False: return false;
  case LCond::Kind::Atom: return (acc.atoms[c.atom / 64] >> (c.atom % 64)) & 1;
  case LCond::Kind::Mark: return false;  // a simulated event's process carries no marks
  case LCond::Kind::IntCmp: {
    int64_t x = 0;
    for (const auto &f : Catalogue::get().hook(hook).fields)
      if (f.slotKind == SlotKind::Int && f.slot == c.slot)
        if (auto it = ev.find(std::string(f.name)); it != ev.end())
          if (auto *p = std::get_if<int64_t>(&it->second))
            x = *p;
    switch (c.op) {
    case ir::TestOp::Eq: return std::find(c.values.begin(), c.values.end(), x) != c.values.end();
    case ir::TestOp::Lt: return x < c.values[0];
    case ir::TestOp::Le: return x <= c.values[0];
    case ir::TestOp::Gt: return x > c.values[0];
    case ir::TestOp::Ge: return x >= c.values[0];
    case ir::TestOp::HasFlags: return (x & c.values[0]) == c.values[0];
    default: return false;
    }
  }
  case LCond::Kind::And:
    for (const auto &k : c.kids)
      if (!evalL(k, acc, ev, hook))
        return false;
    return true;
  case LCond::Kind::Or:
    for (const auto &k : c.kids)
      if (evalL(k, acc, ev, hook))
        return true;
    return false;
  case LCond::Kind::Not: return !evalL(c.kids[0], acc, ev, hook);
  }
  return false;
}

} // namespace

uint32_t simulate(const Lowered &low, HookId hook, const ir::Event &rawEv) {
  // the programs read the fields as the kernel's hook has them
  const ir::Event ev = ir::kernelView(hook, rawEv);
  for (const auto &h : low.hooks) {
    if (h.hook != hook)
      continue;
    MatchVal acc;
    uint32_t best = h.alwaysWord;
    for (uint32_t gi : h.groups)
      best = std::min(best, lookup(low, low.groups[gi], ev, acc));
    for (const auto &c : h.compounds)
      if (c.word < best && evalL(c.cond, acc, ev, hook))
        return c.word;
    return best;
  }
  return kNoRule;
}

} // namespace bwtest
