// The lowering's semantics against the host evaluator on generated policies and inputs:
// the simulator reads only emitted map images (hash, LPM, DFA) and decision plans.
#include "Dfa.h"
#include "Evaluator.h"
#include "GlobPattern.h"
#include "PolicyBuilder.h"
#include "Simulator.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

using namespace bwtest;
using bulwark::HookId;
using bulwark::ir::Action;
using bulwark::ir::TestOp;
namespace ir = bulwark::ir;
namespace be = bulwark::backend;

namespace {

struct Gen {
  std::mt19937 rng;
  explicit Gen(uint32_t seed) : rng(seed) {}
  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); }
  std::string str(int maxLen, const char *alpha = "ab/.") {
    int n = pick(maxLen + 1);
    std::string s;
    for (int i = 0; i < n; ++i)
      s += alpha[pick(static_cast<int>(std::strlen(alpha)))];
    return s;
  }
  std::string glob() {
    static const char *toks[] = {"a", "b", "/", ".", "*", "**", "?", "[ab]", "[!a]", "**/", "a", "/"};
    int n = 1 + pick(5);
    std::string g;
    for (int i = 0; i < n; ++i)
      g += toks[pick(12)];
    return g;
  }
  Action action() { return static_cast<Action>(pick(4)); }
};

ir::Cond strTest(Gen &g, HookId h, const char *field) {
  switch (g.pick(4)) {
  case 0: {
    std::vector<ir::Value> v;
    for (int i = 0, n = 1 + g.pick(3); i < n; ++i)
      v.emplace_back(g.str(5));
    return cTest(h, field, TestOp::Eq, v);
  }
  case 1: return cTest(h, field, TestOp::Prefix, {g.str(4)});
  case 2: return cTest(h, field, TestOp::Suffix, {g.str(3)});
  default: {
    std::vector<ir::Value> v;
    for (int i = 0, n = 1 + g.pick(2); i < n; ++i)
      v.emplace_back(g.glob());
    return cTest(h, field, TestOp::Glob, v);
  }
  }
}

ir::Cond intTest(Gen &g, HookId h) {
  switch (g.pick(4)) {
  case 0: return cTest(h, "file.flags", TestOp::HasFlags, {int64_t(1 << g.pick(3))});
  case 1: return cTest(h, "file.flags", TestOp::Lt, {int64_t(g.pick(8))});
  case 2: return cTest(h, "file.flags", TestOp::Eq, {int64_t(g.pick(8))});
  default: {  // many values: an int hash group
    std::vector<ir::Value> v;
    for (int i = 0; i < 6; ++i)
      v.emplace_back(int64_t(g.pick(16)));
    return cTest(h, "process.uid", TestOp::Eq, v);
  }
  }
}

ir::Cond anyTest(Gen &g, HookId h) {
  int k = g.pick(5);
  if (k < 3)
    return strTest(g, h, "file.path");
  if (k == 3)
    return strTest(g, h, "process.comm");
  return intTest(g, h);
}

ir::Cond cond(Gen &g, HookId h, int depth) {
  int k = depth > 1 ? 0 : g.pick(6);
  switch (k) {
  case 0:
  case 1: return anyTest(g, h);
  case 2: return cAnd({cond(g, h, depth + 1), cond(g, h, depth + 1)});
  case 3: return cOr({cond(g, h, depth + 1), cond(g, h, depth + 1)});
  case 4: return cNot(cond(g, h, depth + 1));
  default: return cOr({strTest(g, h, "file.path"), strTest(g, h, "file.path")});
  }
}

std::string show(const ir::Cond &c) {
  switch (c.kind) {
  case ir::Cond::Kind::True: return "true";
  case ir::Cond::Kind::False: return "false";
  case ir::Cond::Kind::Test: {
    std::string s = std::string(c.test.field.name) + " op" + std::to_string(static_cast<int>(c.test.op)) + " [";
    for (const auto &v : c.test.values) {
      if (auto *x = std::get_if<std::string>(&v)) s += "'" + *x + "' ";
      else if (auto *i = std::get_if<int64_t>(&v)) s += std::to_string(*i) + " ";
    }
    return s + "]";
  }
  case ir::Cond::Kind::And: return "(" + show(c.kids[0]) + " AND " + show(c.kids[1]) + ")";
  case ir::Cond::Kind::Or: return "(" + show(c.kids[0]) + " OR " + show(c.kids[1]) + ")";
  case ir::Cond::Kind::Not: return "NOT " + show(c.kids[0]);
  }
  return "?";
}

std::string showPolicy(const ir::Policy &p) {
  std::string s;
  for (const auto &r : p.rules)
    s += "  #" + std::to_string(r.id) + " " + show(r.cond) + "\n";
  return s;
}

std::string showDecision(uint32_t word) {
  return word == be::kNoRule ? "none" : "rule " + std::to_string(word >> 2);
}

} // namespace

