#include "Backend.h"

#include "Codegen.h"
#include "Contract.h"

#include <chrono>
#include <map>
#include <optional>

namespace bulwark::backend {

namespace {

std::string locText(const ir::SourceLoc &l) {
  if (l.file.empty() && l.line == 0)
    return "";
  return l.file + ":" + std::to_string(l.line) + ":" + std::to_string(l.column);
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

// The manifest entry of one per-policy map: its layout from the table, max_entries by its size
// rule (maps.def; `labels`: identityLabels), and its initial entries from the lowered map image.
std::optional<std::string> addMap(const abi::MapSpec &spec, const ir::Policy &policy, const Lowered &low,
                                  uint32_t labels, bundle::Bundle &b) {
  bundle::MapEntry e;
  e.name = std::string(spec.name);
  e.type = std::string(spec.type);
  e.keySize = spec.keySize;
  e.valueSize = spec.valueSize;
  auto img = low.maps.find(e.name);
  if (img != low.maps.end()) {
    if (img->second.keySize != e.keySize || img->second.valueSize != e.valueSize)
      return "map " + e.name + " image layout does not match the template";
    e.entries = static_cast<uint32_t>(img->second.size());
    e.data = "maps/" + e.name + ".bin";
    b.mapData[e.data] = img->second.bytes;
  }
  switch (spec.size) {
  case abi::MapSize::CPUS:
  case abi::MapSize::CPUS_SHARED: e.maxEntries = 0; break;
  case abi::MapSize::RULES: e.maxEntries = static_cast<uint32_t>(policy.rules.size() + 1); break;
  case abi::MapSize::DATA: e.maxEntries = std::max<uint32_t>(1, e.entries); break;
  case abi::MapSize::LABELS:
    e.maxEntries = labels ? e.entries + labels + (low.identity.empty() ? 0 : BW_IDENT_LEARN_SLACK)
                          : std::max<uint32_t>(1, e.entries);
    break;
  case abi::MapSize::HINTS: e.maxEntries = labels ? BW_POLICY_HINT_WORDS : 1; break;
  case abi::MapSize::AGG: e.maxEntries = BW_AGG_ENTRIES; break;
  case abi::MapSize::ONE:
  case abi::MapSize::OBJECT: e.maxEntries = 1; break;
  }
  b.manifest.maps.push_back(std::move(e));
  return std::nullopt;
}

bundle::Action manifestAction(ir::Action a) {
  switch (a) {
  case ir::Action::Allow: return bundle::Action::Allow;
  case ir::Action::Deny: return bundle::Action::Deny;
  case ir::Action::Audit: return bundle::Action::Audit;
  case ir::Action::Kill: return bundle::Action::Kill;
  }
  return bundle::Action::Deny;
}

bundle::PolicyInfo manifestPolicy(const ir::Policy &policy) {
  bundle::PolicyInfo p;
  p.name = policy.name;
  p.description = policy.description;
  p.mode = policy.mode == ir::Mode::Audit ? bundle::Mode::Audit : bundle::Mode::Enforce;
  p.defaultAction = manifestAction(policy.defaultAction);
  p.scope = policy.scope.kind == ir::Scope::Kind::Cgroup       ? bundle::Scope::Cgroup
            : policy.scope.kind == ir::Scope::Kind::Executable ? bundle::Scope::Executable
                                                               : bundle::Scope::Host;
  p.scopePaths = policy.scope.paths;
  p.sourceDigest = policy.sourceDigest;
  return p;
}

// The manifest of a generated object: the policy, its programs, maps with their sizes and data,
// identity groups, rodata and rules. An error names a map whose image does not fit the template.
std::optional<std::string> describeBundle(CompileResult &cr, const CodegenOutput &cg, const ir::Policy &policy,
                                         const BackendOptions &options) {
  auto &m = cr.bundle.manifest;
  m.abi = BW_ABI_VERSION;
  m.compiler = options.compilerVersion.empty() ? std::string("bulwarkc ") + BULWARK_VERSION
                                               : options.compilerVersion;
  m.policy = manifestPolicy(policy);
  for (const auto &p : cg.programs)
    m.programs.push_back({p.name, std::string(Catalogue::get().hook(p.hook).name), p.section, p.decides, p.quiet,
                              p.quiet ? p.quietView : false, p.quiet ? p.quietAncestors : false});
  for (const auto &h : cg.helpers)
    m.helpers.push_back({h.name, h.section, h.purpose});
  uint32_t labels = identityLabels(cr.lowered, policy);
  for (const auto &name : cg.maps) {
    const abi::MapSpec *spec = abi::findMap(name);
    if (!spec || spec->size == abi::MapSize::OBJECT)
      continue;  // shared (pinned) maps: bw_shared_maps.bpf.h; task storage keeps the object's size
    if (auto err = addMap(*spec, policy, cr.lowered, labels, cr.bundle))
      return err;
  }
  for (const auto &ig : cr.lowered.identity)
    m.identity.push_back({ig.group, ig.kind == GroupKind::Prefix ? bundle::IdentityKind::Prefix : bundle::IdentityKind::Exact,
                          ig.field, ig.paths, 0, ig.view});
  m.rodata = runtimeRodata();
  for (const auto &r : policy.rules) {
    m.rules.push_back({r.id, r.name, std::string(Catalogue::get().hook(r.hook).name), manifestAction(r.action),
                       r.message, locText(r.loc), r.kprobeFunction, {}});
    for (const auto &mk : r.marks)
      m.rules.back().marks.push_back({mk.name, markId(policy.name, mk.name)});
  }
  return std::nullopt;
}

} // namespace

const std::vector<bundle::RodataEntry> &runtimeRodata() {
  static const std::vector<bundle::RodataEntry> r = [] {
    std::vector<bundle::RodataEntry> out;
    for (const auto &spec : abi::rodata())
      out.push_back({std::string(spec.name), spec.size,
                     std::string(spec.meaning) + "; default " + std::string(spec.init) + "; set by " +
                         (spec.setBy == abi::SetBy::COMPILER ? "bulwarkc" : "bulwark")});
    return out;
  }();
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
  co.leaveToExit = options.lastInProcess;
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

  if (auto err = describeBundle(cr, cg, policy, options)) {
    res.errors.push_back({BackendError::Kind::Internal, policy.loc, *err});
    return res;
  }
  auto &b = cr.bundle;
  b.object = std::move(cg.object);
  cr.stats.totalMs = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  res.value = std::move(cr);
  return res;
}

bool writeBundle(const bundle::Bundle &b, const std::filesystem::path &dir, std::string *error) {
  return bundle::writeBundle(b, dir, error);
}

} // namespace bulwark::backend
