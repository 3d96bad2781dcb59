// Each lowering on its own: groups, decision plans and exact map contents.
#include "Lowering.h"
#include "PolicyBuilder.h"
#include "bw_abi.h"
#include "bw_match.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <functional>
#include <map>
#include <set>

using namespace bwtest;
using bulwark::HookId;
using bulwark::ir::Action;
using bulwark::ir::TestOp;
namespace ir = bulwark::ir;
namespace be = bulwark::backend;
using Bytes = std::vector<uint8_t>;

namespace {

be::Lowered lowerOk(const ir::Policy &p) {
  be::Lowered low;
  auto errs = be::lower(p, {}, low);
  EXPECT_TRUE(errs.empty()) << (errs.empty() ? "" : errs[0].message);
  return low;
}

uint32_t u32(const Bytes &b, size_t off) {
  uint32_t v;
  std::memcpy(&v, b.data() + off, 4);
  return v;
}
uint64_t u64(const Bytes &b, size_t off) {
  uint64_t v;
  std::memcpy(&v, b.data() + off, 8);
  return v;
}
std::string lpmString(const Bytes &k) {
  uint32_t bits = u32(k, 0) - 32;
  return std::string(reinterpret_cast<const char *>(k.data() + 8), bits / 8);
}

const HookId FO = HookId::FILE_OPEN;

} // namespace

TEST(Lowering, ExactStringsOneGroupMinWord) {
  auto p = PolicyBuilder()
               .rule("a", FO, cTest(FO, "file.path", TestOp::Eq, strs({"/x", "/y"})), Action::Deny)
               .rule("b", FO, cTest(FO, "file.path", TestOp::Eq, strs({"/y", "/z"})), Action::Audit)
               .build();
  auto low = lowerOk(p);
  ASSERT_EQ(low.groups.size(), 1u);
  EXPECT_EQ(low.groups[0].kind, be::GroupKind::Exact);
  ASSERT_EQ(low.hooks.size(), 4u);  // file.open, and the identity hooks (learn-only)
  EXPECT_EQ(low.hooks[0].hook, FO);
  for (size_t i = 1; i < low.hooks.size(); ++i)
    EXPECT_FALSE(low.hooks[i].hasRules);
  ASSERT_EQ(low.identity.size(), 1u);
  EXPECT_EQ(low.identity[0].paths, (std::vector<std::string>{"/x", "/y", "/z"}));
  EXPECT_TRUE(low.hooks[0].compounds.empty());
  EXPECT_EQ(low.hooks[0].needMask, 1ull << (24 + 5));
  const auto &m = low.maps.at("bw_m_exact");
  EXPECT_EQ(m.keySize, 16u);
  EXPECT_EQ(m.valueSize, 40u);
  // an identity group: each string twice, the view's value and the object's full value
  ASSERT_EQ(m.entries().size(), 6u);
  std::map<uint64_t, uint32_t> view, full;
  for (const auto &[k, v] : m.entries()) {
    EXPECT_EQ(u32(k, 4), 2u);
    if (u32(k, 0) == low.groups[0].id)
      view[u64(k, 8)] = u32(v, 0);
    else if (u32(k, 0) == (low.groups[0].id | BW_GROUP_IDENT_VAL))
      full[u64(k, 8)] = u32(v, 0);
    else
      ADD_FAILURE() << "group " << u32(k, 0);
  }
  EXPECT_EQ(full[be::fnv1a64("/x")], be::decisionWord(0, Action::Deny));
  EXPECT_EQ(full[be::fnv1a64("/y")], be::decisionWord(0, Action::Deny));  // min of both rules
  EXPECT_EQ(full[be::fnv1a64("/z")], be::decisionWord(1, Action::Audit));
  // the process's view may only make a decision stricter: an audit rule matched first would
  // stop a later deny, so the view never matches it
  EXPECT_EQ(view[be::fnv1a64("/x")], be::decisionWord(0, Action::Deny));
  EXPECT_EQ(view[be::fnv1a64("/y")], be::decisionWord(0, Action::Deny));
  EXPECT_EQ(view[be::fnv1a64("/z")], be::kNoRule);
}

// Atoms: the view may set one only where its holding can only make the decision stricter.
TEST(Lowering, ViewValuesKeepOnlyStrictAtoms) {
  auto p = PolicyBuilder()
               .rule("shadow", FO,
                     cAnd({cTest(FO, "file.path", TestOp::Eq, strs({"/etc/shadow"})),
                           cNot(cTest(FO, "process.exe", TestOp::Eq, strs({"/usr/bin/passwd"})))}),
                     Action::Deny)
               .build();
  auto low = lowerOk(p);
  ASSERT_EQ(low.identity.size(), 2u);
  std::map<uint32_t, uint64_t> viewAtoms, fullAtoms;  // group -> atom bits
  for (const auto &[k, v] : low.maps.at("bw_m_exact").entries()) {
    uint32_t g = u32(k, 0);
    (g & BW_GROUP_IDENT_VAL ? fullAtoms[g & ~BW_GROUP_IDENT_VAL] : viewAtoms[g]) = u64(v, 8);
  }
  uint32_t path = low.identity[0].field == "file.path" ? low.identity[0].group : low.identity[1].group;
  uint32_t exe = low.identity[0].field == "file.path" ? low.identity[1].group : low.identity[0].group;
  EXPECT_NE(fullAtoms[path], 0u);
  EXPECT_EQ(viewAtoms[path], fullAtoms[path]);  // "is shadow" can only lead to deny
  EXPECT_NE(fullAtoms[exe], 0u);
  EXPECT_EQ(viewAtoms[exe], 0u);  // "is passwd" can lead to allow: only the real object sets it
}

