#include "Sema.h"

#include "Glob.h"
#include "KprobeTypes.h"
#include "Literals.h"
#include "Types.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <functional>
#include <map>

namespace bulwark {

ir::SourceLoc toIrLoc(const SourceManager &sm, const SourceLoc &loc) {
  ir::SourceLoc out;
  if (loc.file < sm.size())
    out.file = sm.file(loc.file).path();
  out.line = loc.line;
  out.column = loc.column;
  return out;
}

namespace {

// Declarations visible at one level: a policy body, a file, or a module.
struct Scope {
  const Scope *parent = nullptr;
  FileId file = 0;
  bool isModule = false;
  bool broken = false;  // a module with syntax errors: its names are unknown, not missing
  std::map<std::string, const ast::Decl *> decls;
  std::map<std::string, const Scope *> modules;  // import alias → module scope
};

// The hook a condition is checked against.
struct HookCtx {
  const HookInfo *hook = nullptr;
  std::vector<FieldInfo> kprobeFields;
  const FieldInfo *field(const std::string &name) const {
    for (const auto &f : hook->fields)
      if (f.name == name) return &f;
    for (const auto &f : kprobeFields)
      if (f.name == name) return &f;
    return nullptr;
  }
};

// A checked value: a scalar (one item) or a list.
struct Val {
  Type type;
  std::vector<ir::Value> items;
  std::vector<SourceLoc> locs;  // one per item
  bool isList = false;
};

size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// A policy's name becomes its bpffs pin directory and bundle name: the runtime accepts
// a-z 0-9 _ (and -), at most 63 characters, and keeps "shared" and "dispatch" for its own
// pins (validPolicyName in runtime/src/BundleDir.cpp). Empty when the name is fine.
std::string policyNameProblem(const std::string &name) {
  if (name.size() > 63) return "is longer than 63 characters";
  for (char c : name)
    if (c >= 'A' && c <= 'Z') {
      std::string lower = name;
      for (char &l : lower) l = static_cast<char>(std::tolower(static_cast<unsigned char>(l)));
      return "has upper-case letters (names are pinned in bpffs as a-z, 0-9 and _; write '" + lower + "')";
    }
  if (name[0] == '_') return "must start with a letter";
  if (name == "shared" || name == "dispatch") return "is reserved for the runtime's own pins";
  return {};
}

// Why `name` cannot name a mark (empty: it can). Marks are shown by `bulwark status` and in
// events, so they are names, not text.
std::string markNameProblem(const std::string &name) {
  if (name.empty()) return "is empty";
  if (name.size() > 63) return "is longer than 63 characters";
  if (name[0] < 'a' || name[0] > 'z') return "must start with a lower-case letter";
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
      return "may hold only lower-case letters, digits and '_'";
  return {};
}

// Nanoseconds per unit of a mark's duration (`for 10m`); 0: not a unit.
uint64_t durationUnitNs(const std::string &unit) {
  static const std::pair<const char *, uint64_t> kUnits[] = {
      {"ms", 1000000ull}, {"s", 1000000000ull}, {"m", 60000000000ull}, {"h", 3600000000000ull}, {"d", 86400000000000ull}};
  for (const auto &[u, ns] : kUnits)
    if (unit == u) return ns;
  return 0;
}
constexpr uint64_t kMaxMarkNs = 366 * 86400000000000ull;  // a year: longer is "until exit"

template <typename Names> std::string suggest(const std::string &name, const Names &candidates) {
  std::string best;
  size_t bestD = std::max<size_t>(2, name.size() / 3) + 1;
  for (const auto &c : candidates) {
    size_t d = editDistance(name, c);
    if (d < bestD) { bestD = d; best = std::string(c); }
  }
  return best;
}

std::string valueText(const ir::Value &v) {
  if (auto *i = std::get_if<int64_t>(&v)) return std::to_string(*i);
  if (auto *s = std::get_if<std::string>(&v)) return "\"" + *s + "\"";
  return formatCidr(std::get<ir::Cidr>(v));
}

// Cgroup scopes are kept relative to the cgroup v2 root, which is where the runtime mounts
// it: "/sys/fs/cgroup/app.slice" and "/app.slice" both become "/app.slice".
std::string canonicalCgroupPath(std::string p) {
  const std::string mount = "/sys/fs/cgroup";
  if (p == mount) return "/";
  if (p.rfind(mount + "/", 0) == 0) p = p.substr(mount.size());
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

ir::Cond makeTrue() { return ir::Cond{ir::Cond::Kind::True, {}, {}}; }
ir::Cond makeFalse() { return ir::Cond{ir::Cond::Kind::False, {}, {}}; }
ir::Cond makeNot(ir::Cond c) {
  ir::Cond n;
  n.kind = ir::Cond::Kind::Not;
  n.kids.push_back(std::move(c));
  return n;
}

} // namespace

struct Sema::Impl {
  const SourceManager &sm;
  DiagnosticEngine &diags;
  ModuleLoader &modules;
  SemaOptions opts;
  SemaFacts facts;
  std::vector<std::unique_ptr<Scope>> scopes;
  std::map<const ast::File *, const Scope *> moduleScopes;
  std::map<const ast::Decl *, const Scope *> declScope;  // where a decl's body resolves names
  std::map<const ast::Decl *, std::optional<Val>> valueCache;
  std::vector<const ast::Decl *> valueStack;  // lists/constants being evaluated (cycle check)
  std::vector<const ast::Decl *> macroStack;
  std::set<const ast::Decl *> reportedCycles;
  CheckedPolicy *current = nullptr;  // the policy being checked (marks it tests and sets)

  Impl(const SourceManager &s, DiagnosticEngine &d, ModuleLoader &m, SemaOptions o)
      : sm(s), diags(d), modules(m), opts(std::move(o)) {}

  Diagnostic &error(DiagId id, SourceLoc loc, std::string msg) { return diags.report(id, loc, std::move(msg)); }

  // ---- scopes ----
  void addDecl(Scope &scope, const ast::Decl &d) {
    auto [it, inserted] = scope.decls.emplace(d.name(), &d);
    if (!inserted) {
      auto &diag = error(DiagId::E0009, d.nameLoc(), "'" + d.name() + "' is already declared in this scope");
      diag.notes.push_back({it->second->nameLoc(), "previous declaration is here"});
      return;
    }
    declScope[&d] = &scope;
    facts.decls.push_back({&d, scope.file, scope.isModule});
  }

