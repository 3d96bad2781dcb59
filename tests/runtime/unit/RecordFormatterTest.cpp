// RecordFormatter (the reader's JSON lines straight from records) against the reference:
// decodeRecord into an Event, completed as the reader completes it, then appendJson(Event).
// The two must write byte-identical lines for every kind of record.
#include "Abi.h"
#include "Events.h"
#include "Hooks.h"
#include "RecordFormatter.h"

#include <gtest/gtest.h>

#include <cstring>

namespace bulwark::rt {
namespace {

const std::string kHost = "host \"1\"", kBootId = "5b0c6f0e-3a4c-4d7e-9a3b-2f9d1c0e7a11";
const std::string kExeFallback = "/proc/exe of \"it\"";
constexpr int64_t kMonoToReal = 1'700'000'000'000'000'000ll;

const std::string &cgroupPath(uint64_t id) {
  static const std::string known = "/system.slice/a \"b\"\\c\n.service", unknown;
  return id == 42 ? known : unknown;
}
const std::string &exeOf(uint32_t) { return kExeFallback; }

// Instance 7 has a rule per hook (rule = hook index) whose message names every field of the
// hook, the reader's fields, a kprobe argument, an unknown field and text JSON escapes; the
// kprobe hook's rule has a function. Instance 7's rules set marks (one name needs escapes), and
// instance 6, an older version, set one of them too.
std::map<uint32_t, InstanceInfo> instances() {
  InstanceInfo inst{7, "pol\\icy \"x\"", 3, false, 0, {}, {{0xabc, "read \"cred\""}, {0xdef, "spawned"}}};
  for (const Hook &h : hooks()) {
    std::string msg = "{process.comm} \"ran\"\t{process.exe} in {process.cgroup}: {arg1} {no.such} {unclosed";
    for (const FieldInfo *f : hookFields(h))
      msg.insert(msg.find(": ") + 2, "{" + std::string(f->name) + "} ");
    inst.rules.push_back(
        RuleInfo{"rule-" + std::string(h.name) + " \x01", msg, h.lsm ? "" : "do_mkdirat", h.index, 1, {}});
  }
  inst.rules.push_back(RuleInfo{"plain", "no placeholders at all", "", 0, 1, {}});
  inst.rules.push_back(RuleInfo{"empty", "", "", 0, 1, {}});
  InstanceInfo older{6, "older", 2, true, 0, {RuleInfo{"set\tit", "", "", 0, 0, {}}}, {{0xabc, "read \"cred\""}}};
  return {{6, older}, {7, inst}};
}

// The earlier steps a record of a sequence's last step tells of (bw_record.after).
struct Found {
  uint64_t id;
  uint32_t instance, rule, who;
};

struct Variant {
  uint32_t instance = 7, rule = 0, action = BW_ACT_DENY, flags = 0;
  uint64_t cgroup = 42;
  std::string exe = "/usr/bin/c\xc3\xa9t";  // empty: the reader looks it up
  std::string str = "/etc/sh\"ad\\ow\x1f\x7f";
  uint64_t intBase = 0;
  bool truncate = false;  // the last string's length runs past the sample
  std::vector<Found> after;
};

std::vector<char> record(uint32_t hook, const Variant &v) {
  bw_record r{};
  r.ktime_ns = 5'000'123'456ull + v.intBase;
  r.abi = BW_ABI_VERSION;
  r.hook = hook;
  r.slot = 3;
  r.instance = v.instance;
  r.rule = v.rule;
  r.action = v.action;
  r.flags = v.flags;
  r.pid = 101, r.tgid = 100, r.ppid = 1, r.uid = 1000, r.euid = 0, r.gid = 4294967295u;
  r.cgroup_id = v.cgroup;
  for (const Found &f : v.after)
    r.after[r.after_n++] = bw_found_mark{f.id, 4'000'000'000ull + f.id, f.rule, f.instance, f.who, 0};
  std::strcpy(r.comm, "c\"o\\mm\n");
  for (uint32_t i = 0; i < BW_INT_SLOTS; i++)  // enum values with names, without, and flag sets
    r.ints[i] = v.intBase + i * 3 + (i % 2 ? 0x800000 : 0);
  const uint8_t v4[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 7};
  const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  std::memcpy(r.addrs[0].bytes, v.intBase % 2 ? v6 : v4, 16);
  std::memcpy(r.addrs[1].bytes, v6, 16);
  std::vector<char> tail;
  auto put = [&](uint32_t slot, const std::string &s) {
    r.str_len[slot] = uint32_t(s.size() + 1);
    tail.insert(tail.end(), s.begin(), s.end());
    tail.push_back(0);
  };
  if (!v.exe.empty())
    put(1, v.exe);
  for (uint32_t slot = BW_COMMON_STR_SLOTS; slot < BW_STR_SLOTS; slot++)
    put(slot, v.str + std::to_string(slot));
  if (v.truncate)
    r.str_len[BW_STR_SLOTS - 1] += 100;
  std::vector<char> out(sizeof r + tail.size());
  std::memcpy(out.data(), &r, sizeof r);
  std::memcpy(out.data() + sizeof r, tail.data(), tail.size());
  return out;
}

std::string viaEvent(const std::vector<char> &s, const std::map<uint32_t, InstanceInfo> &inst) {
  Event e;
  std::string why;
  EXPECT_TRUE(decodeRecord(s.data(), s.size(), inst, kMonoToReal, &e, &why)) << why;
  completeEvent(e, cgroupPath(e.cgroupId), exeOf, kHost, kBootId);
  return formatJson(e);
}

std::string viaRecord(RecordFormatter &f, const std::vector<char> &s, const std::map<uint32_t, InstanceInfo> &inst) {
  RecordView v;
  std::string why, out = "before|";
  EXPECT_TRUE(f.read(s.data(), s.size(), inst, kMonoToReal, &v, &why)) << why;
  f.appendJson(out, v);
  EXPECT_EQ(out.rfind("before|", 0), 0u);  // appended
  return out.substr(7);
}

RecordFormatter formatter() { return RecordFormatter(kHost, kBootId, {cgroupPath, exeOf}); }

std::vector<Variant> variants(uint32_t hookRule) {
  std::vector<Variant> out;
  auto add = [&](auto edit) {
    Variant v;
    v.rule = hookRule;
    v.intBase = out.size();
    edit(v);
    out.push_back(v);
  };
  add([](Variant &) {});
  add([](Variant &v) { v.exe.clear(), v.cgroup = 43, v.flags = BW_REC_WOULD_DENY; });   // exe and cgroup unknown
  add([](Variant &v) { v.rule = BW_NO_RULE, v.flags = BW_REC_DEFAULT, v.action = BW_ACT_AUDIT; });
  add([](Variant &v) { v.instance = 55, v.action = BW_ACT_KILL, v.flags = BW_REC_KILLED; });  // unknown instance
  add([](Variant &v) { v.flags = BW_REC_MISSING_PROG, v.action = BW_ACT_ALLOW; });
  add([](Variant &v) { v.rule = 900, v.action = 9; });  // no such rule, an action without a name
  add([](Variant &v) { v.rule = uint32_t(hooks().size()); });  // a message without placeholders
  add([](Variant &v) { v.rule = uint32_t(hooks().size()) + 1, v.str.clear(), v.truncate = true; });
  add([](Variant &v) { v.intBase = 1, v.str = std::string(300, 'x') + "\"" + std::string(9, 'y'); });
  add([](Variant &v) { v.after = {{0xabc, 7, 0, BW_MARK_ON_PROCESS}}; });
  add([](Variant &v) {  // another instance, a duplicate, a parent's mark, gone instances and rules
    v.after = {{0xabc, 6, 0, BW_MARK_ON_PROCESS}, {0xabc, 6, 0, BW_MARK_ON_PROCESS},
               {0xdef, 7, 900, BW_MARK_ON_PARENT}, {0x99, 55, 2, BW_MARK_ON_PROCESS}};
  });
  add([](Variant &v) { v.instance = 55, v.after = {{0xabc, 7, 1, BW_MARK_ON_PARENT}}; });  // the decider gone
  return out;
}

TEST(RecordFormatter, WritesTheReferenceLineForEveryHookAndKindOfRecord) {
  auto inst = instances();
  RecordFormatter f = formatter();
  std::vector<std::vector<char>> all;
  for (const Hook &h : hooks())
    for (const Variant &v : variants(h.index))
      all.push_back(record(h.index, v));
  all.push_back(record(uint32_t(hooks().size()) + 5, Variant{}));  // a hook this bulwark does not know
  for (int pass = 0; pass < 2; pass++)  // the second pass reuses every head
    for (const auto &s : all)
      ASSERT_EQ(viaRecord(f, s, inst), viaEvent(s, inst));
  EXPECT_GT(all.size(), 100u);
}

TEST(RecordFormatter, ForgetsNamesWhenTheInstancesChange) {
  auto inst = instances();
  RecordFormatter f = formatter();
  Variant v;
  v.instance = 60;
  auto s = record(0, v);
  EXPECT_NE(viaRecord(f, s, inst).find("\"policy\":\"unknown instance 60\""), std::string::npos);
  inst[60] = InstanceInfo{60, "late", 0, false, 0, {RuleInfo{"r", "m {process.comm}", "", 0, 1, {}}}, {}};
  f.forgetNames();
  std::string line = viaRecord(f, s, inst);
  EXPECT_NE(line.find("\"policy\":\"late\",\"rule\":\"r\""), std::string::npos) << line;
  EXPECT_EQ(line, viaEvent(s, inst));
}

TEST(RecordFormatter, RejectsShortAndForeignRecords) {
  RecordFormatter f = formatter();
  auto s = record(0, Variant{});
  RecordView v;
  std::string why;
  EXPECT_FALSE(f.read(s.data(), 10, {}, 0, &v, &why));
  EXPECT_NE(why.find("shorter"), std::string::npos) << why;
  reinterpret_cast<bw_record *>(s.data())->abi = 99;
  EXPECT_FALSE(f.read(s.data(), s.size(), {}, 0, &v, &why));
  EXPECT_NE(why.find("ABI 99"), std::string::npos) << why;
  s = record(0, Variant{});
  reinterpret_cast<bw_record *>(s.data())->after_n = BW_RECORD_MARKS + 1;
  EXPECT_FALSE(f.read(s.data(), s.size(), {}, 0, &v, &why));
  EXPECT_NE(why.find("earlier marks"), std::string::npos) << why;
}

TEST(RecordFormatter, NamesEarlierStepsByTheInstanceThatSetThem) {
  auto inst = instances();
  RecordFormatter f = formatter();
  Variant v;
  v.after = {{0xabc, 6, 0, BW_MARK_ON_PARENT}};
  std::string line = viaRecord(f, record(0, v), inst);
  EXPECT_NE(line.find(R"("after":[{"mark":"read \"cred\"","rule":"set\tit","policy":"older","instance":6,"set":")"),
            std::string::npos)
      << line;
  EXPECT_NE(line.find(R"(,"on":"parent"}]})"), std::string::npos) << line;
}

}  // namespace
}  // namespace bulwark::rt
