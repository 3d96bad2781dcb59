// Emitted objects, checked through libbpf/libelf summaries.
#include "Backend.h"
#include "Contract.h"
#include "ElfTrim.h"
#include "ObjectSummary.h"
#include "PolicyBuilder.h"

#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <algorithm>
#include <fstream>
#include <string_view>

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

// Every map in the object is declared as the contract's tables say (abi/maps.def, shared_maps.def).
TEST(Object, MapsAreDeclaredAsTheContractSays) {
  auto r = bulwark::backend::compileBundle(fileOpenPolicy());
  ASSERT_TRUE(r) << (r.errors.empty() ? "" : r.errors[0].message);
  auto s = summarize(r->bundle.object);
  ASSERT_TRUE(s.opened) << s.error;
  size_t checked = 0, shared = 0;
  for (const auto &sm : bulwark::abi::sharedMaps()) {
    std::string name = std::string(sm.name) + (sm.perHook ? "_FILE_OPEN" : "");
    if (!s.maps.count(name))
      continue;  // bw_slot_mode and bw_events only where the object chains or records
    EXPECT_EQ(s.maps[name].type, sm.bpfType) << name;
    EXPECT_EQ(s.maps[name].maxEntries, sm.maxEntries) << name;
    EXPECT_EQ(s.maps[name].flags, sm.flags) << name;
    if (sm.keySize) {
      EXPECT_EQ(s.maps[name].keySize, sm.keySize) << name;
    }
    shared++;
  }
  EXPECT_GE(shared, 4u);
  // A policy with identity groups reads and sets hints in the shared bitmap the runtime maps.
  ASSERT_TRUE(s.maps.count("bw_hint"));
  EXPECT_EQ(s.maps["bw_hint"].flags, uint32_t(BPF_F_MMAPABLE));
  for (const auto &[name, m] : s.maps) {
    const bulwark::abi::MapSpec *spec = bulwark::abi::findMap(name);
    if (!spec)
      continue;  // shared maps
    EXPECT_EQ(m.type, spec->bpfType) << name;
    EXPECT_EQ(m.keySize, spec->keySize) << name;
    EXPECT_EQ(m.valueSize, spec->valueSize) << name;
    checked++;
  }
  EXPECT_GE(checked, 8u);
  for (const auto &me : r->bundle.manifest.maps) {
    const bulwark::abi::MapSpec *spec = bulwark::abi::findMap(me.name);
    ASSERT_NE(spec, nullptr) << me.name;
    EXPECT_EQ(me.type, spec->type) << me.name;
    EXPECT_NE(spec->size, bulwark::abi::MapSize::OBJECT) << me.name;
  }
  // every rodata value of the table is in the manifest, with its size
  ASSERT_EQ(r->bundle.manifest.rodata.size(), bulwark::abi::rodata().size());
  for (const auto &spec : bulwark::abi::rodata()) {
    auto it = std::find_if(r->bundle.manifest.rodata.begin(), r->bundle.manifest.rodata.end(),
                           [&](const auto &e) { return e.name == spec.name; });
    ASSERT_NE(it, r->bundle.manifest.rodata.end()) << spec.name;
    EXPECT_EQ(it->size, spec.size) << spec.name;
  }
}

