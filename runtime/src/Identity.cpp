#include "Identity.h"

#include "Abi.h"
#include "Bpf.h"
#include "ChangeCount.h"
#include "Error.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <ftw.h>
#include <map>
#include <set>
#include <sstream>
#include <sys/stat.h>
#include <sys/sysmacros.h>

namespace bulwark::rt {

uint32_t kernelDev(unsigned long d) { return uint32_t(major(d)) << 20 | uint32_t(minor(d)); }

namespace {

int mapFd(bpf_object *obj, abi::MapId id) {
  bpf_map *m = bpf_object__find_map_by_name(obj, mapName(id).c_str());
  return m ? bpf_map__fd(m) : -1;
}

IdentityLabel label(uint32_t group, bool prefix, const struct stat &st, uint64_t name, std::string path) {
  IdentityLabel l;
  l.key = bw_ident_key{group, kernelDev(st.st_dev), uint64_t(st.st_ino), name};
  l.group = group;
  l.prefix = prefix;
  l.path = std::move(path);
  return l;
}

// "/a/b" -> {"/a", "b"}; "/b" -> {"/", "b"}; no name for "/" or "x/".
std::pair<std::string, std::string> splitPath(const std::string &p) {
  auto slash = p.rfind('/');
  if (slash == std::string::npos || slash + 1 == p.size())
    return {"", ""};
  return {slash == 0 ? "/" : p.substr(0, slash), p.substr(slash + 1)};
}

// True when the path's location is labelled (its directory exists).
bool planExact(IdentityPlan &plan, uint32_t group, const std::string &p) {
  ++plan.exactPaths;
  // lstat: the object at this very path. A symlink is skipped: the kernel resolves paths, so
  // its inode is never what a hook sees, and following it would lend the rule's meaning to
  // whatever it points at (on busybox systems, /usr/bin/passwd -> busybox would make every
  // busybox applet a "shadow reader").
  struct stat st{};
  if (::lstat(p.c_str(), &st) == 0 && !S_ISLNK(st.st_mode)) {
    ++plan.exactFound;
    plan.labels.push_back(label(group, false, st, BW_IDENT_SELF, p));
  }
  // The name in its directory: a file created or renamed there later is the protected path.
  auto [dir, name] = splitPath(p);
  if (name.empty() || ::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return false;
  plan.labels.push_back(label(group, false, st, BW_IDENT_NAME(bw_fnv1a64(name.data(), name.size())), p));
  return true;
}

// Every mount point (/proc/self/mountinfo, field 5, octal escapes): read once per load, not
// once per listed directory (10,000 prefixes read it 10,000 times).
std::vector<std::string> mountPoints() {
  std::vector<std::string> out;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string f, mp;
    for (int i = 0; i < 5 && fields >> f; ++i)
      mp = f;
    std::string unescaped;
    for (size_t i = 0; i < mp.size(); ++i) {
      if (mp[i] == '\\' && i + 3 < mp.size()) {
        unescaped += char(std::stoi(mp.substr(i + 1, 3), nullptr, 8));
        i += 3;
      } else {
        unescaped += mp[i];
      }
    }
    out.push_back(std::move(unescaped));
  }
  return out;
}

// The mount points strictly below `dir`.
std::vector<std::string> mountsBelow(const std::string &dir, const std::vector<std::string> &mounts) {
  std::vector<std::string> out;
  std::string base = dir == "/" ? "/" : dir + "/";
  for (const auto &m : mounts)
    if (m.size() > base.size() && m.compare(0, base.size(), base) == 0)
      out.push_back(m);
  return out;
}

// nftw has no context argument: the scan in progress.
struct HardLinkScan {
  IdentityPlan *plan = nullptr;
  uint32_t group = 0;
  uint32_t seen = 0;
};
thread_local HardLinkScan *gScan = nullptr;

int scanEntry(const char *path, const struct stat *st, int type, struct FTW *) {
  if (++gScan->seen > kHardLinkScanBudget) {
    gScan->plan->scanCut = true;
    return 1;
  }
  if (type == FTW_F && st->st_nlink > 1) {
    gScan->plan->labels.push_back(label(gScan->group, true, *st, BW_IDENT_SELF, path));
    ++gScan->plan->hardLinks;
  }
  return 0;
}

// True when the prefix's directory exists (and is labelled).
bool planPrefix(IdentityPlan &plan, uint32_t group, const std::string &s, const std::vector<std::string> &mounts) {
  ++plan.prefixDirs;
  std::string dir = s;
  if (dir.size() > 1 && dir.back() == '/')
    dir.pop_back();
  struct stat st{};
  if (dir.empty() || ::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return false;  // not a directory (yet): the process's view of the path may still deny
  ++plan.prefixFound;
  std::string below = dir == "/" ? "/" : dir + "/";
  plan.labels.push_back(label(group, true, st, BW_IDENT_UNDER, below));
  for (const auto &m : mountsBelow(dir, mounts))
    if (::stat(m.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      plan.labels.push_back(label(group, true, st, BW_IDENT_UNDER, m + "/"));
      ++plan.mounts;
    }
  HardLinkScan scan{&plan, group, 0};
  gScan = &scan;
  ::nftw(dir.c_str(), scanEntry, 32, FTW_PHYS | FTW_MOUNT);
  gScan = nullptr;
  return true;
}

// What `l.path` means in its group: the full value bulwarkc stored for the runtime.
bool fullValue(int exact, int prefix, const IdentityLabel &l, bw_match_val &val) {
  if (l.group == BW_GROUP_SCOPE_EXE) {
    val = bw_match_val{};
    val.best = 0;
    return true;
  }
  uint32_t group = l.group | BW_GROUP_IDENT_VAL;
  if (!l.prefix) {
    bw_exact_key k{group, uint32_t(l.path.size()), bw_fnv1a64(l.path.data(), l.path.size())};
    return exact >= 0 && bpf_map_lookup_elem(exact, &k, &val) == 0;
  }
  bw_lpm_str_key k{};
  size_t n = std::min<size_t>(l.path.size(), BW_LPM_STR_MAX);
  k.prefixlen = uint32_t(32 + 8 * n);
  for (int i = 0; i < 4; ++i)
    k.group[i] = uint8_t(group >> (8 * (3 - i)));
  std::memcpy(k.data, l.path.data(), n);
  return prefix >= 0 && bpf_map_lookup_elem(prefix, &k, &val) == 0;
}

using Entries = std::vector<std::pair<std::string, std::string>>;

// Every entry of a map read 256 at a time (BPF_MAP_LOOKUP_BATCH): a few calls for a label map
// of 10,000 entries instead of two per entry. False when the map type has none (an LPM trie
// on 6.1) or a batch failed; `out` is then empty.
bool batchEntries(int fd, size_t keySize, size_t valueSize, Entries &out) {
  constexpr uint32_t kBatch = 256;
  std::string keys(keySize * kBatch, '\0'), values(valueSize * kBatch, '\0');
  std::string in(std::max<size_t>(keySize, 8), '\0'), next = in;  // the kernel's position, opaque
  for (bool first = true;; first = false) {
    uint32_t count = kBatch;
    LIBBPF_OPTS(bpf_map_batch_opts, opts);
    int err = bpf_map_lookup_batch(fd, first ? nullptr : in.data(), next.data(), keys.data(), values.data(), &count,
                                   &opts);
    if (err && errno != ENOENT) {
      out.clear();
      return false;
    }
    for (uint32_t i = 0; i < count; ++i)
      out.emplace_back(keys.substr(i * keySize, keySize), values.substr(i * valueSize, valueSize));
    if (err)  // ENOENT: that was the last batch
      return true;
    in = next;
  }
}

// Every entry of a map, as key and value bytes.
Entries entries(int fd, size_t keySize, size_t valueSize) {
  Entries out;
  if (fd < 0 || batchEntries(fd, keySize, valueSize, out))
    return out;
  std::string k(keySize, '\0'), next(keySize, '\0'), v(valueSize, '\0');
  for (void *cur = nullptr; bpf_map_get_next_key(fd, cur, next.data()) == 0; cur = k.data()) {
    k = next;
    if (bpf_map_lookup_elem(fd, k.data(), v.data()) == 0)
      out.emplace_back(k, v);
  }
  return out;
}

// What each identity group means: its full values and its fail-closed value, by group.
std::map<uint32_t, std::vector<std::string>> groupMeanings(const IdentityMaps &m) {
  std::map<uint32_t, std::vector<std::string>> out;
  for (auto &[k, v] : entries(m.exact, sizeof(bw_exact_key), sizeof(bw_match_val))) {
    bw_exact_key ek;
    std::memcpy(&ek, k.data(), sizeof ek);
    if (ek.group != BW_GROUP_SCOPE_EXE && (ek.group & BW_GROUP_IDENT_VAL))
      out[ek.group & ~BW_GROUP_IDENT_VAL].push_back("e" + k.substr(4) + v);
  }
  for (auto &[k, v] : entries(m.prefix, sizeof(bw_lpm_str_key), sizeof(bw_match_val))) {
    bw_lpm_str_key pk;
    std::memcpy(&pk, k.data(), sizeof pk);
    uint32_t g = uint32_t(pk.group[0]) << 24 | pk.group[1] << 16 | pk.group[2] << 8 | pk.group[3];
    if (g & BW_GROUP_IDENT_VAL)
      out[g & ~BW_GROUP_IDENT_VAL].push_back("p" + k.substr(0, 4) + k.substr(8) + v);
  }
  for (auto &[k, v] : entries(m.ident, sizeof(bw_ident_key), sizeof(bw_match_val))) {
    bw_ident_key ik;
    std::memcpy(&ik, k.data(), sizeof ik);
    if (ik.ino == 0 && ik.name == BW_IDENT_INCOMPLETE)
      out[ik.group].push_back("i" + v);
  }
  for (auto &[g, m] : out)
    std::sort(m.begin(), m.end());
  return out;
}

} // namespace

IdentityMaps identityMaps(bpf_object *obj) {
  return {mapFd(obj, abi::MapId::m_ident), mapFd(obj, abi::MapId::m_exact), mapFd(obj, abi::MapId::m_prefix)};
}

uint32_t carryLearnedLabels(const IdentityMaps &old, const IdentityMaps &now) {
  if (old.ident < 0 || now.ident < 0)
    return 0;
  // Only labels learned at link and rename are carried (the others are set at load). Most
  // versions learned none: then the group meanings (every exact and prefix entry) are not read.
  std::vector<std::pair<bw_ident_key, bw_match_val>> learned;
  for (auto &[k, v] : entries(old.ident, sizeof(bw_ident_key), sizeof(bw_match_val))) {
    bw_ident_key ik;
    bw_match_val val;
    std::memcpy(&ik, k.data(), sizeof ik);
    std::memcpy(&val, v.data(), sizeof val);
    if (ik.ino != 0 && (ik.name == BW_IDENT_SELF || ik.name == BW_IDENT_UNDER))
      learned.emplace_back(ik, val);
  }
  if (learned.empty())
    return 0;
  auto before = groupMeanings(old), after = groupMeanings(now);
  std::map<uint32_t, uint32_t> same;  // old group -> new group of the same meaning
  for (const auto &[og, meaning] : before)
    for (const auto &[ng, m] : after)
      if (m == meaning) {
        same[og] = ng;
        break;
      }
  uint32_t carried = 0;
  for (auto [ik, val] : learned) {
    auto to = same.find(ik.group);
    if (to == same.end())
      continue;
    ik.group = to->second;
    bw_match_val cur{};
    if (bpf_map_lookup_elem(now.ident, &ik, &cur) == 0)
      bw_match_val_merge(&val, &cur);
    if (bpf_map_update_elem(now.ident, &ik, &val, BPF_ANY) != 0)
      throw Error(Exit::Failed, "cannot keep a learned object label across the swap: " + errnoText(errno));
    ++carried;
  }
  return carried;
}

std::optional<bw_learn_count> learnCount(int fd) {
  bw_learn_count c{};
  uint32_t zero = 0;
  if (fd < 0 || bpf_map_lookup_elem(fd, &zero, &c) != 0)
    return std::nullopt;
  return c;
}

void recordLabelsSeen(bpf_object *obj, uint64_t done) {
  int fd = mapFd(obj, abi::MapId::learned);
  if (fd < 0)
    return;
  bw_learn_count c{};
  c.seen = done;
  uint32_t zero = 0;
  if (bpf_map_update_elem(fd, &zero, &c, BPF_ANY) != 0)
    throw Error(Exit::Failed, "cannot record the labels the stage carried: " + errnoText(errno));
}

bool noLabelsSinceStage(int old, int staged) {
  auto o = learnCount(old), s = learnCount(staged);
  return o && s && o->begun == s->seen;
}

void viewHeads(const std::vector<std::string> &paths, uint64_t (&head)[BW_VIEW_HEADS],
               uint64_t (&mask)[BW_VIEW_HEADS]) {
  std::set<std::string> heads;
  for (size_t n = 8;; --n) {
    heads.clear();
    for (const auto &p : paths)
      heads.insert(p.substr(0, n));
    if (heads.size() <= BW_VIEW_HEADS || n == 0)
      break;
  }
  head[0] = mask[0] = 0;  // no paths: every string
  size_t j = 0;
  for (const auto &h : heads) {
    head[j] = mask[j] = 0;
    std::memcpy(&head[j], h.data(), h.size());
    std::memset(&mask[j], 0xff, h.size());
    ++j;
  }
  for (; j < BW_VIEW_HEADS; ++j) {  // the rest repeat the first
    head[j] = head[0];
    mask[j] = mask[0];
  }
}

IdentityPlan planIdentity(const Bundle &b) {
  IdentityPlan plan;
  bool prefixes = std::any_of(b.identity.begin(), b.identity.end(),
                              [](const auto &g) { return g.kind == bundle::IdentityKind::Prefix; });
  std::vector<std::string> mounts = prefixes ? mountPoints() : std::vector<std::string>{};
  if (b.policy.scope == bundle::Scope::Executable)
    for (const auto &p : b.policy.scopePaths)
      planExact(plan, BW_GROUP_SCOPE_EXE, p);
  for (size_t i = 0; i < b.identity.size(); ++i) {
    const auto &g = b.identity[i];
    std::vector<std::string> views;  // paths without an object: matched on the string too
    for (const auto &p : g.paths) {
      bool located = g.kind == bundle::IdentityKind::Prefix ? planPrefix(plan, g.group, p, mounts) : planExact(plan, g.group, p);
      if (!located)
        views.push_back(p);
    }
    if (!views.empty() && g.view && i < BW_IDENT_GROUPS) {
      plan.viewGroups |= 1u << i;
      viewHeads(views, plan.viewHead[i], plan.viewMask[i]);
    }
  }
  plan.hintQuarter = bw_policy_hint_quarter_for(plan.labels.size());
  return plan;
}

void seedIdentity(bpf_object *obj, const IdentityPlan &plan) {
  if (plan.labels.empty())
    return;
  int ident = mapFd(obj, abi::MapId::m_ident);
  if (ident < 0)
    throw Error(Exit::BadBundle, "the bundle lists identity groups but its object has no map bw_m_ident");
  int exact = mapFd(obj, abi::MapId::m_exact), prefix = mapFd(obj, abi::MapId::m_prefix);
  for (const auto &l : plan.labels) {
    bw_match_val val{};
    if (!fullValue(exact, prefix, l, val))
      throw Error(Exit::BadBundle, "the bundle has no identity value for " + l.path + " in group " +
                                       std::to_string(l.group));
    // Most labels are new: one update; only an object two listed paths share is merged.
    if (bpf_map_update_elem(ident, &l.key, &val, BPF_NOEXIST) == 0)
      continue;
    bw_match_val old{};
    if (errno == EEXIST && bpf_map_lookup_elem(ident, &l.key, &old) == 0)
      bw_match_val_merge(&val, &old);
    if (bpf_map_update_elem(ident, &l.key, &val, BPF_ANY) != 0)
      throw Error(Exit::Failed, "cannot label the object of " + l.path + ": " + errnoText(errno));
  }
  // the map holds exactly these keys: hint them without reading it back
  std::vector<bw_ident_key> keys;
  keys.reserve(plan.labels.size());
  for (const auto &l : plan.labels)
    keys.push_back(l.key);
  writeHintsOf(keys, mapFd(obj, abi::MapId::m_hint), hintFd(obj));
}

} // namespace bulwark::rt

namespace bulwark::rt {

// The bits in a quarter of bw_m_hint (fd `hint`), which the load sized quarter/16 words.
static uint32_t hintQuarterOf(int hint) {
  auto info = hint >= 0 ? mapInfo(hint) : std::nullopt;
  uint32_t quarter = info ? info->maxEntries * 16 : 0;
  if (quarter < BW_POLICY_HINT_QUARTER || quarter > BW_POLICY_HINT_QUARTER_MAX || !std::has_single_bit(quarter))
    throw Error(Exit::BadBundle, "the bundle labels objects but its object has no bw_m_hint map of " +
                                     std::to_string(BW_POLICY_HINT_WORDS) + " to " +
                                     std::to_string(BW_POLICY_HINT_QUARTER_MAX / 16) + " words, a power of two");
  return quarter;
}

// Calls set(word, bit) for the hint bit of every label of `labels` in a hint map of four
// `quarter`s (bw_match.h bw_ident_hint).
template <class Set> static void forEachHintBit(const std::vector<bw_ident_key> &labels, uint32_t quarter, Set set) {
  for (const auto &ik : labels) {
    if (ik.ino == 0)  // BW_IDENT_INCOMPLETE: read when a walk is cut, never hinted
      continue;
    uint32_t b = bw_ident_hint(ik.dev, ik.ino, bw_ident_hint_kind(ik.name), quarter);
    set(b >> 6, 1ull << (b & 63));
  }
}

// The bits of `labels` in the policy's own bw_m_hint (fd `hint`).
static void writeOwnHints(const std::vector<bw_ident_key> &labels, int hint) {
  uint32_t quarter = hintQuarterOf(hint);
  std::vector<uint64_t> words(quarter / 16);
  forEachHintBit(labels, quarter, [&](uint32_t w, uint64_t bit) { words[w] |= bit; });
  for (uint32_t i = 0; i < words.size(); ++i)
    if (words[i] && bpf_map_update_elem(hint, &i, &words[i], BPF_ANY) != 0)
      throw Error(Exit::Failed, "cannot write the object hints: " + errnoText(errno));
}

// The bit of every label of `labels` in the shared bw_hint (fd `fd`). An object without it
// (fd -1) has no program that reads a hint.
static void writeSharedHints(const std::vector<bw_ident_key> &labels, int fd) {
  if (fd < 0)
    return;
  HintWords words(fd);
  forEachHintBit(labels, BW_HINT_QUARTER,
                 [&](uint32_t w, uint64_t bit) { __atomic_fetch_or(&words[w], bit, __ATOMIC_SEQ_CST); });
  // After the bits: facts a program worked out before them are no longer taken (bw_dirfacts).
  __atomic_fetch_add(&words[BW_HINT_CHANGES], 1, __ATOMIC_SEQ_CST);
}

void writeHintsOf(const std::vector<bw_ident_key> &labels, int ownHint, int hint) {
  if (labels.empty())
    return;
  writeSharedHints(labels, hint);
  writeOwnHints(labels, ownHint);
}

int hintFd(bpf_object *obj) {
  bpf_map *m = bpf_object__find_map_by_name(obj, "bw_hint");
  return m ? bpf_map__fd(m) : -1;
}

void writeObjectHints(bpf_object *obj) {
  writeHints(mapFd(obj, abi::MapId::m_ident), mapFd(obj, abi::MapId::m_hint), hintFd(obj));
}

void writeHints(int ident, int ownHint, int hint) {
  if (ident < 0)
    return;
  std::vector<bw_ident_key> keys;
  for (auto &[k, v] : entries(ident, sizeof(bw_ident_key), sizeof(bw_match_val))) {
    bw_ident_key ik;
    std::memcpy(&ik, k.data(), sizeof ik);
    keys.push_back(ik);
  }
  writeHintsOf(keys, ownHint, hint);
}

} // namespace bulwark::rt
