#include "Bundle.h"

#include "Json.h"
#include "Tables.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <iomanip>
#include <sstream>

namespace bulwark::bundle {

namespace fs = std::filesystem;

namespace {

// A typed value spelled as a word (Words.h); `fallback` when the key is absent, if given.
template <class E> E wordAt(const YAML::Node &n, const std::string &what, const char *fallback = nullptr) {
  if (!n && !fallback)
    throw YAML::Exception(YAML::Mark::null_mark(), what + " is missing");
  std::string text = n ? n.as<std::string>() : fallback;
  if (auto v = parseWord<E>(text))
    return *v;
  throw YAML::Exception(n.Mark(), what + " '" + text + "' (expected " + expectedWords<E>() + ")");
}

// A `programs` entry; its quiet_key lists view and ancestors, nothing else.
ProgramEntry programAt(const YAML::Node &x) {
  ProgramEntry p{x["name"].as<std::string>(), x["hook"].as<std::string>(), x["attach"].as<std::string>(),
                 x["decides"].as<bool>(true), x["quiet"].as<bool>(false)};
  if (x["quiet_key"])
    for (const auto &part : x["quiet_key"]) {
      std::string word = part.as<std::string>();
      if (word != "view" && word != "ancestors")
        throw YAML::Exception(part.Mark(), "quiet_key part '" + word + "' (expected view or ancestors)");
      (word == "view" ? p.quietView : p.quietAncestors) = true;
    }
  return p;
}

} // namespace

namespace {

void emitPolicy(YAML::Emitter &e, const PolicyInfo &p) {
  e << YAML::Key << "policy" << YAML::Value << YAML::BeginMap;
  e << YAML::Key << "name" << YAML::Value << YAML::DoubleQuoted << p.name;
  e << YAML::Key << "description" << YAML::Value << YAML::DoubleQuoted << p.description;
  e << YAML::Key << "mode" << YAML::Value << std::string(word(p.mode));
  e << YAML::Key << "default" << YAML::Value << std::string(word(p.defaultAction));
  e << YAML::Key << "scope" << YAML::Value << YAML::BeginMap;
  e << YAML::Key << "kind" << YAML::Value << std::string(word(p.scope));
  e << YAML::Key << "paths" << YAML::Value << YAML::Flow << YAML::BeginSeq;
  for (const auto &path : p.scopePaths)
    e << YAML::DoubleQuoted << path;
  e << YAML::EndSeq << YAML::EndMap;
  e << YAML::Key << "source_digest" << YAML::Value << YAML::DoubleQuoted << p.sourceDigest;
  e << YAML::EndMap;
}

// programs, and helpers and identity groups when there are any (older readers never see them).
void emitPrograms(YAML::Emitter &e, const Manifest &m) {
  e << YAML::Key << "programs" << YAML::Value << YAML::BeginSeq;
  for (const auto &p : m.programs) {
    e << YAML::BeginMap;
    e << YAML::Key << "name" << YAML::Value << p.name;
    e << YAML::Key << "hook" << YAML::Value << p.hook;
    e << YAML::Key << "attach" << YAML::Value << p.attach;
    if (!p.decides)
      e << YAML::Key << "decides" << YAML::Value << false;
    if (p.quiet)
      e << YAML::Key << "quiet" << YAML::Value << true;
    if (p.quietView || p.quietAncestors) {
      e << YAML::Key << "quiet_key" << YAML::Value << YAML::Flow << YAML::BeginSeq;
      if (p.quietView)
        e << "view";
      if (p.quietAncestors)
        e << "ancestors";
      e << YAML::EndSeq;
    }
    e << YAML::EndMap;
  }
  e << YAML::EndSeq;
  if (!m.helpers.empty()) {
    e << YAML::Key << "helpers" << YAML::Value << YAML::BeginSeq;
    for (const auto &h : m.helpers) {
      e << YAML::BeginMap;
      e << YAML::Key << "name" << YAML::Value << h.name;
      e << YAML::Key << "attach" << YAML::Value << h.attach;
      e << YAML::Key << "purpose" << YAML::Value << YAML::DoubleQuoted << h.purpose;
      e << YAML::EndMap;
    }
    e << YAML::EndSeq;
  }
  if (!m.identity.empty()) {
    e << YAML::Key << "identity" << YAML::Value << YAML::BeginSeq;
    for (const auto &g : m.identity) {
      e << YAML::BeginMap;
      e << YAML::Key << "group" << YAML::Value << g.group;
      e << YAML::Key << "kind" << YAML::Value << std::string(word(g.kind));
      e << YAML::Key << "field" << YAML::Value << g.field;
      e << YAML::Key << "path_count" << YAML::Value << g.paths.size();
      if (!g.view)
        e << YAML::Key << "view" << YAML::Value << false;
      e << YAML::EndMap;
    }
    e << YAML::EndSeq;
  }
}

void emitTables(YAML::Emitter &e, const Manifest &m) {
  e << YAML::Key << "maps" << YAML::Value << YAML::BeginSeq;
  for (const auto &x : m.maps) {
    e << YAML::BeginMap;
    e << YAML::Key << "name" << YAML::Value << x.name;
    e << YAML::Key << "type" << YAML::Value << x.type;
    e << YAML::Key << "key_size" << YAML::Value << x.keySize;
    e << YAML::Key << "value_size" << YAML::Value << x.valueSize;
    e << YAML::Key << "max_entries" << YAML::Value << x.maxEntries;
    e << YAML::Key << "entries" << YAML::Value << x.entries;
    e << YAML::Key << "data" << YAML::Value << YAML::DoubleQuoted << x.data;
    e << YAML::EndMap;
  }
  e << YAML::EndSeq;
  e << YAML::Key << "rodata" << YAML::Value << YAML::BeginSeq;
  for (const auto &r : m.rodata) {
    e << YAML::BeginMap;
    e << YAML::Key << "name" << YAML::Value << r.name;
    e << YAML::Key << "size" << YAML::Value << r.size;
    e << YAML::Key << "meaning" << YAML::Value << YAML::DoubleQuoted << r.meaning;
    e << YAML::EndMap;
  }
  e << YAML::EndSeq;
  e << YAML::Key << "rule_count" << YAML::Value << m.rules.size();
}

} // namespace

std::string writeManifest(const Manifest &m) {
  YAML::Emitter e;
  e << YAML::BeginMap;
  e << YAML::Key << "format" << YAML::Value << "bulwark-bundle";
  e << YAML::Key << "format_version" << YAML::Value << m.formatVersion;
  e << YAML::Key << "abi" << YAML::Value << m.abi;
  e << YAML::Key << "compiler" << YAML::Value << YAML::DoubleQuoted << m.compiler;
  emitPolicy(e, m.policy);
  emitPrograms(e, m);
  emitTables(e, m);
  e << YAML::EndMap;
  return std::string(e.c_str()) + "\n";
}

bool readManifest(const std::string &yaml, Manifest &m, std::string *error) {
  try {
    YAML::Node n = YAML::Load(yaml);
    if (n["format"].as<std::string>("") != "bulwark-bundle") {
      if (error)
        *error = "not a bulwark bundle manifest";
      return false;
    }
    m = Manifest{};
    m.formatVersion = n["format_version"].as<uint32_t>();
    if (m.formatVersion != kFormatVersion) {
      if (error)
        *error = "bundle format version " + std::to_string(m.formatVersion) + ", this build reads format " +
                 std::to_string(kFormatVersion) + " (rebuild the bundle with a bulwarkc of this version)";
      return false;
    }
    m.abi = n["abi"].as<uint32_t>();
    m.compiler = n["compiler"].as<std::string>("");
    auto p = n["policy"];
    m.policy.name = p["name"].as<std::string>();
    m.policy.description = p["description"].as<std::string>("");
    m.policy.mode = wordAt<Mode>(p["mode"], "policy mode", "enforce");
    m.policy.defaultAction = wordAt<Action>(p["default"], "policy default", "allow");
    m.policy.scope = wordAt<Scope>(p["scope"]["kind"], "policy scope", "host");
    if (p["scope"]["paths"])
      for (const auto &x : p["scope"]["paths"])
        m.policy.scopePaths.push_back(x.as<std::string>());
    m.policy.sourceDigest = p["source_digest"].as<std::string>("");
    for (const auto &x : n["programs"])
      m.programs.push_back(programAt(x));
    if (n["helpers"])
      for (const auto &x : n["helpers"])
        m.helpers.push_back({x["name"].as<std::string>(), x["attach"].as<std::string>(),
                             x["purpose"].as<std::string>("")});
    if (n["identity"])
      for (const auto &x : n["identity"]) {
        IdentityEntry g;
        g.group = x["group"].as<uint32_t>();
        g.kind = wordAt<IdentityKind>(x["kind"], "identity kind");
        g.field = x["field"].as<std::string>("");
        g.pathCount = x["path_count"].as<uint32_t>();
        g.view = x["view"].as<bool>(true);
        m.identity.push_back(std::move(g));
      }
    for (const auto &x : n["maps"]) {
      MapEntry e;
      e.name = x["name"].as<std::string>();
      e.type = x["type"].as<std::string>();
      e.keySize = x["key_size"].as<uint32_t>();
      e.valueSize = x["value_size"].as<uint32_t>();
      e.maxEntries = x["max_entries"].as<uint32_t>();
      e.entries = x["entries"].as<uint32_t>();
      e.data = x["data"].as<std::string>("");
      m.maps.push_back(e);
    }
    if (n["rodata"])
      for (const auto &x : n["rodata"])
        m.rodata.push_back({x["name"].as<std::string>(), x["size"].as<uint32_t>(),
                            x["meaning"].as<std::string>("")});
    m.ruleCount = n["rule_count"].as<uint32_t>();
  } catch (const YAML::Exception &ex) {
    if (error)
      *error = std::string("manifest: ") + ex.what();
    return false;
  }
  return true;
}

namespace {
bool writeFile(const fs::path &p, const void *data, size_t size, std::string *error) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f.write(static_cast<const char *>(data), static_cast<std::streamsize>(size));
  if (!f) {
    if (error)
      *error = "cannot write " + p.string();
    return false;
  }
  return true;
}
bool readFile(const fs::path &p, std::vector<uint8_t> &out, std::string *error) {
  std::ifstream f(p, std::ios::binary);
  if (!f) {
    if (error)
      *error = "cannot read " + p.string();
    return false;
  }
  out.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  return true;
}
} // namespace

