#include "Events.h"

#include "Abi.h"
#include "Hooks.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <map>
#include <ctime>

namespace bulwark::rt {

// The date and time of the last second formatted are kept: a burst of records shares them.
std::string isoTime(uint64_t ns) {
  thread_local time_t lastSecs = -1;
  thread_local char head[80];  // "2026-12-02T06:31:02."
  time_t secs = time_t(ns / 1000000000ull);
  if (secs != lastSecs) {
    struct tm tm {};
    gmtime_r(&secs, &tm);
    std::snprintf(head, sizeof head, "%04d-%02d-%02dT%02d:%02d:%02d.", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                  tm.tm_hour, tm.tm_min, tm.tm_sec);
    lastSecs = secs;
  }
  std::string out(head);
  unsigned us = unsigned(ns % 1000000000ull / 1000);
  char frac[8] = {0, 0, 0, 0, 0, 0, 'Z', 0};
  for (int i = 5; i >= 0; i--, us /= 10)
    frac[i] = char('0' + us % 10);
  return out + frac;
}

namespace {

std::string addrString(const bw_addr &a) {
  char buf[INET6_ADDRSTRLEN] = {};
  static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(a.bytes, mapped, 12) == 0)
    inet_ntop(AF_INET, a.bytes + 12, buf, sizeof buf);
  else
    inet_ntop(AF_INET6, a.bytes, buf, sizeof buf);
  return buf;
}

std::string actionString(uint32_t action, uint32_t flags) {
  if (flags & BW_REC_WOULD_DENY)
    return "would-deny";
  switch (action) {
  case BW_ACT_ALLOW: return "allow";
  case BW_ACT_DENY: return "deny";
  case BW_ACT_AUDIT: return "audit";
  case BW_ACT_KILL: return "kill";
  }
  return "action-" + std::to_string(action);
}


// ---- the catalogue's fields and enums (abi/Catalogue.h) ----
// The fields of each hook by hook index: its own fields and those of the catalogue entries that
// share its language name (companion attach points), built once: decoding runs for every record.
const std::vector<const FieldInfo *> &hookFields(const Hook &h) {
  static const std::vector<std::vector<const FieldInfo *>> byHook = [] {
    std::vector<std::vector<const FieldInfo *>> out(hooks().size());
    for (const auto &hook : hooks())
      for (const auto &info : Catalogue::get().hooks())
        if (info.name == hook.name)
          for (const auto &f : info.fields)
            if (!f.common)
              out[hook.index].push_back(&f);
    return out;
  }();
  static const std::vector<const FieldInfo *> none;
  return h.index < byHook.size() ? byHook[h.index] : none;
}

const FieldInfo *findField(const Hook *h, std::string_view name) {
  if (h)
    for (const FieldInfo *f : hookFields(*h))
      if (f->name == name)
        return f;
  for (const auto &f : Catalogue::get().hooks().front().fields)
    if (f.common && f.name == name)
      return &f;
  return nullptr;
}

using Slots = Event::Raw;

std::string fieldValue(const FieldInfo &f, const Slots &s) {
  switch (f.slotKind) {
  case SlotKind::Str: return f.slot < BW_STR_SLOTS ? s.strs[f.slot] : "";
  case SlotKind::Addr: return f.slot < BW_ADDR_SLOTS ? addrString(s.addrs[f.slot]) : "";
  case SlotKind::Int: break;
  }
  if (f.slot >= BW_INT_SLOTS)
    return "";
  uint64_t v = s.ints[f.slot];
  if (f.type == FieldType::BOOL)
    return v ? "true" : "false";
  return enumText(f.type, v);
}

// A catalogue enum type: whether it is a flag set, and its named values (flag sets: the widest
// first, as O_TMPFILE includes O_DIRECTORY's bit). Built once.
struct EnumTable {
  bool flags = false;
  std::vector<const Enumerator *> values;
};
const EnumTable *enumTable(FieldType type) {
  static const std::map<FieldType, EnumTable> tables = [] {
    std::map<FieldType, EnumTable> out;
    for (const auto &e : Catalogue::get().enums()) {
      EnumTable &t = out[e.type];
      t.flags = e.isFlags;
      for (const auto &v : e.values)
        t.values.push_back(&v);
      if (t.flags)
        std::stable_sort(t.values.begin(), t.values.end(), [](auto *a, auto *b) {
          return __builtin_popcountll(uint64_t(a->value)) > __builtin_popcountll(uint64_t(b->value));
        });
    }
    return out;
  }();
  auto it = tables.find(type);
  return it == tables.end() ? nullptr : &it->second;
}

} // namespace

