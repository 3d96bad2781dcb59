#include "Literals.h"

#include <arpa/inet.h>

#include <cstring>

namespace bulwark {

std::optional<ir::Cidr> parseCidr(std::string_view text, std::string *error) {
  std::string addr(text);
  int prefix = -1;
  if (auto slash = addr.find('/'); slash != std::string::npos) {
    std::string p = addr.substr(slash + 1);
    addr.resize(slash);
    if (p.empty() || p.size() > 3 || p.find_first_not_of("0123456789") != std::string::npos) {
      *error = "prefix length '" + p + "' is not a number";
      return std::nullopt;
    }
    prefix = std::stoi(p);
  }
  ir::Cidr c;
  in_addr v4;
  in6_addr v6;
  if (inet_pton(AF_INET, addr.c_str(), &v4) == 1) {
    if (prefix > 32) {
      *error = "IPv4 prefix length " + std::to_string(prefix) + " is longer than 32";
      return std::nullopt;
    }
    c.addr[10] = c.addr[11] = 0xff;
    std::memcpy(&c.addr[12], &v4, 4);
    c.prefixLen = 96 + static_cast<uint32_t>(prefix < 0 ? 32 : prefix);
  } else if (inet_pton(AF_INET6, addr.c_str(), &v6) == 1) {
    if (prefix > 128) {
      *error = "IPv6 prefix length " + std::to_string(prefix) + " is longer than 128";
      return std::nullopt;
    }
    std::memcpy(c.addr.data(), &v6, 16);
    c.prefixLen = static_cast<uint32_t>(prefix < 0 ? 128 : prefix);
  } else {
    *error = "'" + addr + "' is not an IPv4 or IPv6 address";
    return std::nullopt;
  }
  for (uint32_t bit = c.prefixLen; bit < 128; ++bit)
    if (c.addr[bit / 8] & (0x80 >> (bit % 8))) {
      *error = "host bits are set below the /" + std::to_string(prefix) + " prefix";
      return std::nullopt;
    }
  return c;
}

std::string formatCidr(const ir::Cidr &c) {
  static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  char buf[INET6_ADDRSTRLEN];
  if (std::memcmp(c.addr.data(), mapped, 12) == 0 && c.prefixLen >= 96) {
    inet_ntop(AF_INET, &c.addr[12], buf, sizeof buf);
    std::string s = buf;
    return c.prefixLen == 128 ? s : s + "/" + std::to_string(c.prefixLen - 96);
  }
  inet_ntop(AF_INET6, c.addr.data(), buf, sizeof buf);
  std::string s = buf;
  return c.prefixLen == 128 ? s : s + "/" + std::to_string(c.prefixLen);
}

std::optional<std::string> checkPathLiteral(std::string_view path) {
  if (path.empty() || path[0] != '/')
    return std::string("path '") + std::string(path) + "' is not absolute; the kernel reports absolute paths";
  if (path.find('\0') != std::string_view::npos)
    return std::string("path contains a NUL byte");
  if (path.size() >= kPathMax)
    return "path is " + std::to_string(path.size()) + " bytes long; the limit is PATH_MAX (4096) including the NUL";
  return std::nullopt;
}

bool isNonCanonicalPath(std::string_view path) {
  if (path.size() > 1 && path.back() == '/')
    return true;
  if (path.find("//") != std::string_view::npos)
    return true;
  size_t pos = 0;
  while (pos < path.size()) {
    size_t next = path.find('/', pos + 1);
    std::string_view seg = path.substr(pos + 1, (next == std::string_view::npos ? path.size() : next) - pos - 1);
    if (seg == "." || seg == "..")
      return true;
    if (next == std::string_view::npos)
      break;
    pos = next;
  }
  return false;
}

} // namespace bulwark