bool writeBundle(const Bundle &b, const fs::path &dir, std::string *error) {
  std::error_code ec;
  fs::create_directories(dir / "maps", ec);
  if (ec) {
    if (error)
      *error = "cannot create " + (dir / "maps").string() + ": " + ec.message();
    return false;
  }
  for (const auto &ent : fs::directory_iterator(dir / "maps", ec))
    if (ent.path().extension() == ".bin" && !b.mapData.count("maps/" + ent.path().filename().string()))
      fs::remove(ent.path(), ec);
  std::string yaml = writeManifest(b.manifest);
  std::vector<uint8_t> tables = writeTables(b.manifest);
  if (!writeFile(dir / kManifestFile, yaml.data(), yaml.size(), error) ||
      !writeFile(dir / kTablesFile, tables.data(), tables.size(), error) ||
      !writeFile(dir / kObjectFile, b.object.data(), b.object.size(), error))
    return false;
  for (const auto &[rel, bytes] : b.mapData)
    if (!writeFile(dir / rel, bytes.data(), bytes.size(), error))
      return false;
  return true;
}

bool readBundle(const fs::path &dir, Bundle &out, std::string *error) {
  std::vector<uint8_t> yaml;
  if (!readFile(dir / kManifestFile, yaml, error))
    return false;
  out = Bundle{};
  if (!readManifest(std::string(yaml.begin(), yaml.end()), out.manifest, error))
    return false;
  std::vector<uint8_t> tables;
  if (!readFile(dir / kTablesFile, tables, error) || !readTables(tables, out.manifest, error))
    return false;
  if (!readFile(dir / kObjectFile, out.object, error))
    return false;
  for (const auto &m : out.manifest.maps) {
    if (m.data.empty())
      continue;
    auto &bytes = out.mapData[m.data];
    if (!readFile(dir / m.data, bytes, error))
      return false;
    if (bytes.size() != static_cast<size_t>(m.entries) * (m.keySize + m.valueSize)) {
      if (error)
        *error = m.data + ": size does not match entries * (key_size + value_size)";
      return false;
    }
  }
  return true;
}

