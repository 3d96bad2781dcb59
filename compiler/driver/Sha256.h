// SHA-256 (FIPS 180-4) for the source digest a bundle records. Hex output.
#pragma once

#include <string>
#include <string_view>

namespace bulwark {
std::string sha256Hex(std::string_view data);
}
