// Parsing and validation of literal values whose syntax the grammar leaves loose:
// addresses, CIDRs, paths. Each returns an error message instead of throwing.
#pragma once

#include "PolicyIr.h"

#include <optional>
#include <string>
#include <string_view>

namespace bulwark {

// Parses "10.0.0.1", "::1", "10.0.0.0/8", "fe80::/10" into the mapped 128-bit form.
// A plain address is a /32 (IPv4) or /128 (IPv6). Host bits below the prefix are an error.
std::optional<ir::Cidr> parseCidr(std::string_view text, std::string *error);

// Formats a CIDR back in its natural family: "10.0.0.0/8", "fe80::/10", "::1".
std::string formatCidr(const ir::Cidr &c);

// An absolute path without NUL, shorter than PATH_MAX. Error message when not.
std::optional<std::string> checkPathLiteral(std::string_view path);

// True when a path literal has `//`, `.`/`..` segments or a trailing `/` (lint W0106).
bool isNonCanonicalPath(std::string_view path);

constexpr size_t kPathMax = 4096;

} // namespace bulwark
