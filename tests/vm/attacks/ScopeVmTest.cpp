// Cgroup-scoped policies passed over before their tail call (bw_slot_scope): a dispatcher or a
// policy program's chain step tests the next policy's cgroup scope and skips a program that
// would decide nothing for the current task. A skip must never skip a decision: a process in
// the scope is still denied, every policy after a skipped one still decides, and a version
// whose scope is wider takes effect for everyone as soon as it is loaded, at whichever
// prog-array index an earlier, narrower version left its scope. As root and as uid 1000 in a
// user namespace, from the root cgroup and from each scope's cgroup.
//
// Lane (load order): attack_scope_a (cgroup bw-scope-a), attack_scope_host, attack_scope_b
// (cgroup bw-scope-b), attack_scope_last. Each denies opening its own file under /tmp/bw-scope.
#include <gtest/gtest.h>

#include <bpf/bpf.h>

#include "Attacker.h"
#include "bw_abi.h"

namespace bulwark::attacks {
namespace {

const std::string kBase = "/tmp/bw-scope";
const std::string kPinRoot = "/sys/fs/bpf/bw-scope";
const std::string kScopeA = "/sys/fs/cgroup/bw-scope-a";
const std::string kScopeB = "/sys/fs/cgroup/bw-scope-b";
const char *const kFiles[] = {"a", "host", "b", "last"};
const char *const kLane[] = {"attack_scope_a", "attack_scope_host", "attack_scope_b", "attack_scope_last"};

std::string Bundle(const std::string &name) { return guest::GuestFile("attack-bundles/" + name + ".bwb"); }

void Load(const std::string &bundle) {
  auto r = Bulwark(kPinRoot, {"load", bundle});
  ASSERT_EQ(r.exit_code, 0) << r.output;
}

class ScopedLane : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_TRUE(guest::InGuest());
    // RemoveProgram changes a prog array from this process, which the guard refuses to anyone
    // but the runtime (rt_vm_self_protect tests the guard).
    ::setenv("BULWARK_TEST_UNGUARDED", "1", 1);
    ASSERT_NO_THROW(FreshSharedDir(kBase));
    for (const char *f : kFiles)
      guest::WriteFile(kBase + "/" + f, "data\n"); /* before the loads: the rules name objects */
    for (const std::string &cg : {kScopeA, kScopeB}) {
      ASSERT_TRUE(mkdir(cg.c_str(), 0755) == 0 || errno == EEXIST) << cg << ": " << std::strerror(errno);
    }
    for (const char *p : kLane)
      ASSERT_NO_FATAL_FAILURE(Load(Bundle(p)));
  }
  void TearDown() override {
    for (const char *p : kLane)
      Bulwark(kPinRoot, {"unload", p});
    RemoveTree(kBase);
    rmdir(kScopeA.c_str());
    rmdir(kScopeB.c_str());
  }
};

// The four files' opens by `who` from `cgroup` (empty: the root cgroup), in kFiles order.
std::vector<int> OpensFrom(Who who, const std::string &cgroup) {
  return AsAttacker(
      who,
      [] {
        std::vector<int> got;
        for (const char *f : kFiles)
          got.push_back(OpenRead(kBase + "/" + f));
        return got;
      },
      cgroup);
}

// `got` against `want`, open i being of the file named names[i].
void Expect(const std::vector<int> &got, const std::vector<int> &want, Who who, const std::string &where,
            std::vector<std::string> names = {std::begin(kFiles), std::end(kFiles)}) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_EQ(Describe(got[i]), Describe(want[i])) << Name(who) << " in " << where << ", open of " << names.at(i);
}

// The slot of `policy` in `bulwark list --format json`, or -1.
int SlotOf(const std::string &policy) {
  auto r = Bulwark(kPinRoot, {"list", "--format", "json"});
  std::string key = "\"policy\":\"" + policy + "\",\"slot\":";
  auto at = r.output.find(key);
  return at == std::string::npos ? -1 : std::stoi(r.output.substr(at + key.size()));
}

// Takes the file_open program of `policy`'s active generation out of its prog array (as a
// tamperer with the guard off would); true when it was there.
bool RemoveProgram(const std::string &policy) {
  int slot = SlotOf(policy);
  int gens = bpf_obj_get((kPinRoot + "/shared/bw_gen").c_str());
  int progs = bpf_obj_get((kPinRoot + "/shared/bw_progs_FILE_OPEN").c_str());
  bw_u32 s = bw_u32(slot), gen = 0;
  bool removed = false;
  if (slot >= 0 && gens >= 0 && progs >= 0 && bpf_map_lookup_elem(gens, &s, &gen) == 0) {
    bw_u32 index = s * 2 + (gen & 1);
    removed = bpf_map_delete_elem(progs, &index) == 0;
  }
  for (int fd : {gens, progs})
    if (fd >= 0)
      close(fd);
  return removed;
}