// A group is read as a view (its paths without an object matched by name) only where a view
// match can add something: a test whose holding can only make a decision stricter.
TEST(Lowering, AGroupIsAViewOnlyWhereAViewMatchCanAddSomething) {
  auto dir = [] { return cTest(FO, "file.path", TestOp::Prefix, strs({"/srv/later/"})); };
  auto mark = [](ir::Policy p) {
    p.rules[0].decides = false;
    p.rules[0].marks.push_back({"m", false, 0, false, {}});
    return p;
  };
  struct Case {
    const char *what;
    ir::Policy policy;
    bool view;
  } cases[] = {
      {"deny", PolicyBuilder().rule("r", FO, dir(), Action::Deny).build(), true},
      {"not in deny", PolicyBuilder().rule("r", FO, cNot(dir()), Action::Deny).build(), false},
      {"allow", PolicyBuilder().rule("r", FO, dir(), Action::Allow).build(), false},
      {"audit", PolicyBuilder().rule("r", FO, dir(), Action::Audit).build(), false},
      {"not in allow", PolicyBuilder().rule("r", FO, cNot(dir()), Action::Allow).build(), true},
      {"mark", mark(PolicyBuilder().rule("r", FO, dir()).build()), true},
      {"not in mark", mark(PolicyBuilder().rule("r", FO, cNot(dir())).build()), false},
      {"deny and not in deny", PolicyBuilder().rule("a", FO, cNot(dir()), Action::Deny).rule("b", FO, dir(), Action::Deny).build(), true},
  };
  for (const auto &c : cases) {
    auto low = lowerOk(c.policy);
    ASSERT_EQ(low.identity.size(), 1u) << c.what;
    EXPECT_EQ(low.identity[0].view, c.view) << c.what;
    EXPECT_EQ(low.groups[low.identity[0].group].viewAdds, c.view) << c.what;
  }
}

TEST(Lowering, PrefixValuesCoverShorterPrefixes) {
  auto p = PolicyBuilder()
               .rule("deep", FO, cTest(FO, "file.path", TestOp::Prefix, strs({"/a/b/"})), Action::Audit)
               .rule("shallow", FO, cTest(FO, "file.path", TestOp::Prefix, strs({"/a/"})), Action::Deny)
               .rule("other", FO, cTest(FO, "file.path", TestOp::Prefix, strs({"/c"})), Action::Deny)
               .build();
  auto low = lowerOk(p);
  const auto &m = low.maps.at("bw_m_prefix");
  EXPECT_EQ(m.keySize, 260u);
  std::map<std::string, uint32_t> best, view;
  for (const auto &[k, v] : m.entries()) {
    uint32_t g = uint32_t(k[4]) << 24 | k[5] << 16 | k[6] << 8 | k[7];
    if (g == (low.groups[0].id | BW_GROUP_IDENT_VAL))
      best[lpmString(k)] = u32(v, 0);
    else if (g == low.groups[0].id)
      view[lpmString(k)] = u32(v, 0);
    else
      ADD_FAILURE() << "group " << g;
  }
  ASSERT_EQ(best.size(), 3u);
  EXPECT_EQ(best["/a/b/"], be::decisionWord(0, Action::Audit));
  EXPECT_EQ(best["/a/"], be::decisionWord(1, Action::Deny));
  EXPECT_EQ(best["/c"], be::decisionWord(2, Action::Deny));
  EXPECT_EQ(view["/a/b/"], be::decisionWord(1, Action::Deny));  // the audit rule is not the view's
  // An object whose ancestors cannot all be read takes every deny of the group.
  const auto &ident = low.maps.at("bw_m_ident");
  ASSERT_EQ(ident.entries().size(), 1u);
  auto identEntries = ident.entries();
  const auto &[ik, iv] = identEntries[0];
  EXPECT_EQ(u32(ik, 0), low.groups[0].id);
  EXPECT_EQ(u64(ik, 16), BW_IDENT_INCOMPLETE);
  EXPECT_EQ(u32(iv, 0), be::decisionWord(1, Action::Deny));

  // reversed order: the longer key inherits the shorter, earlier rule
  auto p2 = PolicyBuilder()
                .rule("shallow", FO, cTest(FO, "file.path", TestOp::Prefix, strs({"/a/"})))
                .rule("deep", FO, cTest(FO, "file.path", TestOp::Prefix, strs({"/a/b/"})))
                .build();
  auto low2 = lowerOk(p2);
  for (const auto &[k, v] : low2.maps.at("bw_m_prefix").entries())
    EXPECT_EQ(u32(v, 0), be::decisionWord(0, Action::Deny)) << lpmString(k);
}

TEST(Lowering, SuffixKeysAreReversed) {
  auto p = PolicyBuilder().rule("keys", FO, cTest(FO, "file.path", TestOp::Suffix, strs({".key", ".pem"}))).build();
  auto low = lowerOk(p);
  ASSERT_EQ(low.groups[0].kind, be::GroupKind::Suffix);
  std::set<std::string> keys;
  for (const auto &[k, v] : low.maps.at("bw_m_suffix").entries())
    keys.insert(lpmString(k));
  EXPECT_EQ(keys, (std::set<std::string>{"yek.", "mep."}));
  EXPECT_FALSE(low.maps.count("bw_m_prefix"));
}

TEST(Lowering, GlobGroupIsOneDfa) {
  auto p = PolicyBuilder()
               .rule("g1", FO, cTest(FO, "file.path", TestOp::Glob, strs({"/etc/*.conf", "/srv/**/secret"})))
               .rule("g2", FO, cTest(FO, "file.path", TestOp::Glob, strs({"/tmp/?"})))
               .build();
  auto low = lowerOk(p);
  ASSERT_EQ(low.groups.size(), 1u);
  const auto &g = low.groups[0];
  EXPECT_EQ(g.kind, be::GroupKind::Glob);
  EXPECT_EQ(g.dfaBase, 0u);
  EXPECT_GT(g.dfaStates, 5u);
  const auto &d = low.maps.at("bw_m_dfa");
  uint32_t ncls = u32(d.entries()[0].second, 0);
  EXPECT_EQ(d.entries().size(), 2u + 256u + g.dfaStates * ncls);
  EXPECT_EQ(low.maps.at("bw_m_dfa_acc").entries().size(), g.dfaStates);
  ASSERT_EQ(g.heads.size(), 3u) << "each pattern's literal start: /etc/, /srv/, /tmp/";
  EXPECT_EQ(g.heads[0].mask, 0xffffffffffull);
  EXPECT_EQ(g.heads[0].value, 0x2f6374652full); // "/etc/", little-endian
}

