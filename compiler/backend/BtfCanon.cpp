#include "BtfCanon.h"

#include "ByteIo.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <tuple>

namespace bulwark::backend {

namespace {

enum : uint32_t {
  kInt = 1, kPtr, kArray, kStruct, kUnion, kEnum, kFwd, kTypedef, kVolatile, kConst, kRestrict,
  kFunc, kFuncProto, kVar, kDatasec, kFloat, kDeclTag, kTypeTag, kEnum64
};

struct Type {
  size_t off;  // byte offset of struct btf_type within the type section
  uint32_t kind, vlen;
  size_t size; // bytes including trailing data
};

bool findSection(const std::vector<uint8_t> &elf, const char *want, size_t &off, size_t &size) {
  if (elf.size() < 64 || std::memcmp(elf.data(), "\x7f" "ELF", 4) || elf[4] != 2 || elf[5] != 1)
    return false;
  uint64_t shoff = rd<uint64_t>(&elf[0x28]);
  uint16_t shentsize = rd<uint16_t>(&elf[0x3a]), shnum = rd<uint16_t>(&elf[0x3c]),
           shstrndx = rd<uint16_t>(&elf[0x3e]);
  if (shoff + static_cast<uint64_t>(shnum) * shentsize > elf.size() || shstrndx >= shnum)
    return false;
  auto sh = [&](int i) { return &elf[shoff + static_cast<size_t>(i) * shentsize]; };
  uint64_t strOff = rd<uint64_t>(sh(shstrndx) + 24);
  for (int i = 0; i < shnum; ++i) {
    uint32_t name = rd<uint32_t>(sh(i));
    if (strOff + name >= elf.size())
      continue;
    if (!std::strcmp(reinterpret_cast<const char *>(&elf[strOff + name]), want)) {
      off = rd<uint64_t>(sh(i) + 24);
      size = rd<uint64_t>(sh(i) + 32);
      return off + size <= elf.size();
    }
  }
  return false;
}

// The BTF section of an object, in place.
struct Btf {
  uint8_t *types = nullptr, *strs = nullptr;
  uint32_t typeLen = 0, strLen = 0;
  std::vector<Type> ts;  // ts[i] is type id i + 1

