// Policies chained on one event share its scratch event: a field one of them extracted in full
// is not extracted again by the next, a field taken as its object alone is built in full by the
// next policy that needs it, what the shared hints say about the object is worked out once and
// completed by the policy that needs more of it, and nothing of an earlier event is ever read as
// this one's. In one lane, rt_shared_object (an exact identity group: the object and its own
// facts only) runs before rt_shared_glob (a glob: the path string), which runs before
// rt_shared_prefix (a prefix identity group: the ancestors' facts): a load puts its policy at
// the head of its lane, so they are loaded in the reverse order.
#include <gtest/gtest.h>

#include <regex>

#include "RuntimeVmUtil.h"

namespace bulwark::rttest {
namespace {

const std::string kDir = "/tmp/bw-sh";

class SharedEvent : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_TRUE(guest::InGuest());
    for (const char *d : {"/a", "/b", "/p/deep/er"})
      std::filesystem::create_directories(kDir + d);
    for (const char *f : {"/a/listed", "/a/ok", "/a/deny_1", "/b/deny_2", "/b/ok", "/p/f", "/p/deep/er/f"})
      guest::WriteFile(kDir + f, "data");
    auto prefix = Bulwark(root, {"load", guest::GuestFile("rt-shared-prefix.bwb")});
    ASSERT_EQ(prefix.exit_code, 0) << prefix.output;
    auto glob = Bulwark(root, {"load", guest::GuestFile("rt-shared-glob.bwb")});
    ASSERT_EQ(glob.exit_code, 0) << glob.output;
    auto object = Bulwark(root, {"load", guest::GuestFile("rt-shared-object.bwb")});
    ASSERT_EQ(object.exit_code, 0) << object.output;
    Bulwark(root, {"events"});  // drain
  }
  void TearDown() override {
    Bulwark(root, {"unload", "rt_shared_glob"});
    Bulwark(root, {"unload", "rt_shared_object"});
    Bulwark(root, {"unload", "rt_shared_prefix"});
    std::filesystem::remove_all(kDir);
  }
  PinRoot root;
};

// Both policies are chained in one lane (the premise of the tests below).
TEST_F(SharedEvent, BothPoliciesAreInOneLane) {
  auto st = Bulwark(root, {"status", "--format", "json"});
  ASSERT_EQ(st.exit_code, 0) << st.output;
  std::smatch a, b;
  ASSERT_TRUE(std::regex_search(st.output, a, std::regex(R"("policy":"rt_shared_object","slot":[0-9]+,"lane":([0-9]+))")))
      << st.output;
  ASSERT_TRUE(std::regex_search(st.output, b, std::regex(R"("policy":"rt_shared_glob","slot":[0-9]+,"lane":([0-9]+))")))
      << st.output;
  EXPECT_EQ(a[1], b[1]);
  std::smatch c;
  ASSERT_TRUE(std::regex_search(st.output, c, std::regex(R"("policy":"rt_shared_prefix","slot":[0-9]+,"lane":([0-9]+))")))
      << st.output;
  EXPECT_EQ(a[1], c[1]);
}

// The last policy's prefix group reads the ancestors' facts that the exact group at the head of
// the lane did not need: a file below the listed directory is denied at any depth and after the
// directory moved away (its object, not its name); a file listed by the first policy in that
// directory is denied by it; files beside them open.
TEST_F(SharedEvent, ALaterPolicyCompletesTheObjectsFacts) {
  EXPECT_EQ(guest::OpenErrno(kDir + "/p/f"), EPERM);
  EXPECT_EQ(guest::OpenErrno(kDir + "/p/deep/er/f"), EPERM);
  EXPECT_EQ(guest::OpenErrno(kDir + "/a/ok"), 0);  // control: an exact lookup and no ancestor
  EXPECT_EQ(guest::OpenErrno(kDir + "/a/listed"), EPERM);
  std::filesystem::rename(kDir + "/p", kDir + "/b/moved");
  EXPECT_EQ(guest::OpenErrno(kDir + "/b/moved/deep/er/f"), EPERM) << "the directory, not its name";
  EXPECT_EQ(guest::OpenErrno(kDir + "/b/ok"), 0);
  auto ev = Bulwark(root, {"events", "--format", "json"});
  ASSERT_EQ(ev.exit_code, 0) << ev.output;
  EXPECT_NE(ev.output.find("\"policy\":\"rt_shared_prefix\",\"rule\":\"deny_below\""), std::string::npos) << ev.output;
}

// The glob policy builds the string the object policy before it left unbuilt; the listed file
// is denied by its object; other files open.
TEST_F(SharedEvent, EachPolicyDecidesOnTheFieldsItNeeds) {
  EXPECT_EQ(guest::OpenErrno(kDir + "/a/deny_1"), EPERM);  // glob, after an object-only policy
  EXPECT_EQ(guest::OpenErrno(kDir + "/a/listed"), EPERM);  // object
  EXPECT_EQ(guest::OpenErrno(kDir + "/a/ok"), 0);          // control
  EXPECT_EQ(guest::OpenErrno(kDir + "/b/deny_2"), EPERM);
  EXPECT_EQ(guest::OpenErrno(kDir + "/b/ok"), 0);
  auto ev = Bulwark(root, {"events", "--format", "json"});
  ASSERT_EQ(ev.exit_code, 0) << ev.output;
  EXPECT_NE(ev.output.find("\"policy\":\"rt_shared_glob\",\"rule\":\"deny_globbed\""), std::string::npos) << ev.output;
  EXPECT_NE(ev.output.find("\"object\":\"" + kDir + "/a/deny_1\""), std::string::npos) << ev.output;
  EXPECT_NE(ev.output.find("\"object\":\"" + kDir + "/b/deny_2\""), std::string::npos) << ev.output;
  EXPECT_NE(ev.output.find("\"policy\":\"rt_shared_object\",\"rule\":\"deny_listed\""), std::string::npos) << ev.output;
  EXPECT_EQ(ev.output.find("\"object\":\"" + kDir + "/a/ok\""), std::string::npos) << ev.output;
}

// Denied and allowed opens alternate: an event never reads the fields of the one before it
// (a stale path would deny the allowed file after a denied one, or allow the reverse).
TEST_F(SharedEvent, NoEventReadsTheFieldsOfAnEarlierOne) {
  const std::pair<std::string, int> opens[] = {
      {"/a/deny_1", EPERM}, {"/a/ok", 0}, {"/a/listed", EPERM}, {"/b/ok", 0},
      {"/b/deny_2", EPERM}, {"/a/ok", 0}, {"/a/listed", EPERM}, {"/a/deny_1", EPERM},
      {"/p/deep/er/f", EPERM}, {"/b/ok", 0}, {"/p/f", EPERM}, {"/a/ok", 0},
  };
  for (int round = 0; round < 25; ++round)
    for (const auto &[file, want] : opens)
      ASSERT_EQ(guest::OpenErrno(kDir + file), want) << file << " in round " << round;
}

} // namespace
} // namespace bulwark::rttest