// Networks enough that an address group goes to the trie: 192.0.2.0/28, 192.0.2.16/28, ...
std::vector<ir::Value> manyNets() {
  std::vector<ir::Value> nets;
  for (uint32_t i = 0; i < be::kCidrInlineMax; ++i)
    nets.emplace_back(cidr(("192.0.2." + std::to_string(16 * i) + "/28").c_str()));
  return nets;
}

TEST(Lowering, CidrV4MappedAndPrecomputed) {
  const HookId NC = HookId::NET_CONNECT;
  std::vector<ir::Value> nets = manyNets();
  nets.push_back(cidr("10.0.0.0/8"));
  nets.push_back(cidr("fd00::/16"));
  auto p = PolicyBuilder()
               .rule("host", NC, cTest(NC, "net.daddr", TestOp::Eq, {cidr("10.1.2.3")}), Action::Audit)
               .rule("net", NC, cTest(NC, "net.daddr", TestOp::InCidr, nets))
               .build();
  auto low = lowerOk(p);
  ASSERT_EQ(low.groups.size(), 1u);  // == and in-CIDR on one field share a group
  EXPECT_TRUE(low.groups[0].nets.empty()) << "more networks than kCidrInlineMax: the trie";
  const auto &m = low.maps.at("bw_m_cidr");
  EXPECT_EQ(m.keySize, 24u);
  std::map<uint32_t, uint32_t> bestByLen;
  for (const auto &[k, v] : m.entries())
    bestByLen[u32(k, 0)] = u32(v, 0);
  EXPECT_EQ(bestByLen[32 + 128], be::decisionWord(0, Action::Audit));
  EXPECT_EQ(bestByLen[32 + 96 + 8], be::decisionWord(1, Action::Deny));
  EXPECT_EQ(bestByLen[32 + 16], be::decisionWord(1, Action::Deny));
  for (const auto &[k, v] : m.entries())
    if (u32(k, 0) == 32 + 128) {
      EXPECT_EQ(k[8 + 10], 0xff);
      EXPECT_EQ(k[8 + 12], 10);
    }
}

TEST(Lowering, FewNetworksAreComparedInCode) {
  const HookId NC = HookId::NET_CONNECT;
  auto p = PolicyBuilder()
               .rule("host", NC, cTest(NC, "net.daddr", TestOp::Eq, {cidr("10.1.2.3")}), Action::Audit)
               .rule("net", NC, cTest(NC, "net.daddr", TestOp::InCidr, {cidr("10.0.0.0/8"), cidr("fd00::/16")}))
               .build();
  auto low = lowerOk(p);
  ASSERT_EQ(low.groups.size(), 1u);
  EXPECT_FALSE(low.maps.count("bw_m_cidr")) << "no trie entries for a group compared in code";
  const auto &nets = low.groups[0].nets;
  ASSERT_EQ(nets.size(), 3u);
  std::map<std::pair<uint64_t, uint64_t>, const be::InlineNet *> byMask;
  for (const auto &n : nets)
    byMask[{n.mask[0], n.mask[1]}] = &n;
  // 10.1.2.3 is ::ffff:10.1.2.3: bytes 10-11 0xff, 12-15 the address (little-endian words)
  const auto *host = byMask.at({~0ull, ~0ull});
  EXPECT_EQ(host->value[0], 0u);
  EXPECT_EQ(host->value[1], 0x0302010affff0000ull);
  EXPECT_EQ(host->val.best, be::decisionWord(0, Action::Audit));
  // 10.0.0.0/8: the first 96 + 8 bits
  const auto *net8 = byMask.at({~0ull, 0x000000ffffffffffull});
  EXPECT_EQ(net8->value[1], 0x0000000affff0000ull);
  EXPECT_EQ(net8->val.best, be::decisionWord(1, Action::Deny));
  // fd00::/16: each network its own value, not summed over the shorter ones
  const auto *v6 = byMask.at({0xffffull, 0});
  EXPECT_EQ(v6->value[0], 0x00fdull);
  EXPECT_EQ(v6->val.best, be::decisionWord(1, Action::Deny));
}

TEST(Lowering, NetworksOfManyOutcomesStayInTheTrie) {
  // n rules, each its network and a port: n atoms; five are more combinations than the
  // verifier should follow (kCidrInlineOutcomes), four are compared in code
  const HookId NC = HookId::NET_CONNECT;
  auto addressGroup = [&](int n) {
    PolicyBuilder pb;
    for (int i = 0; i < n; ++i)
      pb.rule("r" + std::to_string(i), NC,
              cAnd({cTest(NC, "net.daddr", TestOp::InCidr, {cidr(("10." + std::to_string(i) + ".0.0/16").c_str())}),
                    cTest(NC, "net.dport", TestOp::Eq, {int64_t(1000 + i)})}));
    auto low = lowerOk(pb.build());
    auto g = std::find_if(low.groups.begin(), low.groups.end(),
                          [](const be::Group &x) { return x.kind == be::GroupKind::Cidr; });
    EXPECT_NE(g, low.groups.end());
    size_t trie = low.maps.count("bw_m_cidr") ? low.maps.at("bw_m_cidr").entries().size() : 0;
    return std::make_pair(g == low.groups.end() ? size_t(0) : g->nets.size(), trie);
  };
  EXPECT_EQ(addressGroup(5), std::make_pair(size_t(0), size_t(5)));
  EXPECT_EQ(addressGroup(4), std::make_pair(size_t(4), size_t(0)));
}

