#include "Ast.h"

namespace bulwark::ast {

const char *binaryOpSpelling(BinaryOp op) {
  switch (op) {
  case BinaryOp::Eq: return "==";
  case BinaryOp::Ne: return "!=";
  case BinaryOp::Lt: return "<";
  case BinaryOp::Le: return "<=";
  case BinaryOp::Gt: return ">";
  case BinaryOp::Ge: return ">=";
  case BinaryOp::In: return "in";
  case BinaryOp::StartsWith: return "startswith";
  case BinaryOp::EndsWith: return "endswith";
  case BinaryOp::Matches: return "matches";
  case BinaryOp::Has: return "has";
  case BinaryOp::And: return "and";
  case BinaryOp::Or: return "or";
  }
  return "?";
}

const char *actionSpelling(ActionKind a) {
  switch (a) {
  case ActionKind::Allow: return "allow";
  case ActionKind::Deny: return "deny";
  case ActionKind::Audit: return "audit";
  case ActionKind::Kill: return "kill";
  }
  return "?";
}

const std::string &Decl::name() const {
  switch (kind) {
  case Kind::List: return list->name;
  case Kind::Macro: return macro->name;
  case Kind::Const: return constant->name;
  }
  return list->name;
}

SourceLoc Decl::nameLoc() const {
  switch (kind) {
  case Kind::List: return list->nameLoc;
  case Kind::Macro: return macro->nameLoc;
  case Kind::Const: return constant->nameLoc;
  }
  return {};
}

SourceLoc Decl::loc() const {
  switch (kind) {
  case Kind::List: return list->loc;
  case Kind::Macro: return macro->loc;
  case Kind::Const: return constant->loc;
  }
  return {};
}

std::string Import::alias() const {
  auto dot = module.rfind('.');
  return dot == std::string::npos ? module : module.substr(dot + 1);
}

SourceLoc TopItem::loc() const { return kind == Kind::Policy ? policy->loc : decl->loc(); }

} // namespace bulwark::ast
