// The runtime's hook table: a companion catalogue entry (a second attach point of one
// language hook) is shown as one hook with both attach points.
#include "Hooks.h"

#include <gtest/gtest.h>

namespace bulwark::rt {
namespace {

TEST(Hooks, CompanionAttachPointsGroupUnderOneHook) {
  const Hook *readFile = hookByAttach("kernel_read_file");
  const Hook *loadData = hookByAttach("kernel_load_data");
  const Hook *open = hookByAttach("file_open");
  ASSERT_TRUE(readFile && loadData && open);
  EXPECT_EQ(readFile->name, loadData->name);

  // Given in any order, grouped in catalogue order.
  auto uses = groupByHook({loadData, open, readFile});
  ASSERT_EQ(uses.size(), 2u);
  EXPECT_EQ(uses[0].name, "file.open");
  EXPECT_EQ(uses[0].attach, std::vector<std::string>{"file_open"});
  EXPECT_EQ(uses[1].name, "kernel.module_load");
  EXPECT_EQ(uses[1].attach, (std::vector<std::string>{"kernel_read_file", "kernel_load_data"}));
  EXPECT_EQ(hookNames(uses), (std::vector<std::string>{"file.open", "kernel.module_load"}));

  // Only the companion: still the hook's name.
  uses = groupByHook({loadData});
  ASSERT_EQ(uses.size(), 1u);
  EXPECT_EQ(uses[0].name, "kernel.module_load");
  EXPECT_EQ(uses[0].attach, std::vector<std::string>{"kernel_load_data"});
  EXPECT_TRUE(groupByHook({}).empty());
}

}  // namespace
}  // namespace bulwark::rt
