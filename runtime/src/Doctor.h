// `bulwark doctor`: what this kernel and system can do, found by trying (test-loads), not
// by guessing from versions, and a verdict.
#pragma once

#include <string>
#include <vector>

namespace bulwark::rt {

struct Check {
  std::string name;
  enum class Status { Ok, Warn, Fail, Info } status = Status::Info;
  std::string detail;
};

struct DoctorReport {
  std::vector<Check> checks;
  bool canEnforce = false;
  std::string verdict;
};

DoctorReport runDoctor(const std::string &pinRoot);
std::string formatDoctor(const DoctorReport &r);
std::string formatDoctorJson(const DoctorReport &r);

} // namespace bulwark::rt