std::string enumText(FieldType type, uint64_t value) {
  const EnumTable *t = enumTable(type);
  if (!t)
    return std::to_string(value);
  if (!t->flags) {
    for (const auto *e : t->values)
      if (uint64_t(e->value) == value)
        return std::string(e->name);
    return std::to_string(value);
  }
  std::string out;
  uint64_t rest = value;
  for (const auto *e : t->values) {
    uint64_t bits = uint64_t(e->value);
    if (bits && (rest & bits) == bits) {
      out += (out.empty() ? "" : "|") + std::string(e->name);
      rest &= ~bits;
    }
  }
  if (rest || out.empty()) {
    char buf[32];
    std::snprintf(buf, sizeof buf, rest ? "0x%llx" : "0", static_cast<unsigned long long>(rest));
    out += (out.empty() ? "" : "|") + std::string(buf);
  }
  return out;
}

std::string renderMessage(const std::string &tmpl, const Event &e) {
  const Hook *h = hookByName(e.hook);
  std::string out;
  size_t i = 0;
  while (i < tmpl.size()) {
    size_t open = tmpl.find('{', i);
    size_t close = open == std::string::npos ? open : tmpl.find('}', open);
    if (close == std::string::npos) {
      out += tmpl.substr(i);
      break;
    }
    out += tmpl.substr(i, open - i);
    std::string name = tmpl.substr(open + 1, close - open - 1);
    const FieldInfo *f = findField(h, name);
    if (name == "process.cgroup")
      out += e.cgroup.empty() ? std::to_string(e.cgroupId) : e.cgroup;
    else if (name == "process.exe")
      out += e.exe;
    else if (f)
      out += fieldValue(*f, e.raw);
    else
      out += tmpl.substr(open, close - open + 1);  // a kprobe argument, or unknown: as written
    i = close + 1;
  }
  return out;
}

