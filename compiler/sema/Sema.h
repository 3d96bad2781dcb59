// Semantic analysis: resolves names (locals, file-level, imported modules, enum
// constants, hook fields), checks types and settings, expands lists/macros/constants,
// and lowers every policy into the policy IR. Facts that lint needs are recorded too.
#pragma once

#include "Ast.h"
#include "Diagnostic.h"
#include "ModuleLoader.h"
#include "PolicyIr.h"

#include <set>

namespace bulwark {

struct SemaOptions {
  std::string btfPath = "/sys/kernel/btf/vmlinux";  // for kprobe argument types
  size_t maxListEntries = 1000000;                  // one kernel map
};

// Facts recorded while checking, for lint.
struct SemaFacts {
  struct Literal {
    SourceLoc loc;
    std::string value;
  };
  std::vector<Literal> pathLiterals;  // used as an exact path or path prefix
  std::vector<Literal> globLiterals;  // used with `matches` on a path
  struct DuplicateEntry {
    SourceLoc loc, firstLoc;
    std::string value;
  };
  std::vector<DuplicateEntry> duplicateEntries;
  struct DeclUse {
    const ast::Decl *decl;
    FileId file;
    bool inModule;
  };
  std::vector<DeclUse> decls;
  std::set<const ast::Decl *> used;
  struct ConstantCond {
    SourceLoc loc;
    bool value;
    std::string why;
  };
  std::vector<ConstantCond> constantConds;
};

struct CheckedPolicy {
  const ast::PolicyDecl *ast = nullptr;
  FileId file = 0;
  ir::Policy ir;
  std::vector<const ast::RuleDecl *> rules;  // parallel to ir.rules
  // Marks by name where rules set them (`mark`) and where conditions test them (`has`).
  struct MarkUse {
    std::string name;
    SourceLoc loc;
  };
  std::vector<MarkUse> marksSet, marksTested;
};

struct SemaResult {
  std::vector<CheckedPolicy> policies;
  SemaFacts facts;
};

class Sema {
public:
  Sema(const SourceManager &sm, DiagnosticEngine &diags, ModuleLoader &modules, SemaOptions opts = {});
  ~Sema();
  // Files with syntax errors should not be passed in (their AST is partial).
  SemaResult check(const std::vector<const ast::File *> &files);

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

ir::SourceLoc toIrLoc(const SourceManager &sm, const SourceLoc &loc);

} // namespace bulwark