  std::string nameAt(uint32_t off) const {
    return off < strLen ? std::string(reinterpret_cast<const char *>(strs + off)) : std::string();
  }
};

// Finds the .BTF section of `elf` and checks its header; nullptr or the error.
const char *readHeader(std::vector<uint8_t> &elf, Btf &btf) {
  size_t secOff, secSize;
  if (!findSection(elf, ".BTF", secOff, secSize))
    return "no .BTF section";
  uint8_t *sec = &elf[secOff];
  if (secSize < 24 || rd<uint16_t>(sec) != 0xeB9F)
    return "bad BTF header";
  uint32_t hdrLen = rd<uint32_t>(sec + 4), typeOff = rd<uint32_t>(sec + 8), strOff = rd<uint32_t>(sec + 16);
  btf.typeLen = rd<uint32_t>(sec + 12);
  btf.strLen = rd<uint32_t>(sec + 20);
  if (static_cast<size_t>(hdrLen) + strOff + btf.strLen > secSize ||
      static_cast<size_t>(hdrLen) + typeOff + btf.typeLen > secSize)
    return "BTF sections out of range";
  btf.types = sec + hdrLen + typeOff;
  btf.strs = sec + hdrLen + strOff;
  return nullptr;
}

// Fills btf.ts with the offset, kind and size of every type; nullptr or the error.
const char *readTypes(Btf &btf) {
  for (size_t p = 0; p < btf.typeLen;) {
    if (p + 12 > btf.typeLen)
      return "truncated BTF type";
    uint32_t info = rd<uint32_t>(btf.types + p + 4);
    Type t{p, (info >> 24) & 0x1f, info & 0xffff, 12};
    switch (t.kind) {
    case kInt: case kVar: case kDeclTag: t.size += 4; break;
    case kArray: t.size += 12; break;
    case kStruct: case kUnion: case kDatasec: case kEnum64: t.size += 12ull * t.vlen; break;
    case kEnum: case kFuncProto: t.size += 8ull * t.vlen; break;
    case kPtr: case kFwd: case kTypedef: case kVolatile: case kConst: case kRestrict: case kFunc:
    case kFloat: case kTypeTag: break;
    default: return "unknown BTF kind";
    }
    btf.ts.push_back(t);
    p += t.size;
  }
  return nullptr;
}

// Calls ref(i, p) for every type id field p of types 0..first-1 and str(off) for every name
// offset they hold.
template <typename Ref, typename Str>
void forEachField(const Btf &btf, size_t first, Ref &&ref, Str &&str) {
  for (size_t i = 0; i < first; ++i) {
    uint8_t *t = btf.types + btf.ts[i].off;
    uint8_t *x = t + 12;
    uint32_t vlen = btf.ts[i].vlen;
    str(rd<uint32_t>(t));
    switch (btf.ts[i].kind) {
    case kPtr: case kTypedef: case kVolatile: case kConst: case kRestrict: case kFunc:
    case kVar: case kDeclTag: case kTypeTag: case kFuncProto:
      ref(i, t + 8);
      break;
    default: break;
    }
    switch (btf.ts[i].kind) {
    case kArray: ref(i, x); ref(i, x + 4); break;
    case kStruct: case kUnion:
      for (uint32_t k = 0; k < vlen; ++k) {
        str(rd<uint32_t>(x + 12 * k));
        ref(i, x + 12 * k + 4);
      }
      break;
    case kEnum:
      for (uint32_t k = 0; k < vlen; ++k)
        str(rd<uint32_t>(x + 8 * k));
      break;
    case kEnum64:
      for (uint32_t k = 0; k < vlen; ++k)
        str(rd<uint32_t>(x + 12 * k));
      break;
    case kFuncProto:
      for (uint32_t k = 0; k < vlen; ++k) {
        str(rd<uint32_t>(x + 8 * k));
        ref(i, x + 8 * k + 4);
      }
      break;
    case kDatasec:
      for (uint32_t k = 0; k < vlen; ++k)
        ref(i, x + 12 * k);
      break;
    default: break;
    }
  }
}

// The new order of the trailing FWD block (types first..n-1): by name, kind (struct or
// union), then first referrer. The first referrer (a deterministic id) breaks ties between
// equal names, which occur when linked modules carry their own copies of a kernel struct.
std::vector<size_t> fwdOrder(const Btf &btf, size_t first) {
  std::map<uint32_t, uint32_t> firstRef;
  forEachField(
      btf, first,
      [&](size_t i, uint8_t *p) {
        uint32_t id = rd<uint32_t>(p);
        if (id > first && !firstRef.count(id))
          firstRef[id] = static_cast<uint32_t>(i + 1);
      },
      [](uint32_t) {});
  std::vector<size_t> order(btf.ts.size() - first);
  for (size_t i = 0; i < order.size(); ++i)
    order[i] = first + i;
  auto key = [&](size_t i) {
    const uint8_t *t = btf.types + btf.ts[i].off;
    auto r = firstRef.find(static_cast<uint32_t>(i + 1));
    return std::make_tuple(btf.nameAt(rd<uint32_t>(t)), rd<uint32_t>(t + 4) >> 31,
                           r == firstRef.end() ? 0u : r->second);
  };
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return key(a) < key(b); });
  return order;
}