TEST(Lowering, IntsInlineOrHashed) {
  auto few = PolicyBuilder()
                 .rule("root", FO, cTest(FO, "process.uid", TestOp::Eq, {int64_t(0), int64_t(1)}))
                 .rule("wr", FO, cTest(FO, "file.flags", TestOp::HasFlags, {int64_t(01)}))
                 .build();
  auto low = lowerOk(few);
  EXPECT_TRUE(low.groups.empty());
  ASSERT_EQ(low.hooks[0].compounds.size(), 2u);
  EXPECT_EQ(low.hooks[0].compounds[0].cond.kind, be::LCond::Kind::IntCmp);
  EXPECT_EQ(low.hooks[0].compounds[1].cond.op, TestOp::HasFlags);
  std::vector<ir::Value> many;
  for (int i = 0; i < 10; ++i)
    many.emplace_back(int64_t(1000 + i));
  auto lots = PolicyBuilder().rule("uids", FO, cTest(FO, "process.uid", TestOp::Eq, many)).build();
  auto low2 = lowerOk(lots);
  ASSERT_EQ(low2.groups.size(), 1u);
  EXPECT_EQ(low2.groups[0].kind, be::GroupKind::IntSet);
  EXPECT_EQ(low2.maps.at("bw_m_int").entries().size(), 10u);
}

TEST(Lowering, CompoundRulesGetAtomsNotRuleGrowth) {
  // 50 rules over the same two fields: still 2 lookups (groups), atoms in the values.
  PolicyBuilder pb;
  for (int i = 0; i < 50; ++i)
    pb.rule("r" + std::to_string(i), FO,
            cAnd({cTest(FO, "file.path", TestOp::Prefix, strs({("/d" + std::to_string(i) + "/").c_str()})),
                  cTest(FO, "process.comm", TestOp::Eq, strs({("c" + std::to_string(i)).c_str()}))}));
  auto low = lowerOk(pb.build());
  EXPECT_EQ(low.groups.size(), 2u);
  EXPECT_EQ(low.hooks[0].atoms, 100u);
  EXPECT_EQ(low.hooks[0].compounds.size(), 50u);
  for (const auto &[k, v] : low.maps.at("bw_m_prefix").entries()) {
    EXPECT_EQ(u32(v, 0), be::kNoRule);  // no single-test rule
    int bits = 0;
    for (int w = 0; w < 4; ++w)
      bits += __builtin_popcountll(u64(v, 8 + 8 * w));
    EXPECT_EQ(bits, 1);
  }
}

TEST(Lowering, OrOfMembershipTestsIsSimple) {
  auto p = PolicyBuilder()
               .rule("either", FO, cOr({cTest(FO, "file.path", TestOp::Prefix, strs({"/a/"})),
                                        cTest(FO, "file.path", TestOp::Suffix, strs({".x"}))}))
               .build();
  auto low = lowerOk(p);
  EXPECT_EQ(low.groups.size(), 2u);
  EXPECT_TRUE(low.hooks[0].compounds.empty());
}

TEST(Lowering, BudgetErrorsCarryLocations) {
  std::string longPrefix(300, 'a');
  auto p = PolicyBuilder().rule("long", FO, cTest(FO, "file.path", TestOp::Prefix, {longPrefix})).build();
  be::Lowered low;
  auto errs = be::lower(p, {}, low);
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0].kind, be::BackendError::Kind::Budget);
  EXPECT_EQ(errs[0].loc.file, "test.bw");
  EXPECT_NE(errs[0].message.find("252"), std::string::npos);

  // a glob set whose DFA explodes: (a|b)* a (a|b){n}
  std::string g = "**a";
  for (int i = 0; i < 14; ++i)
    g += "?";
  auto p2 = PolicyBuilder().rule("blowup", FO, cTest(FO, "file.path", TestOp::Glob, {g})).build();
  be::LoweringLimits lim;
  lim.maxDfaStates = 1000;
  errs = be::lower(p2, lim, low);
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0].kind, be::BackendError::Kind::Budget);
  EXPECT_NE(errs[0].message.find("DFA states"), std::string::npos);

  PolicyBuilder pb;
  for (int i = 0; i < 130; ++i)
    pb.rule("r" + std::to_string(i), FO,
            cAnd({cTest(FO, "file.path", TestOp::Eq, strs({("/f" + std::to_string(i)).c_str()})),
                  cTest(FO, "process.comm", TestOp::Eq, strs({("c" + std::to_string(i)).c_str()}))}));
  errs = be::lower(pb.build(), {}, low);
  ASSERT_FALSE(errs.empty());
  EXPECT_NE(errs[0].message.find("256"), std::string::npos);
  EXPECT_EQ(errs[0].loc.file, "test.bw");
}

TEST(Lowering, KprobeIsReportedUnsupported) {
  PolicyBuilder pb;
  pb.rule("k", HookId::KPROBE, cTrue(), Action::Audit);
  be::Lowered low;
  auto errs = be::lower(pb.build(), {}, low);
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0].kind, be::BackendError::Kind::Unsupported);
}

// The default DFA budget (131072 states per group) stops an exploding glob set with an error
// rather than a long compile or a huge map.
TEST(Lowering, DfaBlowUpHitsTheDefaultBudget) {
  std::string g = "**a";
  for (int i = 0; i < 18; ++i)  // 2^19 states
    g += "?";
  auto p = PolicyBuilder().rule("blowup", FO, cTest(FO, "file.path", TestOp::Glob, {g})).build();
  be::Lowered low;
  auto t0 = std::chrono::steady_clock::now();
  auto errs = be::lower(p, {}, low);
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0].kind, be::BackendError::Kind::Budget);
  EXPECT_NE(errs[0].message.find("131072"), std::string::npos) << errs[0].message;
  std::printf("refused after %.0f ms: %s\n", ms, errs[0].message.c_str());
}