TEST(Object, FileOpenThinSlice) {
  auto r = bulwark::backend::compileBundle(fileOpenPolicy());
  ASSERT_TRUE(r) << (r.errors.empty() ? "" : r.errors[0].message);
  auto s = summarize(r->bundle.object);
  ASSERT_TRUE(s.opened) << s.error;
  EXPECT_TRUE(s.hasBtf);
  EXPECT_TRUE(s.hasBtfExt);
  EXPECT_EQ(s.license, "GPL");
  // the hook's program, and the programs that keep file identities current (file.path has
  // exact and prefix groups)
  EXPECT_EQ(s.programs, (std::map<std::string, std::string>{{"bw_file_open", "lsm/file_open"},
                                                            {"bw_path_link", "lsm/path_link"},
                                                            {"bw_path_rename", "lsm/path_rename"},
                                                            {"bw_path_unlink", "lsm/path_unlink"}}));
  EXPECT_GT(s.programInsns["bw_file_open"], 50u);
  // per-policy maps used by this policy, the shared maps of the hook, nothing else
  for (const char *m : {"bw_scratch", "bw_tmp", "bw_recbuf", "bw_counters", "bw_m_exact",
                        "bw_m_prefix", "bw_m_ident", "bw_m_hint", "bw_hint", "bw_state", "bw_gen", "bw_events", "bw_progs_FILE_OPEN",
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

namespace {

struct Case {
  const char *name;
  bulwark::ir::Policy policy;
  std::vector<std::string> present;  // match maps that must be in the object
  bool identity = false;             // path groups matched by identity: bw_m_ident + 3 programs
};

std::vector<Case> loweringCases() {
  const HookId FO = HookId::FILE_OPEN, NC = HookId::NET_CONNECT;
  std::vector<bulwark::ir::Value> manyUids;
  for (int i = 0; i < 8; ++i)
    manyUids.emplace_back(int64_t(1000 + i));
  std::vector<bulwark::ir::Value> manyNets;  // more than kCidrInlineMax: a trie
  for (uint32_t i = 0; i <= bulwark::backend::kCidrInlineMax; ++i)
    manyNets.emplace_back(cidr(("10." + std::to_string(i) + ".0.0/16").c_str()));
  return {
      {"exact", PolicyBuilder().rule("r", FO, cTest(FO, "file.path", TestOp::Eq, strs({"/a", "/b"}))).build(),
       {"bw_m_exact", "bw_m_ident", "bw_m_hint", "bw_hint"}, true},
      {"prefix", PolicyBuilder().rule("r", FO, cTest(FO, "file.path", TestOp::Prefix, strs({"/a/"}))).build(),
       {"bw_m_prefix", "bw_m_ident", "bw_m_hint", "bw_hint"}, true},
      {"comm", PolicyBuilder().rule("r", FO, cTest(FO, "process.comm", TestOp::Eq, strs({"cat"}))).build(),
       {"bw_m_exact"}},
      {"suffix", PolicyBuilder().rule("r", FO, cTest(FO, "file.path", TestOp::Suffix, strs({".so"}))).build(),
       {"bw_m_suffix"}},
      {"glob", PolicyBuilder().rule("r", FO, cTest(FO, "file.path", TestOp::Glob, strs({"/a/**/[xy]?.c"}))).build(),
       {"bw_m_dfa", "bw_m_dfa_acc"}},
      {"cidr", PolicyBuilder().rule("r", NC, cTest(NC, "net.daddr", TestOp::InCidr, manyNets)).build(), {"bw_m_cidr"}},
      {"cidr compared in code",
       PolicyBuilder().rule("r", NC, cTest(NC, "net.daddr", TestOp::InCidr, {cidr("10.0.0.0/8"), cidr("fd00::/8")})).build(),
       {}},
      {"intset", PolicyBuilder().rule("r", FO, cTest(FO, "process.uid", TestOp::Eq, manyUids)).build(),
       {"bw_m_int"}},
      {"flags", PolicyBuilder().rule("r", FO, cTest(FO, "file.flags", TestOp::HasFlags, {int64_t(01)})).build(),
       {}},
  };
}

} // namespace

TEST(Object, EachLoweringEmitsItsMaps) {
  const std::vector<std::string> all = {"bw_m_prefix", "bw_m_suffix", "bw_m_dfa",
                                        "bw_m_dfa_acc", "bw_m_cidr", "bw_m_int", "bw_m_ident", "bw_m_hint", "bw_hint"};
  for (auto &c : loweringCases()) {
    auto r = bulwark::backend::compileBundle(c.policy);
    ASSERT_TRUE(r) << c.name << ": " << r.errors[0].message;
    auto s = summarize(r->bundle.object);
    ASSERT_TRUE(s.opened) << c.name;
    EXPECT_TRUE(s.hasBtf && s.hasBtfExt) << c.name;
    ASSERT_EQ(s.programs.size(), c.identity ? 4u : 1u) << c.name;
    EXPECT_EQ(r->bundle.manifest.identity.size(), c.identity ? 1u : 0u) << c.name;
    for (const auto &m : all) {
      bool want = std::find(c.present.begin(), c.present.end(), m) != c.present.end();
      EXPECT_EQ(s.maps.count(m) != 0, want) << c.name << " " << m;
    }
    // every map with initial data has a matching manifest entry and data size
    for (const auto &me : r->bundle.manifest.maps) {
      ASSERT_TRUE(s.maps.count(me.name)) << c.name << " " << me.name;
      EXPECT_EQ(s.maps[me.name].keySize, me.keySize) << c.name << " " << me.name;
      EXPECT_EQ(s.maps[me.name].valueSize, me.valueSize) << c.name << " " << me.name;
      if (!me.data.empty()) {
        EXPECT_EQ(r->bundle.mapData.at(me.data).size(), size_t(me.entries) * (me.keySize + me.valueSize));
      }
    }
    std::printf("%-7s object %6zu bytes, %5zu insns, %zu relocations, compile %.0f ms\n", c.name,
                r->bundle.object.size(), s.programInsns.begin()->second,
                s.relocations.count(".rel" + s.programs.begin()->second)
                    ? s.relocations[".rel" + s.programs.begin()->second]
                    : 0,
                r->stats.totalMs);
  }
}

TEST(Object, MultiHookPolicyHasOneProgramPerHook) {
  const HookId FO = HookId::FILE_OPEN, EX = HookId::PROCESS_EXEC, NS = HookId::NET_SOCKET;
  auto p = PolicyBuilder()
               .rule("a", FO, cTest(FO, "file.path", TestOp::Prefix, strs({"/a/"})))
               .rule("b", EX, cTest(EX, "exec.path", TestOp::Eq, strs({"/bin/nc"})))
               .rule("c", NS, cTest(NS, "socket.type", TestOp::Eq, {int64_t(3)}))
               .build();
  auto r = bulwark::backend::compileBundle(p);
  ASSERT_TRUE(r) << r.errors[0].message;
  auto s = summarize(r->bundle.object);
  ASSERT_TRUE(s.opened);
  EXPECT_EQ(s.programs, (std::map<std::string, std::string>{{"bw_file_open", "lsm/file_open"},
                                                            {"bw_bprm_check_security", "lsm/bprm_check_security"},
                                                            {"bw_socket_create", "lsm/socket_create"},
                                                            {"bw_path_link", "lsm/path_link"},
                                                            {"bw_path_rename", "lsm/path_rename"},
                                                            {"bw_path_unlink", "lsm/path_unlink"}}));
  for (const char *m : {"bw_progs_FILE_OPEN", "bw_progs_PROCESS_EXEC", "bw_progs_NET_SOCKET"})
    EXPECT_TRUE(s.maps.count(m)) << m;
  EXPECT_TRUE(s.maps.count("bw_progs_FILE_UNLINK"));  // identity: exec.path == is a path group
  EXPECT_FALSE(s.maps.count("bw_progs_FILE_CHMOD"));
  EXPECT_EQ(r->bundle.manifest.programs.size(), 6u);
}

// A learn-only program (identity hooks the policy has no rules on) decides nothing: even
// with `default deny` it carries no decision code, so it is much smaller than the same
// hook's program with a rule.
TEST(Object, IdentityOnlyProgramsDecideNothing) {
  const HookId FO = HookId::FILE_OPEN, FU = HookId::FILE_UNLINK;
  auto learnOnly = PolicyBuilder("learn").rule("r", FO, cTest(FO, "file.path", TestOp::Eq, strs({"/x"}))).build();
  learnOnly.defaultAction = bulwark::ir::Action::Deny;
  auto withRule = PolicyBuilder("rule")
                      .rule("r", FO, cTest(FO, "file.path", TestOp::Eq, strs({"/x"})))
                      .rule("u", FU, cTest(FU, "file.path", TestOp::Prefix, strs({"/y/"})))
                      .build();
  auto a = bulwark::backend::compileBundle(learnOnly), b = bulwark::backend::compileBundle(withRule);
  ASSERT_TRUE(a && b);
  auto sa = summarize(a->bundle.object), sb = summarize(b->bundle.object);
  ASSERT_TRUE(sa.programs.count("bw_path_unlink") && sb.programs.count("bw_path_unlink"));
  EXPECT_LT(sa.programInsns["bw_path_unlink"] * 2, sb.programInsns["bw_path_unlink"]);
  std::printf("bw_path_unlink: learn-only %zu insns, with a rule %zu insns\n", sa.programInsns["bw_path_unlink"],
              sb.programInsns["bw_path_unlink"]);
  // The manifest says which: the runtime lets the path_unlink dispatcher skip a lane of
  // programs that decide nothing. It survives the manifest's round trip.
  auto decides = [](const bulwark::bundle::Manifest &m, const std::string &name) {
    for (const auto &p : m.programs)
      if (p.name == name)
        return p.decides;
    ADD_FAILURE() << name;
    return true;
  };
  EXPECT_FALSE(decides(a->bundle.manifest, "bw_path_unlink"));
  EXPECT_TRUE(decides(a->bundle.manifest, "bw_file_open"));
  EXPECT_TRUE(decides(b->bundle.manifest, "bw_path_unlink"));
  bulwark::bundle::Manifest back;
  std::string err;
  ASSERT_TRUE(bulwark::bundle::readManifest(bulwark::bundle::writeManifest(a->bundle.manifest), back, &err)) << err;
  EXPECT_FALSE(decides(back, "bw_path_unlink"));
  EXPECT_FALSE(decides(back, "bw_path_link"));
  EXPECT_TRUE(decides(back, "bw_file_open"));
}

// The manifest says which file_open programs can be quiet (the runtime keys a lane of one
// only for those) and what their quiet key must hold besides the file: a rule on the user
// alone is never quiet; an exact path on the object reads the file alone, a prefix its
// ancestors, a suffix the process's view. It survives the manifest's round trip.
TEST(Object, ManifestSaysWhichOpenProgramsCanBeQuiet) {
  const HookId FO = HookId::FILE_OPEN;
  struct Case {
    const char *name;
    bulwark::ir::Cond cond;
    bool quiet, view, ancestors;
  };
  const Case cases[] = {
      {"user", cTest(FO, "process.uid", TestOp::Eq, {int64_t(4242)}), false, false, false},
      {"exact", cTest(FO, "file.path", TestOp::Eq, strs({"/x"})), true, false, false},
      {"prefix", cTest(FO, "file.path", TestOp::Prefix, strs({"/y/"})), true, false, true},
      {"suffix", cTest(FO, "file.path", TestOp::Suffix, strs({".key"})), true, true, false},
  };
  for (const auto &c : cases) {
    auto r = bulwark::backend::compileBundle(PolicyBuilder(c.name).rule("r", FO, c.cond).build());
    ASSERT_TRUE(r) << c.name;
    bulwark::bundle::Manifest back;
    std::string err;
    ASSERT_TRUE(bulwark::bundle::readManifest(bulwark::bundle::writeManifest(r->bundle.manifest), back, &err)) << err;
    for (const auto *m : {&r->bundle.manifest, &back}) {
      auto p = std::find_if(m->programs.begin(), m->programs.end(), [](const auto &p) { return p.name == "bw_file_open"; });
      ASSERT_NE(p, m->programs.end()) << c.name;
      EXPECT_EQ(p->quiet, c.quiet) << c.name;
      EXPECT_EQ(p->quietView, c.view) << c.name;
      EXPECT_EQ(p->quietAncestors, c.ancestors) << c.name;
    }
  }
}

// A manifest's quiet_key names view and ancestors, nothing else.
TEST(Object, ManifestRejectsAnUnknownQuietKeyPart) {
  auto r = bulwark::backend::compileBundle(
      PolicyBuilder("p").rule("r", HookId::FILE_OPEN, cTest(HookId::FILE_OPEN, "file.path", TestOp::Prefix, strs({"/y/"}))).build());
  ASSERT_TRUE(r);
  std::string text = bulwark::bundle::writeManifest(r->bundle.manifest);
  auto at = text.find("quiet_key: [ancestors]");
  ASSERT_NE(at, std::string::npos) << text;
  text.replace(at, 22, "quiet_key: [tea]");
  bulwark::bundle::Manifest back;
  std::string err;
  EXPECT_FALSE(bulwark::bundle::readManifest(text, back, &err));
  EXPECT_NE(err.find("quiet_key part 'tea'"), std::string::npos) << err;
}

TEST(Object, LazyExtractionRemovesUnusedFields) {
  // a policy that reads only file.flags must not contain the path walk or d_path
  const HookId FO = HookId::FILE_OPEN;
  auto flagsOnly = bulwark::backend::compileBundle(
      PolicyBuilder().rule("r", FO, cTest(FO, "file.flags", TestOp::HasFlags, {int64_t(01)}), bulwark::ir::Action::Allow).build());
  auto withPath = bulwark::backend::compileBundle(
      PolicyBuilder().rule("r", FO, cTest(FO, "file.path", TestOp::Eq, strs({"/x"})), bulwark::ir::Action::Allow).build());
  ASSERT_TRUE(flagsOnly && withPath);
  auto a = summarize(flagsOnly->bundle.object), b = summarize(withPath->bundle.object);
  EXPECT_LT(a.programInsns["bw_file_open"] + 50, b.programInsns["bw_file_open"]);
  std::printf("flags-only %zu insns, path %zu insns\n", a.programInsns["bw_file_open"],
              b.programInsns["bw_file_open"]);
}

// A group no view match can add to carries no view code: the same rule with the test's
// polarity turned round (a deny that only excepts the directory, against one that denies in
// it) is smaller by the view's gate and lookup.
TEST(Object, AGroupThatOnlyExceptsCarriesNoViewCode) {
  const HookId FO = HookId::FILE_OPEN;
  auto dir = [&] { return cTest(FO, "file.path", TestOp::Prefix, strs({"/srv/later/"})); };
  auto write = [&] { return cTest(FO, "file.write", TestOp::Eq, {int64_t(1)}); };
  auto excepts = bulwark::backend::compileBundle(
      PolicyBuilder().rule("r", FO, cAnd({write(), cNot(dir())}), bulwark::ir::Action::Deny).build());
  auto denies = bulwark::backend::compileBundle(
      PolicyBuilder().rule("r", FO, cAnd({write(), dir()}), bulwark::ir::Action::Deny).build());
  ASSERT_TRUE(excepts && denies);
  ASSERT_EQ(excepts->bundle.manifest.identity.size(), 1u);
  EXPECT_FALSE(excepts->bundle.manifest.identity[0].view);
  EXPECT_TRUE(denies->bundle.manifest.identity[0].view);
  auto a = summarize(excepts->bundle.object), b = summarize(denies->bundle.object);
  EXPECT_LT(a.programInsns["bw_file_open"] + 20, b.programInsns["bw_file_open"]);
  // no code reads its string entries, but the runtime labels its objects from the full
  // values beside them
  EXPECT_TRUE(a.maps.count("bw_m_prefix"));
  std::printf("excepts %zu insns, denies %zu insns\n", a.programInsns["bw_file_open"], b.programInsns["bw_file_open"]);
  // the manifest's round trip keeps it
  bulwark::bundle::Manifest back;
  std::string err;
  ASSERT_TRUE(bulwark::bundle::readManifest(bulwark::bundle::writeManifest(excepts->bundle.manifest), back, &err)) << err;
  ASSERT_EQ(back.identity.size(), 1u);
  EXPECT_FALSE(back.identity[0].view);
  ASSERT_TRUE(bulwark::bundle::readManifest(bulwark::bundle::writeManifest(denies->bundle.manifest), back, &err)) << err;
  EXPECT_TRUE(back.identity[0].view);
}

TEST(Object, DeterministicBytes) {
  for (auto &c : loweringCases()) {
    auto r1 = bulwark::backend::compileBundle(c.policy);
    auto r2 = bulwark::backend::compileBundle(c.policy);
    ASSERT_TRUE(r1 && r2);
    EXPECT_EQ(r1->bundle.object, r2->bundle.object) << c.name;
    EXPECT_EQ(r1->bundle.mapData, r2->bundle.mapData) << c.name;
    EXPECT_EQ(bulwark::bundle::writeManifest(r1->bundle.manifest),
              bulwark::bundle::writeManifest(r2->bundle.manifest))
        << c.name;
  }
}

// The relocations of .BTF.ext and the DWARF call frames are bytes no loader reads (ElfTrim.h):
// they are left out, and libbpf still opens the object with its programs, their relocations and
// their BTF line and function records.
TEST(Object, LeavesOutTheSectionsNoLoaderReads) {
  auto r = bulwark::backend::compileBundle(fileOpenPolicy());
  ASSERT_TRUE(r);
  ObjSummary s = summarize(r->bundle.object);
  ASSERT_TRUE(s.opened) << s.error;
  EXPECT_EQ(s.programs.at("bw_file_open"), "lsm/file_open");
  EXPECT_TRUE(s.hasBtf && s.hasBtfExt);
  EXPECT_EQ(s.relocations.at(".rel.BTF.ext"), 0u);
  EXPECT_EQ(s.relocations.at(".rel.debug_frame"), 0u);
  EXPECT_GT(s.relocations.at(".rellsm/file_open"), 0u) << "the program's own relocations stay";
  std::vector<uint8_t> notElf = {1, 2, 3};
  std::string err;
  EXPECT_FALSE(bulwark::backend::elfTrim(notElf, &err));
  EXPECT_EQ(notElf, (std::vector<uint8_t>{1, 2, 3}));
  EXPECT_FALSE(err.empty());
}

// The templates' source text is on the machine that built bulwarkc, and only there: a bundle
// must not copy it in (its bytes would then depend on where bulwarkc runs).
TEST(Object, BytesDoNotDependOnTheBuildTree) {
  const std::string source = BULWARK_SOURCE_DIR "/bpf/templates/hooks/file_open.bpf.c";
  std::ifstream in(source);
  ASSERT_TRUE(in) << source;
  std::string line, decideLine;
  while (std::getline(in, line))
    if (line.find("BW_DECIDE_KEEPING(FILE_OPEN") != std::string::npos)
      decideLine = line;
  ASSERT_FALSE(decideLine.empty()) << "the template no longer calls BW_DECIDE_KEEPING(FILE_OPEN";
  const HookId FO = HookId::FILE_OPEN;
  auto r = bulwark::backend::compileBundle(
      PolicyBuilder().rule("r", FO, cTest(FO, "file.path", TestOp::Eq, strs({"/x"}))).build());
  ASSERT_TRUE(r);
  const auto &obj = r->bundle.object;
  std::string_view bytes(reinterpret_cast<const char *>(obj.data()), obj.size());
  EXPECT_EQ(bytes.find(decideLine), std::string_view::npos) << "the object holds a line of " << source;
  EXPECT_EQ(bytes.find(BULWARK_SOURCE_DIR), std::string_view::npos) << "the object names the build tree";
}

TEST(Object, CostDoesNotGrowWithRules) {
  const HookId FO = HookId::FILE_OPEN;
  auto build = [&](int n) {
    PolicyBuilder pb("scale");
    for (int i = 0; i < n; ++i) {
      std::string d = "/srv/app" + std::to_string(i);
      switch (i % 4) {
      case 0: pb.rule("e" + std::to_string(i), FO, cTest(FO, "file.path", TestOp::Eq, {d + "/secret"})); break;
      case 1: pb.rule("p" + std::to_string(i), FO, cTest(FO, "file.path", TestOp::Prefix, {d + "/private/"})); break;
      case 2: pb.rule("s" + std::to_string(i), FO, cTest(FO, "file.path", TestOp::Suffix, {".k" + std::to_string(i)})); break;
      default:
        if (i < 400)
          pb.rule("g" + std::to_string(i), FO, cTest(FO, "file.path", TestOp::Glob, {d + "/*/key?"}));
        else
          pb.rule("c" + std::to_string(i), FO,
                  cAnd({cTest(FO, "file.path", TestOp::Prefix, {d + "/"}),
                        cTest(FO, "process.comm", TestOp::Eq, strs({"cat"}))}));
      }
    }
    return pb.build();
  };
  auto small = bulwark::backend::compileBundle(build(8));
  auto large = bulwark::backend::compileBundle(build(600));
  ASSERT_TRUE(small) << small.errors[0].message;
  ASSERT_TRUE(large) << large.errors[0].message;
  auto a = summarize(small->bundle.object), b = summarize(large->bundle.object);
  // same groups -> same code; compound rules add a few instructions each
  EXPECT_LT(b.programInsns["bw_file_open"], a.programInsns["bw_file_open"] + 12 * 200);
  size_t entries = 0;
  for (const auto &m : large->bundle.manifest.maps)
    entries += m.entries;
  std::printf("8 rules: %zu insns, %.0f ms; 600 rules: %zu insns, %.0f ms, %zu map entries, object %zu bytes\n",
              a.programInsns["bw_file_open"], small->stats.totalMs, b.programInsns["bw_file_open"],
              large->stats.totalMs, entries, large->bundle.object.size());
}