  void addImports(Scope &scope, const ast::File &file, int depth) {
    for (const auto &imp : file.imports) {
      const ast::File *mod = modules.load(imp.module);
      if (!mod) {
        auto &d = error(DiagId::E0002, imp.moduleLoc, "module '" + imp.module + "' not found");
        std::string searched;
        for (const auto &dir : modules.searchPath()) searched += (searched.empty() ? "" : ", ") + dir;
        d.notes.push_back({{}, "searched: " + searched});
        continue;
      }
      if (scope.modules.count(imp.alias())) {
        error(DiagId::E0009, imp.moduleLoc, "module alias '" + imp.alias() + "' is imported twice");
        continue;
      }
      scope.modules[imp.alias()] = moduleScope(*mod, depth + 1);
    }
  }

  const Scope *moduleScope(const ast::File &mod, int depth) {
    if (auto it = moduleScopes.find(&mod); it != moduleScopes.end()) return it->second;
    auto scope = std::make_unique<Scope>();
    scope->file = mod.id;
    scope->isModule = true;
    Scope *raw = scope.get();
    scopes.push_back(std::move(scope));
    moduleScopes[&mod] = raw;
    if (mod.hasSyntaxErrors) {  // its E0001s are already reported
      raw->broken = true;
      return raw;
    }
    if (depth < 16) addImports(*raw, mod, depth);
    for (const auto &item : mod.items) {
      if (item.kind == ast::TopItem::Kind::Decl) {
        addDecl(*raw, *item.decl);
      } else {
        error(DiagId::E0016, item.policy->nameLoc, "a module holds lists, macros and constants; policy '" +
                                                        item.policy->name + "' belongs in a policy file");
      }
    }
    return raw;
  }

  // Resolution of a (possibly dotted) name to a declaration.
  const ast::Decl *lookupDecl(const Scope *scope, const std::string &name, bool *moduleMissing = nullptr) {
    auto dot = name.find('.');
    if (dot == std::string::npos) {
      for (const Scope *s = scope; s; s = s->parent)
        if (auto it = s->decls.find(name); it != s->decls.end()) return use(it->second);
      return nullptr;
    }
    std::string alias = name.substr(0, dot), rest = name.substr(dot + 1);
    for (const Scope *s = scope; s; s = s->parent)
      if (auto it = s->modules.find(alias); it != s->modules.end()) {
        if (auto d = it->second->decls.find(rest); d != it->second->decls.end()) return use(d->second);
        if (moduleMissing) *moduleMissing = true;
        return nullptr;
      }
    return nullptr;
  }

  // A name in a module that failed to parse: its errors are reported already.
  bool inBrokenModule(const Scope *scope, const std::string &name) const {
    auto dot = name.find('.');
    if (dot == std::string::npos) return false;
    for (const Scope *s = scope; s; s = s->parent)
      if (auto it = s->modules.find(name.substr(0, dot)); it != s->modules.end()) return it->second->broken;
    return false;
  }
  const ast::Decl *use(const ast::Decl *d) {
    facts.used.insert(d);
    return d;
  }

  // ---- values ----
  std::optional<Val> evalValue(const ast::Expr &e, const Scope *scope, const HookCtx *hook) {
    switch (e.kind) {
    case ast::ExprKind::Paren: return evalValue(*e.kids[0], scope, hook);
    case ast::ExprKind::String: return scalar(Type::of(TypeKind::String, true), e.text, e.loc);
    case ast::ExprKind::Int: return scalar(Type::of(TypeKind::Int, true), e.intValue, e.loc);
    case ast::ExprKind::Bool: return scalar(Type::of(TypeKind::Bool, true), e.intValue, e.loc);
    case ast::ExprKind::Addr: {
      std::string err;
      auto c = parseCidr(e.text, &err);
      if (!c) {
        error(DiagId::E0012, e.loc, "invalid address '" + e.text + "': " + err);
        return std::nullopt;
      }
      bool isCidr = e.text.find('/') != std::string::npos;
      return scalar(Type::of(isCidr ? TypeKind::Cidr : TypeKind::Ip, true), *c, e.loc);
    }
    case ast::ExprKind::List: return evalList(e, scope, hook);
    case ast::ExprKind::Name: return evalName(e, scope, hook);
    case ast::ExprKind::Not:
    case ast::ExprKind::Binary:
      error(DiagId::E0006, e.loc, "expected a value here, found a condition");
      return std::nullopt;
    }
    return std::nullopt;
  }

  template <typename T> Val scalar(Type t, T v, SourceLoc loc) {
    Val val;
    val.type = t;
    val.items.push_back(ir::Value(std::move(v)));
    val.locs.push_back(loc);
    return val;
  }

  std::optional<Val> evalName(const ast::Expr &e, const Scope *scope, const HookCtx *hook) {
    if (hook && hook->field(e.text)) {
      error(DiagId::E0007, e.loc, "event field '" + e.text + "' cannot be used as a value here; compare a field with literals, lists or constants");
      return std::nullopt;
    }
    bool moduleMissing = false;
    if (const ast::Decl *d = lookupDecl(scope, e.text, &moduleMissing)) {
      if (d->kind == ast::Decl::Kind::Macro) {
        auto &diag = error(DiagId::E0006, e.loc, "'" + e.text + "' is a macro (a condition), not a value");
        diag.notes.push_back({d->nameLoc(), "declared here"});
        return std::nullopt;
      }
      return declValue(*d);
    }
    int64_t v = 0;
    if (const EnumInfo *en = Catalogue::get().findEnumerator(e.text, &v))
      return scalar(Type::ofEnum(en->type), v, e.loc);
    reportUnknownName(e, scope, hook, moduleMissing);
    return std::nullopt;
  }

  void reportUnknownName(const ast::Expr &e, const Scope *scope, const HookCtx *hook, bool moduleMissing) {
    if (inBrokenModule(scope, e.text)) return;
    auto dot = e.text.find('.');
    if (dot != std::string::npos && hook && !moduleMissing) {
      // Looks like a field: say which hook lacks it.
      bool isModuleAlias = false;
      for (const Scope *s = scope; s; s = s->parent)
        if (s->modules.count(e.text.substr(0, dot))) isModuleAlias = true;
      if (!isModuleAlias) {
        auto &d = error(DiagId::E0004, e.loc, "hook '" + std::string(hook->hook->name) + "' has no field '" + e.text + "'");
        std::vector<std::string> names;
        for (const auto &f : hook->hook->fields) names.emplace_back(f.name);
        for (const auto &f : hook->kprobeFields) names.emplace_back(f.name);
        if (auto s = suggest(e.text, names); !s.empty()) d.help = "did you mean '" + s + "'?";
        else {
          for (const auto &h : Catalogue::get().hooks())
            for (const auto &f : h.fields)
              if (f.name == e.text && !f.common) {
                d.notes.push_back({{}, "'" + e.text + "' is a field of hook '" + std::string(h.name) + "'"});
                return;
              }
        }
        return;
      }
    }
    auto &d = error(DiagId::E0005, e.loc, moduleMissing ? "module '" + e.text.substr(0, dot) + "' has no list, macro or constant '" + e.text.substr(dot + 1) + "'"
                                                        : "unknown name '" + e.text + "'");
    std::vector<std::string> names;
    for (const Scope *s = scope; s; s = s->parent) {
      for (const auto &[n, _] : s->decls) names.push_back(n);
      for (const auto &[alias, ms] : s->modules)
        for (const auto &[n, _] : ms->decls) names.push_back(alias + "." + n);
    }
    if (auto s = suggest(e.text, names); !s.empty()) d.help = "did you mean '" + s + "'?";
  }