TEST(Semantics, StringsAndIntsAgainstEvaluator) {
  for (uint32_t seed = 1; seed <= 40; ++seed) {
    Gen g(seed);
    HookId h = HookId::FILE_OPEN;
    PolicyBuilder pb("rand");
    for (int i = 0, n = 4 + g.pick(10); i < n; ++i)
      pb.rule("r" + std::to_string(i), h, cond(g, h, 0), g.action());
    if (g.pick(8) == 0)
      pb.rule("always", h, cTrue(), Action::Audit);
    auto p = pb.build();
    be::Lowered low;
    auto errs = be::lower(p, {}, low);
    ASSERT_TRUE(errs.empty()) << errs[0].message;
    for (int i = 0; i < 400; ++i) {
      ir::Event ev{{"file.path", g.str(9)}, {"process.comm", g.str(5)},
                   {"file.flags", int64_t(g.pick(8))}, {"process.uid", int64_t(g.pick(16))}};
      auto d = ir::evaluate(p, h, ev);
      uint32_t w = simulate(low, h, ev);
      uint32_t want = d.matched ? be::decisionWord(d.ruleId, d.action) : be::kNoRule;
      ASSERT_EQ(w, want) << "seed " << seed << " path '" << std::get<std::string>(ev["file.path"])
                         << "' comm '" << std::get<std::string>(ev["process.comm"]) << "': got "
                         << showDecision(w) << ", evaluator " << showDecision(want) << "\n"
                         << showPolicy(p);
    }
  }
}

TEST(Semantics, CidrV4V6AgainstEvaluator) {
  int inCode = 0, inTrie = 0;  // groups of each form (kCidrInlineMax): both are checked
  for (uint32_t seed = 1; seed <= 30; ++seed) {
    Gen g(seed);
    HookId h = HookId::NET_CONNECT;
    auto addr = [&]() -> ir::Value {
      if (g.pick(2))
        return cidr(("10." + std::to_string(g.pick(3)) + "." + std::to_string(g.pick(3)) + ".1").c_str());
      return cidr(("fd00:" + std::to_string(g.pick(3)) + "::" + std::to_string(g.pick(3))).c_str());
    };
    auto net = [&]() -> ir::Value {
      if (g.pick(2)) {
        int plen = std::vector<int>{0, 8, 15, 16, 24, 30, 32}[g.pick(7)];
        return cidr(("10." + std::to_string(g.pick(3)) + ".0.0/" + std::to_string(plen)).c_str());
      }
      int plen = std::vector<int>{0, 16, 31, 32, 64, 128}[g.pick(6)];
      return cidr(("fd00:" + std::to_string(g.pick(3)) + "::/" + std::to_string(plen)).c_str());
    };
    PolicyBuilder pb("cidr");
    for (int i = 0, n = 3 + g.pick(8); i < n; ++i) {
      ir::Cond c = g.pick(3) ? cTest(h, "net.daddr", TestOp::InCidr, {net(), net()})
                             : cTest(h, "net.daddr", TestOp::Eq, {addr()});
      if (g.pick(3) == 0)
        c = cAnd({c, cTest(h, "net.dport", TestOp::Eq, {int64_t(g.pick(3))})});
      pb.rule("r" + std::to_string(i), h, c, g.action());
    }
    auto p = pb.build();
    be::Lowered low;
    auto errs = be::lower(p, {}, low);
    ASSERT_TRUE(errs.empty()) << errs[0].message;
    for (const auto &gr : low.groups)
      (gr.nets.empty() ? inTrie : inCode)++;
    for (int i = 0; i < 300; ++i) {
      ir::Event ev{{"net.daddr", std::get<ir::Cidr>(addr())}, {"net.dport", int64_t(g.pick(3))}};
      auto d = ir::evaluate(p, h, ev);
      uint32_t want = d.matched ? be::decisionWord(d.ruleId, d.action) : be::kNoRule;
      ASSERT_EQ(simulate(low, h, ev), want) << "seed " << seed << " event " << i;
    }
  }
  EXPECT_GT(inCode, 0);
  EXPECT_GT(inTrie, 0);
}

TEST(Semantics, DfaAgainstReferenceMatcher) {
  for (uint32_t seed = 1; seed <= 200; ++seed) {
    Gen g(seed);
    std::vector<be::DfaPattern> pats;
    std::vector<std::string> globs;
    for (int i = 0, n = 1 + g.pick(5); i < n; ++i) {
      globs.push_back(g.glob());
      be::DfaPattern p;
      p.tokens = *ir::parseGlob(globs.back());
      p.val.atoms[0] = 1ull << i;
      p.val.best = static_cast<uint32_t>(i * 4);
      pats.push_back(p);
    }
    std::string err;
    auto dfa = be::buildDfa(pats, 4096, &err);
    ASSERT_TRUE(dfa) << err;
    for (int i = 0; i < 300; ++i) {
      std::string s = g.str(10);
      auto v = be::runDfa(*dfa, s);
      uint64_t want = 0;
      uint32_t best = be::kNoRule;
      for (size_t k = 0; k < globs.size(); ++k)
        if (ir::globMatch(globs[k], s)) {
          want |= 1ull << k;
          best = std::min<uint32_t>(best, static_cast<uint32_t>(k * 4));
        }
      ASSERT_EQ(v.atoms[0], want) << "seed " << seed << " '" << s << "'";
      ASSERT_EQ(v.best, best);
    }
  }
}