std::string inspectText(const Bundle &b) {
  const auto &m = b.manifest;
  std::ostringstream o;
  o << "bundle format " << m.formatVersion << ", ABI " << m.abi << ", compiled by " << m.compiler
    << "\n";
  o << "policy " << m.policy.name;
  if (!m.policy.description.empty())
    o << " — " << m.policy.description;
  o << "\n  mode " << word(m.policy.mode) << ", default " << word(m.policy.defaultAction) << ", scope "
    << word(m.policy.scope);
  for (const auto &p : m.policy.scopePaths)
    o << " " << p;
  o << "\n  source sha256 " << m.policy.sourceDigest << "\n";
  o << "object policy.bpf.o: " << b.object.size() << " bytes\n";
  o << "programs (" << m.programs.size() << "):\n";
  for (const auto &p : m.programs)
    o << "  " << p.name << "  " << p.attach << "  (" << p.hook << (p.decides ? "" : ", keeps labels only")
      << (p.quiet ? ", keeps quiet events" : "") << (p.quietView ? ", its key holds the view" : "")
      << (p.quietAncestors ? ", its key holds the ancestors" : "") << ")\n";
  if (!m.helpers.empty()) {
    o << "helpers (" << m.helpers.size() << "):\n";
    for (const auto &h : m.helpers)
      o << "  " << h.name << "  " << h.attach << "  (" << h.purpose << ")\n";
  }
  if (!m.identity.empty()) {
    o << "identity groups (" << m.identity.size() << "): also matched by (device, inode)\n";
    for (const auto &g : m.identity)
      o << "  group " << g.group << "  " << word(g.kind) << "  " << g.field << "  " << g.paths.size() << " paths"
        << (g.view ? "" : ", objects only") << "\n";
  }
  o << "maps (" << m.maps.size() << "):\n";
  for (const auto &x : m.maps) {
    o << "  " << std::left << std::setw(14) << x.name << std::setw(13) << x.type
      << " key " << x.keySize << " value " << x.valueSize << " max "
      << (x.maxEntries ? std::to_string(x.maxEntries) : std::string("ncpus")) << " entries "
      << x.entries;
    if (!x.data.empty())
      o << "  " << x.data;
    o << "\n";
  }
  o << "rules (" << m.rules.size() << "):\n";
  for (const auto &r : m.rules) {
    o << "  #" << r.id << " " << r.name << "  " << r.hook << " -> " << word(r.action);
    if (!r.loc.empty())
      o << "  at " << r.loc;
    o << "\n";
    if (!r.message.empty())
      o << "      \"" << r.message << "\"\n";
  }
  return o.str();
}