  std::optional<Val> declValue(const ast::Decl &d) {
    if (auto onStack = std::find(valueStack.begin(), valueStack.end(), &d); onStack != valueStack.end()) {
      reportValueCycle(onStack);
      return std::nullopt;
    }
    if (auto it = valueCache.find(&d); it != valueCache.end()) return it->second;
    valueStack.push_back(&d);
    struct Pop {
      std::vector<const ast::Decl *> &stack;
      ~Pop() { stack.pop_back(); }
    } pop{valueStack};
    const Scope *scope = declScope[&d];
    std::optional<Val> v;
    if (d.kind == ast::Decl::Kind::List) {
      v = evalList(*d.list->value, scope, nullptr);
      if (v && d.list->typeName) v = applyDeclaredType(*v, *d.list->typeName, d.list->typeLoc, true);
    } else if (d.kind == ast::Decl::Kind::Const) {
      v = evalValue(*d.constant->value, scope, nullptr);
      if (v && d.constant->typeName) v = applyDeclaredType(*v, *d.constant->typeName, d.constant->typeLoc, false);
    }
    valueCache[&d] = v;
    return v;
  }

  // E0008 for a list or constant that reaches itself; `from` points at its first occurrence.
  void reportValueCycle(std::vector<const ast::Decl *>::iterator from) {
    const ast::Decl *d = *from;
    if (!reportedCycles.insert(d).second) return;
    std::string cycle;
    for (auto it = from; it != valueStack.end(); ++it) {
      cycle += (*it)->name() + " -> ";
      reportedCycles.insert(*it);
    }
    cycle += d->name();
    const char *what = d->kind == ast::Decl::Kind::List ? "list" : "constant";
    auto &diag = error(DiagId::E0008, d->nameLoc(), std::string(what) + " '" + d->name() + "' refers to itself");
    diag.notes.push_back({{}, "cycle: " + cycle});
  }

  std::optional<Val> applyDeclaredType(const Val &v, const std::string &name, SourceLoc loc, bool isList) {
    Type t = parseTypeName(name);
    if (t.isError()) {
      error(DiagId::E0005, loc, "unknown type '" + name + "'");
      return std::nullopt;
    }
    Val out = v;
    if (t.kind != TypeKind::Cidr) {
      for (size_t i = 0; i < v.items.size(); ++i)
        if (!convertItem(v.type.kind == TypeKind::List ? v.type.element() : v.type, v.items[i], v.locs[i], t, ir::TestOp::Eq, &out.items[i]))
          return std::nullopt;
    } else {
      Type el = v.type.kind == TypeKind::List ? v.type.element() : v.type;
      if (el.kind != TypeKind::Cidr && el.kind != TypeKind::Ip) {
        error(DiagId::E0006, loc, "values of type " + typeName(el) + " are not cidr");
        return std::nullopt;
      }
    }
    Type elem = t;
    out.type = isList ? Type::listOf(elem) : elem;
    return out;
  }

  std::optional<Val> evalList(const ast::Expr &e, const Scope *scope, const HookCtx *hook) {
    Val out;
    out.isList = true;
    Type elem = Type::of(TypeKind::Error, true);
    bool ok = true;
    std::map<std::string, SourceLoc> seen;
    for (const auto &k : e.kids) {
      auto v = evalValue(*k, scope, hook);
      if (!v) { ok = false; continue; }
      Type et = v->type.kind == TypeKind::List ? v->type.element() : v->type;
      if (elem.kind == TypeKind::Error) {
        elem = et;
      } else if (!unify(elem, et)) {
        error(DiagId::E0006, k->loc, "list mixes " + typeName(elem) + " and " + typeName(et) + " values");
        ok = false;
        continue;
      }
      for (size_t i = 0; i < v->items.size(); ++i) {
        std::string key = valueText(v->items[i]);
        if (auto [it, ins] = seen.emplace(key, v->locs[i]); !ins && k->kind != ast::ExprKind::Name)
          facts.duplicateEntries.push_back({v->locs[i], it->second, key});
        out.items.push_back(v->items[i]);
        out.locs.push_back(v->locs[i]);
      }
      // Checked while splicing, so nested lists cannot grow past the limit in memory first.
      if (out.items.size() > opts.maxListEntries) {
        error(DiagId::E0015, e.loc, "list has more than " + std::to_string(opts.maxListEntries) + " entries; one kernel map holds at most " + std::to_string(opts.maxListEntries));
        return std::nullopt;
      }
    }
    if (!ok) return std::nullopt;
    out.type = Type::listOf(elem);
    return out;
  }

  // Merges element types of a list: literal ints/strings take the typed side; ip + cidr → cidr.
  static bool unify(Type &acc, const Type &t) {
    if (acc.kind == t.kind && (acc.kind != TypeKind::Enum || acc.enumType == t.enumType)) {
      acc.literal = acc.literal && t.literal;
      return true;
    }
    auto isAddr = [](TypeKind k) { return k == TypeKind::Ip || k == TypeKind::Cidr; };
    if (isAddr(acc.kind) && isAddr(t.kind)) { acc.kind = TypeKind::Cidr; return true; }
    if (acc.literal && acc.kind == TypeKind::Int && t.isIntegral()) { acc = t; return true; }
    if (t.literal && t.kind == TypeKind::Int && acc.isIntegral()) return true;
    if (acc.isStringy() && t.isStringy()) {
      if (t.kind == TypeKind::Path) acc.kind = TypeKind::Path;
      return true;
    }
    return false;
  }

