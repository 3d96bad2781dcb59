#include "RecordFormatter.h"

#include "Hooks.h"

#include <charconv>
#include <cstring>

namespace bulwark::rt {

namespace {

void appendNumber(std::string &out, uint64_t v) {
  char buf[24];
  out.append(buf, size_t(std::to_chars(buf, buf + sizeof buf, v).ptr - buf));
}
void appendString(std::string &out, std::string_view s) {
  out += '"';
  jsonEscapeTo(out, s);
  out += '"';
}

using Write = void (*)(std::string &out, const RecordView &v);
template <uint32_t bw_record::*field> void writeU32(std::string &out, const RecordView &v) {
  appendNumber(out, v.r.*field);
}

void writeMessage(std::string &out, const RecordView &v) {
  out += '"';
  for (const MessagePart &p : v.head->message) {
    switch (p.kind) {
    case MessagePart::Text: out += p.text; break;
    case MessagePart::Field: appendFieldText(out, *p.field, v.slots, true); break;
    case MessagePart::Exe: jsonEscapeTo(out, v.formatter->exe(v)); break;
    case MessagePart::Cgroup:
      if (const std::string &json = v.formatter->cgroupJson(v.r.cgroup_id); !json.empty())
        out += json;
      else
        appendNumber(out, v.r.cgroup_id);
      break;
    }
  }
  out += '"';
}

// The hook's own fields, with their keys formatted once per hook.
void writeFields(std::string &out, const RecordView &v) {
  struct Key {
    std::string text;  // "file.path":"
    const FieldInfo *field;
  };
  static const std::vector<std::vector<Key>> byHook = [] {
    std::vector<std::vector<Key>> out(hooks().size());
    for (const Hook &h : hooks())
      if (h.lsm)  // kprobe hooks have no catalogue fields
        for (const FieldInfo *f : hookFields(h))
          out[h.index].push_back({"\"" + jsonEscape(f->name) + "\":\"", f});
    return out;
  }();
  out += '{';
  const Hook *h = v.head->hook;
  if (h && h->index < byHook.size())
    for (const Key &k : byHook[h->index]) {
      if (&k != byHook[h->index].data())
        out += ',';
      out += k.text;
      appendFieldText(out, *k.field, v.slots, true);
      out += '"';
    }
  out += '}';
}

// An earlier step of a sequence, its members in the order of appendJson(Event).
void appendStep(std::string &out, const EarlierStep &s) {
  out += "{\"mark\":", appendString(out, s.mark);
  out += ",\"rule\":", appendString(out, s.rule);
  out += ",\"policy\":", appendString(out, s.policy);
  out += ",\"instance\":", appendNumber(out, s.instance);
  out += ",\"set\":\"", appendIsoTime(out, s.setNs);
  out += "\",\"on\":", appendString(out, s.on);
  out += '}';
}

// The earlier steps of a sequence (bw_record.after); most records have none.
void writeAfter(std::string &out, const RecordView &v) {
  out += '[';
  if (v.r.after_n && v.instances)
    for (const EarlierStep &s : earlierSteps(v.r, *v.instances, v.monoToReal)) {
      if (out.back() == '}')
        out += ',';
      appendStep(out, s);
    }
  out += ']';
}

// The members of an event's JSON line, in order (docs/events.md, docs/events.schema.json; the
// reference is appendJson(Event)). `perHead`: the value follows from the record's head (its
// instance, rule, hook and action) or the reader, so it is formatted once per head.
struct Member {
  std::string_view key;
  bool perHead;
  Write write;
};
const Member kMembers[] = {
    {"schema", true, [](std::string &o, const RecordView &) { appendNumber(o, kEventSchemaVersion); }},
    {"time", false, [](std::string &o, const RecordView &v) { o += '"'; appendIsoTime(o, v.timeNs); o += '"'; }},
    {"hostname", true, [](std::string &o, const RecordView &v) { appendString(o, v.formatter->hostname()); }},
    {"boot_id", true, [](std::string &o, const RecordView &v) { appendString(o, v.formatter->bootId()); }},
    {"policy", true, [](std::string &o, const RecordView &v) { appendString(o, v.head->names.policy); }},
    {"rule", true, [](std::string &o, const RecordView &v) { appendString(o, v.head->names.rule); }},
    {"action", true, [](std::string &o, const RecordView &v) { appendString(o, v.head->names.action); }},
    {"hook", true, [](std::string &o, const RecordView &v) { appendString(o, v.head->names.hook); }},
    {"function", true, [](std::string &o, const RecordView &v) { appendString(o, v.head->names.function); }},
    {"message", false, writeMessage},
    {"instance", true, writeU32<&bw_record::instance>},
    {"slot", false, writeU32<&bw_record::slot>},
    {"pid", false, writeU32<&bw_record::pid>},
    {"tgid", false, writeU32<&bw_record::tgid>},
    {"ppid", false, writeU32<&bw_record::ppid>},
    {"uid", false, writeU32<&bw_record::uid>},
    {"euid", false, writeU32<&bw_record::euid>},
    {"gid", false, writeU32<&bw_record::gid>},
    {"comm", false, [](std::string &o, const RecordView &v) { appendString(o, v.slots.strs[0]); }},
    {"exe", false, [](std::string &o, const RecordView &v) { appendString(o, v.formatter->exe(v)); }},
    {"cgroup_id", false, [](std::string &o, const RecordView &v) { appendNumber(o, v.r.cgroup_id); }},
    {"cgroup", false,
     [](std::string &o, const RecordView &v) { o += '"'; o += v.formatter->cgroupJson(v.r.cgroup_id); o += '"'; }},
    {"object", false,
     [](std::string &o, const RecordView &v) {
       o += '"';
       appendObjectText(o, v.r, v.head->hook, v.slots, true);
       o += '"';
     }},
    {"fields", false, writeFields},
    {"after", false, writeAfter},
};

// Flags that change a record's names (the rest, such as BW_REC_KILLED, do not).
constexpr uint32_t kNamingFlags = BW_REC_WOULD_DENY | BW_REC_DEFAULT | BW_REC_MISSING_PROG;
constexpr size_t kMaxHeads = 4096;

} // namespace

RecordFormatter::RecordFormatter(std::string hostname, std::string bootId, Lookups lookups)
    : hostname_(std::move(hostname)), bootId_(std::move(bootId)), lookups_(std::move(lookups)) {}

size_t RecordFormatter::HeadKeyHash::operator()(const HeadKey &k) const {
  uint64_t h = (uint64_t(k.instance) << 32 | k.rule) * 0x9e3779b97f4a7c15ull;
  return size_t(h ^ (uint64_t(k.hook) << 40 | uint64_t(k.action) << 8 | k.flags));
}

bool RecordFormatter::read(const void *data, size_t size, const std::map<uint32_t, InstanceInfo> &instances,
                           int64_t monoToReal, RecordView *out, std::string *why) {
  if (!readRecordHeader(data, size, &out->r, why))
    return false;
  const char *p = static_cast<const char *>(data);
  out->slots = recordSlots(out->r, p + sizeof(bw_record), p + size);
  out->timeNs = uint64_t(int64_t(out->r.ktime_ns) + monoToReal);
  out->formatter = this;
  out->instances = &instances;
  out->monoToReal = monoToReal;
  out->head = &head(out->r, instances);
  return true;
}

void RecordFormatter::appendJson(std::string &out, const RecordView &v) {
  for (const RecordHead::Step &s : v.head->steps) {
    out += s.text;
    s.write(out, v);
  }
  out += v.head->tail;
}

void RecordFormatter::forgetNames() {
  heads_.clear();
  last_ = nullptr;
}

const RecordHead &RecordFormatter::head(const bw_record &r, const std::map<uint32_t, InstanceInfo> &instances) {
  HeadKey key{r.instance, r.rule, r.hook, r.action, r.flags & kNamingFlags};
  if (last_ && key == lastKey_)
    return *last_;
  auto it = heads_.find(key);
  if (it == heads_.end()) {
    if (heads_.size() >= kMaxHeads)
      forgetNames();
    it = heads_.emplace(key, makeHead(r, instances)).first;
  }
  lastKey_ = key;
  last_ = it->second.get();
  return *last_;
}

// The members fixed by the head are formatted here, into the literal text between the members
// written per record.
std::unique_ptr<RecordHead> RecordFormatter::makeHead(const bw_record &r,
                                                      const std::map<uint32_t, InstanceInfo> &instances) {
  auto h = std::make_unique<RecordHead>();
  h->names = recordNames(r, instances);
  h->hook = hookByIndex(r.hook);
  h->message = parseMessage(h->names.messageTemplate, h->hook);
  for (MessagePart &p : h->message)
    if (p.kind == MessagePart::Text)
      p.text = jsonEscape(p.text);
  RecordView fixed;  // what a perHead member may read: the head and the formatter
  fixed.head = h.get();
  fixed.formatter = this;
  fixed.r = r;
  std::string text = "{";
  for (const Member &m : kMembers) {
    if (&m != kMembers)
      text += ',';
    text += '"';
    text += m.key;
    text += "\":";
    if (m.perHead) {
      m.write(text, fixed);
    } else {
      h->steps.push_back({std::move(text), m.write});
      text.clear();
    }
  }
  h->tail = text + "}";
  return h;
}

std::string_view RecordFormatter::exe(const RecordView &v) {
  if (!v.slots.strs[1].empty() || !lookups_.exeOf)
    return v.slots.strs[1];
  return lookups_.exeOf(v.r.tgid);
}

const std::string &RecordFormatter::cgroupJson(uint64_t id) {
  if (!cgroupKnown_ || id != cgroupId_) {
    cgroupJson_ = lookups_.cgroupPath ? jsonEscape(lookups_.cgroupPath(id)) : "";
    cgroupId_ = id;
    cgroupKnown_ = true;
  }
  return cgroupJson_;
}

} // namespace bulwark::rt
