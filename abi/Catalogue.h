// C++ view of the hook catalogue (hooks.def) and the enum/flag tables (enums.def).
// Sema, the back end and the docs generator all read hooks through this one table.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace bulwark {

enum class HookId : uint32_t {
#define BW_HOOK(id, name, kind, attach, summary) id,
#include "hooks.def"
  Count
};

enum class HookKind { Lsm, Kprobe };

// The type a field has in the language. Base types first, then one per enums.def entry.
enum class FieldType : uint32_t {
  BOOL, INT, STRING, PATH, UID, GID, PORT, IP,
#define BW_ENUM(type, name, is_flags) type,
#include "enums.def"
};

enum class SlotKind { Int, Addr, Str };

struct FieldInfo {
  std::string_view name;     // "file.path"
  std::string_view cid;      // "file_path"
  FieldType type;
  SlotKind slotKind;
  uint32_t slot;
  std::string_view summary;
  bool common;
};

struct HookInfo {
  HookId id;
  std::string_view key;     // "FILE_OPEN": the id in hooks.def, suffix of per-hook BPF names
  std::string_view name;    // "file.open"
  HookKind kind;
  std::string_view attach;  // LSM hook name ("file_open"); empty for kprobe
  std::string_view summary;
  std::vector<FieldInfo> fields;  // common fields first, then the hook's own

  bool canPrevent() const { return kind == HookKind::Lsm; }
};

struct Enumerator {
  std::string_view name;
  int64_t value;
};

struct EnumInfo {
  FieldType type;
  std::string_view name;  // "open_flags"
  bool isFlags;
  std::vector<Enumerator> values;
};

class Catalogue {
public:
  static const Catalogue &get();

  std::span<const HookInfo> hooks() const { return hooks_; }
  const HookInfo &hook(HookId id) const { return hooks_[static_cast<size_t>(id)]; }
  const HookInfo *findHook(std::string_view name) const;  // the first hook of that name
  // Further attach points of the same language hook (catalogue entries repeating its name).
  std::vector<const HookInfo *> companions(HookId primary) const;
  const FieldInfo *findField(HookId hook, std::string_view name) const;
  std::span<const EnumInfo> enums() const { return enums_; }
  const EnumInfo *findEnum(FieldType type) const;
  // Finds an enumerator by name in any enum (enumerator names are globally unique).
  const EnumInfo *findEnumerator(std::string_view name, int64_t *value) const;

  // Fields of a `kprobe "fn"` hook are built from kernel BTF; see sema/KprobeTypes.
  static std::string_view typeName(FieldType t);

private:
  Catalogue();
  std::vector<HookInfo> hooks_;
  std::vector<EnumInfo> enums_;
};

} // namespace bulwark