  // Converts one value of type `from` to the field type `to` for operator `op`.
  bool convertItem(const Type &from, const ir::Value &v, SourceLoc loc, const Type &to, ir::TestOp op, ir::Value *out,
                   const SourceLoc *fieldLoc = nullptr, const std::string &fieldName = {}) {
    *out = v;
    auto mismatch = [&]() {
      std::string what = fieldName.empty() ? typeName(to) : "'" + fieldName + "' (" + typeName(to) + ")";
      auto &d = error(DiagId::E0006, loc, "cannot compare " + what + " with " + typeName(from) + " " + valueText(v));
      if (fieldLoc) d.notes.push_back({*fieldLoc, "'" + fieldName + "' is " + typeName(to)});
      if (to.isIntegral() && from.isStringy()) d.help = "write the number without quotes";
      if (to.kind == TypeKind::Ip && from.kind == TypeKind::Cidr) d.help = "use `in` to test membership in a CIDR";
      return false;
    };
    switch (to.kind) {
    case TypeKind::Path:
    case TypeKind::String: {
      if (!from.isStringy()) return mismatch();
      const std::string &s = std::get<std::string>(v);
      if (to.kind == TypeKind::Path && op == ir::TestOp::Eq) {
        if (auto err = checkPathLiteral(s)) {
          error(DiagId::E0014, loc, *err);
          return false;
        }
        facts.pathLiterals.push_back({loc, s});
      } else if (to.kind == TypeKind::Path && op == ir::TestOp::Prefix) {
        if (auto err = checkPathLiteral(s)) {
          error(DiagId::E0014, loc, "path prefix: " + *err);
          return false;
        }
      }
      if ((op == ir::TestOp::Prefix || op == ir::TestOp::Suffix) && s.size() > ir::kMaxAffixBytes) {
        error(DiagId::E0014, loc, std::string(op == ir::TestOp::Prefix ? "prefix" : "suffix") + " is " + std::to_string(s.size()) +
                                      " bytes long; prefixes and suffixes are limited to " + std::to_string(ir::kMaxAffixBytes) +
                                      " bytes (the key of a kernel LPM trie)");
        return false;
      }
      if (op == ir::TestOp::Glob) {
        if (auto ge = validateGlob(s)) {
          SourceLoc at = loc;
          at.column += static_cast<uint32_t>(ge->offset + 1);
          at.offset += static_cast<uint32_t>(ge->offset + 1);
          at.length = 1;
          error(DiagId::E0011, at, "invalid glob \"" + s + "\": " + ge->message);
          return false;
        }
        if (to.kind == TypeKind::Path && !(s.rfind("/", 0) == 0 || s.rfind("**", 0) == 0)) {
          auto &d = error(DiagId::E0011, loc, "glob \"" + s + "\" on a path must start with '/' or '**'");
          d.help = "use \"/**/" + s + "\" to match at any depth";
          return false;
        }
        if (s.size() >= kPathMax) {
          error(DiagId::E0014, loc, "glob is longer than PATH_MAX");
          return false;
        }
        facts.globLiterals.push_back({loc, s});
      }
      return true;
    }
    case TypeKind::Int:
    case TypeKind::Uid:
    case TypeKind::Gid:
    case TypeKind::Port: {
      if (!(from.isIntegral() && (from.literal || from.kind == to.kind || to.kind == TypeKind::Int))) return mismatch();
      int64_t i = std::get<int64_t>(v);
      int64_t max = to.kind == TypeKind::Port ? 65535 : to.kind == TypeKind::Int ? INT64_MAX : 4294967295LL;
      if (i < 0 && to.kind != TypeKind::Int) {
        error(DiagId::E0013, loc, std::to_string(i) + " is not a valid " + typeName(to) + " (it cannot be negative)");
        return false;
      }
      if (i > max) {
        error(DiagId::E0013, loc, std::to_string(i) + " is out of range for " + typeName(to) + " (at most " + std::to_string(max) + ")");
        return false;
      }
      return true;
    }
    case TypeKind::Bool:
      if (from.kind != TypeKind::Bool) return mismatch();
      return true;
    case TypeKind::Enum:
      if (from.kind == TypeKind::Enum && from.enumType == to.enumType) return true;
      if (from.kind == TypeKind::Int && from.literal) return true;
      return mismatch();
    case TypeKind::Ip:
      if (from.kind == TypeKind::Ip) return true;
      if (from.kind == TypeKind::Cidr && op == ir::TestOp::InCidr) return true;
      return mismatch();
    case TypeKind::Cidr:
      return from.kind == TypeKind::Cidr || from.kind == TypeKind::Ip ? true : mismatch();
    default: return mismatch();
    }
  }

  // ---- conditions ----
  std::optional<ir::Cond> checkCond(const ast::Expr &e, const Scope *scope, const HookCtx &hook) {
    switch (e.kind) {
    case ast::ExprKind::Paren: return checkCond(*e.kids[0], scope, hook);
    case ast::ExprKind::Bool: return e.intValue ? makeTrue() : makeFalse();
    case ast::ExprKind::Not: {
      auto k = checkCond(*e.kids[0], scope, hook);
      if (!k) return std::nullopt;
      return makeNot(std::move(*k));
    }
    case ast::ExprKind::Name: return nameCond(e, scope, hook);
    case ast::ExprKind::Binary:
      if (e.op == ast::BinaryOp::And || e.op == ast::BinaryOp::Or) {
        auto l = checkCond(*e.kids[0], scope, hook);
        auto r = checkCond(*e.kids[1], scope, hook);
        if (!l || !r) return std::nullopt;
        ir::Cond c;
        c.kind = e.op == ast::BinaryOp::And ? ir::Cond::Kind::And : ir::Cond::Kind::Or;
        c.kids.push_back(std::move(*l));
        c.kids.push_back(std::move(*r));
        return c;
      }
      return testCond(e, scope, hook);
    default:
      error(DiagId::E0019, e.loc, "expected a condition, found a value");
      return std::nullopt;
    }
  }

  std::optional<ir::Cond> nameCond(const ast::Expr &e, const Scope *scope, const HookCtx &hook) {
    if (isMarksField(e)) {
      auto &d = error(DiagId::E0019, e.loc, "'" + e.text + "' is a set of marks, not a condition");
      d.help = "test one mark: '" + e.text + " has \"name\"'";
      return std::nullopt;
    }
    if (const FieldInfo *f = hook.field(e.text)) {
      if (f->type != FieldType::BOOL) {
        auto &d = error(DiagId::E0019, e.loc, "'" + e.text + "' is " + std::string(Catalogue::typeName(f->type)) + ", not a condition");
        d.help = "compare it, for example '" + e.text + " == ...'";
        return std::nullopt;
      }
      ir::Cond c;
      c.kind = ir::Cond::Kind::Test;
      c.test.field = *f;
      c.test.op = ir::TestOp::Eq;
      c.test.values.push_back(int64_t{1});
      c.test.loc = toIrLoc(sm, e.loc);
      return c;
    }
    bool moduleMissing = false;
    if (const ast::Decl *d = lookupDecl(scope, e.text, &moduleMissing)) {
      if (d->kind == ast::Decl::Kind::Macro) {
        if (std::find(macroStack.begin(), macroStack.end(), d) != macroStack.end())
          return std::nullopt;  // cycle: reported once by checkMacroCycles
        macroStack.push_back(d);
        size_t before = diags.all().size();
        auto c = checkCond(*d->macro->value, declScope[d], hook);
        macroStack.pop_back();
        // Errors inside a macro body point into the macro; say where it was used.
        for (size_t i = before; i < diags.all().size(); ++i)
          diags.at(i).notes.push_back({e.loc, "in macro '" + e.text + "' used here, on hook '" + std::string(hook.hook->name) + "'"});
        return c;
      }
      auto v = declValue(*d);
      if (v && v->type.kind == TypeKind::Bool && !v->isList)
        return std::get<int64_t>(v->items[0]) ? makeTrue() : makeFalse();
      if (v) {
        auto &diag = error(DiagId::E0019, e.loc, "'" + e.text + "' is a " + typeName(v->type) + ", not a condition");
        diag.notes.push_back({d->nameLoc(), "declared here"});
      }
      return std::nullopt;
    }
    reportUnknownName(e, scope, &hook, moduleMissing);
    return std::nullopt;
  }

