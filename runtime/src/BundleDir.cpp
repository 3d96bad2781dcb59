#include "BundleDir.h"

#include "Abi.h"
#include "Error.h"
#include "Hooks.h"

#include "Bundle.h"  // abi/bundle: bulwark::bundle::readManifest
#include "Tables.h"  // abi/bundle: bulwark::bundle::readTables
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace bulwark::rt {
namespace fs = std::filesystem;

bool isSharedMapName(std::string_view name) {
  for (const auto &s : abi::sharedMaps()) {
    if (!s.perHook && name == s.name)
      return true;
    if (s.perHook)
      for (const auto &h : hooks())
        if (h.lsm && name == std::string(s.name) + "_" + std::string(h.id))
          return true;
  }
  return false;
}

bool validPolicyName(const std::string &name, std::string *why) {
  auto fail = [&](const std::string &w) {
    if (why)
      *why = w;
    return false;
  };
  if (name.empty())
    return fail("the name is empty");
  if (name.size() > 63)
    return fail("the name is longer than 63 characters");
  auto lower = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!lower(name[0]))
    return fail("the name must start with a lowercase letter or digit");
  for (char c : name)
    if (!lower(c) && c != '-' && c != '_')
      return fail(std::string("the name has the character '") + c +
                  "' (allowed: a-z 0-9 - _; bpffs refuses '.' in pin names)");
  if (name == BW_SHARED_PIN_DIR || name == "dispatch" || name == "guard")
    return fail("'" + name + "' is reserved for the runtime's own pins");
  return true;
}

namespace {

// Version "X.Y.Z" (optionally after "bulwarkc "), compared with the runtime's own.
bool parseVersion(const std::string &s, int v[3]) {
  std::string t = s;
  if (auto sp = t.rfind(' '); sp != std::string::npos)
    t = t.substr(sp + 1);
  if (!t.empty() && t[0] == 'v')
    t = t.substr(1);
  return std::sscanf(t.c_str(), "%d.%d.%d", &v[0], &v[1], &v[2]) == 3;
}

} // namespace

bool compilerCompatible(const std::string &compiler, std::string *why) {
  int theirs[3], ours[3];
  if (!parseVersion(compiler, theirs)) {
    if (why)
      *why = "compiler version '" + compiler + "' is not of the form X.Y.Z";
    return false;
  }
  parseVersion(BULWARK_VERSION, ours);
  // Same major; while major is 0, same minor too (no compatibility promise before 1.0).
  bool ok = theirs[0] == ours[0] && (ours[0] != 0 || theirs[1] == ours[1]);
  if (!ok && why)
    *why = "bundle built by compiler " + compiler + ", this runtime is " BULWARK_VERSION
           " (needs the same " + (ours[0] == 0 ? std::string("major.minor") : "major") + ")";
  return ok;
}