// The first word of `s` as the BPF side reads it (little-endian; past the end, `pad`).
uint64_t firstWord(const std::string &s, char pad) {
  uint64_t w = 0;
  for (size_t i = 0; i < 8; ++i)
    w |= uint64_t(static_cast<uint8_t>(i < s.size() ? s[i] : pad)) << (8 * i);
  return w;
}

// A string that a glob group's DFA accepts starts with one of the group's heads, whatever
// bytes follow a short string's end; and the heads rule strings out.
TEST(Semantics, GlobHeadsNeverRuleOutAMatch) {
  size_t ruledOut = 0;
  for (uint32_t seed = 1; seed <= 300; ++seed) {
    Gen g(seed);
    std::vector<be::DfaPattern> pats;
    for (int i = 0, n = 1 + g.pick(6); i < n; ++i) {
      be::DfaPattern p;
      p.tokens = *ir::parseGlob((g.pick(2) ? "/" : "") + g.glob());
      p.val.best = static_cast<uint32_t>(i * 4);
      pats.push_back(p);
    }
    auto dfa = be::buildDfa(pats, 4096, nullptr);
    ASSERT_TRUE(dfa);
    auto heads = be::dfaHeads(pats, 4);
    ASSERT_LE(heads.size(), 4u);
    for (int i = 0; i < 300; ++i) {
      std::string s = (g.pick(2) ? "/" : "") + g.str(10);
      bool matches = be::runDfa(*dfa, s).best != be::kNoRule;
      if (heads.empty())
        continue;
      for (char pad : {'\0', 'a', '/'})
        ASSERT_TRUE(!matches || be::headsAdmit(heads, firstWord(s, pad))) << "seed " << seed << " '" << s << "'";
      ruledOut += !be::headsAdmit(heads, firstWord(s, '\0'));
    }
  }
  EXPECT_GT(ruledOut, 1000u);
}

TEST(Semantics, GlobHeadsAreTheLiteralStarts) {
  auto heads = [](std::vector<std::string> globs) {
    std::vector<be::DfaPattern> pats;
    for (const auto &gl : globs)
      pats.push_back({*ir::parseGlob(gl), {}});
    std::vector<std::string> out;
    for (const auto &h : be::dfaHeads(pats, 4)) {
      std::string s;
      for (size_t i = 0; i < 8 && (h.mask >> (8 * i) & 0xff); ++i)
        s.push_back(static_cast<char>(h.value >> (8 * i)));
      out.push_back(s);
    }
    std::sort(out.begin(), out.end());
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(heads({"/home/*/.ssh/id_*", "/root/.ssh/id_*"}), (V{"/home/", "/root/.s"}));
  EXPECT_EQ(heads({"/etc/*", "/etc/ssh/*"}), (V{"/etc/"})) << "a head that another starts is left out";
  EXPECT_EQ(heads({"/a\\*b/*"}), (V{"/a*b/"})) << "an escaped byte is literal";
  EXPECT_EQ(heads({"/[a]bc"}), (V{"/abc"})) << "so is a set of one byte";
  EXPECT_EQ(heads({"/x1/a", "/x2/a", "/x3/a", "/x4/a", "/x5/a"}), (V{"/x"})) << "cut until four remain";
  EXPECT_EQ(heads({"/etc/*", "*.conf"}), V{}) << "a pattern that may start with any byte";
  EXPECT_EQ(heads({"/*"}), V{}) << "one byte rules out nothing";
  EXPECT_EQ(heads({"/a", "/b", "/c", "/d", "/e"}), V{}) << "no two-byte cut leaves four";
}

TEST(Semantics, DfaIsMinimal) {
  // "/a/*" and "/a/?*" differ only on "/a/": 2 accepting behaviours, few states
  std::vector<be::DfaPattern> pats(1);
  pats[0].tokens = *ir::parseGlob("/etc/**");
  pats[0].val.best = 0;
  auto dfa = be::buildDfa(pats, 4096, nullptr);
  ASSERT_TRUE(dfa);
  EXPECT_EQ(dfa->states, 7u);  // dead, start, '/', 'e', 't', 'c', '/'+accepting loop
  EXPECT_LE(dfa->classes, 6u);
}

