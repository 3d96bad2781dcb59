// tables.bin: the bundle's bulk data that no person reads line by line — the rule table and
// the identity groups' path lists — in a binary file beside manifest.yaml (parsing them as
// YAML was most of a 10,000-rule load). Layout (little-endian u32s; a string is its u32
// byte length, then its bytes; a mark list is its u32 count, then per mark its name (a
// string) and its u64 id):
//
//   "BWTB"  version  rule_count  rule_fields  group_count
//   rule_count  x  the fields of kRuleFields (Tables.cpp), in order
//   group_count x  path_count, path_count strings (the manifest's identity groups, in order)
//
// Every read is bounds-checked; a count larger than the bytes left, a wrong magic or version,
// an unknown action or trailing bytes is an error that names it.
#pragma once

#include "Bundle.h"

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace bulwark::bundle {

constexpr const char *kTablesFile = "tables.bin";
constexpr uint32_t kTablesVersion = 1;

std::vector<uint8_t> writeTables(const Manifest &m);

// Fills m.rules and the paths of m.identity (whose groups the manifest listed already); the
// counts must be the manifest's (ruleCount, pathCount).
bool readTables(std::span<const uint8_t> bytes, Manifest &m, std::string *error);

} // namespace bulwark::bundle