namespace {

[[noreturn]] void bad(const fs::path &dir, const std::string &what) {
  throw Error(Exit::BadBundle, "corrupt bundle " + dir.string() + ": " + what);
}

std::vector<uint8_t> readBytes(const fs::path &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return {};
  in.seekg(0, std::ios::end);
  std::vector<uint8_t> out(size_t(std::max<std::streamoff>(in.tellg(), 0)));
  in.seekg(0);
  in.read(reinterpret_cast<char *>(out.data()), std::streamsize(out.size()));
  if (!in)
    out.clear();
  return out;
}

// A bundle of another format is refused as such, not as corrupt: it was made by another bulwarkc.
[[noreturn]] void otherFormat(const fs::path &dir, uint32_t version) {
  throw Error(Exit::BadBundle, "bundle " + dir.string() + " has format version " + std::to_string(version) +
                                   ", this runtime reads format " + std::to_string(kBundleFormat),
              "rebuild the bundle with a bulwarkc that matches this runtime");
}

// ---- manifest.yaml and tables.bin: read by the bundle library (abi/bundle) -----------------
void readManifest(Bundle &b) {
  fs::path path = b.dir / bundle::kManifestFile;
  if (!fs::is_regular_file(path))
    bad(b.dir, "no manifest.yaml (is this a bundle directory written by bulwarkc?)");
  std::vector<uint8_t> text = readBytes(path);
  bundle::Manifest m;
  std::string err;
  bool ok = false;
  try {
    ok = bundle::readManifest(std::string(text.begin(), text.end()), m, &err);
  } catch (const std::exception &e) {  // the library reports YAML errors, but be safe
    err = e.what();
  }
  if (!ok && m.formatVersion != kBundleFormat)
    otherFormat(b.dir, m.formatVersion);
  if (!ok)
    bad(b.dir, "manifest.yaml: " + err);
  fs::path tables = b.dir / bundle::kTablesFile;
  if (!fs::is_regular_file(tables))
    bad(b.dir, "no tables.bin (the rule table)");
  if (!bundle::readTables(readBytes(tables), m, &err))
    bad(b.dir, err);
  static_cast<bundle::Manifest &>(b) = std::move(m);
}

// ---- the ELF object ------------------------------------------------------------------
struct ObjCloser {
  void operator()(bpf_object *o) const { bpf_object__close(o); }
};

std::string sectionAttach(const char *sec) { return sec ? sec : ""; }

// Names of the variables in the object's .rodata section (BTF DATASEC).
std::set<std::string> rodataVariables(bpf_object *obj) {
  std::set<std::string> out;
  const btf *bt = bpf_object__btf(obj);
  int id = bt ? btf__find_by_name_kind(bt, ".rodata", BTF_KIND_DATASEC) : -1;
  if (id <= 0)
    return out;
  const btf_type *ds = btf__type_by_id(bt, id);
  const btf_var_secinfo *vs = btf_var_secinfos(ds);
  for (int i = 0; i < btf_vlen(ds); i++, vs++)
    out.insert(btf__name_by_offset(bt, btf__type_by_id(bt, vs->type)->name_off));
  return out;
}

// Shared maps and the per-policy maps every policy reuses (CPUS_SHARED) are pinned by name;
// no other map is. True for a shared map (the ABI fixes its layout).
bool checkPinning(const Bundle &b, bpf_map *map, const std::string &name) {
  const char *pin = bpf_map__pin_path(map);
  if (isSharedMapName(name)) {
    if (!pin)
      bad(b.dir, "shared map '" + name + "' is not declared with LIBBPF_PIN_BY_NAME");
    return true;
  }
  bool sharedByPolicies = abi::sharedByPolicies(name);
  if (pin && !sharedByPolicies)
    bad(b.dir, "map '" + name + "' is pinned by name but is not one of the shared maps; per-policy maps must not be");
  if (!pin && sharedByPolicies)
    bad(b.dir, "map '" + name + "' is shared by every policy but is not declared with LIBBPF_PIN_BY_NAME");
  return false;
}

void checkObject(const Bundle &b) {
  fs::path obj = b.objectPath();
  if (!fs::is_regular_file(obj))
    bad(b.dir, "no policy.bpf.o");
  {
    std::ifstream in(obj, std::ios::binary);
    char magic[4] = {};
    in.read(magic, 4);
    if (!in || magic[0] != 0x7f || magic[1] != 'E' || magic[2] != 'L' || magic[3] != 'F')
      bad(b.dir, "policy.bpf.o is not an ELF file");
  }
  bpf_object_open_opts opts{};
  opts.sz = sizeof(opts);
  std::string objName = "bw_check";
  opts.object_name = objName.c_str();
  std::unique_ptr<bpf_object, ObjCloser> o(bpf_object__open_file(obj.c_str(), &opts));
  if (!o)
    bad(b.dir, "policy.bpf.o is not a valid BPF object (" + errnoText(errno) + ")");

  std::map<std::string, std::string> manifestProgs;  // name → section
  for (const auto &p : b.programs)
    manifestProgs[p.name] = p.attach;
  for (const auto &h : b.helpers)
    manifestProgs[h.name] = h.attach;
  bpf_program *prog;
  std::set<std::string> seen;
  bpf_object__for_each_program(prog, o.get()) {
    std::string name = bpf_program__name(prog);
    std::string sec = sectionAttach(bpf_program__section_name(prog));
    auto it = manifestProgs.find(name);
    if (it == manifestProgs.end())
      bad(b.dir, "policy.bpf.o has program '" + name + "' (" + sec + ") that the manifest does not list");
    if (it->second != sec)
      bad(b.dir, "program '" + name + "' is in section '" + sec + "' but the manifest says '" + it->second + "'");
    seen.insert(name);
  }
  for (const auto &[name, sec] : manifestProgs)
    if (!seen.count(name))
      bad(b.dir, "the manifest lists program '" + name + "' but policy.bpf.o has no such program");

  std::map<std::string, const BundleMap *> manifestMaps;
  for (const auto &m : b.maps)
    manifestMaps[m.name] = &m;
  std::set<std::string> rodataVars = rodataVariables(o.get());
  for (auto var : {kRodataSlot, kRodataLane})
    if (!rodataVars.count(std::string(var)))
      bad(b.dir, "policy.bpf.o has no '" + std::string(var) + "' in .rodata: not built for Bulwark kernel ABI " +
                     std::to_string(BW_ABI_VERSION));
  for (const auto &r : b.rodata)
    if (!rodataVars.count(r.name))
      bad(b.dir, "the manifest lists rodata '" + r.name + "' but policy.bpf.o has no such variable");
  bpf_map *map;
  bpf_object__for_each_map(map, o.get()) {
    std::string name = bpf_map__name(map);
    if (bpf_map__is_internal(map))
      continue;
    auto it = manifestMaps.find(name);
    const BundleMap *m = it == manifestMaps.end() ? nullptr : it->second;
    if (m)
      manifestMaps.erase(it);
    if (checkPinning(b, map, name))
      continue;
    if (name == kCountersMap && (bpf_map__type(map) != BPF_MAP_TYPE_PERCPU_ARRAY ||
                                 bpf_map__value_size(map) != sizeof(struct bw_counter)))
      bad(b.dir, "bw_counters must be a PERCPU_ARRAY of struct bw_counter");
    // Maps the manifest does not list (scratch buffers) keep the object's definition.
    if (m && (bpf_map__key_size(map) != m->keySize || bpf_map__value_size(map) != m->valueSize))
      bad(b.dir, "map '" + name + "': the object has key/value size " + std::to_string(bpf_map__key_size(map)) +
                     "/" + std::to_string(bpf_map__value_size(map)) + ", the manifest " +
                     std::to_string(m->keySize) + "/" + std::to_string(m->valueSize));
  }
  if (!manifestMaps.empty())
    bad(b.dir, "the manifest lists map '" + manifestMaps.begin()->first + "' but policy.bpf.o does not declare it");
}

void checkMapFiles(const Bundle &b) {
  for (const auto &m : b.maps) {
    if (m.data.empty()) {
      if (m.entries != 0)
        bad(b.dir, "map '" + m.name + "' has " + std::to_string(m.entries) + " entries but no data file");
      continue;
    }
    fs::path f = b.dir / m.data;
    std::error_code ec;
    auto size = fs::file_size(f, ec);
    if (ec)
      bad(b.dir, "map data " + m.data + " is missing");
    uint64_t want = m.entries * (uint64_t(m.keySize) + m.valueSize);
    if (size != want)
      bad(b.dir, "map data " + m.data + " has " + std::to_string(size) + " bytes, expected " +
                     std::to_string(m.entries) + " entries of " + std::to_string(m.keySize) +
                     "+" + std::to_string(m.valueSize) + " = " + std::to_string(want));
  }
}

} // namespace

