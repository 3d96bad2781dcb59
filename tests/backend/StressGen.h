// Stress policies for the back end: N rules mixing every kind of match, and a handful of
// probe events per policy whose expected decision comes from the host evaluator.
//
// The mix, per block of 10 rules (rule i, block b = i / 10):
//   file.open   file.path == "/stress/e<i>/secret"            exact      (2 of 10)
//               file.path startswith "/stress/p<i>/"           prefix
//               file.path endswith ".s<i>"                     suffix
//               file.path matches "/stress/g<i>/*/key?"        glob (DFA)
//               process.uid == 100000 + i                      int set (hash)
//               file.path == ".../o<i>/a" or startswith ".../o<i>/d/"  `or` compound (flat)
//   net.connect net.daddr in 10.<b/256>.<b%256>.0/24          CIDR
//               net.dport == 20000 + i                         int set (hash)
//   one `and` compound per block, at most kStressAndRules in all:
//               file.path startswith "/stress/c<k>/" and file.write      (audit every 3rd)
// Membership rules (and `or`s of them) land in one map group per (field, op), whatever
// their number; `and` compounds are evaluated in code, one branch each, so the mix caps them.
#pragma once

#include "Evaluator.h"
#include "PolicyIr.h"

#include <string>
#include <vector>

namespace bwtest {

constexpr int kStressAndRules = 8;

// One event the VM test produces for real. For file.open: `path` is opened (for writing
// when `write`); for net.connect: a non-blocking TCP connect to `addr`:`port`.
struct StressProbe {
  std::string name;
  bulwark::HookId hook = bulwark::HookId::FILE_OPEN;
  std::string path;
  bool write = false;
  std::string addr;
  int port = 0;
  bulwark::ir::Event event;  // what the kernel will see (fields the policy reads)
};

struct StressSet {
  bulwark::ir::Policy policy;
  std::vector<StressProbe> probes;
};

StressSet stressSet(int rules);

} // namespace bwtest