// Points the references of types before the FWD block at the FWDs' new ids; returns where
// the string tail of FWD names starts (past the last string a non-FWD type names).
size_t remapReferences(const Btf &btf, size_t first, const std::vector<size_t> &order) {
  std::map<uint32_t, uint32_t> newId;  // old id -> new id
  for (size_t i = 0; i < order.size(); ++i)
    newId[static_cast<uint32_t>(order[i] + 1)] = static_cast<uint32_t>(first + i + 1);
  size_t cut = 0;
  forEachField(
      btf, first,
      [&](size_t, uint8_t *p) {
        auto it = newId.find(rd<uint32_t>(p));
        if (it != newId.end())
          wr<uint32_t>(p, it->second);
      },
      [&](uint32_t off) {
        if (off && off < btf.strLen)
          cut = std::max(cut, off + std::strlen(reinterpret_cast<const char *>(btf.strs + off)) + 1);
      });
  return cut;
}

// Rewrites the FWD block and the string tail from `cut` in the new order; nullptr or the
// error.
const char *rewriteFwdBlock(const Btf &btf, size_t first, const std::vector<size_t> &order, size_t cut) {
  std::vector<uint8_t> block;
  std::vector<char> tail;
  std::map<std::string, uint32_t> tailOff;
  for (size_t i : order) {
    const uint8_t *t = btf.types + btf.ts[i].off;
    uint8_t rec[12];
    std::memcpy(rec, t, 12);
    uint32_t nameOff = rd<uint32_t>(t);
    if (nameOff >= cut) {
      std::string s = btf.nameAt(nameOff);
      auto it = tailOff.find(s);
      if (it == tailOff.end()) {
        it = tailOff.emplace(s, static_cast<uint32_t>(cut + tail.size())).first;
        tail.insert(tail.end(), s.begin(), s.end());
        tail.push_back('\0');
      }
      wr<uint32_t>(rec, it->second);
    }
    block.insert(block.end(), rec, rec + 12);
  }
  if (cut + tail.size() != btf.strLen)
    return "string table tail is not made of forward-declaration names only";
  std::memcpy(btf.types + btf.ts[first].off, block.data(), block.size());
  std::memcpy(btf.strs + cut, tail.data(), tail.size());
  return nullptr;
}

} // namespace

bool canonicalizeBtf(std::vector<uint8_t> &elf, std::string *error) {
  Btf btf;
  const char *err = readHeader(elf, btf);
  if (!err)
    err = readTypes(btf);
  if (!err) {
    size_t first = btf.ts.size();  // first id - 1 of the trailing FWD block
    while (first > 0 && btf.ts[first - 1].kind == kFwd)
      --first;
    if (first == btf.ts.size())
      return true;  // no forward declarations
    // FWDs before the trailing block come from declarations in the debug info (a struct
    // member pointing at a type the templates never define, e.g. super_block.s_mtd); LLVM
    // emits those in visit order, which is deterministic, so they stay where they are.
    std::vector<size_t> order = fwdOrder(btf, first);
    err = rewriteFwdBlock(btf, first, order, remapReferences(btf, first, order));
  }
  if (err && error)
    *error = err;
  return !err;
}

bool definedComposites(std::vector<uint8_t> &elf, std::set<std::string> &names, std::string *error) {
  Btf btf;
  const char *err = readHeader(elf, btf);
  if (!err)
    err = readTypes(btf);
  if (err) {
    if (error)
      *error = err;
    return false;
  }
  for (const Type &t : btf.ts)
    if ((t.kind == kStruct || t.kind == kUnion) && t.vlen > 0)
      names.insert(btf.nameAt(rd<uint32_t>(btf.types + t.off)));
  return true;
}

bool sameBtf(const std::vector<uint8_t> &a, const std::vector<uint8_t> &b, std::string *error) {
  for (const char *name : {".BTF", ".BTF.ext"}) {
    size_t aOff, aSize, bOff, bSize;
    if (!findSection(a, name, aOff, aSize) || !findSection(b, name, bOff, bSize) || aSize != bSize ||
        std::memcmp(&a[aOff], &b[bOff], aSize) != 0) {
      if (error)
        *error = std::string(name) + " differs";
      return false;
    }
  }
  return true;
}

} // namespace bulwark::backend
