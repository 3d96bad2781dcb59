// A test hook: BULWARK_FAULT names a point where the process dies (the VM crash tests).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unistd.h>

namespace bulwark::rt {

// Test hook: BULWARK_FAULT=<point> makes the process die at that point, as a crash would
// (no undo, no cleanup), so the VM tests can check what a later bulwark makes of it.
inline void faultPoint(const char *point) {
  const char *f = std::getenv("BULWARK_FAULT");
  if (f && std::strcmp(f, point) == 0) {
    std::fprintf(stderr, "bulwark: BULWARK_FAULT: dying at %s\n", point);
    ::_exit(70);
  }
}

} // namespace bulwark::rt