namespace {

// The group of `field` on hook 0 of `low`.
uint32_t groupOf(const be::Lowered &low, const char *field) {
  for (uint32_t gi : low.hooks[0].groups)
    if (std::string(low.groups[gi].field.name) == field)
      return gi;
  ADD_FAILURE() << "no group on " << field;
  return 0;
}

ir::Cond exceptExe(const char *path, const char *exe) {
  return cAnd({cTest(FO, "file.path", TestOp::Eq, strs({path})), cNot(cTest(FO, "process.exe", TestOp::Eq, strs({exe})))});
}

} // namespace

TEST(Lowering, AnExceptionIsLookedUpOnlyAfterTheTestItExcepts) {
  // protect_credentials' shape: the executable matters only for files of the rules
  auto low = lowerOk(PolicyBuilder()
                         .rule("shadow", FO, exceptExe("/etc/shadow", "/usr/bin/passwd"))
                         .rule("keys", FO, exceptExe("/etc/ssh/k", "/usr/sbin/sshd"))
                         .build());
  const auto &h = low.hooks[0];
  uint32_t path = groupOf(low, "file.path"), exe = groupOf(low, "process.exe");
  ASSERT_EQ(h.gates.size(), 1u);
  ASSERT_TRUE(h.gates.count(exe));
  for (uint32_t a = 0; a < h.atoms; ++a)  // waits for exactly the path atoms
    EXPECT_EQ((h.gates.at(exe)[a / 64] >> (a % 64)) & 1, h.atomGroup[a] == path ? 1u : 0u) << a;
}

TEST(Lowering, GroupsARuleCanMatchWithoutAnotherAreAlwaysLookedUp) {
  // a rule on the executable alone, an exception standing alone, an `or` with a comparison
  for (auto extra : {cTest(FO, "process.exe", TestOp::Eq, strs({"/bin/x"})),
                     cAnd({cNot(cTest(FO, "process.exe", TestOp::Eq, strs({"/bin/y"}))), cTest(FO, "process.uid", TestOp::Eq, {int64_t(7)})}),
                     cOr({cTest(FO, "process.uid", TestOp::Eq, {int64_t(7)}),
                          cAnd({cTest(FO, "process.exe", TestOp::Eq, strs({"/bin/z"})), cTest(FO, "file.write", TestOp::Eq, {int64_t(1)})})})}) {
    auto low = lowerOk(PolicyBuilder().rule("shadow", FO, exceptExe("/etc/shadow", "/usr/bin/passwd")).rule("extra", FO, extra).build());
    EXPECT_TRUE(low.hooks[0].gates.empty());
  }
}

// A rule that only marks never decides (the hook's default is an allow counted as the
// default's); its condition is looked up on every event; a mark test is deny-side (fails
// closed) in a deny rule and under `not` in an allow rule, not elsewhere.
TEST(Lowering, MarksSetTestedAndFailClosedByPolarity) {
  const HookId NC = HookId::NET_CONNECT;
  ir::Policy p = PolicyBuilder()
                     .rule("read", FO, cTest(FO, "file.path", TestOp::Prefix, strs({"/root/.ssh/"})), Action::Allow)
                     .rule("deny_after", NC, cMark(ir::kProcessMarks, "read_key"), Action::Deny)
                     .rule("allow_unless", NC, cNot(cMark(ir::kParentMarks, "read_key")), Action::Allow)
                     .rule("allow_if", NC, cMark(ir::kProcessMarks, "read_key"), Action::Allow)
                     .build();
  p.name = "seq";
  p.rules[0].decides = false;
  p.rules[0].marks.push_back({"read_key", false, 600000000000ull, true, {}});
  auto low = lowerOk(p);
  EXPECT_TRUE(low.usesMarks);
  const be::LoweredHook &open = low.hooks[0];
  ASSERT_EQ(open.hook, FO);
  EXPECT_TRUE(open.compounds.empty());
  EXPECT_EQ(open.alwaysWord, be::decisionWord(uint32_t(p.rules.size()), Action::Allow));
  ASSERT_EQ(open.markRules.size(), 1u);
  ASSERT_EQ(open.markRules[0].marks.size(), 1u);
  const be::LoweredMark &m = open.markRules[0].marks[0];
  EXPECT_EQ(m.id, be::markId("seq", "read_key"));
  EXPECT_NE(m.id, be::markId("other", "read_key"));  // marks belong to their policy
  EXPECT_EQ(m.who, uint32_t(BW_MARK_ON_PROCESS));
  EXPECT_EQ(m.forNs, 600000000000ull);
  EXPECT_EQ(m.flags, uint32_t(BW_MARK_UNTIL_EXEC));
  ASSERT_EQ(open.groups.size(), 1u);
  EXPECT_FALSE(open.gates.count(open.groups[0]));  // always looked up
  auto connect = std::find_if(low.hooks.begin(), low.hooks.end(), [&](const be::LoweredHook &h) { return h.hook == NC; });
  ASSERT_NE(connect, low.hooks.end());
  ASSERT_EQ(connect->compounds.size(), 3u);
  EXPECT_EQ(connect->compounds[0].cond.kind, be::LCond::Kind::Mark);
  EXPECT_TRUE(connect->compounds[0].cond.failClosed);
  EXPECT_EQ(connect->compounds[1].cond.kids.at(0).markWho, uint32_t(BW_MARK_ON_PARENT));
  EXPECT_TRUE(connect->compounds[1].cond.kids.at(0).failClosed);
  EXPECT_FALSE(connect->compounds[2].cond.failClosed);
  EXPECT_EQ(connect->needMask, 0u);  // marks are not event fields
}