  static bool isFieldRef(const ast::Expr &e, const HookCtx &hook) {
    const ast::Expr *x = &e;
    while (x->kind == ast::ExprKind::Paren) x = x->kids[0].get();
    return x->kind == ast::ExprKind::Name && hook.field(x->text);
  }
  static const ast::Expr &unparen(const ast::Expr &e) {
    const ast::Expr *x = &e;
    while (x->kind == ast::ExprKind::Paren) x = x->kids[0].get();
    return *x;
  }

  // E0022: file.flags as file_open sees it: never O_CLOEXEC (stripped at open) or O_PATH
  // (such opens skip the hook), always O_LARGEFILE (forced on 64-bit). A test that needs
  // otherwise could never match in the kernel.
  bool checkKernelFlags(const ir::Test &t, const SourceLoc &loc) {
    static constexpr int64_t kLargefile = 0100000, kCloexec = 02000000, kPath = 010000000;
    if (t.field.name != "file.flags") return true;
    for (const auto &v : t.values) {
      const auto *i = std::get_if<int64_t>(&v);
      if (!i) continue;
      std::string why;
      if (*i & kCloexec)
        why = "O_CLOEXEC is never set in file.flags (the kernel strips it at open)";
      else if (*i & kPath)
        why = "an O_PATH open never reaches file.open";
      else if (t.op == ir::TestOp::Eq && !(*i & kLargefile))
        why = "file.flags always holds O_LARGEFILE, so it never equals " + std::to_string(*i);
      if (why.empty()) continue;
      auto &d = error(DiagId::E0022, loc, why);
      d.help = t.op == ir::TestOp::Eq ? "test single flags with `has`, or add O_LARGEFILE to the value"
                                      : "remove this flag from the test";
      return false;
    }
    return true;
  }

  static bool isMarksField(const ast::Expr &e) {
    return e.kind == ast::ExprKind::Name && (e.text == ir::kProcessMarks.name || e.text == ir::kParentMarks.name);
  }

  // `process.marks has "x"`: the one test of a mark field. The name must be a string value and
  // a valid mark name; whether some rule sets it is checked once the policy is read (E0024).
  std::optional<ir::Cond> markTest(const ast::Expr &e, const ast::Expr &lhs, const ast::Expr &rhs, const Scope *scope,
                                   const HookCtx &hook) {
    if (hook.hook->kind == HookKind::Kprobe) {
      error(DiagId::E0023, lhs.loc, "marks are not available on kprobe hooks (a kprobe program may not use the marks' map)");
      return std::nullopt;
    }
    if (e.op != ast::BinaryOp::Has) {
      auto &d = error(DiagId::E0007, e.opLoc, std::string("operator '") + ast::binaryOpSpelling(e.op) + "' is not defined for marks");
      d.help = "test one mark: '" + lhs.text + " has \"name\"'";
      return std::nullopt;
    }
    auto v = evalValue(rhs, scope, &hook);
    if (!v) return std::nullopt;
    if (v->isList || (v->type.kind != TypeKind::String && v->type.kind != TypeKind::Path)) {
      auto &d = error(DiagId::E0006, rhs.loc, "a mark is named by one string, found " + typeName(v->type));
      d.help = "write '" + lhs.text + " has \"name\"'";
      return std::nullopt;
    }
    const std::string &name = std::get<std::string>(v->items[0]);
    if (std::string why = markNameProblem(name); !why.empty()) {
      error(DiagId::E0023, rhs.loc, "mark name '" + name + "' " + why);
      return std::nullopt;
    }
    if (current) current->marksTested.push_back({name, rhs.loc});
    ir::Cond c;
    c.kind = ir::Cond::Kind::Test;
    c.test.field = lhs.text == ir::kParentMarks.name ? ir::kParentMarks : ir::kProcessMarks;
    c.test.op = ir::TestOp::HasMark;
    c.test.values.push_back(name);
    c.test.loc = toIrLoc(sm, e.loc);
    return c;
  }

