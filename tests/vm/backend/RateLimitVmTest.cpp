// Runs in the run-vm guest (6.1): the per-rule record rate limit (bw_rlimit, rodata
// bw_cfg_rec_rate / bw_cfg_rec_burst). A flood on one rule is denied every time and counted
// in `hits`, but sends at most burst + rate * t records; the others are counted in
// `limited`, and another rule's record still gets through.
#include "GuestBundle.h"
#include "GuestUtil.h"
#include "bw_match.h"

#include <fcntl.h>
#include <time.h>

namespace {

using namespace bwguest;

const char *kBundle = "/bulwark/files/vmtest.bwb";  // rule 0: /tmp/bwvm/denied.txt, rule 1: /tmp/bwvm/secret/

double nowS() {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

void fixtures() {
  ASSERT_EQ(system("mkdir -p /tmp/bwvm/secret"), 0);
  bulwark::guest::WriteFile("/tmp/bwvm/denied.txt", "x");
  bulwark::guest::WriteFile("/tmp/bwvm/secret/x", "x");
}

struct Flood {
  int n = 0, eperm = 0, otherEperm = 0;
  double seconds = 0;
  std::vector<bw_counter> before, after;
  std::vector<Rec> recs;
};

// Opens the rule-0 file n times, then the rule-1 file once, with the records left in the
// ring buffer until the end (as a slow or absent consumer would).
void flood(Loaded &l, int n, Flood &f) {
  Records recs(l);
  ASSERT_NE(recs.rb, nullptr);
  recs.take();  // leftovers of earlier tests in this guest
  f.before = counters(l);
  f.n = n;
  ASSERT_TRUE(l.attach("bw_file_open"));
  double t0 = nowS();
  for (int i = 0; i < n; ++i)
    f.eperm += bulwark::guest::OpenErrno("/tmp/bwvm/denied.txt") == EPERM;
  f.otherEperm = bulwark::guest::OpenErrno("/tmp/bwvm/secret/x") == EPERM;
  f.seconds = nowS() - t0;
  l.detachAll();
  f.after = counters(l);
  f.recs = recs.take();
}

uint64_t delta(const Flood &f, uint32_t rule, uint64_t bw_counter::*field) {
  return f.after.at(rule).*field - f.before.at(rule).*field;
}

size_t recordsOf(const Flood &f, uint32_t rule) {
  size_t n = 0;
  for (const auto &r : f.recs)
    n += r.rule == rule;
  return n;
}

void print(const char *what, const Flood &f) {
  std::printf("%s: %d opens in %.2f s; rule 0 hits %llu emitted %llu limited %llu dropped %llu; "
              "rule 1 hits %llu emitted %llu dropped %llu; records read %zu\n",
              what, f.n, f.seconds, (unsigned long long)delta(f, 0, &bw_counter::hits),
              (unsigned long long)delta(f, 0, &bw_counter::emitted),
              (unsigned long long)delta(f, 0, &bw_counter::limited),
              (unsigned long long)delta(f, 0, &bw_counter::dropped),
              (unsigned long long)delta(f, 1, &bw_counter::hits),
              (unsigned long long)delta(f, 1, &bw_counter::emitted),
              (unsigned long long)delta(f, 1, &bw_counter::dropped), f.recs.size());
}

} // namespace

TEST(BackendVmRecords, RateLimitCapsOneRulesRecordsNotItsDecisions) {
  ASSERT_TRUE(bulwark::guest::InGuest());
  ASSERT_NO_FATAL_FAILURE(fixtures());
  Loaded l;
  const uint32_t rate = 50, burst = 5;
  ASSERT_NO_FATAL_FAILURE(loadBundle(l, kBundle, [&](bpf_object *o) {
    ASSERT_TRUE(setRodataU32(o, "bw_cfg_rec_rate", rate));
    ASSERT_TRUE(setRodataU32(o, "bw_cfg_rec_burst", burst));
  }));
  Flood f;
  ASSERT_NO_FATAL_FAILURE(flood(l, 2000, f));
  print("rate 50/s burst 5", f);
  EXPECT_EQ(f.eperm, 2000) << "every open is denied";
  EXPECT_TRUE(f.otherEperm);
  EXPECT_EQ(delta(f, 0, &bw_counter::hits), 2000u);
  uint64_t emitted = delta(f, 0, &bw_counter::emitted), limited = delta(f, 0, &bw_counter::limited);
  EXPECT_EQ(emitted + limited + delta(f, 0, &bw_counter::dropped), 2000u);
  EXPECT_GE(emitted, burst);
  EXPECT_LE(static_cast<double>(emitted), burst + rate * f.seconds + 1);
  EXPECT_EQ(recordsOf(f, 0), emitted);
  EXPECT_EQ(delta(f, 1, &bw_counter::emitted), 1u) << "the other rule has its own bucket";
  EXPECT_EQ(delta(f, 1, &bw_counter::limited), 0u);
  EXPECT_EQ(recordsOf(f, 1), 1u);
}

// The default (1,000 records/s per rule per CPU): a flood larger than the ring buffer holds
// does not crowd out another rule's record; with the limit off (rate 0) it does.
TEST(BackendVmRecords, DefaultRateKeepsRoomForOtherRules) {
  ASSERT_TRUE(bulwark::guest::InGuest());
  ASSERT_NO_FATAL_FAILURE(fixtures());
  const int n = 20000;  // ~300 B a record: more than the 4 MiB ring holds
  {
    Loaded l;
    ASSERT_NO_FATAL_FAILURE(loadBundle(l, kBundle));
    Flood f;
    ASSERT_NO_FATAL_FAILURE(flood(l, n, f));
    print("default rate", f);
    EXPECT_EQ(f.eperm, n);
    EXPECT_EQ(delta(f, 0, &bw_counter::hits), static_cast<uint64_t>(n));
    EXPECT_LE(static_cast<double>(delta(f, 0, &bw_counter::emitted)),
              BW_REC_RATE_DEFAULT * (1 + f.seconds) + 1);
    EXPECT_GT(delta(f, 0, &bw_counter::limited), 0u);
    EXPECT_EQ(delta(f, 1, &bw_counter::emitted), 1u);
    EXPECT_EQ(delta(f, 1, &bw_counter::dropped), 0u);
    EXPECT_EQ(recordsOf(f, 1), 1u);
  }
  {
    Loaded l;
    ASSERT_NO_FATAL_FAILURE(loadBundle(l, kBundle, [](bpf_object *o) {
      ASSERT_TRUE(setRodataU32(o, "bw_cfg_rec_rate", 0));
    }));
    Flood f;
    ASSERT_NO_FATAL_FAILURE(flood(l, n, f));
    print("no limit", f);
    EXPECT_EQ(f.eperm, n);
    EXPECT_EQ(delta(f, 0, &bw_counter::limited), 0u);
    EXPECT_GT(delta(f, 0, &bw_counter::dropped), 0u) << "the flood fills the ring";
    EXPECT_EQ(delta(f, 1, &bw_counter::dropped), 1u) << "and the other rule's record is lost";
  }
}
