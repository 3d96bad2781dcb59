#include "StressGen.h"

#include "PolicyBuilder.h"

namespace bwtest {

namespace {

using bulwark::HookId;
using bulwark::ir::Action;
using bulwark::ir::TestOp;
namespace ir = bulwark::ir;

const HookId FO = HookId::FILE_OPEN;
const HookId NC = HookId::NET_CONNECT;

std::string cidrOf(int block) {
  return "10." + std::to_string(block / 256 % 256) + "." + std::to_string(block % 256) + ".0/24";
}
std::string addrIn(int block, int host) {
  return "10." + std::to_string(block / 256 % 256) + "." + std::to_string(block % 256) + "." +
         std::to_string(host);
}

StressProbe openProbe(std::string name, std::string path, bool write = false) {
  StressProbe p;
  p.name = std::move(name);
  p.hook = FO;
  p.path = path;
  p.write = write;
  p.event["file.path"] = path;
  p.event["file.write"] = int64_t{write ? 1 : 0};
  p.event["file.read"] = int64_t{write ? 0 : 1};
  p.event["process.uid"] = int64_t{0};
  return p;
}

StressProbe connectProbe(std::string name, std::string addr, int port) {
  StressProbe p;
  p.name = std::move(name);
  p.hook = NC;
  p.addr = addr;
  p.port = port;
  p.event["net.daddr"] = *ir::parseAddress(addr);
  p.event["net.dport"] = int64_t{port};
  p.event["net.family"] = int64_t{2};
  p.event["process.uid"] = int64_t{0};
  return p;
}

} // namespace

StressSet stressSet(int n) {
  PolicyBuilder pb("stress_" + std::to_string(n));
  int andRules = 0;
  int last[10] = {};  // last rule index of each kind, for the probes
  for (int i = 0; i < n; ++i) {
    std::string id = std::to_string(i);
    int block = i / 10;
    int kind = i % 10;
    if (kind == 9 && andRules < kStressAndRules) {
      pb.rule("and" + id, FO,
              cAnd({cTest(FO, "file.path", TestOp::Prefix, {"/stress/c" + std::to_string(andRules) + "/"}),
                    cTest(FO, "file.write", TestOp::Eq, {int64_t{1}})}),
              andRules % 3 == 2 ? Action::Audit : Action::Deny);
      ++andRules;
      last[kind] = i;
      continue;
    }
    if (kind == 9)
      kind = i / 10 % 2 ? 0 : 1;  // past the cap: more exact and prefix rules
    Action act = i % 7 == 3 ? Action::Audit : Action::Deny;
    switch (kind) {
    case 0:
    case 1: pb.rule("exact" + id, FO, cTest(FO, "file.path", TestOp::Eq, {"/stress/e" + id + "/secret"}), act); break;
    case 2: pb.rule("prefix" + id, FO, cTest(FO, "file.path", TestOp::Prefix, {"/stress/p" + id + "/"}), act); break;
    case 3: pb.rule("suffix" + id, FO, cTest(FO, "file.path", TestOp::Suffix, {".s" + id}), act); break;
    case 4: pb.rule("glob" + id, FO, cTest(FO, "file.path", TestOp::Glob, {"/stress/g" + id + "/*/key?"}), act); break;
    case 5: pb.rule("uid" + id, FO, cTest(FO, "process.uid", TestOp::Eq, {int64_t{100000 + i}}), act); break;
    case 6:
      pb.rule("or" + id, FO,
              cOr({cTest(FO, "file.path", TestOp::Eq, {"/stress/o" + id + "/a"}),
                   cTest(FO, "file.path", TestOp::Prefix, {"/stress/o" + id + "/d/"})}),
              act);
      break;
    case 7: pb.rule("cidr" + id, NC, cTest(NC, "net.daddr", TestOp::InCidr, {cidr(cidrOf(block).c_str())}), act); break;
    case 8: pb.rule("port" + id, NC, cTest(NC, "net.dport", TestOp::Eq, {int64_t{20000 + i}}), act); break;
    }
    last[kind] = i;
  }
  StressSet s;
  s.policy = pb.build();
  s.policy.description = "back-end stress policy, " + std::to_string(n) + " rules";
  auto str = [](int i) { return std::to_string(i); };
  // Probes: rules deep in the set (the last of each kind) and misses next to them.
  s.probes.push_back(openProbe("exact-last", "/stress/e" + str(last[0] > last[1] ? last[0] : last[1]) + "/secret"));
  s.probes.push_back(openProbe("exact-miss", "/stress/e" + str(last[0] > last[1] ? last[0] : last[1]) + "/secreT"));
  s.probes.push_back(openProbe("prefix-last", "/stress/p" + str(last[2]) + "/deep/file"));
  s.probes.push_back(openProbe("suffix-last", "/stress/x/file.s" + str(last[3])));
  s.probes.push_back(openProbe("glob-last", "/stress/g" + str(last[4]) + "/d/key7"));
  s.probes.push_back(openProbe("glob-miss", "/stress/g" + str(last[4]) + "/d/e/key7"));
  s.probes.push_back(openProbe("or-last", "/stress/o" + str(last[6]) + "/d/f"));
  s.probes.push_back(openProbe("and-write", "/stress/c0/f", true));
  s.probes.push_back(openProbe("and-read", "/stress/c1/f", false));
  s.probes.push_back(openProbe("allowed", "/stress/none"));
  s.probes.push_back(connectProbe("cidr-last", addrIn(last[7] / 10, 9), 9));
  s.probes.push_back(connectProbe("port-last", "192.0.2.1", 20000 + last[8]));
  s.probes.push_back(connectProbe("connect-allowed", "192.0.2.1", 1));
  return s;
}

} // namespace bwtest
