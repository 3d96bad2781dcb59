#include "Tables.h"

#include <cstring>
#include <stdexcept>
#include <variant>

namespace bulwark::bundle {

namespace {

constexpr char kMagic[4] = {'B', 'W', 'T', 'B'};

struct TablesError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Writer {
public:
  void u32(uint32_t v) {
    for (int i = 0; i < 4; i++)
      out.push_back(uint8_t(v >> (8 * i)));
  }
  void u64(uint64_t v) {
    u32(uint32_t(v));
    u32(uint32_t(v >> 32));
  }
  void str(const std::string &s) {
    u32(uint32_t(s.size()));
    out.insert(out.end(), s.begin(), s.end());
  }
  std::vector<uint8_t> out;
};

// What is being read, spelled only for an error: "rule 17 message", "identity group 2 path 5".
struct Item {
  const char *what;
  int64_t index = -1;
  const char *field = nullptr;
  std::string text() const {
    return std::string(what) + (index >= 0 ? " " + std::to_string(index) : "") + (field ? " " + std::string(field) : "");
  }
};

// Reads from a span, every read bounds-checked.
class Reader {
public:
  explicit Reader(std::span<const uint8_t> b) : bytes(b) {}
  uint32_t u32(const Item &what) {
    need(4, what);
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
      v |= uint32_t(bytes[pos + i]) << (8 * i);
    pos += 4;
    return v;
  }
  uint64_t u64(const Item &what) {
    need(8, what);
    uint64_t lo = u32(what);
    return lo | uint64_t(u32(what)) << 32;
  }
  std::string str(const Item &what) {
    uint32_t n = u32(what);
    need(n, what);
    std::string s(reinterpret_cast<const char *>(bytes.data() + pos), n);
    pos += n;
    return s;
  }
  // A count of items of at least `minBytes` each: larger than what is left means corrupt.
  uint32_t count(const Item &what, size_t minBytes) {
    uint32_t n = u32(what);
    if (uint64_t(n) * minBytes > left())
      throw TablesError(what.text() + " is " + std::to_string(n) + ", more than the " + std::to_string(left()) +
                        " bytes left can hold");
    return n;
  }
  size_t left() const { return bytes.size() - pos; }
  size_t offset() const { return pos; }

private:
  void need(size_t n, const Item &what) {
    if (n > left())
      throw TablesError("truncated at byte " + std::to_string(pos) + " reading " + what.text() + " (" +
                        std::to_string(n) + " bytes needed, " + std::to_string(left()) + " left)");
  }
  std::span<const uint8_t> bytes;
  size_t pos = 0;
};

void put(Writer &w, uint32_t v) { w.u32(v); }
void put(Writer &w, const std::string &s) { w.str(s); }
void put(Writer &w, Action a) { w.u32(uint32_t(a)); }
// A mark list: its count, then per mark its name and u64 id.
void put(Writer &w, const std::vector<MarkEntry> &marks) {
  w.u32(uint32_t(marks.size()));
  for (const auto &mk : marks) {
    w.str(mk.name);
    w.u64(mk.id);
  }
}
void get(Reader &r, uint32_t &v, const Item &what) { v = r.u32(what); }
void get(Reader &r, std::string &s, const Item &what) { s = r.str(what); }
void get(Reader &r, std::vector<MarkEntry> &marks, const Item &what) {
  uint32_t n = r.count(what, 4 + 8);  // a mark is at least an empty name and its id
  marks.clear();
  marks.reserve(n);
  for (uint32_t i = 0; i < n; i++) {
    MarkEntry mk;
    mk.name = r.str(what);
    mk.id = r.u64(what);
    marks.push_back(std::move(mk));
  }
}
void get(Reader &r, Action &a, const Item &what) {
  uint32_t v = r.u32(what);
  for (const auto &w : kActionWords)
    if (uint32_t(w.value) == v) {
      a = w.value;
      return;
    }
  throw TablesError(what.text() + " is " + std::to_string(v) + " (expected " + expectedWords<Action>() + ")");
}

// The rule table's columns, in file order. A new field is one row here (and a put/get pair
// for a new type); rule_fields in the header makes a reader of another field list refuse
// the file instead of misreading it.
using RuleMember = std::variant<uint32_t RuleEntry::*, std::string RuleEntry::*, Action RuleEntry::*,
                                std::vector<MarkEntry> RuleEntry::*>;
struct RuleField {
  const char *name;
  RuleMember member;
};
const RuleField kRuleFields[] = {
    {"id", &RuleEntry::id},           {"name", &RuleEntry::name}, {"hook", &RuleEntry::hook},
    {"action", &RuleEntry::action},   {"message", &RuleEntry::message}, {"loc", &RuleEntry::loc},
    {"function", &RuleEntry::function}, {"marks", &RuleEntry::marks},
};
constexpr uint32_t kRuleFieldCount = sizeof kRuleFields / sizeof kRuleFields[0];
constexpr size_t kMinRuleBytes = 4 * kRuleFieldCount;  // every field is at least a u32

void putRule(Writer &w, const RuleEntry &r) {
  for (const auto &f : kRuleFields)
    std::visit([&](auto m) { put(w, r.*m); }, f.member);
}

RuleEntry getRule(Reader &in, uint32_t index) {
  RuleEntry r;
  for (const auto &f : kRuleFields)
    std::visit([&](auto m) { get(in, r.*m, Item{"rule", index, f.name}); }, f.member);
  return r;
}

void readHeader(Reader &in, uint32_t &rules, uint32_t &groups) {
  uint32_t m = in.u32({"magic"});
  uint32_t want = 0;
  std::memcpy(&want, kMagic, 4);
  if (m != want)
    throw TablesError("not a Bulwark tables file (bad magic)");
  uint32_t version = in.u32({"version"});
  if (version != kTablesVersion)
    throw TablesError("version " + std::to_string(version) + ", this reader reads version " +
                      std::to_string(kTablesVersion));
  rules = in.u32({"rule count"});
  uint32_t fields = in.u32({"rule field count"});
  if (fields != kRuleFieldCount)
    throw TablesError("rules have " + std::to_string(fields) + " fields, this reader reads " +
                      std::to_string(kRuleFieldCount));
  groups = in.u32({"identity group count"});
  if (uint64_t(rules) * kMinRuleBytes > in.left())
    throw TablesError("rule count is " + std::to_string(rules) + ", more than the " + std::to_string(in.left()) +
                      " bytes left can hold");
}

} // namespace

std::vector<uint8_t> writeTables(const Manifest &m) {
  Writer w;
  uint32_t magic = 0;
  std::memcpy(&magic, kMagic, 4);
  w.u32(magic);
  w.u32(kTablesVersion);
  w.u32(uint32_t(m.rules.size()));
  w.u32(kRuleFieldCount);
  w.u32(uint32_t(m.identity.size()));
  for (const auto &r : m.rules)
    putRule(w, r);
  for (const auto &g : m.identity) {
    w.u32(uint32_t(g.paths.size()));
    for (const auto &p : g.paths)
      w.str(p);
  }
  return std::move(w.out);
}

bool readTables(std::span<const uint8_t> bytes, Manifest &m, std::string *error) {
  try {
    Reader in(bytes);
    uint32_t rules = 0, groups = 0;
    readHeader(in, rules, groups);
    if (groups != m.identity.size() || rules != m.ruleCount)
      throw TablesError("has " + std::to_string(rules) + " rules and " + std::to_string(groups) +
                        " identity groups, the manifest " + std::to_string(m.ruleCount) + " and " +
                        std::to_string(m.identity.size()));
    m.rules.clear();
    m.rules.reserve(rules);
    for (uint32_t i = 0; i < rules; i++)
      m.rules.push_back(getRule(in, i));
    for (auto &g : m.identity) {
      uint32_t n = in.count({"identity group", g.group, "path count"}, 4);
      if (n != g.pathCount)
        throw TablesError("identity group " + std::to_string(g.group) + " has " + std::to_string(n) +
                          " paths, the manifest " + std::to_string(g.pathCount));
      g.paths.clear();
      g.paths.reserve(n);
      for (uint32_t i = 0; i < n; i++)
        g.paths.push_back(in.str({"identity group", g.group, "path"}));
    }
    if (in.left())
      throw TablesError(std::to_string(in.left()) + " bytes after the last table (at byte " +
                        std::to_string(in.offset()) + ")");
  } catch (const TablesError &e) {
    if (error)
      *error = std::string(kTablesFile) + ": " + e.what();
    return false;
  }
  return true;
}

} // namespace bulwark::bundle
