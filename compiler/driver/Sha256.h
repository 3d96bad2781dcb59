// SHA-256 for the source digest a bundle records (libcrypto from OpenSSL). Hex output.
#pragma once

#include <string>
#include <string_view>

namespace bulwark {
std::string sha256Hex(std::string_view data);
}