// dropper's shape: every rule on the hook needs file.write, so a read-only open is decided
// before any path or executable is extracted; one rule without such a test takes the precheck
// away, and so does a rule deciding on a lookup alone.
TEST(Lowering, AHookWhoseRulesAllNeedACheapTestIsPrecheckedByIt) {
  auto write = [] { return cTest(FO, "file.write", TestOp::Eq, {int64_t(1)}); };
  auto outside = [] { return cNot(cTest(FO, "file.path", TestOp::Prefix, strs({"/usr/"}))); };
  auto shell = [] { return cTest(FO, "parent.exe", TestOp::Eq, strs({"/bin/sh"})); };
  auto low = lowerOk(PolicyBuilder()
                         .rule("a", FO, cAnd({write(), outside()}))
                         .rule("b", FO, cAnd({write(), outside(), shell()}))
                         .build());
  const auto &h = low.hooks[0];
  ASSERT_EQ(h.precheck.kind, be::LCond::Kind::Or);
  ASSERT_EQ(h.precheck.kids.size(), 2u);
  EXPECT_EQ(h.precheck.kids[0].kids.at(0).kind, be::LCond::Kind::IntCmp);
  EXPECT_EQ(h.precheckNeed, BW_NEED_INT(7));
  EXPECT_EQ(h.precheckWord, be::kNoRule);
  for (auto extra : {outside(), cOr({write(), outside()}), cTest(FO, "file.path", TestOp::Eq, strs({"/x"}))}) {
    auto other = lowerOk(PolicyBuilder().rule("a", FO, cAnd({write(), outside()})).rule("c", FO, extra).build());
    EXPECT_EQ(other.hooks[0].precheck.kind, be::LCond::Kind::True);
    EXPECT_EQ(other.hooks[0].precheckNeed, 0u);
  }
  // nothing to save: the precheck's field is all the hook reads
  auto cheap = lowerOk(PolicyBuilder().rule("a", FO, cAnd({write(), cTest(FO, "process.uid", TestOp::Eq, {int64_t(0)})})).build());
  EXPECT_EQ(cheap.hooks[0].precheck.kind, be::LCond::Kind::True);
}

// lateral_movement's shape: an address set is a cheap test (one map lookup, no string), so a
// connect no rule's address or port test lets through reads no cgroup and no executable. A
// set on a string field is not: one rule testing only that takes the precheck away.
TEST(Lowering, AddressAndIntegerSetsAreCheapTestsOfThePrecheck) {
  const HookId NC = HookId::NET_CONNECT;
  auto metadata = [&] { return cTest(NC, "net.daddr", TestOp::InCidr, {cidr("169.254.169.254/32")}); };
  auto notHostCgroup = [&] { return cNot(cTest(NC, "process.cgroup", TestOp::Eq, strs({"/"}))); };
  auto shell = [&] { return cTest(NC, "process.exe", TestOp::Eq, strs({"/bin/sh", "/bin/bash"})); };
  auto inet = [&] { return cTest(NC, "net.family", TestOp::Eq, {int64_t(2), int64_t(10)}); };
  auto notLoopback = [&] { return cNot(cTest(NC, "net.daddr", TestOp::InCidr, {cidr("127.0.0.0/8")})); };
  auto low = lowerOk(PolicyBuilder()
                         .rule("metadata", NC, cAnd({metadata(), notHostCgroup()}))
                         .rule("shell", NC, cAnd({shell(), inet(), notLoopback()}))
                         .build());
  auto onConnect = [&](const be::Lowered &l) -> const be::LoweredHook & {  // process.exe adds the identity hooks
    return *std::find_if(l.hooks.begin(), l.hooks.end(), [&](const be::LoweredHook &x) { return x.hook == NC; });
  };
  const auto &h = onConnect(low);
  ASSERT_EQ(h.precheck.kind, be::LCond::Kind::Or);
  ASSERT_EQ(h.precheck.kids.size(), 2u);
  EXPECT_EQ(h.precheck.kids[0].kind, be::LCond::Kind::And);
  ASSERT_EQ(h.precheck.kids[0].kids.size(), 1u);  // the cgroup string is not cheap
  EXPECT_EQ(h.precheck.kids[0].kids[0].kind, be::LCond::Kind::Atom);
  ASSERT_EQ(h.precheck.kids[1].kids.size(), 2u);  // nor is the executable
  EXPECT_EQ(h.precheck.kids[1].kids[0].kind, be::LCond::Kind::IntCmp);
  EXPECT_EQ(h.precheck.kids[1].kids[1].kind, be::LCond::Kind::Not);
  EXPECT_EQ(h.precheckNeed, BW_NEED_INT(6) | BW_NEED_ADDR(0));
  ASSERT_EQ(h.precheckGroups.size(), 1u);  // both address tests are in one group
  EXPECT_EQ(low.groups[h.precheckGroups[0]].kind, be::GroupKind::Cidr);
  EXPECT_NE(h.needMask & ~h.precheckNeed, 0u);  // the strings wait for it
  // cheapest first, whatever the rule's order: the set is looked up only when the integer
  // tests hold
  auto portFirst = lowerOk(PolicyBuilder()
                               .rule("hop", NC, cAnd({notLoopback(), cTest(NC, "net.dport", TestOp::Eq, {int64_t(22)})}))
                               .build());
  const auto &hop = onConnect(portFirst).precheck;
  ASSERT_EQ(hop.kind, be::LCond::Kind::Or);
  ASSERT_EQ(hop.kids.at(0).kids.size(), 2u);
  EXPECT_EQ(hop.kids[0].kids[0].kind, be::LCond::Kind::IntCmp);
  EXPECT_EQ(hop.kids[0].kids[1].kind, be::LCond::Kind::Not);
  auto stringOnly = lowerOk(PolicyBuilder()
                                .rule("metadata", NC, cAnd({metadata(), notHostCgroup()}))
                                .rule("shell", NC, shell())
                                .build());
  EXPECT_EQ(onConnect(stringOnly).precheck.kind, be::LCond::Kind::True);
  EXPECT_TRUE(onConnect(stringOnly).precheckGroups.empty());
  // credential_exfiltration's shape: where a rule tests a mark (however its `and`s nest), the
  // mark and the integer tests are its cheap part; the address is not extracted and looked up
  // on every event
  for (auto cond : {cAnd({cMark(ir::kProcessMarks, "read"), inet(), notLoopback()}),
                    cAnd({cAnd({cAnd({cMark(ir::kProcessMarks, "read"), inet()}), notLoopback()}), shell()})}) {
    auto marked = lowerOk(PolicyBuilder().rule("after_read", NC, cond).build());
    const auto &m = onConnect(marked);
    ASSERT_EQ(m.precheck.kind, be::LCond::Kind::Or);
    ASSERT_EQ(m.precheck.kids.at(0).kids.size(), 2u);
    EXPECT_EQ(m.precheck.kids[0].kids[0].kind, be::LCond::Kind::IntCmp);  // the cheaper first
    EXPECT_EQ(m.precheck.kids[0].kids[1].kind, be::LCond::Kind::Mark);
    EXPECT_EQ(m.precheckNeed, BW_NEED_INT(6));
    EXPECT_TRUE(m.precheckGroups.empty());
  }
}