namespace {

// nameRecord: the record's header: its policy and rule (from its instance, never its slot),
// action, hook, process, and the rule's function and message template.
void nameRecord(const bw_record &r, const std::map<uint32_t, InstanceInfo> &instances, int64_t monoToReal,
                Event &e) {
  e.timeNs = uint64_t(int64_t(r.ktime_ns) + monoToReal);
  e.flags = r.flags;
  e.instance = r.instance;
  e.slot = r.slot;
  auto it = instances.find(r.instance);
  const InstanceInfo *inst = r.instance && it != instances.end() ? &it->second : nullptr;
  e.policy = inst ? inst->policy : "unknown instance " + std::to_string(r.instance);
  const RuleInfo *rule = inst && r.rule < inst->rules.size() ? &inst->rules[r.rule] : nullptr;
  if (r.flags & BW_REC_MISSING_PROG)
    e.rule = "(missing program)";  // failed closed: the policy's program was not in its slot
  else if (r.rule == BW_NO_RULE || (r.flags & BW_REC_DEFAULT))
    e.rule = "(default)";
  else if (rule)
    e.rule = rule->name;
  else
    e.rule = "#" + std::to_string(r.rule);
  e.action = actionString(r.action, r.flags);
  const Hook *h = hookByIndex(r.hook);
  e.hook = h ? std::string(h->name) : "hook-" + std::to_string(r.hook);
  if (rule && !(r.flags & (BW_REC_MISSING_PROG | BW_REC_DEFAULT))) {
    e.function = rule->function;
    e.messageTemplate = rule->message;
  }
  e.pid = r.pid;
  e.tgid = r.tgid;
  e.ppid = r.ppid;
  e.uid = r.uid;
  e.gid = r.gid;
  e.euid = r.euid;
  e.comm.assign(r.comm, strnlen(r.comm, sizeof r.comm));
  e.cgroupId = r.cgroup_id;
}

// readSlots: the record's slots, with its trailing strings (bpf/lib/bw_record.h,
// emit): process.exe, then the hook's string slots in slot order; each takes str_len[slot]
// bytes including its NUL.
void readSlots(const bw_record &r, const char *p, const char *end, Event &e) {
  Slots &s = e.raw;
  std::memcpy(s.ints, r.ints, sizeof s.ints);
  std::memcpy(s.addrs, r.addrs, sizeof s.addrs);
  auto take = [&](uint32_t slot) {
    uint32_t len = r.str_len[slot];
    if (len == 0 || p >= end)
      return;
    if (len > uint32_t(end - p))
      len = uint32_t(end - p);
    s.strs[slot].assign(p, strnlen(p, len));
    p += len;
  };
  take(1);  // process.exe
  for (uint32_t slot = BW_COMMON_STR_SLOTS; slot < BW_STR_SLOTS; slot++)
    take(slot);
  s.strs[0] = e.comm;
  e.exe = s.strs[1];
}

// describeObject: the hook's fields by name and its primary object (kprobe hooks: the first
// argument).
void describeObject(const bw_record &r, const Hook *h, Event &e) {
  const Slots &s = e.raw;
  if (h && !h->lsm) {
    // kprobe hooks have no catalogue fields: sema numbers argument slots in parameter order,
    // so the first string argument is in the first hook string slot, the first integer
    // argument in the first hook int slot (sign as the kernel type, see bw_kprobe.h).
    if (r.str_len[BW_COMMON_STR_SLOTS])
      e.object = s.strs[BW_COMMON_STR_SLOTS];
    else
      e.object = std::to_string(static_cast<int64_t>(r.ints[BW_COMMON_INT_SLOTS]));
    return;
  }
  if (!h)
    return;
  const auto &fields = hookFields(*h);
  e.fields.reserve(fields.size());
  for (const FieldInfo *f : fields)
    e.fields.emplace_back(std::string(f->name), fieldValue(*f, s));
  if (!h->object)
    return;
  e.object = fieldValue(*h->object, s);
  // An address object shows its port: the INT slot after the family (net.dport / net.sport, slot 7).
  if (h->object->slotKind == SlotKind::Addr && h->object->slot < BW_ADDR_SLOTS && r.ints[7])
    e.object += ":" + std::to_string(r.ints[7]);
}

// readAfter: the earlier steps the record tells of, named by the instance that set each mark
// (which may be another version of the policy than the one that decided). A mark tested twice
// is told once.
void readAfter(const bw_record &r, const std::map<uint32_t, InstanceInfo> &instances, int64_t monoToReal,
               Event &e) {
  for (uint32_t i = 0; i < r.after_n && i < BW_RECORD_MARKS; i++) {
    const bw_found_mark &f = r.after[i];
    std::string on = f.who == BW_MARK_ON_PARENT ? "parent" : "process";
    auto it = instances.find(f.instance);
    const InstanceInfo *inst = f.instance && it != instances.end() ? &it->second : nullptr;
    EarlierStep s;
    s.mark = "#" + std::to_string(f.id);
    if (inst)
      if (auto m = inst->marks.find(f.id); m != inst->marks.end())
        s.mark = m->second;
    if (std::any_of(e.after.begin(), e.after.end(),
                    [&](const EarlierStep &x) { return x.mark == s.mark && x.on == on && x.instance == f.instance; }))
      continue;
    s.policy = inst ? inst->policy : "unknown instance " + std::to_string(f.instance);
    s.rule = inst && f.rule < inst->rules.size() ? inst->rules[f.rule].name : "#" + std::to_string(f.rule);
    s.instance = f.instance;
    s.setNs = uint64_t(int64_t(f.set_ns) + monoToReal);
    s.on = std::move(on);
    e.after.push_back(std::move(s));
  }
}

} // namespace