namespace {

// Format, ABI and compiler version: a bundle another runtime or compiler made is refused whole.
void validateVersions(const Bundle &b) {
  if (b.formatVersion != kBundleFormat)
    otherFormat(b.dir, b.formatVersion);
  if (b.abi != BW_ABI_VERSION)
    throw Error(Exit::BadBundle, "bundle " + b.dir.string() + " targets kernel ABI " + std::to_string(b.abi) +
                                     ", this runtime implements ABI " + std::to_string(BW_ABI_VERSION),
                "rebuild the bundle with a bulwarkc that matches this runtime");
  std::string why;
  if (!compilerCompatible(b.compiler, &why))
    throw Error(Exit::BadBundle, "bundle " + b.dir.string() + ": " + why,
                "rebuild the bundle with a bulwarkc that matches this runtime");
}

// The policy: a name usable as a pin directory, a default that is a decision, a scope it can hold.
void validatePolicy(const Bundle &b) {
  std::string why;
  if (!validPolicyName(b.policy.name, &why))
    bad(b.dir, "policy name '" + b.policy.name + "': " + why);
  if (b.policy.defaultAction != bundle::Action::Allow && b.policy.defaultAction != bundle::Action::Deny)
    bad(b.dir, "policy default '" + std::string(word(b.policy.defaultAction)) + "' (expected allow or deny)");
  if (b.policy.scope == bundle::Scope::Cgroup &&
      (b.policy.scopePaths.empty() || b.policy.scopePaths.size() > kScopeCgroups))
    bad(b.dir, "a cgroup scope needs 1 to " + std::to_string(kScopeCgroups) + " cgroup paths");
}

// One program per attach point, each in a section of its hook; helpers are LSM programs.
void validatePrograms(const Bundle &b) {
  if (b.programs.empty())
    bad(b.dir, "the manifest lists no programs");
  std::set<std::string> hooksSeen, progNames;
  auto once = [&](const std::string &attach, const std::string &name) {
    if (!hooksSeen.insert(attach).second)
      bad(b.dir, "two programs for " + attach);
    if (!progNames.insert(name).second)
      bad(b.dir, "two programs named " + name);
  };
  for (const auto &p : b.programs) {
    const Hook *named = hookByName(p.hook);
    if (!named)
      bad(b.dir, "program '" + p.name + "' is for unknown hook '" + p.hook + "'");
    if (!named->lsm) {
      // kprobe hooks: one program per kernel function, attached directly (section kprobe/<fn>).
      std::string_view fn = kprobeFunction(p.attach);
      if (fn.empty() || fn.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.") !=
                            std::string_view::npos)
        bad(b.dir, "program '" + p.name + "' for hook " + p.hook + " must be in section kprobe/<kernel function>, not '" +
                       p.attach + "'");
      once(p.attach, p.name);
      continue;
    }
    // The section must be one of the hook's attach points (kernel.module_load has two).
    const Hook *h = programHook(p);
    if (!h || h->name != named->name || p.attach != "lsm/" + std::string(h->attach))
      bad(b.dir, "program '" + p.name + "' for hook " + p.hook + " must be in section lsm/" +
                     std::string(named->attach) + ", not '" + p.attach + "'");
    once(p.attach, p.name);
  }
  for (const auto &h : b.helpers) {
    if (h.attach.rfind("lsm/", 0) != 0 || h.attach.size() <= 4)
      bad(b.dir, "helper '" + h.name + "' must be an LSM program (section lsm/<hook>), not '" + h.attach + "'");
    if (!progNames.insert(h.name).second)
      bad(b.dir, "two programs named " + h.name);
  }
}

// Maps: unique, data only where the bundle may carry it, and inside the bundle.
void validateMaps(const Bundle &b) {
  std::set<std::string> mapNames;
  for (const auto &m : b.maps) {
    if (!mapNames.insert(m.name).second)
      bad(b.dir, "two maps named " + m.name);
    if ((isSharedMapName(m.name) || m.name == kCountersMap) && m.entries != 0)
      bad(b.dir, "map '" + m.name + "' is managed by the runtime and cannot carry bundle data");
    if (m.valueSize == 0 && m.type != "ringbuf")
      bad(b.dir, "map '" + m.name + "' has a zero value size");
    if (m.maxEntries != 0 && m.entries > m.maxEntries)
      bad(b.dir, "map '" + m.name + "' has " + std::to_string(m.entries) + " entries but max_entries " +
                     std::to_string(m.maxEntries));
    if (m.data.find("..") != std::string::npos || (!m.data.empty() && m.data[0] == '/'))
      bad(b.dir, "map data path '" + m.data + "' leaves the bundle");
  }
}

// The rule table: dense ids in order, known hooks (actions are typed by the manifest reader).
void validateRules(const Bundle &b) {
  for (size_t i = 0; i < b.rules.size(); i++) {
    const auto &r = b.rules[i];
    if (r.id != i)
      bad(b.dir, "rule table: rule '" + r.name + "' has id " + std::to_string(r.id) + ", expected " +
                     std::to_string(i) + " (ids are dense, in order)");
    if (!hookByName(r.hook))
      bad(b.dir, "rule '" + r.name + "' is for unknown hook '" + r.hook + "'");
  }
}

} // namespace

