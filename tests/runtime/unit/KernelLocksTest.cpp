// The kernel locks' addresses read from kallsyms (runtime/src/KernelLocks.h): the exact names
// of the core kernel only, in hex, whatever their symbol type; zeros when hidden or absent.
#include <gtest/gtest.h>

#include "KernelLocks.h"

namespace bulwark::rt {
namespace {

TEST(KernelLocks, TakesTheExactNamesOfTheCoreKernel) {
  auto k = parseKernelLocks("ffffffff81000000 T _text\n"
                            "ffffffff82a0b000 d my_rename_lock\n"
                            "ffffffff82a0b040 D rename_locks\n"
                            "ffffffffa6009600 D rename_lock\n"
                            "ffffffffc0001000 d mount_lock\t[some_module]\n"
                            "ffffffffa6009680 b mount_lock\n"
                            "ffffffffa6009700 D later_symbol");
  EXPECT_EQ(k.renameLock, 0xffffffffa6009600ull);
  EXPECT_EQ(k.mountLock, 0xffffffffa6009680ull);
}

TEST(KernelLocks, ALastLineWithoutNewlineCounts) {
  auto k = parseKernelLocks("ffffffffa6009600 D rename_lock\nffffffffa6009680 D mount_lock");
  EXPECT_EQ(k.mountLock, 0xffffffffa6009680ull);
}

TEST(KernelLocks, HiddenOrMissingAddressesAreUnknown) {
  auto hidden = parseKernelLocks("0000000000000000 D rename_lock\n0000000000000000 D mount_lock\n");
  EXPECT_EQ(hidden.renameLock, 0u);
  EXPECT_EQ(hidden.mountLock, 0u);
  auto bad = parseKernelLocks("zzzz D rename_lock\nffffffffa6009680 DX mount_lock\n\n garbage\n");
  EXPECT_EQ(bad.renameLock, 0u);
  EXPECT_EQ(bad.mountLock, 0u);
  EXPECT_EQ(parseKernelLocks("").renameLock, 0u);
}

} // namespace
} // namespace bulwark::rt