bool decodeRecord(const void *data, size_t size, const std::map<uint32_t, InstanceInfo> &instances,
                  int64_t monoToReal, Event *out, std::string *why) {
  // The ABI first: a record of another ABI may be shorter or longer than this one's.
  uint32_t abi = BW_ABI_VERSION;
  if (size >= offsetof(bw_record, abi) + sizeof abi)
    std::memcpy(&abi, static_cast<const char *>(data) + offsetof(bw_record, abi), sizeof abi);
  if (abi != BW_ABI_VERSION) {
    if (why)
      *why = "record of ABI " + std::to_string(abi) + ", but this bulwark reads ABI " +
             std::to_string(BW_ABI_VERSION) + " (its policy was loaded by another version of bulwark)";
    return false;
  }
  if (size < sizeof(bw_record)) {
    if (why)
      *why = "record of " + std::to_string(size) + " bytes is shorter than struct bw_record";
    return false;
  }
  bw_record r;
  std::memcpy(&r, data, sizeof r);
  if (r.after_n > BW_RECORD_MARKS) {
    if (why)
      *why = "record tells of " + std::to_string(r.after_n) + " earlier marks, more than " +
             std::to_string(BW_RECORD_MARKS);
    return false;
  }
  Event e;
  nameRecord(r, instances, monoToReal, e);
  const char *p = static_cast<const char *>(data) + sizeof(bw_record);
  readSlots(r, p, static_cast<const char *>(data) + size, e);
  describeObject(r, hookByIndex(r.hook), e);
  readAfter(r, instances, monoToReal, e);
  e.message = renderMessage(e.messageTemplate, e);
  *out = std::move(e);
  return true;
}

namespace {
std::string quoted(const std::string &s) {
  bool plain = !s.empty();
  for (unsigned char c : s)
    if (c <= ' ' || c == '"' || c == '\\' || c >= 0x7f)
      plain = false;
  return plain ? s : "\"" + jsonEscape(s) + "\"";
}
} // namespace

std::string formatText(const Event &e) {
  std::string o = isoTime(e.timeNs);
  o += " policy=" + quoted(e.policy);
  o += " rule=" + quoted(e.rule);
  o += " action=" + e.action;
  o += " hook=" + e.hook;
  if (!e.function.empty())
    o += " function=" + quoted(e.function);
  o += " pid=" + std::to_string(e.pid);
  o += " tgid=" + std::to_string(e.tgid);
  o += " uid=" + std::to_string(e.uid);
  o += " comm=" + quoted(e.comm);
  o += " exe=" + quoted(e.exe);
  o += " cgroup=" + quoted(e.cgroup.empty() ? std::to_string(e.cgroupId) : e.cgroup);
  o += " object=" + quoted(e.object);
  o += " instance=" + std::to_string(e.instance);
  if (!e.message.empty())
    o += " message=" + quoted(e.message);
  // after="read_credential on process set by credential_exfiltration/credential_read at <time>; ..."
  std::string after;
  for (const auto &s : e.after)
    after += (after.empty() ? "" : "; ") + s.mark + " on " + s.on + " set by " + s.policy + "/" + s.rule + " at " +
             isoTime(s.setNs);
  if (!after.empty())
    o += " after=" + quoted(after);
  return o;
}

void appendJson(std::string &out, const Event &e) {
  JsonWriter w(out);
  w.beginObject().key("schema").value(uint64_t(kEventSchemaVersion)).key("time").value(isoTime(e.timeNs));
  w.key("hostname").value(e.hostname).key("boot_id").value(e.bootId).key("policy").value(e.policy);
  w.key("rule").value(e.rule).key("action").value(e.action).key("hook").value(e.hook);
  w.key("function").value(e.function).key("message").value(e.message);
  w.key("instance").value(uint64_t(e.instance)).key("slot").value(uint64_t(e.slot));
  w.key("pid").value(uint64_t(e.pid)).key("tgid").value(uint64_t(e.tgid)).key("ppid").value(uint64_t(e.ppid));
  w.key("uid").value(uint64_t(e.uid)).key("euid").value(uint64_t(e.euid)).key("gid").value(uint64_t(e.gid));
  w.key("comm").value(e.comm).key("exe").value(e.exe).key("cgroup_id").value(uint64_t(e.cgroupId));
  w.key("cgroup").value(e.cgroup).key("object").value(e.object);
  w.key("fields").beginObject();
  for (const auto &[name, value] : e.fields)
    w.key(name).value(value);
  w.endObject().key("after").beginArray();
  for (const auto &s : e.after)
    w.beginObject().key("mark").value(s.mark).key("rule").value(s.rule).key("policy").value(s.policy)
        .key("instance").value(uint64_t(s.instance)).key("set").value(isoTime(s.setNs)).key("on").value(s.on)
        .endObject();
  w.endArray().endObject();
}

std::string formatJson(const Event &e) {
  std::string out;
  appendJson(out, e);
  return out;
}

} // namespace bulwark::rt