// A mark rule's groups are gated like a compound rule's (credential_exfiltration's shape:
// the parent's executable matters only for a credential file), and a mark-only hook whose
// precheck fails decides what it decides when no rule holds: the allow past the last rule.
TEST(Lowering, MarkRulesAreGatedAndPrechecked) {
  ir::Policy p = PolicyBuilder()
                     .rule("read", FO, cAnd({cTest(FO, "file.path", TestOp::Eq, strs({"/etc/shadow"})),
                                             cTest(FO, "parent.exe", TestOp::Eq, strs({"/bin/sh"}))}))
                     .rule("write", FO, cAnd({cTest(FO, "file.write", TestOp::Eq, {int64_t(1)}),
                                              cMark(ir::kProcessMarks, "read_key")}))
                     .build();
  p.name = "seq";
  for (auto &r : p.rules) {
    r.decides = false;
    r.marks.push_back({"read_key", false, 0, false, {}});
  }
  auto low = lowerOk(p);
  const auto &h = low.hooks[0];
  uint32_t parent = groupOf(low, "parent.exe");
  EXPECT_TRUE(h.gates.count(parent));
  EXPECT_FALSE(h.gates.count(groupOf(low, "file.path")));
  EXPECT_EQ(h.precheck.kind, be::LCond::Kind::True);  // "read" has no cheap test
  p.rules[0].cond = cAnd({cTest(FO, "file.write", TestOp::Eq, {int64_t(0)}), p.rules[0].cond});
  auto prechecked = lowerOk(p);
  EXPECT_EQ(prechecked.hooks[0].precheck.kind, be::LCond::Kind::Or);
  EXPECT_EQ(prechecked.hooks[0].precheckWord, be::decisionWord(uint32_t(p.rules.size()), Action::Allow));
}

// Quiet decisions (Quiet.h): a file.open hook tells "no rule holds for this quiet key" when each
// rule implies a test on the file's path, file.write or file.read, and the decision no rule
// makes allows. The part it tests is what the rule implies of those fields alone.
TEST(Lowering, AHookIsQuietWhereEveryRuleImpliesATestOnTheKey) {
  auto shadow = [] { return cTest(FO, "file.path", TestOp::Eq, strs({"/etc/shadow"})); };
  auto reader = [] { return cTest(FO, "process.exe", TestOp::Eq, strs({"/usr/bin/passwd"})); };
  auto write = [] { return cTest(FO, "file.write", TestOp::Eq, {int64_t(1)}); };
  auto system = [] { return cNot(cTest(FO, "file.path", TestOp::Prefix, strs({"/usr/"}))); };
  // protect_credentials' shape: a lookup alone, and a path test with an executable exception
  auto low = lowerOk(PolicyBuilder()
                         .rule("shadow", FO, cAnd({shadow(), cNot(reader())}))
                         .rule("keys", FO, cTest(FO, "file.path", TestOp::Prefix, strs({"/root/.ssh/"})))
                         .build());
  const auto &h = low.hooks[0];
  EXPECT_TRUE(h.quiet);
  EXPECT_EQ(h.quietWord, be::kNoRule);
  ASSERT_EQ(h.quietParts.size(), 1u);  // the compound rule's key part: the path test alone
  EXPECT_EQ(h.quietParts[0].kind, be::LCond::Kind::And);
  ASSERT_EQ(h.quietParts[0].kids.size(), 1u);
  EXPECT_EQ(h.quietParts[0].kids[0].kind, be::LCond::Kind::Atom);
  EXPECT_FALSE(h.precheckQuiet);
  // dropper's shape: the whole condition is on the key, and so is its precheck
  auto dropper = lowerOk(PolicyBuilder().rule("w", FO, cAnd({write(), system(), reader()})).build());
  EXPECT_TRUE(dropper.hooks[0].quiet);
  EXPECT_EQ(dropper.hooks[0].precheck.kind, be::LCond::Kind::Or);
  EXPECT_TRUE(dropper.hooks[0].precheckQuiet);
  // a precheck that tests a mark cannot tell: the process may gain the mark with the key the
  // same; the hook is still quiet where its decision says so
  auto marked = lowerOk(PolicyBuilder().rule("m", FO, cAnd({cMark(ir::kProcessMarks, "m"), shadow()})).build());
  EXPECT_TRUE(marked.hooks[0].quiet);
  EXPECT_EQ(marked.hooks[0].precheck.kind, be::LCond::Kind::Or);
  EXPECT_FALSE(marked.hooks[0].precheckQuiet);
  // not quiet: a rule with no test on the key, one that decides on the executable alone, one
  // that holds always, a process mark alone, a default that denies
  for (auto cond : {reader(), cAnd({reader(), cTest(FO, "process.uid", TestOp::Eq, {int64_t(0)})}),
                    cOr({shadow(), reader()}), cTrue(), cMark(ir::kProcessMarks, "m")}) {
    auto other = lowerOk(PolicyBuilder().rule("a", FO, shadow()).rule("b", FO, cond).build());
    EXPECT_FALSE(other.hooks[0].quiet);
  }
  // a negated path test is on the key too; but a path test looked up only after the
  // executable's (gated: the rule needs both) is not known on every event
  EXPECT_TRUE(lowerOk(PolicyBuilder().rule("a", FO, cAnd({cNot(shadow()), write()})).build()).hooks[0].quiet);
  auto gated = lowerOk(PolicyBuilder().rule("a", FO, cAnd({cNot(shadow()), reader()})).build());
  EXPECT_TRUE(gated.hooks[0].gates.count(groupOf(gated, "file.path")));
  EXPECT_FALSE(gated.hooks[0].quiet);
  EXPECT_FALSE(lowerOk(PolicyBuilder().rule("a", FO, shadow()).defaultDeny().build()).hooks[0].quiet);
  // another hook keeps no quiet decisions
  const HookId UN = HookId::FILE_UNLINK;
  EXPECT_FALSE(lowerOk(PolicyBuilder().rule("u", UN, cTest(UN, "file.path", TestOp::Eq, strs({"/x"}))).build())
                   .hooks[0]
                   .quiet);
}

