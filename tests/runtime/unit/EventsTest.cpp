// Decoding struct bw_record samples and formatting them; the hook table.
#include "Abi.h"
#include "Events.h"
#include "Hooks.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstring>

namespace bulwark::rt {
namespace {

std::map<uint32_t, InstanceInfo> oneInstance() {
  return {{7, InstanceInfo{7, "no-shadow", 3, false, 0,
                           {RuleInfo{"r0", "", "", 0, 0, {}},
                            RuleInfo{"deny-shadow", "{process.comm} read {file.path} (flags {file.flags})", "", 0, 1, {}}}, {}}}};
}

std::vector<char> sample(uint32_t hook, const std::vector<std::pair<uint32_t, std::string>> &strs) {
  bw_record r{};
  r.ktime_ns = 5'000'000'000ull;
  r.abi = BW_ABI_VERSION;
  r.hook = hook;
  r.slot = 3;
  r.instance = 7;
  r.rule = 1;
  r.action = BW_ACT_DENY;
  r.pid = 101;
  r.tgid = 100;
  r.uid = 1000;
  r.cgroup_id = 42;
  std::strcpy(r.comm, "cat");
  std::vector<char> tail;
  for (const auto &[slot, s] : strs) {  // in packing order: exe (1), then hook slots
    r.str_len[slot] = uint32_t(s.size() + 1);
    tail.insert(tail.end(), s.begin(), s.end());
    tail.push_back(0);
  }
  std::vector<char> out(sizeof r + tail.size());
  std::memcpy(out.data(), &r, sizeof r);
  if (!tail.empty())
    std::memcpy(out.data() + sizeof r, tail.data(), tail.size());
  return out;
}

TEST(Events, DecodesAFileOpenRecord) {
  auto s = sample(hookById("FILE_OPEN")->index, {{1, "/usr/bin/cat"}, {5, "/etc/shadow"}});
  auto instances = oneInstance();
  Event e;
  std::string why;
  ASSERT_TRUE(decodeRecord(s.data(), s.size(), instances, 1'700'000'000'000'000'000ll, &e, &why)) << why;
  EXPECT_EQ(e.policy, "no-shadow");
  EXPECT_EQ(e.instance, 7u);
  EXPECT_EQ(e.message, "cat read /etc/shadow (flags 0)");
  EXPECT_EQ(e.rule, "deny-shadow");
  EXPECT_EQ(e.action, "deny");
  EXPECT_EQ(e.hook, "file.open");
  EXPECT_EQ(e.exe, "/usr/bin/cat");
  EXPECT_EQ(e.object, "/etc/shadow");
  EXPECT_EQ(e.comm, "cat");
  EXPECT_EQ(e.tgid, 100u);
  EXPECT_EQ(e.timeNs, 1'700'000'005'000'000'000ull);
  EXPECT_EQ(formatText(e),
            "2023-11-14T22:13:25.000000Z policy=no-shadow rule=deny-shadow action=deny hook=file.open pid=101 "
            "tgid=100 uid=1000 comm=cat exe=/usr/bin/cat cgroup=42 object=/etc/shadow instance=7 "
            "message=\"cat read /etc/shadow (flags 0)\"");
  e.cgroup = "/system.slice/ssh.service";
  std::string j = formatJson(e);
  EXPECT_NE(j.find("\"policy\":\"no-shadow\",\"rule\":\"deny-shadow\",\"action\":\"deny\",\"hook\":\"file.open\""),
            std::string::npos) << j;
  EXPECT_NE(j.find("\"cgroup\":\"/system.slice/ssh.service\""), std::string::npos) << j;
  EXPECT_NE(j.find("\"object\":\"/etc/shadow\",\"fields\":{\"file.path\":\"/etc/shadow\",\"file.flags\":\"0\","
                   "\"file.write\":\"false\",\"file.read\":\"false\"},\"after\":[]}"),
            std::string::npos) << j;
  EXPECT_EQ(j.rfind("{\"schema\":1,", 0), 0u) << j;
}

// A record names its instance: a slot taken by another policy since never changes that.
TEST(Events, RecordsNameTheirInstanceNotTheSlot) {
  auto s = sample(hookById("PROCESS_EXEC")->index, {{5, "/usr/bin/apt-get"}});
  std::map<uint32_t, InstanceInfo> instances = oneInstance();
  instances[8] = InstanceInfo{8, "protect_keys", 3, false, 0, {RuleInfo{"host_keys", "", "", 0, BW_ACT_DENY, {}}}, {}};
  instances[7].retired = true;
  Event e;
  ASSERT_TRUE(decodeRecord(s.data(), s.size(), instances, 0, &e));
  EXPECT_EQ(e.policy, "no-shadow");
  EXPECT_EQ(e.rule, "deny-shadow");
  instances.erase(7);  // its names are gone: never the slot's current policy
  ASSERT_TRUE(decodeRecord(s.data(), s.size(), instances, 0, &e));
  EXPECT_EQ(e.policy, "unknown instance 7");
  EXPECT_EQ(e.rule, "#1");
  EXPECT_EQ(e.message, "");
}

TEST(Events, EnumNamesInObjectsFieldsAndMessages) {
  auto s = sample(hookById("NET_SOCKET")->index, {});
  bw_record *r = reinterpret_cast<bw_record *>(s.data());
  r->ints[6] = 17;  // socket.family
  r->ints[7] = 3;   // socket.type
  std::map<uint32_t, InstanceInfo> instances{
      {7, InstanceInfo{7, "no-raw", 3, false, 0,
                       {RuleInfo{"r0", "", "", 0, 0, {}}, RuleInfo{"raw", "{process.comm}: {socket.family} {socket.type}", "", 0, 1, {}}}, {}}}};
  Event e;
  ASSERT_TRUE(decodeRecord(s.data(), s.size(), instances, 0, &e));
  EXPECT_EQ(e.object, "AF_PACKET");
  EXPECT_EQ(e.message, "cat: AF_PACKET SOCK_RAW");
  auto b = sample(hookById("KERNEL_BPF")->index, {});
  reinterpret_cast<bw_record *>(b.data())->ints[6] = 5;
  ASSERT_TRUE(decodeRecord(b.data(), b.size(), instances, 0, &e));
  EXPECT_EQ(e.object, "BPF_PROG_LOAD");
  EXPECT_EQ(enumText(bulwark::FieldType::SIGNAL, 9), "SIGKILL");
  EXPECT_EQ(enumText(bulwark::FieldType::OPEN_FLAGS, 01 | 0100 | 02000000), "O_WRONLY|O_CREAT|O_CLOEXEC");
  EXPECT_EQ(enumText(bulwark::FieldType::OPEN_FLAGS, 020200000 | 040000000), "O_TMPFILE|0x800000");
  EXPECT_EQ(enumText(bulwark::FieldType::SOCK_FAMILY, 99), "99");
}

TEST(Events, UnknownSlotsRulesAndAuditFlags) {
  auto s = sample(hookById("FILE_OPEN")->index, {{5, "x y\"z"}});
  bw_record *r = reinterpret_cast<bw_record *>(s.data());
  r->flags = BW_REC_WOULD_DENY;
  r->rule = 9;
  Event e;
  ASSERT_TRUE(decodeRecord(s.data(), s.size(), {}, 0, &e));
  EXPECT_EQ(e.policy, "unknown instance 7");
  EXPECT_EQ(e.rule, "#9");
  EXPECT_EQ(e.action, "would-deny");
  EXPECT_EQ(e.exe, "");
  EXPECT_EQ(e.object, "x y\"z");
  EXPECT_NE(formatText(e).find("object=\"x y\\\"z\""), std::string::npos) << formatText(e);
  r->rule = BW_NO_RULE;
  r->flags = BW_REC_DEFAULT;
  ASSERT_TRUE(decodeRecord(s.data(), s.size(), {}, 0, &e));
  EXPECT_EQ(e.rule, "(default)");
}

TEST(Events, NetworkObjectIsAddressAndPort) {
  auto s = sample(hookById("NET_CONNECT")->index, {});
  bw_record *r = reinterpret_cast<bw_record *>(s.data());
  uint8_t v4[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 7};
  std::memcpy(r->addrs[0].bytes, v4, 16);
  r->ints[7] = 443;
  Event e;
  ASSERT_TRUE(decodeRecord(s.data(), s.size(), {}, 0, &e));
  EXPECT_EQ(e.hook, "net.connect");
  EXPECT_EQ(e.object, "10.0.0.7:443");
}

TEST(Events, KprobeObjectIsTheFirstStringElseTheFirstIntArgument) {
  // sema gives a kprobe's first string argument hook string slot 5, its first int slot 6
  auto s = sample(hookById("KPROBE")->index, {{5, "/tmp/x"}});
  bw_record *r = reinterpret_cast<bw_record *>(s.data());
  r->ints[BW_COMMON_INT_SLOTS] = uint64_t(-100);
  Event e;
  ASSERT_TRUE(decodeRecord(s.data(), s.size(), {}, 0, &e));
  EXPECT_EQ(e.hook, "kprobe");
  EXPECT_EQ(e.object, "/tmp/x");
  auto t = sample(hookById("KPROBE")->index, {});
  reinterpret_cast<bw_record *>(t.data())->ints[BW_COMMON_INT_SLOTS] = uint64_t(-100);
  ASSERT_TRUE(decodeRecord(t.data(), t.size(), {}, 0, &e));
  EXPECT_EQ(e.object, "-100");
}

TEST(Events, RejectsShortAndForeignRecords) {
  auto s = sample(0, {});
  Event e;
  std::string why;
  EXPECT_FALSE(decodeRecord(s.data(), 10, {}, 0, &e, &why));
  EXPECT_NE(why.find("shorter"), std::string::npos);
  reinterpret_cast<bw_record *>(s.data())->abi = 99;
  EXPECT_FALSE(decodeRecord(s.data(), s.size(), {}, 0, &e, &why));
  EXPECT_NE(why.find("ABI 99"), std::string::npos);
  // A string length past the end is clamped, not overread.
  auto t = sample(0, {{5, "abc"}});
  reinterpret_cast<bw_record *>(t.data())->str_len[5] = 4000;
  ASSERT_TRUE(decodeRecord(t.data(), t.size(), {}, 0, &e));
  EXPECT_EQ(e.object, "abc");
}

// A sequence: the connect's record tells the mark its rule found and who set it, named by the
// setting instance (here an older version of the policy, instance 6), at the mark's set time.
std::map<uint32_t, InstanceInfo> sequenceInstances() {
  InstanceInfo older{6, "credential_exfiltration", 3, true, 0, {RuleInfo{"credential_read", "", "", 0, 0, {}}}, {}};
  older.marks[0xabcdef] = "read_credential";
  InstanceInfo now{7, "credential_exfiltration", 3, false, 0,
                   {RuleInfo{"credential_read", "", "", 0, 0, {}}, RuleInfo{"connect_after_credential_read", "", "", 0, 1, {}}},
                   {}};
  now.marks[0xabcdef] = "read_credential";
  return {{6, older}, {7, now}};
}

void addAfter(bw_record *r, uint64_t id, uint32_t instance, uint32_t rule, uint64_t setNs, uint32_t who) {
  bw_found_mark &f = r->after[r->after_n++];
  f.id = id;
  f.instance = instance;
  f.rule = rule;
  f.set_ns = setNs;
  f.who = who;
}

TEST(Events, SequenceRecordsTellTheEarlierStep) {
  auto s = sample(hookById("NET_CONNECT")->index, {});
  auto *r = reinterpret_cast<bw_record *>(s.data());
  addAfter(r, 0xabcdef, 6, 0, 4'000'000'000ull, BW_MARK_ON_PROCESS);
  addAfter(r, 0xabcdef, 6, 0, 4'000'000'000ull, BW_MARK_ON_PROCESS);  // tested twice: told once
  addAfter(r, 0x1234, 55, 2, 4'500'000'000ull, BW_MARK_ON_PARENT);    // its instance is gone
  Event e;
  std::string why;
  ASSERT_TRUE(decodeRecord(s.data(), s.size(), sequenceInstances(), 1'700'000'000'000'000'000ll, &e, &why)) << why;
  EXPECT_EQ(e.rule, "connect_after_credential_read");
  ASSERT_EQ(e.after.size(), 2u);
  EXPECT_EQ(e.after[0].mark, "read_credential");
  EXPECT_EQ(e.after[0].rule, "credential_read");
  EXPECT_EQ(e.after[0].policy, "credential_exfiltration");
  EXPECT_EQ(e.after[0].instance, 6u);
  EXPECT_EQ(e.after[0].on, "process");
  EXPECT_EQ(e.after[0].setNs, 1'700'000'004'000'000'000ull);
  EXPECT_EQ(e.after[1].mark, "#4660");
  EXPECT_EQ(e.after[1].rule, "#2");
  EXPECT_EQ(e.after[1].policy, "unknown instance 55");
  EXPECT_EQ(e.after[1].on, "parent");
  std::string j = formatJson(e);
  EXPECT_NE(j.find(R"("after":[{"mark":"read_credential","rule":"credential_read","policy":"credential_exfiltration","instance":6,"set":")" +
                   isoTime(1'700'000'004'000'000'000ull) + R"(","on":"process"},)"),
            std::string::npos)
      << j;
  std::string t = formatText(e);
  EXPECT_NE(t.find("after=\"read_credential on process set by credential_exfiltration/credential_read at " +
                   isoTime(1'700'000'004'000'000'000ull) + "; "),
            std::string::npos)
      << t;
}

TEST(Events, RecordsWithoutEarlierStepsHaveAnEmptyAfter) {
  auto s = sample(hookById("FILE_OPEN")->index, {{5, "/etc/shadow"}});
  Event e;
  ASSERT_TRUE(decodeRecord(s.data(), s.size(), oneInstance(), 0, &e));
  EXPECT_TRUE(e.after.empty());
  EXPECT_NE(formatJson(e).find(R"("after":[]})"), std::string::npos);
  EXPECT_EQ(formatText(e).find("after="), std::string::npos);
}

TEST(Events, RejectsMoreEarlierStepsThanARecordHolds) {
  auto s = sample(hookById("NET_CONNECT")->index, {});
  reinterpret_cast<bw_record *>(s.data())->after_n = BW_RECORD_MARKS + 1;
  Event e;
  std::string why;
  EXPECT_FALSE(decodeRecord(s.data(), s.size(), sequenceInstances(), 0, &e, &why));
  EXPECT_NE(why.find("earlier marks"), std::string::npos) << why;
}

TEST(Events, ARecordOfAnotherAbiSaysSoWhateverItsSize) {
  auto s = sample(0, {});
  reinterpret_cast<bw_record *>(s.data())->abi = BW_ABI_VERSION - 1;
  Event e;
  std::string why;
  // an older record is shorter than this ABI's header: still told as another ABI
  EXPECT_FALSE(decodeRecord(s.data(), offsetof(bw_record, after_n), {}, 0, &e, &why));
  EXPECT_NE(why.find("record of ABI " + std::to_string(BW_ABI_VERSION - 1)), std::string::npos) << why;
  EXPECT_NE(why.find("reads ABI " + std::to_string(BW_ABI_VERSION)), std::string::npos) << why;
}

// One JSON line per kind of record, for rt_events_schema_samples (the schema check).
TEST(EventsSchema, PrintSamples) {
  auto instances = oneInstance();
  instances[9] = InstanceInfo{9, "kp", 4, false, 0, {RuleInfo{"mk", "{process.comm} mkdir {arg2}", "do_mkdirat", 0, 2, {}}}, {}};
  auto print = [&](std::vector<char> s, auto edit) {
    edit(reinterpret_cast<bw_record *>(s.data()));
    Event e;
    ASSERT_TRUE(decodeRecord(s.data(), s.size(), instances, 1'700'000'000'000'000'000ll, &e));
    e.hostname = "host-1";
    e.bootId = "5b0c6f0e-3a4c-4d7e-9a3b-2f9d1c0e7a11";
    std::printf("EVENT-JSON: %s\n", formatJson(e).c_str());
  };
  auto none = [](bw_record *) {};
  print(sample(hookById("FILE_OPEN")->index, {{1, "/usr/bin/cat"}, {5, "/etc/shadow"}}), none);
  print(sample(hookById("NET_SOCKET")->index, {}), [](bw_record *r) { r->ints[6] = 17; r->ints[7] = 3; });
  print(sample(hookById("NET_CONNECT")->index, {}), [](bw_record *r) { r->ints[7] = 443; r->flags = BW_REC_WOULD_DENY; });
  print(sample(hookById("PROCESS_SIGNAL")->index, {{5, "sleep"}}), [](bw_record *r) { r->ints[8] = 9; r->action = BW_ACT_AUDIT; });
  print(sample(hookById("KPROBE")->index, {}), [](bw_record *r) { r->instance = 9; r->rule = 0; r->action = BW_ACT_KILL; });
  print(sample(hookById("FILE_OPEN")->index, {}), [](bw_record *r) { r->instance = 55; });  // unknown instance
  print(sample(hookById("KERNEL_BPF")->index, {}), [](bw_record *r) {
    r->flags = BW_REC_MISSING_PROG;
    r->rule = BW_NO_RULE;
  });
  auto sequence = sequenceInstances();
  instances.insert(sequence.begin(), sequence.end());
  print(sample(hookById("NET_CONNECT")->index, {}), [](bw_record *r) {  // a sequence's last step
    addAfter(r, 0xabcdef, 6, 0, 4'000'000'000ull, BW_MARK_ON_PROCESS);
    addAfter(r, 0x1234, 55, 2, 4'500'000'000ull, BW_MARK_ON_PARENT);
  });
}

TEST(Events, JsonEscaping) {
  EXPECT_EQ(jsonEscape("a\"b\\c\n\x01"), "a\\\"b\\\\c\\n\\u0001");
  // The escaper skips plain text eight bytes at a time: every byte to escape at every
  // position of a longer string, beside UTF-8 and DEL, which stay as they are.
  for (char special : std::string("\"\\\x01\x1f\t")) {
    for (size_t at = 0; at < 20; at++) {
      std::string in(20, 'x'), want;
      in[at] = special;
      in += "\xc3\xa9\x7f/";
      for (char c : in)
        want += c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\t' ? "\\t" : c == '\x01' ? "\\u0001"
                : c == '\x1f' ? "\\u001f" : std::string(1, c);
      EXPECT_EQ(jsonEscape(in), want) << at;
    }
  }
}

TEST(Hooks, TableComesFromTheCatalogue) {
  const Hook *h = hookByName("file.open");
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(h->index, 0u);
  EXPECT_EQ(h->id, "FILE_OPEN");
  EXPECT_EQ(h->attach, "file_open");
  EXPECT_TRUE(h->lsm);
  ASSERT_NE(h->object, nullptr);
  EXPECT_EQ(h->object->name, "file.path");
  EXPECT_EQ(hookByAttach("bprm_check_security")->name, "process.exec");
  EXPECT_EQ(progsMapName(*hookById("KERNEL_MOUNT")), "bw_progs_KERNEL_MOUNT");
  EXPECT_FALSE(hookByName("kprobe")->lsm);
  EXPECT_EQ(hookByAttach(""), nullptr);
  EXPECT_TRUE(isSharedMapName("bw_next_NET_BIND"));
  EXPECT_TRUE(isSharedMapName("bw_events"));
  EXPECT_FALSE(isSharedMapName("bw_counters"));
  EXPECT_FALSE(isSharedMapName("bw_progs_KPROBE"));
}

}  // namespace
}  // namespace bulwark::rt
