#include "PolicyTests.h"

#include "EventYaml.h"
#include "Evaluator.h"
#include "ExitCodes.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <iostream>
#include <map>
#include <set>

namespace bulwark {

namespace fs = std::filesystem;

namespace {

// A test that fails, at its YAML node (an event value that does not fit its field is one).
using TestFailure = EventValueError;

struct PolicyCoverage {
  size_t rules = 0;
  std::set<uint32_t> hit;
};

} // namespace

int runPolicyTests(Compilation &c, const PolicyTestOptions &opts) {
  const SemaResult &sema = c.semaResult();
  size_t passed = 0, failed = 0, files = 0;
  std::map<std::string, PolicyCoverage> coverage;
  for (FileId id = 0; id < c.sources().size(); ++id) {
    fs::path src = c.sources().file(id).path();
    if (src.extension() != ".bw") continue;
    fs::path testFile = src.parent_path() / (src.stem().string() + "_test.yaml");
    std::error_code ec;
    if (!fs::exists(testFile, ec)) continue;
    std::vector<const CheckedPolicy *> policies;
    for (const auto &p : sema.policies)
      if (p.file == id) policies.push_back(&p);
    if (policies.empty()) continue;
    ++files;
    YAML::Node doc;
    try {
      doc = YAML::LoadFile(testFile.string());
    } catch (const YAML::Exception &e) {
      std::cerr << testFile.string() << ":" << e.mark.line + 1 << ":" << e.mark.column + 1 << ": error: " << e.msg << "\n";
      return kExitUsage;
    }
    for (const CheckedPolicy *p : policies) coverage[p->ir.name].rules = p->ir.rules.size();
    const CheckedPolicy *defaultPolicy = policies.size() == 1 ? policies[0] : nullptr;
    if (doc["policy"]) {
      defaultPolicy = nullptr;
      for (const CheckedPolicy *p : policies)
        if (p->ir.name == doc["policy"].as<std::string>()) defaultPolicy = p;
    }
    for (const auto &t : doc["tests"]) {
      std::string name = t["name"] ? t["name"].as<std::string>() : "(unnamed)";
      try {
        const CheckedPolicy *policy = defaultPolicy;
        if (t["policy"]) {
          policy = nullptr;
          for (const CheckedPolicy *p : policies)
            if (p->ir.name == t["policy"].as<std::string>()) policy = p;
        }
        if (!policy) throw TestFailure(t, "no policy named for this test (set `policy:`)");
        if (!t["hook"]) throw TestFailure(t, "test has no `hook`");
        const HookInfo *hook = Catalogue::get().findHook(t["hook"].as<std::string>());
        if (!hook) throw TestFailure(t["hook"], "unknown hook '" + t["hook"].as<std::string>() + "'");
        ir::Event event;
        for (const auto &kv : t["event"]) {
          std::string field = kv.first.as<std::string>();
          const FieldInfo *f = Catalogue::get().findField(hook->id, field);
          if (!f) throw TestFailure(kv.first, "hook '" + std::string(hook->name) + "' has no field '" + field + "'");
          event[field] = eventFieldValue(*f, kv.second);
        }
        ir::Decision d = ir::evaluate(policy->ir, hook->id, event);
        if (d.matched) coverage[policy->ir.name].hit.insert(d.ruleId);
        const YAML::Node &expect = t["expect"];
        if (!expect) throw TestFailure(t, "test has no `expect`");
        std::string got = std::string(ir::actionName(d.action)) + (d.matched ? " by rule " + d.ruleName : " (policy default)");
        if (expect["action"] && expect["action"].as<std::string>() != std::string(ir::actionName(d.action)))
          throw TestFailure(expect["action"], "expected " + expect["action"].as<std::string>() + ", got " + got);
        if (expect["rule"] && (!d.matched || expect["rule"].as<std::string>() != d.ruleName))
          throw TestFailure(expect["rule"], "expected rule " + expect["rule"].as<std::string>() + ", got " + got);
        if (expect["default"] && expect["default"].as<bool>() == d.matched)
          throw TestFailure(expect["default"], std::string("expected ") + (d.matched ? "the policy default" : "a rule") + ", got " + got);
        ++passed;
        if (opts.verbose) std::cout << "PASS " << testFile.string() << ": " << name << "\n";
      } catch (const TestFailure &f) {
        ++failed;
        std::cout << testFile.string() << ":" << f.line << ":" << f.column << ": FAIL " << name << ": " << f.what() << "\n";
      } catch (const YAML::Exception &e) {
        ++failed;
        std::cout << testFile.string() << ":" << e.mark.line + 1 << ":" << e.mark.column + 1 << ": FAIL " << name << ": " << e.msg << "\n";
      }
    }
  }
  bool coverageOk = true;
  for (const auto &[policy, cov] : coverage) {
    double pct = cov.rules ? 100.0 * static_cast<double>(cov.hit.size()) / static_cast<double>(cov.rules) : 100.0;
    std::cout << "coverage " << policy << ": " << cov.hit.size() << "/" << cov.rules << " rules";
    for (const auto &p : sema.policies)
      if (p.ir.name == policy) {
        std::string missing;
        for (const auto &r : p.ir.rules)
          if (!cov.hit.count(r.id)) missing += (missing.empty() ? "" : ", ") + r.name;
        if (!missing.empty()) std::cout << " (not exercised: " << missing << ")";
      }
    std::cout << "\n";
    if (pct + 1e-9 < opts.minCoverage) coverageOk = false;
  }
  if (files == 0) std::cout << "no policy tests found (<policy>_test.yaml beside <policy>.bw)\n";
  std::cout << passed << " passed, " << failed << " failed\n";
  if (failed || !coverageOk) return kExitFindings;
  return kExitClean;
}

} // namespace bulwark
