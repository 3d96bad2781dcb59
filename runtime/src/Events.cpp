#include "Events.h"

#include "Abi.h"
#include "Hooks.h"

#include <arpa/inet.h>

#include <cstdio>
#include <cstring>
#include <ctime>

namespace bulwark::rt {

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

std::string isoTime(uint64_t ns) {
  time_t secs = time_t(ns / 1000000000ull);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, unsigned(ns % 1000000000ull / 1000));
  return buf;
}

} // namespace

bool decodeRecord(const void *data, size_t size, const std::map<uint32_t, SlotInfo> &slots,
                  int64_t monoToReal, Event *out, std::string *why) {
  if (size < sizeof(bw_record)) {
    if (why)
      *why = "record of " + std::to_string(size) + " bytes is shorter than struct bw_record";
    return false;
  }
  bw_record r;
  std::memcpy(&r, data, sizeof r);
  if (r.abi != BW_ABI_VERSION) {
    if (why)
      *why = "record of ABI " + std::to_string(r.abi);
    return false;
  }
  Event e;
  e.timeNs = uint64_t(int64_t(r.ktime_ns) + monoToReal);
  e.flags = r.flags;
  auto sit = slots.find(r.slot);
  e.policy = sit != slots.end() ? sit->second.policy : "slot:" + std::to_string(r.slot);
  if (r.flags & BW_REC_MISSING_PROG)
    e.rule = "(missing program)";  // failed closed: the policy's program was not in its slot
  else if (r.rule == BW_NO_RULE || (r.flags & BW_REC_DEFAULT))
    e.rule = "(default)";
  else if (sit != slots.end() && r.rule < sit->second.rules.size())
    e.rule = sit->second.rules[r.rule];
  else
    e.rule = "#" + std::to_string(r.rule);
  e.action = actionString(r.action, r.flags);
  const Hook *h = hookByIndex(r.hook);
  e.hook = h ? std::string(h->name) : "hook-" + std::to_string(r.hook);
  e.pid = r.pid;
  e.tgid = r.tgid;
  e.ppid = r.ppid;
  e.uid = r.uid;
  e.gid = r.gid;
  e.euid = r.euid;
  e.comm.assign(r.comm, strnlen(r.comm, sizeof r.comm));
  e.cgroupId = r.cgroup_id;

  // Trailing strings (bpf/templates/bw_lib.bpf.c, emit): process.exe, then the hook's
  // string slots in slot order; each takes str_len[slot] bytes including its NUL.
  const char *p = static_cast<const char *>(data) + sizeof(bw_record);
  const char *end = static_cast<const char *>(data) + size;
  std::string strs[BW_STR_SLOTS];
  auto take = [&](uint32_t slot) {
    uint32_t len = r.str_len[slot];
    if (len == 0 || p >= end)
      return;
    if (len > uint32_t(end - p))
      len = uint32_t(end - p);
    strs[slot].assign(p, strnlen(p, len));
    p += len;
  };
  take(1);  // process.exe
  for (uint32_t s = BW_COMMON_STR_SLOTS; s < BW_STR_SLOTS; s++)
    take(s);
  e.exe = strs[1];

  if (h && !h->lsm) {
    // kprobe hooks have no catalogue fields: sema numbers argument slots in parameter order,
    // so the first string argument is in the first hook string slot, the first integer
    // argument in the first hook int slot (sign as the kernel type, see bw_kprobe.h).
    if (r.str_len[BW_COMMON_STR_SLOTS])
      e.object = strs[BW_COMMON_STR_SLOTS];
    else
      e.object = std::to_string(static_cast<int64_t>(r.ints[BW_COMMON_INT_SLOTS]));
  } else if (h) {
    switch (h->objectKind) {
    case 'S':
      if (h->objectSlot < BW_STR_SLOTS)
        e.object = strs[h->objectSlot];
      break;
    case 'A':
      if (h->objectSlot < BW_ADDR_SLOTS) {
        e.object = addrString(r.addrs[h->objectSlot]);
        // the port is the INT slot after the family (net.dport / net.sport, slot 7)
        if (r.ints[7])
          e.object += ":" + std::to_string(r.ints[7]);
      }
      break;
    case 'I':
      if (h->objectSlot < BW_INT_SLOTS)
        e.object = std::to_string(r.ints[h->objectSlot]);
      break;
    }
  }
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
  o += " pid=" + std::to_string(e.pid);
  o += " tgid=" + std::to_string(e.tgid);
  o += " uid=" + std::to_string(e.uid);
  o += " comm=" + quoted(e.comm);
  o += " exe=" + quoted(e.exe);
  o += " cgroup=" + quoted(e.cgroup.empty() ? std::to_string(e.cgroupId) : e.cgroup);
  o += " object=" + quoted(e.object);
  return o;
}

std::string formatJson(const Event &e) {
  auto str = [](const char *k, const std::string &v) { return std::string("\"") + k + "\":\"" + jsonEscape(v) + "\""; };
  auto num = [](const char *k, uint64_t v) { return std::string("\"") + k + "\":" + std::to_string(v); };
  std::string o = "{";
  o += str("time", isoTime(e.timeNs)) + ",";
  o += str("policy", e.policy) + ",";
  o += str("rule", e.rule) + ",";
  o += str("action", e.action) + ",";
  o += str("hook", e.hook) + ",";
  o += num("pid", e.pid) + ",";
  o += num("tgid", e.tgid) + ",";
  o += num("ppid", e.ppid) + ",";
  o += num("uid", e.uid) + ",";
  o += num("euid", e.euid) + ",";
  o += num("gid", e.gid) + ",";
  o += str("comm", e.comm) + ",";
  o += str("exe", e.exe) + ",";
  o += num("cgroup_id", e.cgroupId) + ",";
  o += str("cgroup", e.cgroup) + ",";
  o += str("object", e.object);
  o += "}";
  return o;
}

} // namespace bulwark::rt