  std::optional<ir::Cond> testCond(const ast::Expr &e, const Scope *scope, const HookCtx &hook) {
    const ast::Expr *lhs = &unparen(*e.kids[0]);
    const ast::Expr *rhs = &unparen(*e.kids[1]);
    if (isMarksField(*lhs)) return markTest(e, *lhs, *rhs, scope, hook);
    ast::BinaryOp op = e.op;
    bool lField = isFieldRef(*lhs, hook), rField = isFieldRef(*rhs, hook);
    if (lField && rField) {
      error(DiagId::E0007, e.opLoc, "comparing two event fields is not supported; compare a field with a value");
      return std::nullopt;
    }
    if (!lField && rField) {
      // `80 == net.dport` reads as `net.dport == 80`; mirror ordering comparisons.
      switch (op) {
      case ast::BinaryOp::Eq: case ast::BinaryOp::Ne: break;
      case ast::BinaryOp::Lt: op = ast::BinaryOp::Gt; break;
      case ast::BinaryOp::Le: op = ast::BinaryOp::Ge; break;
      case ast::BinaryOp::Gt: op = ast::BinaryOp::Lt; break;
      case ast::BinaryOp::Ge: op = ast::BinaryOp::Le; break;
      default:
        error(DiagId::E0007, lhs->loc, std::string("the left side of '") + ast::binaryOpSpelling(op) + "' must be an event field");
        return std::nullopt;
      }
      std::swap(lhs, rhs);
    } else if (!lField) {
      if (lhs->kind == ast::ExprKind::Name && lhs->text.find('.') != std::string::npos && !lookupDecl(scope, lhs->text)) {
        reportUnknownName(*lhs, scope, &hook, false);
      } else {
        error(DiagId::E0007, lhs->loc, std::string("the left side of '") + ast::binaryOpSpelling(op) + "' must be an event field");
      }
      return std::nullopt;
    }
    const FieldInfo &field = *hook.field(lhs->text);
    Type ft = typeOfField(field.type);
    auto rv = evalValue(*rhs, scope, &hook);
    if (!rv) return std::nullopt;

    ir::Cond c;
    c.kind = ir::Cond::Kind::Test;
    c.test.field = field;
    c.test.loc = toIrLoc(sm, e.loc);
    bool negate = false;
    auto opError = [&](const std::string &why) {
      auto &d = error(DiagId::E0007, e.opLoc, std::string("operator '") + ast::binaryOpSpelling(e.op) + "' is not defined for " + why);
      d.notes.push_back({lhs->loc, "'" + lhs->text + "' is " + typeName(ft)});
      return std::nullopt;
    };
    auto needScalar = [&]() {
      if (rv->isList) {
        auto &d = error(DiagId::E0006, rhs->loc, std::string("'") + ast::binaryOpSpelling(e.op) + "' compares with one value, not a list");
        d.help = "use `in` to test membership in a list";
        return false;
      }
      return true;
    };
    switch (op) {
    case ast::BinaryOp::Eq:
    case ast::BinaryOp::Ne:
      if (!needScalar()) return std::nullopt;
      c.test.op = ir::TestOp::Eq;
      negate = op == ast::BinaryOp::Ne;
      break;
    case ast::BinaryOp::Lt: case ast::BinaryOp::Le: case ast::BinaryOp::Gt: case ast::BinaryOp::Ge:
      if (!ft.isIntegral()) return opError(typeName(ft) + " values; ordering needs numbers");
      if (!needScalar()) return std::nullopt;
      c.test.op = op == ast::BinaryOp::Lt ? ir::TestOp::Lt : op == ast::BinaryOp::Le ? ir::TestOp::Le
                  : op == ast::BinaryOp::Gt ? ir::TestOp::Gt : ir::TestOp::Ge;
      break;
    case ast::BinaryOp::In:
      if (ft.kind == TypeKind::Bool) return opError("bool fields");
      if (ft.kind == TypeKind::Ip) {
        c.test.op = ir::TestOp::InCidr;
      } else {
        if (!rv->isList) {
          auto &d = error(DiagId::E0006, rhs->loc, "'in' needs a list on its right, found " + typeName(rv->type));
          d.help = "write [" + std::string("...") + "] or use '=='";
          return std::nullopt;
        }
        c.test.op = ir::TestOp::Eq;
      }
      break;
    case ast::BinaryOp::StartsWith:
    case ast::BinaryOp::EndsWith:
    case ast::BinaryOp::Matches:
      if (!ft.isStringy()) return opError(typeName(ft) + " values; it needs a string or path");
      c.test.op = op == ast::BinaryOp::StartsWith ? ir::TestOp::Prefix : op == ast::BinaryOp::EndsWith ? ir::TestOp::Suffix : ir::TestOp::Glob;
      break;
    case ast::BinaryOp::Has:
      if (!ft.isFlags()) return opError(typeName(ft) + " values; `has` tests a flag set such as open_flags");
      if (!needScalar()) return std::nullopt;
      c.test.op = ir::TestOp::HasFlags;
      break;
    default: return std::nullopt;
    }
    Type from = rv->type.kind == TypeKind::List ? rv->type.element() : rv->type;
    bool ok = true;
    for (size_t i = 0; i < rv->items.size(); ++i) {
      ir::Value conv;
      Type itemFrom = from;
      // A list mixing addresses and CIDRs: each item knows its own prefix.
      if (from.kind == TypeKind::Cidr && std::holds_alternative<ir::Cidr>(rv->items[i])) itemFrom.kind = TypeKind::Cidr;
      if (convertItem(itemFrom, rv->items[i], rv->locs[i], ft, c.test.op, &conv, &lhs->loc, lhs->text))
        c.test.values.push_back(std::move(conv));
      else
        ok = false;
    }
    if (!ok) return std::nullopt;
    if (!checkKernelFlags(c.test, rhs->loc)) return std::nullopt;
    if (c.test.values.empty()) {
      facts.constantConds.push_back({e.loc, false, "the list is empty, so this test never matches"});
      return negate ? makeTrue() : makeFalse();
    }
    return negate ? makeNot(std::move(c)) : c;
  }

  // E0008: a macro that reaches itself through names, whether or not it is used.
  void checkMacroCycles(const Scope &scope) {
    for (const auto &[name, d] : scope.decls) {
      if (d->kind != ast::Decl::Kind::Macro || reportedCycles.count(d)) continue;
      std::vector<const ast::Decl *> path{d};
      std::function<bool(const ast::Expr &, const Scope *)> walk = [&](const ast::Expr &e, const Scope *s) -> bool {
        if (e.kind == ast::ExprKind::Name) {
          const ast::Decl *t = nullptr;
          // Resolve without marking the decl used.
          auto dot = e.text.find('.');
          if (dot == std::string::npos) {
            for (const Scope *x = s; x && !t; x = x->parent)
              if (auto it = x->decls.find(e.text); it != x->decls.end()) t = it->second;
          } else {
            for (const Scope *x = s; x && !t; x = x->parent)
              if (auto it = x->modules.find(e.text.substr(0, dot)); it != x->modules.end()) {
                auto j = it->second->decls.find(e.text.substr(dot + 1));
                if (j != it->second->decls.end()) t = j->second;
              }
          }
          if (!t || t->kind != ast::Decl::Kind::Macro) return false;
          if (t == d) return true;
          if (std::find(path.begin(), path.end(), t) != path.end()) return false;
          path.push_back(t);
          if (walk(*t->macro->value, declScope[t])) return true;
          path.pop_back();
          return false;
        }
        for (const auto &k : e.kids)
          if (walk(*k, s)) return true;
        return false;
      };
      if (walk(*d->macro->value, &scope)) {
        std::string cycle;
        for (const auto *p : path) {
          cycle += p->name() + " -> ";
          reportedCycles.insert(p);
        }
        cycle += d->name();
        auto &diag = error(DiagId::E0008, d->nameLoc(), "macro '" + d->name() + "' refers to itself");
        diag.notes.push_back({{}, "cycle: " + cycle});
      }
    }
  }