namespace {

void jsonPolicy(JsonWriter &w, const PolicyInfo &p) {
  w.key("policy").beginObject();
  w.key("name").value(p.name).key("description").value(p.description);
  w.key("mode").value(word(p.mode)).key("default").value(word(p.defaultAction));
  w.key("scope").beginObject().key("kind").value(word(p.scope)).key("paths").strings(p.scopePaths);
  w.endObject().key("source_digest").value(p.sourceDigest).endObject();
}

void jsonLists(JsonWriter &w, const Manifest &m) {
  w.key("programs").beginArray();
  for (const auto &p : m.programs)
    w.beginObject().key("name").value(p.name).key("hook").value(p.hook).key("attach").value(p.attach).key("decides").value(p.decides).key("quiet").value(p.quiet).key("quiet_view").value(p.quietView).key("quiet_ancestors").value(p.quietAncestors).endObject();
  w.endArray().key("helpers").beginArray();
  for (const auto &h : m.helpers)
    w.beginObject().key("name").value(h.name).key("attach").value(h.attach).key("purpose").value(h.purpose).endObject();
  w.endArray().key("identity").beginArray();
  for (const auto &g : m.identity) {
    w.beginObject().key("group").value(g.group).key("kind").value(word(g.kind)).key("field").value(g.field).key("view").value(g.view);
    w.key("paths").strings(g.paths).endObject();
  }
  w.endArray().key("maps").beginArray();
  for (const auto &x : m.maps)
    w.beginObject().key("name").value(x.name).key("type").value(x.type).key("key_size").value(x.keySize)
        .key("value_size").value(x.valueSize).key("max_entries").value(x.maxEntries)
        .key("entries").value(x.entries).key("data").value(x.data).endObject();
  w.endArray().key("rodata").beginArray();
  for (const auto &r : m.rodata)
    w.beginObject().key("name").value(r.name).key("size").value(r.size).key("meaning").value(r.meaning).endObject();
  w.endArray().key("rules").beginArray();
  for (const auto &r : m.rules)
    w.beginObject().key("id").value(r.id).key("name").value(r.name).key("hook").value(r.hook)
        .key("action").value(word(r.action)).key("message").value(r.message).key("loc").value(r.loc).endObject();
  w.endArray();
}

} // namespace

std::string inspectJson(const Bundle &b) {
  const auto &m = b.manifest;
  JsonWriter w(false);
  w.beginObject().key("format_version").value(m.formatVersion).key("abi").value(m.abi);
  w.key("compiler").value(m.compiler);
  jsonPolicy(w, m.policy);
  w.key("object_size").value(uint64_t(b.object.size()));
  jsonLists(w, m);
  w.endObject();
  return w.str() + "\n";
}

} // namespace bulwark::bundle
