#include "Events.h"

#include "Abi.h"
#include "Hooks.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <map>

namespace bulwark::rt {

namespace {
void appendNumber(std::string &out, uint64_t v) {
  char buf[24];
  out.append(buf, size_t(std::to_chars(buf, buf + sizeof buf, v).ptr - buf));
}
} // namespace

// The date and time of the last second formatted are kept: a burst of records shares them.
void appendIsoTime(std::string &out, uint64_t ns) {
  thread_local time_t lastSecs = -1;
  thread_local char head[80];  // "2026-12-02T06:31:02."
  thread_local size_t headLen = 0;
  time_t secs = time_t(ns / 1000000000ull);
  if (secs != lastSecs) {
    struct tm tm {};
    gmtime_r(&secs, &tm);
    int n = std::snprintf(head, sizeof head, "%04d-%02d-%02dT%02d:%02d:%02d.", tm.tm_year + 1900, tm.tm_mon + 1,
                          tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    headLen = size_t(std::clamp(n, 0, int(sizeof head) - 1));
    lastSecs = secs;
  }
  out.append(head, headLen);
  unsigned us = unsigned(ns % 1000000000ull / 1000);
  char frac[7] = {0, 0, 0, 0, 0, 0, 'Z'};
  for (int i = 5; i >= 0; i--, us /= 10)
    frac[i] = char('0' + us % 10);
  out.append(frac, sizeof frac);
}

std::string isoTime(uint64_t ns) {
  std::string out;
  appendIsoTime(out, ns);
  return out;
}

namespace {

void appendAddr(std::string &out, const bw_addr &a) {
  char buf[INET6_ADDRSTRLEN] = {};
  static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(a.bytes, mapped, 12) == 0)
    inet_ntop(AF_INET, a.bytes + 12, buf, sizeof buf);
  else
    inet_ntop(AF_INET6, a.bytes, buf, sizeof buf);
  out += buf;
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

// A catalogue enum type: whether it is a flag set, and its named values (flag sets: the widest
// first, as O_TMPFILE includes O_DIRECTORY's bit). Built once.
struct EnumTable {
  bool known = false;  // an enum type of the catalogue
  bool flags = false;
  std::vector<const Enumerator *> values;
};
const EnumTable *enumTable(FieldType type) {
  static const std::vector<EnumTable> tables = [] {  // by FieldType
    std::vector<EnumTable> out;
    for (const auto &e : Catalogue::get().enums()) {
      if (size_t(e.type) >= out.size())
        out.resize(size_t(e.type) + 1);
      EnumTable &t = out[size_t(e.type)];
      t.known = true;
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
  return size_t(type) < tables.size() && tables[size_t(type)].known ? &tables[size_t(type)] : nullptr;
}

void appendFlagsText(std::string &out, const EnumTable &t, uint64_t value) {
  size_t start = out.size();
  uint64_t rest = value;
  for (const auto *e : t.values) {
    if (!rest)
      break;
    uint64_t bits = uint64_t(e->value);
    if (bits && (rest & bits) == bits) {
      if (out.size() > start)
        out += '|';
      out += e->name;
      rest &= ~bits;
    }
  }
  if (rest || out.size() == start) {
    if (out.size() > start)
      out += '|';
    char buf[24];
    if (rest)
      out.append(buf, size_t(std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(rest))));
    else
      out += '0';
  }
}

} // namespace

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

void appendEnumText(std::string &out, FieldType type, uint64_t value) {
  const EnumTable *t = enumTable(type);
  if (t && t->flags)
    return appendFlagsText(out, *t, value);
  if (t)
    for (const auto *e : t->values)
      if (uint64_t(e->value) == value)
        return (void)out.append(e->name);
  appendNumber(out, value);
}

std::string enumText(FieldType type, uint64_t value) {
  std::string out;
  appendEnumText(out, type, value);
  return out;
}

void appendFieldText(std::string &out, const FieldInfo &f, const RecordSlots &s, bool json) {
  switch (f.slotKind) {
  case SlotKind::Str:
    if (f.slot < BW_STR_SLOTS)
      json ? jsonEscapeTo(out, s.strs[f.slot]) : (void)out.append(s.strs[f.slot]);
    return;
  case SlotKind::Addr:
    if (f.slot < BW_ADDR_SLOTS)
      appendAddr(out, s.addrs[f.slot]);
    return;
  case SlotKind::Int: break;
  }
  if (f.slot >= BW_INT_SLOTS)
    return;
  uint64_t v = s.ints[f.slot];
  if (f.type == FieldType::BOOL)
    out += v ? "true" : "false";
  else
    appendEnumText(out, f.type, v);
}

void appendObjectText(std::string &out, const bw_record &r, const Hook *h, const RecordSlots &s, bool json) {
  if (h && !h->lsm) {
    // kprobe hooks have no catalogue fields: sema numbers argument slots in parameter order,
    // so the first string argument is in the first hook string slot, the first integer
    // argument in the first hook int slot (sign as the kernel type, see bw_kprobe.h).
    if (r.str_len[BW_COMMON_STR_SLOTS]) {
      json ? jsonEscapeTo(out, s.strs[BW_COMMON_STR_SLOTS]) : (void)out.append(s.strs[BW_COMMON_STR_SLOTS]);
    } else {
      char buf[24];
      char *end = std::to_chars(buf, buf + sizeof buf, static_cast<int64_t>(r.ints[BW_COMMON_INT_SLOTS])).ptr;
      out.append(buf, size_t(end - buf));
    }
    return;
  }
  if (!h || !h->object)
    return;
  appendFieldText(out, *h->object, s, json);
  // An address object shows its port: the INT slot after the family (net.dport / net.sport, slot 7).
  if (h->object->slotKind == SlotKind::Addr && h->object->slot < BW_ADDR_SLOTS && r.ints[7]) {
    out += ':';
    appendNumber(out, r.ints[7]);
  }
}

std::vector<MessagePart> parseMessage(std::string_view tmpl, const Hook *h) {
  std::vector<MessagePart> parts;
  auto text = [&](std::string_view t) {
    if (t.empty())
      return;
    if (parts.empty() || parts.back().kind != MessagePart::Text)
      parts.push_back({});
    parts.back().text += t;
  };
  size_t i = 0;
  while (i < tmpl.size()) {
    size_t open = tmpl.find('{', i);
    size_t close = open == std::string_view::npos ? open : tmpl.find('}', open);
    if (close == std::string_view::npos) {
      text(tmpl.substr(i));
      break;
    }
    text(tmpl.substr(i, open - i));
    std::string_view name = tmpl.substr(open + 1, close - open - 1);
    if (name == "process.cgroup")
      parts.push_back({MessagePart::Cgroup, {}, nullptr});
    else if (name == "process.exe")
      parts.push_back({MessagePart::Exe, {}, nullptr});
    else if (const FieldInfo *f = findField(h, name))
      parts.push_back({MessagePart::Field, {}, f});
    else
      text(tmpl.substr(open, close - open + 1));  // a kprobe argument, or unknown: as written
    i = close + 1;
  }
  return parts;
}

std::string renderMessage(const std::string &tmpl, const Event &e) {
  RecordSlots s = recordSlots(e.raw);
  std::string out;
  for (const MessagePart &p : parseMessage(tmpl, hookByName(e.hook))) {
    switch (p.kind) {
    case MessagePart::Text: out += p.text; break;
    case MessagePart::Field: appendFieldText(out, *p.field, s, false); break;
    case MessagePart::Exe: out += e.exe; break;
    case MessagePart::Cgroup: e.cgroup.empty() ? appendNumber(out, e.cgroupId) : (void)(out += e.cgroup); break;
    }
  }
  return out;
}

bool readRecordHeader(const void *data, size_t size, bw_record *out, std::string *why) {
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
  std::memcpy(out, data, sizeof *out);
  if (out->after_n > BW_RECORD_MARKS) {
    if (why)
      *why = "record tells of " + std::to_string(out->after_n) + " earlier marks, more than " +
             std::to_string(BW_RECORD_MARKS);
    return false;
  }
  return true;
}

// The earlier steps, named by the instance that set each mark (which may be another version
// of the policy than the one that decided). A mark tested twice is told once.
std::vector<EarlierStep> earlierSteps(const bw_record &r, const std::map<uint32_t, InstanceInfo> &instances,
                                      int64_t monoToReal) {
  std::vector<EarlierStep> steps;
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
    if (std::any_of(steps.begin(), steps.end(),
                    [&](const EarlierStep &x) { return x.mark == s.mark && x.on == on && x.instance == f.instance; }))
      continue;
    s.policy = inst ? inst->policy : "unknown instance " + std::to_string(f.instance);
    s.rule = inst && f.rule < inst->rules.size() ? inst->rules[f.rule].name : "#" + std::to_string(f.rule);
    s.instance = f.instance;
    s.setNs = uint64_t(int64_t(f.set_ns) + monoToReal);
    s.on = std::move(on);
    steps.push_back(std::move(s));
  }
  return steps;
}

// The policy and rule come from the record's instance, never its slot.
RecordNames recordNames(const bw_record &r, const std::map<uint32_t, InstanceInfo> &instances) {
  RecordNames n;
  auto it = instances.find(r.instance);
  const InstanceInfo *inst = r.instance && it != instances.end() ? &it->second : nullptr;
  n.policy = inst ? inst->policy : "unknown instance " + std::to_string(r.instance);
  const RuleInfo *rule = inst && r.rule < inst->rules.size() ? &inst->rules[r.rule] : nullptr;
  if (r.flags & BW_REC_MISSING_PROG)
    n.rule = "(missing program)";  // failed closed: the policy's program was not in its slot
  else if (r.rule == BW_NO_RULE || (r.flags & BW_REC_DEFAULT))
    n.rule = "(default)";
  else if (rule)
    n.rule = rule->name;
  else
    n.rule = "#" + std::to_string(r.rule);
  n.action = actionString(r.action, r.flags);
  const Hook *h = hookByIndex(r.hook);
  n.hook = h ? std::string(h->name) : "hook-" + std::to_string(r.hook);
  if (rule && !(r.flags & (BW_REC_MISSING_PROG | BW_REC_DEFAULT))) {
    n.function = rule->function;
    n.messageTemplate = rule->message;
  }
  return n;
}

// The trailing strings (bpf/lib/bw_record.h, emit): process.exe, then the hook's string slots
// in slot order; each takes str_len[slot] bytes including its NUL. Slot 0 is comm.
RecordSlots recordSlots(const bw_record &r, const char *p, const char *end) {
  RecordSlots s;
  s.ints = r.ints;
  s.addrs = r.addrs;
  s.strs[0] = std::string_view(r.comm, strnlen(r.comm, sizeof r.comm));
  auto take = [&](uint32_t slot) {
    uint32_t len = r.str_len[slot];
    if (len == 0 || p >= end)
      return;
    if (len > uint32_t(end - p))
      len = uint32_t(end - p);
    s.strs[slot] = std::string_view(p, strnlen(p, len));
    p += len;
  };
  take(1);  // process.exe
  for (uint32_t slot = BW_COMMON_STR_SLOTS; slot < BW_STR_SLOTS; slot++)
    take(slot);
  return s;
}

RecordSlots recordSlots(const Event::Raw &raw) {
  RecordSlots s;
  s.ints = raw.ints;
  s.addrs = raw.addrs;
  for (size_t i = 0; i < BW_STR_SLOTS; i++)
    s.strs[i] = raw.strs[i];
  return s;
}

namespace {

void nameRecord(const bw_record &r, const std::map<uint32_t, InstanceInfo> &instances, int64_t monoToReal,
                Event &e) {
  RecordNames n = recordNames(r, instances);
  e.timeNs = uint64_t(int64_t(r.ktime_ns) + monoToReal);
  e.flags = r.flags;
  e.instance = r.instance;
  e.slot = r.slot;
  e.policy = std::move(n.policy);
  e.rule = std::move(n.rule);
  e.action = std::move(n.action);
  e.hook = std::move(n.hook);
  e.function = std::move(n.function);
  e.messageTemplate = std::move(n.messageTemplate);
  e.pid = r.pid;
  e.tgid = r.tgid;
  e.ppid = r.ppid;
  e.uid = r.uid;
  e.gid = r.gid;
  e.euid = r.euid;
  e.comm.assign(r.comm, strnlen(r.comm, sizeof r.comm));
  e.cgroupId = r.cgroup_id;
}

// The hook's fields by name and its primary object.
void describeObject(const bw_record &r, const Hook *h, const RecordSlots &s, Event &e) {
  appendObjectText(e.object, r, h, s, false);
  if (!h || !h->lsm)
    return;  // kprobe hooks have no catalogue fields
  const auto &fields = hookFields(*h);
  e.fields.reserve(fields.size());
  for (const FieldInfo *f : fields) {
    std::string value;
    appendFieldText(value, *f, s, false);
    e.fields.emplace_back(std::string(f->name), std::move(value));
  }
}

} // namespace

bool decodeRecord(const void *data, size_t size, const std::map<uint32_t, InstanceInfo> &instances,
                  int64_t monoToReal, Event *out, std::string *why) {
  bw_record r;
  if (!readRecordHeader(data, size, &r, why))
    return false;
  Event e;
  nameRecord(r, instances, monoToReal, e);
  const char *p = static_cast<const char *>(data);
  RecordSlots s = recordSlots(r, p + sizeof(bw_record), p + size);
  for (size_t i = 0; i < BW_STR_SLOTS; i++)
    e.raw.strs[i] = s.strs[i];
  std::memcpy(e.raw.ints, r.ints, sizeof e.raw.ints);
  std::memcpy(e.raw.addrs, r.addrs, sizeof e.raw.addrs);
  e.exe = e.raw.strs[1];
  describeObject(r, hookByIndex(r.hook), recordSlots(e.raw), e);
  e.after = earlierSteps(r, instances, monoToReal);
  e.message = renderMessage(e.messageTemplate, e);
  *out = std::move(e);
  return true;
}

void completeEvent(Event &e, const std::string &cgroup, const std::function<const std::string &(uint32_t tgid)> &exeOf,
                   const std::string &hostname, const std::string &bootId) {
  e.cgroup = cgroup;
  if (e.exe.empty() && exeOf)
    e.exe = exeOf(e.tgid);
  if (e.messageTemplate.find("{process.exe}") != std::string::npos ||
      e.messageTemplate.find("{process.cgroup}") != std::string::npos)
    e.message = renderMessage(e.messageTemplate, e);
  e.hostname = hostname;
  e.bootId = bootId;
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

// The reference formatter: RecordFormatter writes the same line from a record (RecordFormatterTest).
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