  // ---- policies ----
  void checkMessage(const ast::RuleDecl &r, const HookCtx &hook) {
    const std::string &m = *r.message;
    // Offsets are found in the unescaped text; carets point into the literal as written.
    auto rawIndex = [&](size_t off) {
      size_t raw = 1, k = 0;  // skip the opening quote
      while (k < off && raw < r.messageRaw.size()) {
        raw += r.messageRaw[raw] == '\\' ? 2 : 1;
        ++k;
      }
      return raw;
    };
    auto at = [&](size_t off, size_t len) {
      size_t begin = rawIndex(off), end = rawIndex(off + len);
      SourceLoc l = r.messageLoc;
      l.column += static_cast<uint32_t>(begin);
      l.offset += static_cast<uint32_t>(begin);
      l.length = static_cast<uint32_t>(end - begin);
      return l;
    };
    for (size_t i = 0; i < m.size(); ++i) {
      if (m[i] == '{' && i + 1 < m.size() && m[i + 1] == '{') { ++i; continue; }
      if (m[i] == '}' && i + 1 < m.size() && m[i + 1] == '}') { ++i; continue; }
      if (m[i] == '}') { error(DiagId::E0017, at(i, 1), "unmatched '}' in message; write '}}' for a literal brace"); return; }
      if (m[i] != '{') continue;
      size_t close = m.find('}', i);
      if (close == std::string::npos) { error(DiagId::E0017, at(i, 1), "unclosed '{' in message; write '{{' for a literal brace"); return; }
      std::string name = m.substr(i + 1, close - i - 1);
      if (!hook.field(name)) {
        auto &d = error(DiagId::E0017, at(i, close - i + 1), "message refers to '" + name + "', which hook '" + std::string(hook.hook->name) + "' does not have");
        std::vector<std::string> names;
        for (const auto &f : hook.hook->fields) names.emplace_back(f.name);
        if (auto s = suggest(name, names); !s.empty()) d.help = "did you mean '{" + s + "}'?";
      }
      i = close;
    }
  }

  CheckedPolicy checkPolicy(const ast::PolicyDecl &p, const Scope &fileScope) {
    CheckedPolicy out;
    current = &out;
    struct Done {
      CheckedPolicy *&current;
      ~Done() { current = nullptr; }
    } done{current};
    out.ast = &p;
    out.file = fileScope.file;
    out.ir.name = p.name;
    out.ir.loc = toIrLoc(sm, p.nameLoc);
    if (std::string why = policyNameProblem(p.name); !why.empty())
      error(DiagId::E0021, p.nameLoc, "policy name '" + p.name + "' " + why);
    auto scope = std::make_unique<Scope>();
    scope->parent = &fileScope;
    scope->file = fileScope.file;
    Scope *ps = scope.get();
    scopes.push_back(std::move(scope));
    for (const auto &item : p.items)
      if (item.kind == ast::PolicyItem::Kind::Decl) addDecl(*ps, *item.decl);
    checkMacroCycles(*ps);

    std::map<ast::PolicyItem::Kind, SourceLoc> seenSetting;
    std::map<std::string, SourceLoc> ruleNames;
    for (const auto &item : p.items) {
      using K = ast::PolicyItem::Kind;
      if (item.kind == K::Description || item.kind == K::Mode || item.kind == K::Default || item.kind == K::Scope) {
        if (auto [it, ins] = seenSetting.emplace(item.kind, item.loc); !ins) {
          auto &d = error(DiagId::E0016, item.loc, "this setting is given twice");
          d.notes.push_back({it->second, "first given here"});
          continue;
        }
      }
      switch (item.kind) {
      case K::Description: out.ir.description = item.value; break;
      case K::Mode:
        if (item.value == "enforce") out.ir.mode = ir::Mode::Enforce;
        else if (item.value == "audit") out.ir.mode = ir::Mode::Audit;
        else error(DiagId::E0016, item.valueLoc, "mode is 'enforce' or 'audit', not '" + item.value + "'");
        break;
      case K::Default: out.ir.defaultAction = item.value == "deny" ? ir::Action::Deny : ir::Action::Allow; break;
      case K::Scope: checkScope(*item.scope, out.ir.scope); break;
      case K::Decl: break;
      case K::Rule: {
        const ast::RuleDecl &r = *item.rule;
        if (auto [it, ins] = ruleNames.emplace(r.name, r.nameLoc); !ins) {
          auto &d = error(DiagId::E0009, r.nameLoc, "rule '" + r.name + "' is already declared in policy '" + p.name + "'");
          d.notes.push_back({it->second, "previous rule is here"});
        }
        if (auto rule = checkRule(r, ps)) {
          rule->id = static_cast<uint32_t>(out.ir.rules.size());
          out.ir.rules.push_back(std::move(*rule));
          out.rules.push_back(&r);
        }
        break;
      }
      }
    }
    checkMarksSet(out);
    return out;
  }

  void checkScope(const ast::Scope &s, ir::Scope &out) {
    if (s.kind == "host") {
      out.kind = ir::Scope::Kind::Host;
      if (!s.values.empty()) error(DiagId::E0016, s.values[0].second, "'scope host' takes no paths");
      return;
    }
    if (s.kind != "cgroup" && s.kind != "executable") {
      auto &d = error(DiagId::E0016, s.kindLoc, "unknown scope '" + s.kind + "'");
      d.help = "scope is 'host', 'cgroup \"/path\"' or 'executable \"/path\"'";
      return;
    }
    out.kind = s.kind == "cgroup" ? ir::Scope::Kind::Cgroup : ir::Scope::Kind::Executable;
    if (s.values.empty()) {
      error(DiagId::E0016, s.kindLoc, "'scope " + s.kind + "' needs at least one path");
      return;
    }
    for (const auto &[v, loc] : s.values) {
      if (auto err = checkPathLiteral(v)) {
        error(DiagId::E0014, loc, *err);
        continue;
      }
      out.paths.push_back(out.kind == ir::Scope::Kind::Cgroup ? canonicalCgroupPath(v) : v);
    }
  }

  // The marks rule `r` sets, into out.marks; false after an error (E0023).
  bool checkMarks(const ast::RuleDecl &r, ir::Rule &out) {
    bool ok = true;
    if (!r.marks.empty() && r.hook == "kprobe") {
      error(DiagId::E0023, r.marks[0].loc, "marks are not available on kprobe hooks (a kprobe program may not use the marks' map)");
      return false;
    }
    for (const auto &m : r.marks) {
      ir::MarkSet set;
      set.name = m.name;
      set.loc = toIrLoc(sm, m.loc);
      if (m.who != "process" && m.who != "parent") {
        auto &d = error(DiagId::E0023, m.whoLoc, "a mark is set on 'process' or 'parent', not '" + m.who + "'");
        d.help = "write 'mark process \"" + m.name + "\"'";
        ok = false;
      }
      set.onParent = m.who == "parent";
      if (std::string why = markNameProblem(m.name); !why.empty()) {
        error(DiagId::E0023, m.nameLoc, "mark name '" + m.name + "' " + why);
        ok = false;
      } else if (current) {
        current->marksSet.push_back({m.name, m.nameLoc});
      }
      if (m.amount && !markDuration(m, &set.forNs)) ok = false;
      if (m.until && *m.until != "exec") {
        auto &d = error(DiagId::E0023, m.untilLoc, "a mark lasts 'until exec', not until '" + *m.until + "'");
        d.help = "leave 'until' out for a mark that survives exec";
        ok = false;
      }
      set.untilExec = m.until.has_value();
      out.marks.push_back(std::move(set));
    }
    return ok;
  }

