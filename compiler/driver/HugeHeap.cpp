#include "HugeHeap.h"

#include <unistd.h>

#include <cstdlib>
#include <string>

namespace bulwark {

void preferHugePages(char **argv) {
  constexpr const char *kTunable = "glibc.malloc.hugetlb=1:glibc.malloc.mxfast=0";
  const char *now = std::getenv("GLIBC_TUNABLES");
  std::string tunables = now ? now : "";
  if (tunables.find("glibc.malloc.hugetlb") != std::string::npos)
    return;
  tunables = tunables.empty() ? kTunable : tunables + ":" + kTunable;
  if (setenv("GLIBC_TUNABLES", tunables.c_str(), 1) != 0)
    return;
  execv("/proc/self/exe", argv);
  // Still here: the exec failed; go on with the heap as it is, the variable left set so that
  // nothing tries again.
}

} // namespace bulwark