// credential_exfiltration's shape: a hook whose rules only set marks decides the allow past the
// last rule when none holds, and is quiet where each mark rule implies a path test.
TEST(Lowering, AMarkOnlyHookIsQuietOnTheAllowItDecides) {
  ir::Policy p = PolicyBuilder()
                     .rule("read", FO, cAnd({cTest(FO, "file.path", TestOp::Eq, strs({"/etc/shadow"})),
                                             cTest(FO, "parent.exe", TestOp::Eq, strs({"/bin/sh"}))}))
                     .build();
  p.rules[0].decides = false;
  p.rules[0].marks.push_back({"read_key", false, 0, false, {}});
  auto low = lowerOk(p);
  EXPECT_TRUE(low.hooks[0].quiet);
  EXPECT_EQ(low.hooks[0].quietWord, be::decisionWord(uint32_t(p.rules.size()), Action::Allow));
  ASSERT_EQ(low.hooks[0].quietParts.size(), 1u);
}

// A net.connect hook is quiet like a file.open one, on its key: the destination (net.family,
// net.daddr, net.dport) and the process's own marks (the key holds the count of their changes).
// lateral_movement's and credential_exfiltration's shapes are quiet, and a precheck of the
// process's mark can say so; a rule on the parent's mark or the executable alone is not.
TEST(Lowering, AConnectHookIsQuietOnTheDestinationAndTheProcesssMarks) {
  const HookId NC = HookId::NET_CONNECT;
  auto onConnect = [&](const be::Lowered &l) -> const be::LoweredHook & {
    return *std::find_if(l.hooks.begin(), l.hooks.end(), [&](const be::LoweredHook &x) { return x.hook == NC; });
  };
  auto shell = [&] { return cTest(NC, "process.exe", TestOp::Eq, strs({"/bin/sh"})); };
  auto inet = [&] { return cTest(NC, "net.family", TestOp::Eq, {int64_t(2), int64_t(10)}); };
  auto notLoopback = [&] { return cNot(cTest(NC, "net.daddr", TestOp::InCidr, {cidr("127.0.0.0/8")})); };
  auto lateral = lowerOk(PolicyBuilder().rule("shell", NC, cAnd({shell(), inet(), notLoopback()})).build());
  EXPECT_TRUE(onConnect(lateral).quiet);
  EXPECT_FALSE(onConnect(lateral).quietView);
  EXPECT_FALSE(onConnect(lateral).quietAncestors);
  auto exfil = lowerOk(
      PolicyBuilder().rule("exfil", NC, cAnd({cMark(ir::kProcessMarks, "read_key"), inet(), notLoopback()})).build());
  EXPECT_TRUE(onConnect(exfil).quiet);
  EXPECT_EQ(onConnect(exfil).precheck.kind, be::LCond::Kind::Or);
  EXPECT_TRUE(onConnect(exfil).precheckQuiet);
  for (auto cond : {cMark(ir::kParentMarks, "m"), shell(), cNot(cMark(ir::kProcessMarks, "trusted"))})
    EXPECT_FALSE(onConnect(lowerOk(PolicyBuilder().rule("a", NC, cond).build())).quiet);
  // A mark that lets a process through can expire with the key unchanged: quiet on the port only.
  auto port = [&] { return cTest(NC, "net.dport", TestOp::Eq, {int64_t(50)}); };
  auto untrusted =
      lowerOk(PolicyBuilder().rule("untrusted", NC, cAnd({cNot(cMark(ir::kProcessMarks, "trusted")), port()})).build());
  const auto &hook = onConnect(untrusted);
  EXPECT_TRUE(hook.quiet);
  std::function<bool(const be::LCond &)> testsMark = [&](const be::LCond &c) {
    return c.kind == be::LCond::Kind::Mark || std::any_of(c.kids.begin(), c.kids.end(), testsMark);
  };
  ASSERT_EQ(hook.quietParts.size(), 1u);
  EXPECT_FALSE(testsMark(hook.quietParts[0])) << "the expiring mark is not on the key";
  EXPECT_FALSE(hook.precheckQuiet && testsMark(hook.precheck));
}
