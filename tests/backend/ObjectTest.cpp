// Emitted objects, checked through libbpf/libelf summaries.
#include "Backend.h"
#include "ObjectSummary.h"
#include "PolicyBuilder.h"

#include <gtest/gtest.h>

using namespace bwtest;
using bulwark::HookId;
using bulwark::ir::TestOp;

namespace {

bulwark::ir::Policy fileOpenPolicy() {
  return PolicyBuilder("fo")
      .rule("no-shadow", HookId::FILE_OPEN, cTest(HookId::FILE_OPEN, "file.path", TestOp::Eq, strs({"/etc/shadow", "/etc/gshadow"})))
      .rule("no-secret-dir", HookId::FILE_OPEN, cTest(HookId::FILE_OPEN, "file.path", TestOp::Prefix, strs({"/secret/"})))
      .build();
}

} // namespace

TEST(Object, FileOpenThinSlice) {
  auto r = bulwark::backend::compileBundle(fileOpenPolicy());
  ASSERT_TRUE(r) << (r.errors.empty() ? "" : r.errors[0].message);
  auto s = summarize(r->bundle.object);
  ASSERT_TRUE(s.opened) << s.error;
  EXPECT_TRUE(s.hasBtf);
  EXPECT_TRUE(s.hasBtfExt);
  EXPECT_EQ(s.license, "GPL");
  ASSERT_EQ(s.programs.size(), 1u);
  EXPECT_EQ(s.programs["bw_file_open"], "lsm/file_open");
  EXPECT_GT(s.programInsns["bw_file_open"], 50u);
  // per-policy maps used by this policy, the shared maps of the hook, nothing else
  for (const char *m : {"bw_scratch", "bw_tmp", "bw_recbuf", "bw_counters", "bw_m_exact",
                        "bw_m_prefix", "bw_state", "bw_gen", "bw_events", "bw_progs_FILE_OPEN",
                        "bw_next_FILE_OPEN"})
    EXPECT_TRUE(s.maps.count(m)) << m;
  for (const char *m : {"bw_m_suffix", "bw_m_cidr", "bw_m_dfa", "bw_m_int"})
    EXPECT_FALSE(s.maps.count(m)) << m;
  // manifest sizes agree with the object's BTF map definitions
  for (const auto &me : r->bundle.manifest.maps) {
    ASSERT_TRUE(s.maps.count(me.name)) << me.name;
    EXPECT_EQ(s.maps[me.name].keySize, me.keySize) << me.name;
    EXPECT_EQ(s.maps[me.name].valueSize, me.valueSize) << me.name;
  }
  EXPECT_EQ(s.maps["bw_m_prefix"].type, 11u);  // LPM_TRIE
  EXPECT_EQ(s.maps["bw_m_exact"].type, 1u);    // HASH
  EXPECT_GT(s.relocations[".rellsm/file_open"], 0u);
  std::printf("object: %zu bytes, %zu insns, compile %.1f ms (lower %.1f link %.1f opt %.1f emit %.1f)\n",
              r->bundle.object.size(), s.programInsns["bw_file_open"], r->stats.totalMs,
              r->stats.lowerMs, r->stats.linkMs, r->stats.optMs, r->stats.emitMs);
}
