// What `top` shows of the live processes per mark (LiveMarks.h): a policy's marks, with their
// counts, 0 included; nothing for a policy without marks; ids no instance names stay out.
#include "LiveMarks.h"

#include <gtest/gtest.h>

namespace bulwark::rt {
namespace {

LiveMarks sample() {
  LiveMarks lm;
  lm.marks = {{1, "seq_expiry", "touched_10s", 0},  {2, "seq_expiry", "touched_long", 3},
              {3, "web_shell", "spawned_by_web", 1}, {4, "", "", 2}};
  lm.processes = 6;
  return lm;
}

TEST(LiveMarks, TopLineListsThePolicysMarks) {
  EXPECT_EQ(topMarksLine(sample(), "seq_expiry"), "seq_expiry: live processes per mark: touched_10s 0, touched_long 3");
  EXPECT_EQ(topMarksLine(sample(), "web_shell"), "web_shell: live processes per mark: spawned_by_web 1");
  EXPECT_EQ(topMarksLine(sample(), "no_marks"), "");
  EXPECT_EQ(topMarksLine(sample(), ""), "");  // an id no instance names belongs to no policy
}

TEST(LiveMarks, TopJsonListsThePolicysMarks) {
  auto json = [](const std::string &policy) {
    JsonWriter w(false);
    w.beginObject().key("policy").value(policy);
    topMarksJson(w, sample(), policy);
    w.endObject();
    return w.str();
  };
  EXPECT_EQ(json("seq_expiry"), R"({"policy":"seq_expiry","live_marks":[{"mark":"touched_10s","processes":0},)"
                                R"({"mark":"touched_long","processes":3}]})");
  EXPECT_EQ(json("no_marks"), R"({"policy":"no_marks"})");
}

} // namespace
} // namespace bulwark::rt
