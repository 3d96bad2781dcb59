// Types of the Bulwark language as sema sees them. Field types come from the catalogue;
// literals get a "literal" flag so `0` can be a uid and "/etc" a path.
#pragma once

#include "Catalogue.h"

#include <string>

namespace bulwark {

enum class TypeKind { Error, Bool, Int, String, Path, Uid, Gid, Port, Ip, Cidr, Enum, List };

struct Type {
  TypeKind kind = TypeKind::Error;
  FieldType enumType = FieldType::INT;  // TypeKind::Enum (and its list element)
  TypeKind elem = TypeKind::Error;      // TypeKind::List
  bool literal = false;                 // an untyped literal (or list of them)

  static Type of(TypeKind k, bool lit = false) { Type t; t.kind = k; t.literal = lit; return t; }
  static Type ofEnum(FieldType e) { Type t; t.kind = TypeKind::Enum; t.enumType = e; return t; }
  static Type listOf(const Type &e) {
    Type t;
    t.kind = TypeKind::List;
    t.elem = e.kind;
    t.enumType = e.enumType;
    t.literal = e.literal;
    return t;
  }
  Type element() const { Type t; t.kind = elem; t.enumType = enumType; t.literal = literal; return t; }
  bool isError() const { return kind == TypeKind::Error || (kind == TypeKind::List && elem == TypeKind::Error); }
  bool isIntegral() const {
    return kind == TypeKind::Int || kind == TypeKind::Uid || kind == TypeKind::Gid || kind == TypeKind::Port;
  }
  bool isStringy() const { return kind == TypeKind::String || kind == TypeKind::Path; }
  bool isFlags() const;
};

Type typeOfField(FieldType f);
std::string typeName(const Type &t);
// Parses a type name as written in `list x: path = ...`; Error when unknown.
Type parseTypeName(const std::string &name);

} // namespace bulwark