class Scope : public ScopedLane, public ::testing::WithParamInterface<Who> {};

// Each process is denied what the policies whose scope holds it deny, and what the host
// policies deny, wherever in the lane the walk passed over a scoped one: at the head (a, from
// the dispatcher), in the middle (b, from attack_scope_host's chain step, before
// attack_scope_last).
TEST_P(Scope, APolicyPassedOverLeavesEveryOtherDecision) {
  Who who = GetParam();
  SKIP_IF_NO_USERNS(who);
  Expect(OpensFrom(who, ""), {0, EPERM, 0, EPERM}, who, "the root cgroup");
  Expect(OpensFrom(who, kScopeA), {EPERM, EPERM, 0, EPERM}, who, kScopeA);
  Expect(OpensFrom(who, kScopeB), {0, EPERM, EPERM, EPERM}, who, kScopeB);
}

// At the end of the lane: with attack_scope_last gone, the walk passes over b and ends in
// attack_scope_host, whose denial stands.
TEST_P(Scope, APolicyPassedOverAtTheEndLeavesTheVerdict) {
  Who who = GetParam();
  SKIP_IF_NO_USERNS(who);
  ASSERT_EQ(Bulwark(kPinRoot, {"unload", "attack_scope_last"}).exit_code, 0);
  Expect(OpensFrom(who, ""), {0, EPERM, 0, 0}, who, "the root cgroup");
  Expect(OpensFrom(who, kScopeB), {0, EPERM, EPERM, 0}, who, kScopeB);
}

// Widened to the host by a hot swap, attack_scope_a decides for every process at once; swapped
// again, its third version lands at the prog-array index where the scoped first one was, and
// still decides for everyone (the index's scope is written before its programs go in).
TEST_P(Scope, AWiderVersionDecidesForEveryoneAtOnce) {
  Who who = GetParam();
  SKIP_IF_NO_USERNS(who);
  for (const char *version : {"scope_v2", "scope_v3"}) {
    ASSERT_NO_FATAL_FAILURE(Load(guest::GuestFile(std::string("attack-bundles/") + version + "/attack_scope_a.bwb")));
    Expect(OpensFrom(who, ""), {EPERM, EPERM, 0, EPERM}, who, std::string("the root cgroup, ") + version);
    Expect(OpensFrom(who, kScopeB), {EPERM, EPERM, EPERM, EPERM}, who, std::string(kScopeB) + ", " + version);
  }
  ASSERT_NO_FATAL_FAILURE(Load(Bundle("attack_scope_a")));
  Expect(OpensFrom(who, ""), {0, EPERM, 0, EPERM}, who, "the root cgroup, narrowed again");
  Expect(OpensFrom(who, kScopeA), {EPERM, EPERM, 0, EPERM}, who, std::string(kScopeA) + ", narrowed again");
}

INSTANTIATE_TEST_SUITE_P(Who, Scope, ::testing::Values(Who::Root, Who::User),
                         [](const auto &info) { return std::string(info.param == Who::Root ? "Root" : "User"); });

// The premise of the cost: outside its cgroup, a scoped policy's program is not called at all.
// (A tail-called program has no run count of its own, so the test takes it away instead.) With
// attack_scope_a's program gone, a process in the root cgroup opens a new file (not kept as
// quiet yet: the lane is walked) and is let through, as the walk never reaches the gap; a
// process in bw-scope-a is denied, by the missing program's fail-closed verdict; the host
// policies still decide for both.
TEST_F(ScopedLane, AProgramOutOfItsScopeIsNotCalled) {
  ASSERT_TRUE(RemoveProgram("attack_scope_a"));
  const std::string host = kBase + "/host";
  int n = 0;
  auto fresh = [&n] {
    std::string f = kBase + "/fresh" + std::to_string(n++);
    guest::WriteFile(f, "data\n");
    return f;
  };
  for (Who who : {Who::Root, Who::User}) {
    if (who == Who::User && !UserNs())
      continue;
    std::string f = fresh();
    Expect(AsAttacker(who, [f, host] { return std::vector<int>{OpenRead(f), OpenRead(host)}; }), {0, EPERM}, who,
           "the root cgroup", {"a new file", "host"});
  }
  // as root only: in the scope every open fails now, the user namespace's setup too
  std::string g = fresh();
  Expect(AsAttacker(Who::Root, [g, host] { return std::vector<int>{OpenRead(g), OpenRead(host)}; }, kScopeA),
         {EPERM, EPERM}, Who::Root, kScopeA, {"a new file", "host"});
}

}  // namespace
}  // namespace bulwark::attacks
