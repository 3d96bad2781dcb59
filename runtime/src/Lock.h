// The pin root lock: one writer (load/unload) at a time, readers share (flock on the
// pin root directory, held for the lifetime of the object).
#pragma once

#include "Bpf.h"
#include "Error.h"

#include <fcntl.h>
#include <sys/file.h>

#include <string>

namespace bulwark::rt {

class Lock {
public:
  Lock(const std::string &dir, bool exclusive) {
    fd_ = Fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd_)
      throw Error(Exit::Failed, "cannot open pin root " + dir + ": " + errnoText(errno));
    if (::flock(fd_.get(), exclusive ? LOCK_EX : LOCK_SH) != 0)
      throw Error(Exit::Failed, "cannot lock pin root " + dir + ": " + errnoText(errno));
  }

private:
  Fd fd_;
};

} // namespace bulwark::rt
