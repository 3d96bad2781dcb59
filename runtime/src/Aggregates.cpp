#include "Aggregates.h"

#include "Bpf.h"
#include "Counters.h"
#include "Error.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <vector>

namespace bulwark::rt {

namespace {
// In bw_agg_base, the decisions a rule's bw_agg had no room for are kept under this key.
constexpr uint32_t kLostDev = ~0u;
constexpr uint64_t kLostIno = ~0ull, kLostCgroup = ~0ull;

std::string exeOf(const bw_agg_val &v) { return std::string(v.exe, strnlen(v.exe, sizeof v.exe)); }

// Every entry of a bw_agg-shaped hash map, rule ids named by `names`; entries under the lost
// key go to `lost`. Entries of a rule id the names do not cover are skipped.
void readAggMap(int fd, const std::vector<std::string> &names, Aggregates &out) {
  bw_agg_key k{}, next{};
  for (void *cur = nullptr; bpf_map_get_next_key(fd, cur, &next) == 0; cur = &k) {
    k = next;
    bw_agg_val v{};
    if (bpf_map_lookup_elem(fd, &k, &v) != 0)
      continue;  // deleted meanwhile
    uint32_t id = k.rule == BW_NO_RULE ? uint32_t(names.size() - 1) : k.rule;
    if (id >= names.size() || names[id].empty())
      continue;
    if (k.exe_dev == kLostDev && k.exe_ino == kLostIno && k.cgroup_id == kLostCgroup) {
      out.lost[names[id]] += v.count;
      continue;
    }
    out.entries[{names[id], k.exe_dev, k.exe_ino, k.cgroup_id}].add({v.count, v.first_ns, v.last_ns, exeOf(v)});
  }
}
} // namespace

void AggregateValue::add(const AggregateValue &v) {
  firstNs = count && firstNs ? std::min(firstNs, v.firstNs) : v.firstNs;
  lastNs = std::max(lastNs, v.lastNs);
  count += v.count;
  if (exe.empty())
    exe = v.exe;
}

void Aggregates::add(const Aggregates &a) {
  for (const auto &[k, v] : a.entries)
    entries[k].add(v);
  for (const auto &[r, n] : a.lost)
    lost[r] += n;
}

Aggregates generationAggregates(const PinLayout &pins, const std::string &policy, uint32_t gen, uint32_t ruleCount) {
  Aggregates out;
  auto names = ruleNames(pins, policy, gen, ruleCount);
  if (auto fd = openMapPin(pins.map(policy, gen, mapName(abi::MapId::agg)))) {
    out.present = true;
    if (auto info = mapInfo(fd->get()))
      out.max = info->maxEntries;
    Aggregates own;
    readAggMap(fd->get(), names, own);
    out.used = uint32_t(own.entries.size());
    out.add(own);
  }
  if (auto fd = openMapPin(pins.map(policy, gen, mapName(abi::MapId::agg_lost)))) {
    std::vector<uint64_t> perCpu(size_t(std::max(libbpf_num_possible_cpus(), 1)));
    for (uint32_t i = 0; i < names.size(); i++)
      if (bpf_map_lookup_elem(fd->get(), &i, perCpu.data()) == 0)
        for (uint64_t n : perCpu)
          if (n)
            out.lost[names[i]] += n;
  }
  if (auto fd = openMapPin(pins.aggregateBase(policy, gen)))
    readAggMap(fd->get(), names, out);
  return out;
}

void foldAggregates(const PinLayout &pins, const PolicyState &st, uint32_t from, uint32_t into) {
  Aggregates agg = generationAggregates(pins, st.name, from, st.gens[from].ruleCount);
  if (agg.entries.empty() && agg.lost.empty())
    return;
  auto names = ruleNames(pins, st.name, into, st.gens[into].ruleCount);
  std::map<std::string, uint32_t> idOf;
  for (uint32_t i = 0; i + 1 < names.size(); i++)
    idOf[names[i]] = i;
  idOf[std::string(kDefaultRuleName)] = BW_NO_RULE;
  uint32_t size = uint32_t(agg.entries.size() + agg.lost.size());
  Fd fd(bpf_map_create(BPF_MAP_TYPE_HASH, "bw_agg_base", sizeof(bw_agg_key), sizeof(bw_agg_val), size, nullptr));
  if (!fd)
    throw Error(Exit::Failed, "cannot create the aggregation base map: " + errnoText(errno));
  auto put = [&](const std::string &rule, bw_agg_key k, const AggregateValue &v) {
    auto id = idOf.find(rule);
    if (id == idOf.end())
      return;  // the new version has no such rule
    k.rule = id->second;
    bw_agg_val val{};
    val.count = v.count;
    val.first_ns = v.firstNs;
    val.last_ns = v.lastNs;
    v.exe.copy(val.exe, std::min(v.exe.size(), sizeof val.exe - 1));
    if (bpf_map_update_elem(fd.get(), &k, &val, BPF_ANY) != 0)
      throw Error(Exit::Failed, "cannot fill the aggregation base map: " + errnoText(errno));
  };
  for (const auto &[k, v] : agg.entries)
    put(k.rule, {0, k.exeDev, k.exeIno, k.cgroupId}, v);
  for (const auto &[rule, n] : agg.lost)
    put(rule, {0, kLostDev, kLostIno, kLostCgroup}, {n, 0, 0, ""});
  std::string path = pins.aggregateBase(st.name, into);
  ::unlink(path.c_str());  // left by a fold that died before its counter base was pinned
  pinFd(fd.get(), path);
}

} // namespace bulwark::rt
