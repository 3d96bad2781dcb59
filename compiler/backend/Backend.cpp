#include "Backend.h"

#include "Codegen.h"
#include "bw_abi.h"
#include "bw_event.h"
#include "bw_match.h"

#include <chrono>
#include <map>

namespace bulwark::backend {

namespace {

std::string locText(const ir::SourceLoc &l) {
  if (l.file.empty() && l.line == 0)
    return "";
  return l.file + ":" + std::to_string(l.line) + ":" + std::to_string(l.column);
}

struct MapShape {
  const char *type;
  uint32_t key, value;
};

// Layouts of the per-policy maps of bw_lib.bpf.c (checked against the object's BTF by
// the back-end tests).
const std::map<std::string, MapShape> &mapShapes() {
  static const std::map<std::string, MapShape> m = {
      {"bw_scratch", {"array", 4, sizeof(struct bw_event)}},
      {"bw_tmp", {"percpu_array", 4, sizeof(struct bw_tmp)}},
      {"bw_recbuf", {"percpu_array", 4, BW_RECBUF_SIZE}},
      {"bw_counters", {"percpu_array", 4, sizeof(struct bw_counter)}},
      {"bw_rlimit", {"percpu_array", 4, sizeof(struct bw_rl)}},
      {"bw_m_exact", {"hash", sizeof(struct bw_exact_key), sizeof(struct bw_match_val)}},
      {"bw_m_prefix", {"lpm_trie", sizeof(struct bw_lpm_str_key), sizeof(struct bw_match_val)}},
      {"bw_m_suffix", {"lpm_trie", sizeof(struct bw_lpm_str_key), sizeof(struct bw_match_val)}},
      {"bw_m_cidr", {"lpm_trie", sizeof(struct bw_lpm_addr_key), sizeof(struct bw_match_val)}},
      {"bw_m_int", {"hash", sizeof(struct bw_int_key), sizeof(struct bw_match_val)}},
      {"bw_m_ident", {"hash", sizeof(struct bw_ident_key), sizeof(struct bw_match_val)}},
      {"bw_m_hint", {"array", 4, 8}},
      {"bw_m_dfa", {"array", 4, 4}},
      {"bw_m_dfa_acc", {"array", 4, sizeof(struct bw_match_val)}},
  };
  return m;
}

// bw_m_ident labels the runtime sets at load: per exact path (and `scope executable` path)
// the file and its name in its directory, per prefix its directory (mounts and hard links found below it come on top, the
// runtime adds room for those).
uint32_t identityLabels(const Lowered &low, const ir::Policy &policy) {
  uint32_t n = policy.scope.kind == ir::Scope::Kind::Executable ? 2 * uint32_t(policy.scope.paths.size()) : 0;
  for (const auto &ig : low.identity)
    n += static_cast<uint32_t>(ig.paths.size()) * (ig.kind == GroupKind::Exact ? 2 : 1);
  return n;
}

} // namespace

const std::vector<bundle::RodataEntry> &runtimeRodata() {
  static const std::vector<bundle::RodataEntry> r = {
      {"bw_cfg_slot", 4, "policy slot (bw_abi.h); default 0"},
      {"bw_cfg_instance", 4, "policy instance (load sequence number) carried by every record; set by the runtime"},
      {"bw_cfg_lane", 4, "lane; 0xffffffff (default) = standalone: no bw_state fold, no tail call"},
      {"bw_cfg_mode_override", 4, "0 enforce, 1 audit, 0xffffffff (default) = policy mode"},
      {"bw_cfg_scope_kind", 4, "0 host, 1 cgroup, 2 executable; set by bulwarkc"},
      {"bw_cfg_cgroup_count", 4, "cgroup scope: number of (id, level) pairs used, at most 8"},
      {"bw_cfg_cgroup_id", 64, "cgroup scope: u64[8] cgroup ids of the scope's subtrees"},
      {"bw_cfg_cgroup_level", 32, "cgroup scope: u32[8] ancestor levels of those cgroups"},
      {"bw_cfg_rec_rate", 4,
       "records per second per rule per CPU (token bucket, bw_rlimit); default 1000, 0 = no limit"},
      {"bw_cfg_rec_burst", 4, "records a rule may send back to back; default 0 = the rate"},
      {"bw_cfg_exe_cache", 4, "1 (default): process.exe from the per-task cache bw_exe; 0: walk every event"},
      {"bw_cfg_ident_count", 4, "identity groups (manifest `identity`), set by bulwarkc"},
      {"bw_cfg_ident_group", 64, "u32[16] their group ids, set by bulwarkc"},
      {"bw_cfg_ident_kind", 64, "u32[16] 0 exact, 1 prefix, set by bulwarkc"},
      {"bw_cfg_view_groups", 4,
       "bit i: identity group i also reads its path string (a protected path had no object at "
       "load); default all; set by bulwark"},
      {"bw_cfg_view_head", 512,
       "u64[16][4] per identity group: leading bytes (little endian) of its paths without an "
       "object at load; a view string is looked up only if it starts with one; set by bulwark"},
      {"bw_cfg_view_mask", 512, "u64[16][4] the bytes of bw_cfg_view_head compared; default 0 (any string)"},
  };
  return r;
}

Expected<CompileResult> compileBundle(const ir::Policy &policy, const BackendOptions &options) {
  using Clock = std::chrono::steady_clock;
  auto t0 = Clock::now();
  Expected<CompileResult> res;
  CompileResult cr;
  res.errors = lower(policy, options.limits, cr.lowered);
  cr.stats.lowerMs = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  if (!res.errors.empty())
    return res;
  if (cr.lowered.hooks.empty()) {
    res.errors.push_back({BackendError::Kind::Unsupported, policy.loc,
                          "policy " + policy.name + " has no rules on a supported hook"});
    return res;
  }
  CodegenOutput cg;
  CodegenOptions co;
  co.keepIr = options.keepIr;
  co.exeCacheProgram = options.exeCacheProgram;
  co.maxStack = options.limits.maxStack;
  res.errors = generateObject(policy, cr.lowered, co, cg);
  if (!res.errors.empty())
    return res;
  cr.stats.linkMs = cg.linkMs;
  cr.stats.optMs = cg.optMs;
  cr.stats.emitMs = cg.emitMs;
  cr.stats.objectBytes = cg.object.size();
  cr.ir = std::move(cg.ir);
  cr.bounds = cg.bounds;
  cr.frames = cg.frames;

  auto &b = cr.bundle;
  auto &m = b.manifest;
  m.abi = BW_ABI_VERSION;
  m.compiler = options.compilerVersion.empty() ? std::string("bulwarkc ") + BULWARK_VERSION
                                               : options.compilerVersion;
  m.policy.name = policy.name;
  m.policy.description = policy.description;
  m.policy.mode = policy.mode == ir::Mode::Audit ? "audit" : "enforce";
  m.policy.defaultAction = policy.defaultAction == ir::Action::Deny ? "deny" : "allow";
  m.policy.scope = policy.scope.kind == ir::Scope::Kind::Cgroup       ? "cgroup"
                   : policy.scope.kind == ir::Scope::Kind::Executable ? "executable"
                                                                      : "host";
  m.policy.scopePaths = policy.scope.paths;
  m.policy.sourceDigest = policy.sourceDigest;
  for (const auto &p : cg.programs)
    m.programs.push_back({p.name, std::string(Catalogue::get().hook(p.hook).name), p.section});
  for (const auto &h : cg.helpers)
    m.helpers.push_back({h.name, h.section, h.purpose});
  for (const auto &name : cg.maps) {
    auto it = mapShapes().find(name);
    if (it == mapShapes().end())
      continue;  // shared (pinned) maps: bw_state, bw_gen, bw_events, bw_progs_*, bw_next_*;
                 // bw_exe (task storage: max_entries must stay 0, keep the object's)
    bundle::MapEntry e;
    e.name = name;
    e.type = it->second.type;
    e.keySize = it->second.key;
    e.valueSize = it->second.value;
    if (name == "bw_scratch")
      e.maxEntries = 0;
    else if (name == "bw_counters" || name == "bw_rlimit")
      e.maxEntries = static_cast<uint32_t>(policy.rules.size() + 1);
    else
      e.maxEntries = 1;
    auto img = cr.lowered.maps.find(name);
    if (img != cr.lowered.maps.end()) {
      if (img->second.keySize != e.keySize || img->second.valueSize != e.valueSize) {
        res.errors.push_back({BackendError::Kind::Internal, policy.loc,
                              "map " + name + " image layout does not match the template"});
        return res;
      }
      e.entries = static_cast<uint32_t>(img->second.entries.size());
      e.maxEntries = std::max<uint32_t>(1, e.entries);
      e.data = "maps/" + name + ".bin";
      std::vector<uint8_t> bytes;
      for (const auto &[k, v] : img->second.entries) {
        bytes.insert(bytes.end(), k.begin(), k.end());
        bytes.insert(bytes.end(), v.begin(), v.end());
      }
      b.mapData[e.data] = std::move(bytes);
    }
    if (name == "bw_m_ident")  // labelled by the runtime at load, learned by the programs
      if (uint32_t labels = identityLabels(cr.lowered, policy))
        e.maxEntries = e.entries + labels + (cr.lowered.identity.empty() ? 0 : BW_IDENT_LEARN_SLACK);
    if (name == "bw_m_hint" && identityLabels(cr.lowered, policy))  // set by the runtime and the programs
      e.maxEntries = BW_HINT_WORDS;
    m.maps.push_back(e);
  }
  for (const auto &ig : cr.lowered.identity)
    m.identity.push_back({ig.group, ig.kind == GroupKind::Prefix ? "prefix" : "exact", ig.field, ig.paths});
  m.rodata = runtimeRodata();
  for (const auto &r : policy.rules)
    m.rules.push_back({r.id, r.name, std::string(Catalogue::get().hook(r.hook).name),
                       ir::actionName(r.action), r.message, locText(r.loc), r.kprobeFunction});
  b.object = std::move(cg.object);
  cr.stats.totalMs = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  res.value = std::move(cr);
  return res;
}

bool writeBundle(const bundle::Bundle &b, const std::filesystem::path &dir, std::string *error) {
  return bundle::writeBundle(b, dir, error);
}

} // namespace bulwark::backend
