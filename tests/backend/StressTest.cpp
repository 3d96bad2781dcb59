// The stress set on the host: every size compiles, has the same groups and the same code
// (so the per-event cost does not depend on the rule count), and the emitted maps decide
// the probes and random events like the evaluator.
#include "Backend.h"
#include "ObjectSummary.h"
#include "Simulator.h"
#include "StressGen.h"

#include <gtest/gtest.h>

#include <random>

using namespace bwtest;
using bulwark::HookId;
namespace ir = bulwark::ir;

TEST(Stress, SameGroupsAndCodeAtEverySize) {
  std::map<int, size_t> insns, groups;
  for (int n : {10, 100, 1000, 10000}) {
    auto set = stressSet(n);
    ASSERT_EQ(set.policy.rules.size(), static_cast<size_t>(n));
    auto r = bulwark::backend::compileBundle(set.policy);
    ASSERT_TRUE(r) << n << ": " << r.errors[0].message;
    auto s = summarize(r->bundle.object);
    insns[n] = s.programInsns["bw_file_open"] + s.programInsns["bw_socket_connect"];
    groups[n] = r->lowered.groups.size();
    size_t entries = 0;
    for (const auto &m : r->bundle.manifest.maps)
      entries += m.entries;
    std::printf("stress %5d rules: %.0f ms (lower %.0f), %zu groups, %zu insns, %zu map entries\n", n,
                r->stats.totalMs, r->stats.lowerMs, groups[n], insns[n], entries);
    // the probes, through the emitted map images
    for (const auto &p : set.probes) {
      auto d = ir::evaluate(set.policy, p.hook, p.event);
      uint32_t w = simulate(r->lowered, p.hook, p.event);
      EXPECT_EQ(w == bulwark::backend::kNoRule ? -1 : static_cast<int64_t>(w >> 2),
                d.matched ? static_cast<int64_t>(d.ruleId) : -1)
          << n << " " << p.name;
    }
    // random near-misses and hits
    std::mt19937 rng(static_cast<uint32_t>(n));
    for (int k = 0; k < 300; ++k) {
      int i = static_cast<int>(rng() % static_cast<uint32_t>(n));
      static const char *shapes[] = {"/stress/e%d/secret", "/stress/p%d/x", "/y/z.s%d",
                                     "/stress/g%d/a/keyZ", "/stress/o%d/a", "/stress/o%d/d/q",
                                     "/stress/c%d/w", "/stress/e%d/secre", "/stress/p%d"};
      char path[128];
      std::snprintf(path, sizeof path, shapes[rng() % 9], i % 2 ? i : i % 9);
      ir::Event ev{{"file.path", std::string(path)},
                   {"file.write", int64_t(rng() % 2)},
                   {"process.uid", int64_t(rng() % 2 ? 0 : 100000 + i)}};
      auto d = ir::evaluate(set.policy, HookId::FILE_OPEN, ev);
      uint32_t w = simulate(r->lowered, HookId::FILE_OPEN, ev);
      ASSERT_EQ(w == bulwark::backend::kNoRule ? -1 : static_cast<int64_t>(w >> 2),
                d.matched ? static_cast<int64_t>(d.ruleId) : -1)
          << n << " " << path;
    }
  }
  // from 80 rules on, the mix has every group and all its `and` compounds: same code
  EXPECT_EQ(groups[100], groups[10000]);
  EXPECT_EQ(insns[100], insns[1000]);
  EXPECT_EQ(insns[100], insns[10000]);
  EXPECT_LE(insns[10000], 2 * insns[10]);
}
