// The syntax tree of a Bulwark file. Built by parse/AstBuilder from the ANTLR parse
// tree, read by sema, lint and fmt. It keeps source order and locations; sema does not
// mutate it (types live in sema's own tables).
#pragma once

#include "SourceManager.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace bulwark::ast {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

enum class ExprKind {
  Name,       // qualified name: a field (file.path), module item (files.shadow), local name, enumerator
  String,     // "..." (text is the unescaped value)
  Int,        // 42, 0x1f, 0o644
  Bool,       // true / false
  Addr,       // 10.0.0.1, ::1, 10.0.0.0/8 (text as written)
  List,       // [a, b, c]
  Paren,      // ( e )
  Not,        // not e
  Binary,     // a op b
};

enum class BinaryOp { Eq, Ne, Lt, Le, Gt, Ge, In, StartsWith, EndsWith, Matches, Has, And, Or };

const char *binaryOpSpelling(BinaryOp op);

struct Expr {
  ExprKind kind;
  SourceLoc loc;       // whole expression
  SourceLoc opLoc;     // Binary: the operator token
  std::string text;    // Name: dotted name; String: value; Int/Addr/Bool: spelling
  std::string raw;     // String: the literal as written, with quotes and escapes
  int64_t intValue = 0;
  BinaryOp op = BinaryOp::Eq;
  std::vector<ExprPtr> kids;  // List elements, Paren/Not operand, Binary lhs/rhs
};

enum class ActionKind { Allow, Deny, Audit, Kill };
const char *actionSpelling(ActionKind a);

struct ListDecl {
  std::string name;
  SourceLoc loc, nameLoc;
  std::optional<std::string> typeName;
  SourceLoc typeLoc;
  ExprPtr value;  // ExprKind::List
};

struct MacroDecl {
  std::string name;
  SourceLoc loc, nameLoc;
  ExprPtr value;
};

struct ConstDecl {
  std::string name;
  SourceLoc loc, nameLoc;
  std::optional<std::string> typeName;
  SourceLoc typeLoc;
  ExprPtr value;
};

// `mark process "name" for 10m until exec`: sets a mark when the rule's condition holds.
struct MarkClause {
  SourceLoc loc;
  std::string who;          // "process" or "parent" (as written; sema validates)
  SourceLoc whoLoc;
  std::string name;         // unescaped
  SourceLoc nameLoc;
  std::optional<std::string> amount;  // `for AMOUNT UNIT`, as written
  std::string unit;
  SourceLoc durationLoc;    // the amount and its unit
  std::optional<std::string> until;  // `until exec`
  SourceLoc untilLoc;
};

struct RuleDecl {
  std::string name;
  SourceLoc loc, nameLoc;
  std::string hook;           // "file.open", or "kprobe" with kprobeFunction set
  std::string kprobeFunction;
  SourceLoc hookLoc;
  ExprPtr when;               // null: always
  bool hasAction = true;      // false: the rule only sets marks
  ActionKind action = ActionKind::Deny;
  SourceLoc actionLoc;
  std::optional<std::string> message;  // unescaped
  std::string messageRaw;
  SourceLoc messageLoc;
  std::vector<MarkClause> marks;  // in source order
};

struct Scope {
  std::string kind;  // host, cgroup, executable (as written; sema validates)
  SourceLoc loc, kindLoc;
  std::vector<std::pair<std::string, SourceLoc>> values;
};

// A declaration that can appear at file level or inside a policy.
struct Decl {
  enum class Kind { List, Macro, Const } kind;
  std::unique_ptr<ListDecl> list;
  std::unique_ptr<MacroDecl> macro;
  std::unique_ptr<ConstDecl> constant;
  const std::string &name() const;
  SourceLoc nameLoc() const;
  SourceLoc loc() const;
};

// One item of a policy body, in source order (the formatter keeps that order).
struct PolicyItem {
  enum class Kind { Description, Mode, Default, Scope, Decl, Rule } kind;
  SourceLoc loc;
  std::string value;       // Description (unescaped), Mode, Default
  std::string raw;         // Description as written
  SourceLoc valueLoc;
  std::unique_ptr<Scope> scope;
  std::unique_ptr<Decl> decl;
  std::unique_ptr<RuleDecl> rule;
};

struct PolicyDecl {
  std::string name;
  SourceLoc loc, nameLoc;
  SourceLoc endLoc;  // closing brace
  std::vector<PolicyItem> items;
};

struct Import {
  std::string module;  // "std.files"
  SourceLoc loc, moduleLoc;
  std::string alias() const;  // last component: "files"
};

struct TopItem {
  enum class Kind { Policy, Decl } kind;
  std::unique_ptr<PolicyDecl> policy;
  std::unique_ptr<Decl> decl;
  SourceLoc loc() const;
};

struct Comment {
  SourceLoc loc;
  std::string text;  // including '#'
};

struct File {
  FileId id = 0;
  std::vector<Import> imports;
  std::vector<TopItem> items;
  std::vector<Comment> comments;  // in source order, for the formatter
  bool hasSyntaxErrors = false;
};

} // namespace bulwark::ast