  // `for AMOUNT UNIT` in nanoseconds: a positive decimal amount of ms, s, m, h or d, at most a year.
  bool markDuration(const ast::MarkClause &m, uint64_t *ns) {
    uint64_t unit = durationUnitNs(m.unit);
    uint64_t amount = 0;
    const std::string &a = *m.amount;
    auto [ptr, ec] = std::from_chars(a.data(), a.data() + a.size(), amount, 10);
    if (!unit || ec != std::errc() || ptr != a.data() + a.size() || amount == 0 || amount > kMaxMarkNs / unit) {
      auto &d = error(DiagId::E0023, m.durationLoc, "'for " + a + m.unit + "' is not a duration a mark can last");
      d.help = "write a positive whole number of ms, s, m, h or d, at most a year: 'for 10m'";
      return false;
    }
    *ns = amount * unit;
    return true;
  }

  // E0024: a mark tested that no rule of the policy sets could never hold.
  void checkMarksSet(const CheckedPolicy &p) {
    std::set<std::string> set;
    for (const auto &m : p.marksSet) set.insert(m.name);
    for (const auto &t : p.marksTested)
      if (!set.count(t.name)) {
        auto &d = error(DiagId::E0024, t.loc, "no rule of policy '" + p.ir.name + "' sets mark '" + t.name + "'");
        std::vector<std::string> names(set.begin(), set.end());
        if (auto s = suggest(t.name, names); !s.empty()) d.help = "did you mean '" + s + "'?";
        else d.help = "set it in a rule: 'mark process \"" + t.name + "\"'";
      }
  }

  std::optional<ir::Rule> checkRule(const ast::RuleDecl &r, const Scope *scope) {
    HookCtx hook;
    std::vector<ir::KprobeArg> kprobeArgsOfRule;
    if (r.hook == "kprobe") {
      hook.hook = &Catalogue::get().hook(HookId::KPROBE);
      std::string err;
      auto args = kprobeArgs(opts.btfPath, r.kprobeFunction, &err);
      if (!args) {
        error(DiagId::E0020, r.hookLoc, err);
        return std::nullopt;
      }
      kprobeArgsOfRule = *args;
      for (const auto &a : *args) hook.kprobeFields.push_back(a.field);
    } else {
      hook.hook = Catalogue::get().findHook(r.hook);
      if (!hook.hook || hook.hook->id == HookId::KPROBE) {
        auto &d = error(DiagId::E0003, r.hookLoc, "unknown hook '" + r.hook + "'");
        std::vector<std::string> names;
        for (const auto &h : Catalogue::get().hooks())
          if (h.id != HookId::KPROBE) names.emplace_back(h.name);
        if (auto s = suggest(r.hook, names); !s.empty()) d.help = "did you mean '" + s + "'?";
        return std::nullopt;
      }
    }
    ir::Rule out;
    out.name = r.name;
    out.hook = hook.hook->id;
    out.kprobeFunction = r.kprobeFunction;
    out.kprobeArgs = std::move(kprobeArgsOfRule);
    out.loc = toIrLoc(sm, r.nameLoc);
    out.action = r.action == ast::ActionKind::Allow ? ir::Action::Allow
                 : r.action == ast::ActionKind::Deny ? ir::Action::Deny
                 : r.action == ast::ActionKind::Audit ? ir::Action::Audit
                                                      : ir::Action::Kill;
    out.decides = r.hasAction;
    if (!r.hasAction) out.action = ir::Action::Allow;  // never decides; the rule table says allow
    bool ok = checkMarks(r, out);
    if (r.hasAction && !hook.hook->canPrevent() && (r.action == ast::ActionKind::Deny || r.action == ast::ActionKind::Allow)) {
      auto &d = error(DiagId::E0010, r.actionLoc, std::string("'") + ast::actionSpelling(r.action) + "' needs a hook that can prevent the action; '" +
                                                        (r.hook == "kprobe" ? "kprobe \"" + r.kprobeFunction + "\"" : r.hook) + "' can only observe");
      d.help = "use 'audit', or 'kill' (which does not stop the call it fired on)";
      ok = false;
    }
    if (r.when) {
      auto c = checkCond(*r.when, scope, hook);
      if (!c) ok = false;
      else out.cond = std::move(*c);
    } else {
      out.cond = makeTrue();
    }
    if (r.message) {
      out.message = *r.message;
      size_t before = diags.errorCount();
      checkMessage(r, hook);
      if (diags.errorCount() != before) ok = false;
    }
    if (!ok) return std::nullopt;
    return out;
  }

  SemaResult run(const std::vector<const ast::File *> &files) {
    SemaResult result;
    std::map<std::string, SourceLoc> policyNames;
    for (const ast::File *f : files) {
      auto scope = std::make_unique<Scope>();
      scope->file = f->id;
      Scope *fs = scope.get();
      scopes.push_back(std::move(scope));
      addImports(*fs, *f, 0);
      // A file without policies is a library: its declarations are there to be imported.
      fs->isModule = std::none_of(f->items.begin(), f->items.end(),
                                  [](const ast::TopItem &i) { return i.kind == ast::TopItem::Kind::Policy; });
      for (const auto &item : f->items)
        if (item.kind == ast::TopItem::Kind::Decl) addDecl(*fs, *item.decl);
      checkMacroCycles(*fs);
      for (const auto &[alias, ms] : fs->modules) checkMacroCycles(*ms);
      for (const auto &item : f->items) {
        if (item.kind != ast::TopItem::Kind::Policy) continue;
        const auto &p = *item.policy;
        if (auto [it, ins] = policyNames.emplace(p.name, p.nameLoc); !ins) {
          auto &d = error(DiagId::E0009, p.nameLoc, "policy '" + p.name + "' is already declared");
          d.notes.push_back({it->second, "previous declaration is here"});
          continue;
        }
        result.policies.push_back(checkPolicy(p, *fs));
      }
      // Values of declarations nobody uses are still checked (a bad literal is an error anywhere).
      for (const auto &[name, d] : fs->decls)
        if (d->kind != ast::Decl::Kind::Macro) declValue(*d);
    }
    for (const auto &[file, ms] : moduleScopes)
      for (const auto &[name, d] : ms->decls)
        if (d->kind != ast::Decl::Kind::Macro) declValue(*d);
    result.facts = std::move(facts);
    return result;
  }
};

Sema::Sema(const SourceManager &sm, DiagnosticEngine &diags, ModuleLoader &modules, SemaOptions opts)
    : impl_(std::make_unique<Impl>(sm, diags, modules, std::move(opts))) {}
Sema::~Sema() = default;
SemaResult Sema::check(const std::vector<const ast::File *> &files) { return impl_->run(files); }

} // namespace bulwark
