// Runs in the run-vm guest (6.1): the stress bundles (StressGen.h: 10, 100, 1,000 and 10,000
// rules mixing exact, prefix, suffix, glob, CIDR and integer tests) load through the real
// verifier standalone, decide real open()/connect() calls as the host evaluator says, and
// cost the verifier (about) the same number of instructions at every size.
#include "GuestBundle.h"
#include "GuestUtil.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace {

using namespace bwguest;

const std::string kDir = "/bulwark/files/stress";

struct Probe {
  std::string name, hook, path, addr, action;
  bool write = false, denied = false, record = false;
  int port = 0;
  int64_t rule = -1;
};

std::vector<Probe> readProbes(const std::string &file) {
  std::vector<Probe> out;
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    Probe p;
    std::string write, port, denied, rule, record;
    std::getline(f, p.name, '\t');
    std::getline(f, p.hook, '\t');
    std::getline(f, p.path, '\t');
    std::getline(f, write, '\t');
    std::getline(f, p.addr, '\t');
    std::getline(f, port, '\t');
    std::getline(f, denied, '\t');
    std::getline(f, rule, '\t');
    std::getline(f, p.action, '\t');
    std::getline(f, record, '\t');
    p.write = write == "1";
    p.port = std::stoi(port);
    p.denied = denied == "1";
    p.rule = std::stoll(rule);
    p.record = record == "1";
    out.push_back(p);
  }
  return out;
}

// rules -> the line bw-test-bundles wrote at build time
std::map<int, std::string> compileTimes() {
  std::map<int, std::string> out;
  std::ifstream in(kDir + "/compile-times.txt");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("rules=", 0) == 0)
      out[std::stoi(line.substr(6))] = line;
  return out;
}

int connectErrno(const std::string &addr, int port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, addr.c_str(), &sa.sin_addr);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return errno;
  int e = errnoOf(connect(fd, reinterpret_cast<sockaddr *>(&sa), sizeof sa));
  close(fd);
  return e;
}

struct SizeResult {
  uint32_t openInsns = 0, connectInsns = 0, openBytes = 0;
  double loadMs = 0, fillMs = 0;
  size_t entries = 0;
};

// The length of program `p` as the kernel translated it (its code, whatever the verifier's work).
uint32_t xlatedBytes(bpf_program *p) {
  bpf_prog_info info{};
  uint32_t len = sizeof(info);
  if (!p || bpf_obj_get_info_by_fd(bpf_program__fd(p), &info, &len))
    return 0;
  return info.xlated_prog_len;
}

} // namespace

TEST(BackendStressVm, EverySizeVerifiesDecidesAndCostsTheSame) {
  ASSERT_TRUE(bulwark::guest::InGuest()) << "needs the run-vm guest";
  auto times = compileTimes();
  ASSERT_EQ(times.size(), 4u) << "compile-times.txt";
  std::map<int, SizeResult> results;
  for (const auto &[n, line] : times) {
    SCOPED_TRACE("stress-" + std::to_string(n));
    std::string base = kDir + "/stress-" + std::to_string(n);
    // the probed files exist before the load (it labels the objects the rules name)
    auto probes = readProbes(base + ".probes");
    ASSERT_GE(probes.size(), 10u);
    for (const auto &p : probes)
      if (p.hook == "file.open") {
        std::string dir = p.path.substr(0, p.path.rfind('/'));
        ASSERT_EQ(system(("mkdir -p '" + dir + "'").c_str()), 0);
        bulwark::guest::WriteFile(p.path, "x");
      }
    Loaded l;
    ASSERT_NO_FATAL_FAILURE(loadBundle(l, base + ".bwb"));
    SizeResult &r = results[n];
    r.openInsns = verifiedInsns(l.prog("bw_file_open"));
    r.connectInsns = verifiedInsns(l.prog("bw_socket_connect"));
    r.openBytes = xlatedBytes(l.prog("bw_file_open"));
    r.loadMs = l.loadMs;
    r.fillMs = l.fillMs;
    for (const auto &m : l.bundle.manifest.maps)
      r.entries += m.entries;
    ASSERT_GT(r.openInsns, 0u);
    ASSERT_GT(r.connectInsns, 0u);

    Records recs(l);
    ASSERT_NE(recs.rb, nullptr);
    ASSERT_TRUE(l.attach("bw_file_open")) << std::strerror(errno);
    ASSERT_TRUE(l.attach("bw_socket_connect")) << std::strerror(errno);
    std::vector<int> got;
    for (const auto &p : probes)
      got.push_back(p.hook == "file.open" ? bulwark::guest::OpenErrno(p.path, p.write ? O_WRONLY : O_RDONLY)
                                          : connectErrno(p.addr, p.port));
    l.detachAll();
    auto rs = recs.take();
    for (size_t i = 0; i < probes.size(); ++i) {
      const Probe &p = probes[i];
      SCOPED_TRACE(p.name);
      EXPECT_EQ(got[i] == EPERM, p.denied) << "errno " << std::strerror(got[i]);
      // the record of this probe: same path (file.open) or same port (net.connect)
      const Rec *match = nullptr;
      for (const auto &rec : rs) {
        bool same = p.hook == "file.open"
                        ? rec.hook == 0 && rec.strs.count(5) && rec.strs.at(5) == p.path
                        : rec.hook != 0 && rec.ints[7] == static_cast<uint64_t>(p.port);
        if (same)
          match = &rec;
      }
      EXPECT_EQ(match != nullptr, p.record);
      if (match && p.record) {
        EXPECT_EQ(static_cast<int64_t>(match->rule), p.rule);
      }
    }
  }
  std::printf("\nstress: size | compile (host, ms) | verifier insns file_open / socket_connect | load ms | map fill ms | map entries\n");
  for (const auto &[n, r] : results) {
    const std::string &line = times[n];
    auto at = line.find("compile_ms=");
    std::string ms = line.substr(at + 11, line.find(' ', at) - at - 11);
    std::printf("stress: %6d | %8s | %6u / %6u | %7.1f | %8.1f | %zu\n", n, ms.c_str(), r.openInsns,
                r.connectInsns, r.loadMs, r.fillMs, r.entries);
  }
  for (const auto &[n, line] : times)
    std::printf("stress compile: %s\n", line.c_str());
  // Flat per-event cost: a lookup per (field, op) group (plus one by file identity for path
  // groups). From 100 rules on the groups are the same; 10 rules have fewer groups (5 of
  // 7), one `and` compound (kStressAndRules from 80 on) and inline int compares of tiny
  // sets (<= 4 values). 2.5x is generous for those; code per rule would be ~1000x.
  ASSERT_TRUE(results.count(10) && results.count(100) && results.count(10000));
  EXPECT_LE(results[10000].openInsns * 2, 5 * results[10].openInsns);
  EXPECT_LE(results[10000].connectInsns, 2 * results[10].connectInsns);
  // Same groups and compounds: the same code. The verifier's count of the same code varies by
  // about 1% from one load to the next (its pruning: 93,878 or 94,739 instructions for
  // byte-identical programs were seen), so its work is held within 2%.
  EXPECT_EQ(results[10000].openBytes, results[100].openBytes) << "same groups and compounds";
  EXPECT_LE(results[10000].openInsns * 50, results[100].openInsns * 51);
  EXPECT_LE(results[100].openInsns * 50, results[10000].openInsns * 51);
}
