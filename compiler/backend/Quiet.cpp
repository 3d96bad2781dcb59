#include "Quiet.h"

#include "Catalogue.h"

#include <algorithm>
#include <optional>
#include <string_view>

namespace bulwark::backend {

namespace {

// The hooks whose dispatcher keeps quiet events, the fields of each that the key holds
// (abi/bw_quiet.bpf.h bw_quiet_key_of, abi/bw_net_quiet.bpf.h bw_net_key_of), and whether it
// holds the process's marks (the count of their changes, so a mark tested absent stays so).
struct QuietKey {
  HookId hook;
  std::vector<std::string_view> fields;
  bool processMarks = false;
};
const QuietKey kQuietKeys[] = {
    {HookId::FILE_OPEN, {"file.path", "file.write", "file.read"}},
    {HookId::FILE_MMAP_EXEC, {"file.path"}},  // the key's mode is the open's, not the mapping's prot
    {HookId::NET_CONNECT, {"net.family", "net.daddr", "net.dport"}, true},
};

// A test of the marks the key holds, `negated` or not. The key holds the count of the marks set,
// so a mark absent stays absent while the key is the same, but a mark present can expire: only
// a test that holds where the mark is present (not under a `not`) can tell that a rule will not
// hold again, as its truth only falls while the key is the same.
bool keyMark(const LCond &c, const QuietKey &key, bool negated) {
  return key.processMarks && c.markWho == BW_MARK_ON_PROCESS && !negated;
}

// `c` (under a `not` when `negated`) tests no mark but those the key holds (a mark's test reads
// no field).
bool marksOnKey(const LCond &c, const QuietKey &key, bool negated = false) {
  if (c.kind == LCond::Kind::Mark)
    return keyMark(c, key, negated);
  bool kidsNegated = negated != (c.kind == LCond::Kind::Not);
  return std::all_of(c.kids.begin(), c.kids.end(),
                     [&](const LCond &k) { return marksOnKey(k, key, kidsNegated); });
}

const QuietKey *quietKeyOf(HookId h) {
  for (const auto &k : kQuietKeys)
    if (k.hook == h)
      return &k;
  return nullptr;
}

class KeyParts {
public:
  KeyParts(const LoweredHook &lh, const std::vector<Group> &groups, const QuietKey &key)
      : lh_(lh), groups_(groups), key_(key) {}

  bool keyField(std::string_view name) const {
    return std::find(key_.fields.begin(), key_.fields.end(), name) != key_.fields.end();
  }
  // Group `gi` looks up a key field on every event.
  bool keyGroup(uint32_t gi) const { return keyField(groups_.at(gi).field.name) && !lh_.gates.count(gi); }

  // A condition on key fields alone that `c` implies, or nullopt when there is none.
  std::optional<LCond> part(const LCond &c) const {
    if (c.kind == LCond::Kind::True)
      return std::nullopt;
    if (onKeyAlone(c))
      return c;
    if (c.kind == LCond::Kind::And) {  // each conjunct's part, as far as it has one
      LCond all;
      all.kind = LCond::Kind::And;
      for (const auto &k : c.kids)
        if (auto p = part(k))
          all.kids.push_back(std::move(*p));
      if (all.kids.empty())
        return std::nullopt;
      return all;
    }
    if (c.kind == LCond::Kind::Or) {  // every alternative needs one
      LCond any;
      any.kind = LCond::Kind::Or;
      for (const auto &k : c.kids) {
        auto p = part(k);
        if (!p)
          return std::nullopt;
        any.kids.push_back(std::move(*p));
      }
      return any;
    }
    return std::nullopt;
  }

private:
  const LoweredHook &lh_;
  const std::vector<Group> &groups_;
  const QuietKey &key_;

  bool keyInt(uint32_t slot) const {
    for (auto name : key_.fields) {
      const FieldInfo *f = Catalogue::get().findField(lh_.hook, name);
      if (f && f->slotKind == SlotKind::Int && f->slot == slot)
        return true;
    }
    return false;
  }
  bool onKeyAlone(const LCond &c, bool negated = false) const {
    switch (c.kind) {
    case LCond::Kind::True:
    case LCond::Kind::False: return true;
    case LCond::Kind::Atom: return c.atom < lh_.atomGroup.size() && keyGroup(lh_.atomGroup[c.atom]);
    case LCond::Kind::IntCmp: return keyInt(c.slot);
    case LCond::Kind::Mark: return keyMark(c, key_, negated);
    default: {
      bool kidsNegated = negated != (c.kind == LCond::Kind::Not);
      return std::all_of(c.kids.begin(), c.kids.end(), [&](const LCond &k) { return onKeyAlone(k, kidsNegated); });
    }
    }
  }
};

// The word of a decision no rule of the hook made, when it allows; nullopt otherwise.
std::optional<uint32_t> allowingNoRuleWord(const LoweredHook &lh, bool noRuleAllows, uint32_t markOnlyWord) {
  if (lh.alwaysWord == kNoRule)
    return noRuleAllows ? std::optional<uint32_t>(kNoRule) : std::nullopt;
  if (lh.alwaysWord == markOnlyWord)
    return markOnlyWord;
  return std::nullopt;  // a rule that always holds
}

} // namespace

void quietHook(LoweredHook &lh, const std::vector<Group> &groups, const std::set<uint32_t> &direct,
               bool noRuleAllows, uint32_t markOnlyWord) {
  lh.quiet = false;
  lh.quietView = lh.quietAncestors = true;
  lh.quietParts.clear();
  lh.precheckQuiet = false;
  const QuietKey *key = quietKeyOf(lh.hook);
  auto word = allowingNoRuleWord(lh, noRuleAllows, markOnlyWord);
  if (!key || !lh.hasRules || !word)
    return;
  KeyParts parts(lh, groups, *key);
  if (!std::all_of(direct.begin(), direct.end(), [&](uint32_t gi) { return parts.keyGroup(gi); }))
    return;
  std::vector<LCond> conds;
  for (const auto &c : lh.compounds)
    conds.push_back(c.cond);
  for (const auto &m : lh.markRules)
    conds.push_back(m.cond);
  std::vector<LCond> keyParts;
  for (const auto &c : conds) {
    auto p = parts.part(c);
    if (!p)
      return;
    keyParts.push_back(std::move(*p));
  }
  lh.quiet = true;
  lh.quietWord = *word;
  lh.quietParts = std::move(keyParts);
  uint64_t keyNeed = 0;
  for (auto name : key->fields)
    if (const FieldInfo *f = Catalogue::get().findField(lh.hook, name))
      keyNeed |= needBit(*f);
  lh.precheckQuiet = lh.precheck.kind != LCond::Kind::True && lh.precheckGroups.empty() &&
                     (lh.precheckNeed & ~keyNeed) == 0 && marksOnKey(lh.precheck, *key);
}

// lh.quietView and lh.quietAncestors from the path groups the hook looks up: an exact group
// on the object reads the file alone, a prefix group on it its ancestors too, any other path
// group the string.
void quietKeyParts(LoweredHook &lh, const std::vector<Group> &groups) {
  if (!lh.quiet)
    return;
  lh.quietView = lh.quietAncestors = false;
  for (uint32_t gi : lh.groups) {
    const Group &g = groups.at(gi);
    if (g.field.name != "file.path")
      continue;
    if (g.identity && g.kind == GroupKind::Prefix)
      lh.quietAncestors = true;
    else if (!(g.identity && g.kind == GroupKind::Exact))
      lh.quietView = true;
  }
}

} // namespace bulwark::backend