void validateManifest(const Bundle &b) {
  validateVersions(b);
  validatePolicy(b);
  validatePrograms(b);
  validateMaps(b);
  validateRules(b);
}

Bundle readBundle(const fs::path &dirIn) {
  Bundle b;
  std::error_code ec;
  b.dir = fs::absolute(dirIn, ec);
  if (ec || !fs::is_directory(b.dir))
    throw Error(Exit::BadBundle, "bundle " + dirIn.string() + " is not a directory");
  readManifest(b);
  validateManifest(b);
  checkMapFiles(b);
  checkObject(b);
  b.contentHash = bundleContentHash(b);
  return b;
}

uint64_t bundleContentHash(const Bundle &b) {
  uint64_t h = 1469598103934665603ull;
  auto feed = [&](const fs::path &p) {
    std::ifstream in(p, std::ios::binary);
    if (!in)
      bad(b.dir, "cannot read " + p.string());
    std::string name = p.lexically_relative(b.dir).string();
    for (char c : name + '\0')
      h = (h ^ uint8_t(c)) * 1099511628211ull;
    char buf[65536];
    while (in.read(buf, sizeof buf) || in.gcount() > 0) {
      for (std::streamsize i = 0; i < in.gcount(); i++)
        h = (h ^ uint8_t(buf[i])) * 1099511628211ull;
      if (!in)
        break;
    }
  };
  feed(b.dir / bundle::kManifestFile);
  feed(b.dir / bundle::kTablesFile);
  feed(b.objectPath());
  std::vector<std::string> data;
  for (const auto &m : b.maps)
    if (!m.data.empty())
      data.push_back(m.data);
  std::sort(data.begin(), data.end());
  for (const auto &d : data)
    feed(b.dir / d);
  return h;
}

} // namespace bulwark::rt
