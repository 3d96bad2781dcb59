// The event reader's CPU per record on the host: N copies of the record the events benchmark
// floods (`bench/run --only events`: a file.open deny with a message) formatted as JSON lines
// the two ways the runtime can, and the time each takes (CPU time, ns per record).
//   event:  decodeRecord into an Event of strings, then appendJson(Event) (the reference)
//   record: RecordFormatter, straight from the record's bytes (what `bulwark events` does)
// Under `valgrind --tool=callgrind` a run with one path counts its instructions: on the
// benchmark's instruction-clock guest, 1,000 instructions are 1 µs.
//   event_format [--records N] [--path event|record|both]
#include "Events.h"
#include "Hooks.h"
#include "RecordFormatter.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <map>
#include <string>
#include <vector>

using namespace bulwark::rt;

namespace {

constexpr uint64_t kBatch = 256;  // records per ring buffer batch (EventReader::kBatchRecords)
constexpr int64_t kMonoToReal = 1'700'000'000'000'000'000ll;
const std::string kCgroup = "/system.slice/bench.service";
const std::string kExe = "/usr/local/bin/bwbench";  // /proc/<tgid>/exe: the record has none
const std::string kHost = "bench-guest", kBootId = "5b0c6f0e-3a4c-4d7e-9a3b-2f9d1c0e7a11";

std::vector<char> floodRecord() {
  bw_record r{};
  r.ktime_ns = 5'000'000'000ull;
  r.abi = BW_ABI_VERSION;
  r.hook = hookByName("file.open")->index;
  r.instance = 7;
  r.rule = 1;
  r.action = BW_ACT_DENY;
  r.pid = r.tgid = 812;
  r.ppid = 790;
  r.cgroup_id = 4312;
  std::strcpy(r.comm, "bwbench");
  std::string path = "/var/lib/bwbench/t/flood_deny";
  r.str_len[5] = uint32_t(path.size() + 1);
  std::vector<char> out(sizeof r + path.size() + 1);
  std::memcpy(out.data(), &r, sizeof r);
  std::memcpy(out.data() + sizeof r, path.c_str(), path.size() + 1);
  return out;
}

const std::map<uint32_t, InstanceInfo> kInstances{
    {7, InstanceInfo{7, "bench_flood", 0, false, 0,
                     {RuleInfo{"flood_allow", "", "", 0, 0, {}},
                      RuleInfo{"flood_deny", "{process.comm} opened {file.path}", "", 0, 1, {}}},
                     {}}}};

// The reader's work per record before RecordFormatter (EventReader::onSample).
void viaEvent(const std::vector<char> &rec, uint64_t i, std::string &out) {
  Event e;
  std::string why;
  if (!decodeRecord(rec.data(), rec.size(), kInstances, kMonoToReal + int64_t(i), &e, &why))
    std::abort();
  completeEvent(e, kCgroup, [](uint32_t) -> const std::string & { return kExe; }, kHost, kBootId);
  appendJson(out, e);
  out += '\n';
}

struct Run {
  double nsPerRecord;
  std::string firstLine;
};

template <class Format> Run run(uint64_t n, Format format) {
  std::string pending, first;
  timespec a{}, b{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
  for (uint64_t i = 0; i < n; i++) {
    format(i, pending);
    if (i % kBatch == kBatch - 1 || i == n - 1) {
      if (first.empty())
        first = pending.substr(0, pending.find('\n'));
      pending.clear();  // written once per batch
    }
  }
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
  double ns = double(b.tv_sec - a.tv_sec) * 1e9 + double(b.tv_nsec - a.tv_nsec);
  return {n ? ns / double(n) : 0, first};
}

} // namespace

int main(int argc, char **argv) {
  uint64_t n = 200000;
  std::string path = "both";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--records") == 0)
      n = std::strtoull(argv[i + 1], nullptr, 10);
    else if (std::strcmp(argv[i], "--path") == 0)
      path = argv[i + 1];
  }
  if ((argc % 2) == 0 || !n || (path != "event" && path != "record" && path != "both")) {
    std::fprintf(stderr, "usage: event_format [--records N>0] [--path event|record|both]\n");
    return 2;
  }
  std::vector<char> rec = floodRecord();
  Run event{}, record{};
  if (path != "record")
    event = run(n, [&](uint64_t i, std::string &out) { viaEvent(rec, i, out); });
  if (path != "event") {
    RecordFormatter f(kHost, kBootId,
                      {[](uint64_t) -> const std::string & { return kCgroup; },
                       [](uint32_t) -> const std::string & { return kExe; }});
    record = run(n, [&](uint64_t i, std::string &out) {
      RecordView v;
      if (!f.read(rec.data(), rec.size(), kInstances, kMonoToReal + int64_t(i), &v, nullptr))
        std::abort();
      f.appendJson(out, v);
      out += '\n';
    });
  }
  std::printf("records %llu\n", static_cast<unsigned long long>(n));
  if (path != "record")
    std::printf("event  %.0f ns/record\n", event.nsPerRecord);
  if (path != "event")
    std::printf("record %.0f ns/record\n", record.nsPerRecord);
  if (path == "both" && event.firstLine != record.firstLine) {
    std::fprintf(stderr, "the two paths wrote different lines:\n%s\n%s\n", event.firstLine.c_str(),
                 record.firstLine.c_str());
    return 1;
  }
  std::printf("line   %s\n", (path == "event" ? event : record).firstLine.c_str());
  return 0;
}
