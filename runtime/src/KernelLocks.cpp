#include "KernelLocks.h"

#include "Bpf.h"

#include <charconv>
#include <fcntl.h>
#include <string>
#include <unistd.h>

namespace bulwark::rt {

namespace {

// One kallsyms line: sets the address of the lock it names, if any. Module symbols (a tab
// and "[module]" after the name) are never these.
void takeLine(std::string_view line, KernelLocks &out) {
  size_t space = line.find(' ');
  if (space == std::string_view::npos || line.size() < space + 3 || line[space + 2] != ' ')
    return;
  std::string_view name = line.substr(space + 3);
  uint64_t *slot = name == "rename_lock" ? &out.renameLock : name == "mount_lock" ? &out.mountLock : nullptr;
  if (!slot)
    return;
  uint64_t addr = 0;
  auto [end, ec] = std::from_chars(line.data(), line.data() + space, addr, 16);
  if (ec == std::errc() && end == line.data() + space)
    *slot = addr;
}

bool complete(const KernelLocks &k) { return k.renameLock && k.mountLock; }

// Feeds the complete lines of `text` to takeLine; returns how many bytes it used.
size_t takeLines(std::string_view text, KernelLocks &out) {
  size_t used = 0;
  for (size_t nl; !complete(out) && (nl = text.find('\n', used)) != std::string_view::npos; used = nl + 1)
    takeLine(text.substr(used, nl - used), out);
  return used;
}

KernelLocks readKernelLocks() {
  KernelLocks out;
  int raw = ::open("/proc/kallsyms", O_RDONLY | O_CLOEXEC);
  if (raw < 0)
    return out;
  Fd fd(raw);
  std::string buf;
  char chunk[1 << 16];
  for (ssize_t n; !complete(out) && (n = ::read(fd.get(), chunk, sizeof chunk)) > 0;) {
    buf.append(chunk, size_t(n));
    buf.erase(0, takeLines(buf, out));
  }
  return out;
}

} // namespace

KernelLocks parseKernelLocks(std::string_view kallsyms) {
  KernelLocks out;
  size_t used = takeLines(kallsyms, out);
  if (used < kallsyms.size())
    takeLine(kallsyms.substr(used), out);
  return out;
}

const KernelLocks &kernelLocks() {
  static const KernelLocks locks = readKernelLocks();
  return locks;
}

} // namespace bulwark::rt
