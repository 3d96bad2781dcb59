#include "Types.h"

namespace bulwark {

bool Type::isFlags() const {
  if (kind != TypeKind::Enum) return false;
  const EnumInfo *e = Catalogue::get().findEnum(enumType);
  return e && e->isFlags;
}

Type typeOfField(FieldType f) {
  switch (f) {
  case FieldType::BOOL: return Type::of(TypeKind::Bool);
  case FieldType::INT: return Type::of(TypeKind::Int);
  case FieldType::STRING: return Type::of(TypeKind::String);
  case FieldType::PATH: return Type::of(TypeKind::Path);
  case FieldType::UID: return Type::of(TypeKind::Uid);
  case FieldType::GID: return Type::of(TypeKind::Gid);
  case FieldType::PORT: return Type::of(TypeKind::Port);
  case FieldType::IP: return Type::of(TypeKind::Ip);
  default: return Type::ofEnum(f);
  }
}

static const char *kindName(TypeKind k) {
  switch (k) {
  case TypeKind::Error: return "<error>";
  case TypeKind::Bool: return "bool";
  case TypeKind::Int: return "int";
  case TypeKind::String: return "string";
  case TypeKind::Path: return "path";
  case TypeKind::Uid: return "uid";
  case TypeKind::Gid: return "gid";
  case TypeKind::Port: return "port";
  case TypeKind::Ip: return "ip";
  case TypeKind::Cidr: return "cidr";
  case TypeKind::Enum: return "enum";
  case TypeKind::List: return "list";
  }
  return "?";
}

std::string typeName(const Type &t) {
  if (t.kind == TypeKind::Enum)
    return std::string(Catalogue::typeName(t.enumType));
  if (t.kind == TypeKind::List)
    return "list of " + typeName(t.element());
  if (t.literal && t.kind == TypeKind::String)
    return "string";
  return kindName(t.kind);
}

Type parseTypeName(const std::string &name) {
  for (auto k : {TypeKind::Bool, TypeKind::Int, TypeKind::String, TypeKind::Path, TypeKind::Uid, TypeKind::Gid,
                 TypeKind::Port, TypeKind::Ip, TypeKind::Cidr})
    if (name == kindName(k))
      return Type::of(k);
  for (const auto &e : Catalogue::get().enums())
    if (e.name == name)
      return Type::ofEnum(e.type);
  return Type::of(TypeKind::Error);
}

} // namespace bulwark
