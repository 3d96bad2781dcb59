#include "PolicyTests.h"

#include "EventYaml.h"
#include "Evaluator.h"
#include "ExitCodes.h"
#include "Json.h"
#include "Sequence.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

namespace bulwark {

namespace fs = std::filesystem;

namespace {

// A test that fails, at its YAML node (an event value that does not fit its field is one).
using TestFailure = EventValueError;

// One test's result; a policy without tests is a failed one at the policy.
struct Outcome {
  std::string file;  // the test file, or the policy's source for a policy without tests
  int line = 0, column = 0;
  std::string name, policy;
  std::string failure;  // empty: passed
};

struct PolicyCoverage {
  size_t rules = 0;
  std::set<uint32_t> hit;
  std::vector<std::string> missing;  // rules no test reached
  double percent() const { return rules ? 100.0 * static_cast<double>(hit.size()) / static_cast<double>(rules) : 100.0; }
};

const std::set<std::string> kFileKeys{"policy", "mode", "tests"};
const std::set<std::string> kTestKeys{"name", "policy", "hook", "mode", "event", "expect", "steps"};
const std::set<std::string> kExpectKeys{"action", "rule", "default", "denied", "killed", "in_scope", "marks"};
// A step of a sequence test: an event of process `pid`, a fork, an exec, or time passing.
const std::set<std::string> kStepKeys{"pid", "hook", "mode", "event", "expect", "fork", "child", "exec", "sleep"};

// A misspelt key would silently test nothing: every key must be known.
void checkKeys(const YAML::Node &map, const std::set<std::string> &known, const std::string &what) {
  if (!map.IsMap()) throw TestFailure(map, what + " must be a mapping");
  for (const auto &kv : map) {
    std::string key = kv.first.as<std::string>();
    if (known.count(key)) continue;
    std::string list;
    for (const auto &k : known) list += (list.empty() ? "" : ", ") + k;
    throw TestFailure(kv.first, "unknown key '" + key + "' in " + what + " (known: " + list + ")");
  }
}

std::optional<ir::Mode> modeOf(const YAML::Node &n) {
  if (!n) return std::nullopt;
  std::string m = n.as<std::string>();
  if (m == "audit") return ir::Mode::Audit;
  if (m == "enforce") return ir::Mode::Enforce;
  throw TestFailure(n, "mode is 'audit' or 'enforce', not '" + m + "'");
}

const CheckedPolicy *findPolicy(const std::vector<const CheckedPolicy *> &policies, const YAML::Node &name) {
  for (const CheckedPolicy *p : policies)
    if (p->ir.name == name.as<std::string>()) return p;
  throw TestFailure(name, "no policy '" + name.as<std::string>() + "' in the tested file");
}

std::string describe(const ir::Decision &d) {
  if (!d.seen) return "allow (the kernel never runs the hook for this event)";
  if (!d.inScope) return "allow (outside the policy's scope)";
  std::string s = std::string(ir::actionName(d.action)) + (d.matched ? " by rule " + d.ruleName : " (policy default)");
  if (d.wouldDeny) s += ", not enforced";
  if (d.killed) s += ", killed";
  return s;
}

void expectEqual(const YAML::Node &n, bool got, const std::string &what, const ir::Decision &d) {
  if (n && n.as<bool>() != got)
    throw TestFailure(n, "expected " + std::string(n.as<bool>() ? "" : "no ") + what + ", got " + describe(d));
}

// "100ms", "2s", "5m", "1h", "1d" in nanoseconds.
uint64_t durationOf(const YAML::Node &n) {
  static const std::pair<const char *, uint64_t> kUnits[] = {
      {"ms", 1000000ull}, {"s", 1000000000ull}, {"m", 60000000000ull}, {"h", 3600000000000ull}, {"d", 86400000000000ull}};
  std::string text = n.as<std::string>();
  size_t digits = text.find_first_not_of("0123456789");
  if (digits != 0 && digits != std::string::npos && digits <= 12)
    for (const auto &[unit, ns] : kUnits)
      if (text.substr(digits) == unit) return std::stoull(text.substr(0, digits)) * ns;
  throw TestFailure(n, "'" + text + "' is not a duration (a whole number of ms, s, m, h or d: 5m)");
}

// The event of a test or step; `process.marks` and `parent.marks` (lists of names) go to `marks`.
ir::Event eventOf(const HookInfo &hook, const YAML::Node &fields, ir::MarkView &marks) {
  ir::Event event;
  for (const auto &kv : fields) {
    std::string field = kv.first.as<std::string>();
    if (field == ir::kProcessMarks.name || field == ir::kParentMarks.name) {
      auto &set = field == ir::kParentMarks.name ? marks.parent : marks.process;
      if (!kv.second.IsSequence()) throw TestFailure(kv.second, field + " is a list of mark names");
      for (const auto &m : kv.second) set.insert(m.as<std::string>());
      continue;
    }
    const FieldInfo *f = Catalogue::get().findField(hook.id, field);
    if (!f) throw TestFailure(kv.first, "hook '" + std::string(hook.name) + "' has no field '" + field + "'");
    event[field] = eventFieldValue(*f, kv.second);
  }
  return event;
}

const HookInfo &hookOf(const YAML::Node &t) {
  if (!t["hook"]) throw TestFailure(t, "test has no `hook`");
  const HookInfo *hook = Catalogue::get().findHook(t["hook"].as<std::string>());
  if (!hook) throw TestFailure(t["hook"], "unknown hook '" + t["hook"].as<std::string>() + "'");
  return *hook;
}

// Checks `expect` against decision `d`; `marks`: the process's live marks after the event.
void checkExpect(const YAML::Node &expect, const ir::Decision &d, const std::set<std::string, std::less<>> &marks) {
  checkKeys(expect, kExpectKeys, "`expect`");
  if (expect["action"] && expect["action"].as<std::string>() != std::string(ir::actionName(d.action)))
    throw TestFailure(expect["action"], "expected " + expect["action"].as<std::string>() + ", got " + describe(d));
  if (expect["rule"] && (!d.matched || expect["rule"].as<std::string>() != d.ruleName))
    throw TestFailure(expect["rule"], "expected rule " + expect["rule"].as<std::string>() + ", got " + describe(d));
  if (expect["default"] && expect["default"].as<bool>() == d.matched)
    throw TestFailure(expect["default"], std::string("expected ") + (d.matched ? "the policy default" : "a rule") + ", got " + describe(d));
  expectEqual(expect["denied"], d.denied, "denial", d);
  expectEqual(expect["killed"], d.killed, "kill", d);
  expectEqual(expect["in_scope"], d.inScope, "event in the policy's scope", d);
  if (const YAML::Node &want = expect["marks"]) {
    std::set<std::string, std::less<>> w;
    for (const auto &m : want) w.insert(m.as<std::string>());
    if (w != marks) {
      auto join = [](const std::set<std::string, std::less<>> &names) {
        std::string s;
        for (const auto &m : names) s += (s.empty() ? "" : ", ") + m;
        return "[" + s + "]";
      };
      throw TestFailure(want, "expected marks " + join(w) + ", got " + join(marks));
    }
  }
}

struct TestRun {
  const std::vector<const CheckedPolicy *> &policies;
  const CheckedPolicy *defaultPolicy;
  std::optional<ir::Mode> fileMode;
  std::map<std::string, PolicyCoverage> &coverage;

  // Runs one test; throws TestFailure (or a YAML exception) when it fails.
  void operator()(const YAML::Node &t, Outcome &out) const {
    checkKeys(t, kTestKeys, "a test");
    const CheckedPolicy *policy = t["policy"] ? findPolicy(policies, t["policy"]) : defaultPolicy;
    if (!policy) throw TestFailure(t, "no policy named for this test (set `policy:`)");
    out.policy = policy->ir.name;
    if (t["steps"]) {
      if (t["hook"] || t["event"] || t["expect"]) throw TestFailure(t, "a test has `steps` or one `hook`, `event` and `expect`, not both");
      runSteps(*policy, t["steps"], t["mode"] ? modeOf(t["mode"]) : fileMode);
      return;
    }
    const HookInfo &hook = hookOf(t);
    ir::MarkView marks;
    ir::Event event = eventOf(hook, t["event"], marks);
    ir::EvalOptions eval;
    eval.modeOverride = t["mode"] ? modeOf(t["mode"]) : fileMode;
    eval.marks = &marks;
    ir::Decision d = ir::evaluate(policy->ir, hook.id, event, eval);
    cover(*policy, d);
    if (!t["expect"]) throw TestFailure(t, "test has no `expect`");
    std::set<std::string, std::less<>> after = marks.process;
    for (uint32_t id : d.markRules)
      for (const auto &m : policy->ir.rules[id].marks)
        if (!m.onParent) after.insert(m.name);
    checkExpect(t["expect"], d, after);
  }

  void cover(const CheckedPolicy &policy, const ir::Decision &d) const {
    if (d.matched) coverage[policy.ir.name].hit.insert(d.ruleId);
    for (uint32_t id : d.markRules) coverage[policy.ir.name].hit.insert(id);
  }

  // A sequence: every step in order on one process table (marks carry from step to step).
  void runSteps(const CheckedPolicy &policy, const YAML::Node &steps, std::optional<ir::Mode> mode) const {
    if (!steps.IsSequence() || steps.size() == 0) throw TestFailure(steps, "`steps` is a list of steps");
    ir::ProcessTable table(policy.ir);
    for (const auto &step : steps) {
      checkKeys(step, kStepKeys, "a step");
      if (step["fork"]) {
        if (!step["child"]) throw TestFailure(step, "a fork step names its `child` pid");
        table.fork(step["fork"].as<int64_t>(), step["child"].as<int64_t>());
      } else if (step["exec"]) {
        table.exec(step["exec"].as<int64_t>());
      } else if (step["sleep"]) {
        table.advance(durationOf(step["sleep"]));
      } else {
        if (!step["pid"]) throw TestFailure(step, "a step is an event of a `pid`, a `fork`, an `exec` or a `sleep`");
        eventStep(policy, table, step, step["mode"] ? modeOf(step["mode"]) : mode);
      }
    }
  }

  void eventStep(const CheckedPolicy &policy, ir::ProcessTable &table, const YAML::Node &step, std::optional<ir::Mode> mode) const {
    int64_t pid = step["pid"].as<int64_t>();
    if (!step["hook"] && step["expect"] && !step["event"]) {  // a check of the marks alone
      ir::Decision none;
      checkExpect(step["expect"], none, table.marksOf(pid).process);
      return;
    }
    const HookInfo &hook = hookOf(step);
    ir::MarkView preset;
    ir::Event event = eventOf(hook, step["event"], preset);
    if (!preset.process.empty() || !preset.parent.empty())
      throw TestFailure(step["event"], "in a sequence, marks come from the steps before; set them with an event");
    ir::EvalOptions eval;
    eval.modeOverride = mode;
    ir::Decision d = table.decide(pid, hook.id, event, eval);
    cover(policy, d);
    if (step["expect"]) checkExpect(step["expect"], d, table.marksOf(pid).process);
  }
};

// ---- reports ----

std::string xmlEscape(const std::string &s) {
  std::string out;
  for (char ch : s) {
    switch (ch) {
    case '&': out += "&amp;"; break;
    case '<': out += "&lt;"; break;
    case '>': out += "&gt;"; break;
    case '"': out += "&quot;"; break;
    case '\n': out += "&#10;"; break;
    default:
      if (static_cast<unsigned char>(ch) >= 0x20 || ch == '\t') out += ch;  // XML 1.0 forbids other controls
    }
  }
  return out;
}

// GitHub workflow commands: data escapes %, CR, LF; properties also : and ,.
std::string githubEscape(const std::string &s, bool property) {
  std::string out;
  for (char ch : s) {
    if (ch == '%') out += "%25";
    else if (ch == '\r') out += "%0D";
    else if (ch == '\n') out += "%0A";
    else if (property && ch == ':') out += "%3A";
    else if (property && ch == ',') out += "%2C";
    else out += ch;
  }
  return out;
}

struct Report {
  std::vector<Outcome> outcomes;
  std::map<std::string, PolicyCoverage> coverage;
  double minCoverage = 0;
  size_t passed = 0, failed = 0;

  void add(Outcome o) {
    (o.failure.empty() ? passed : failed)++;
    outcomes.push_back(std::move(o));
  }
  bool coverageOk(const PolicyCoverage &c) const { return c.percent() + 1e-9 >= minCoverage; }
  std::string where(const Outcome &o) const {
    return o.file + ":" + std::to_string(o.line) + ":" + std::to_string(o.column);
  }
  std::string coverageLine(const std::string &policy, const PolicyCoverage &c) const {
    std::string s = std::to_string(c.hit.size()) + "/" + std::to_string(c.rules) + " rules";
    for (size_t i = 0; i < c.missing.size(); ++i) s += (i ? ", " : " (not exercised: ") + c.missing[i];
    if (!c.missing.empty()) s += ")";
    if (!coverageOk(c)) s += ", below --min-coverage " + std::to_string(static_cast<int>(minCoverage)) + "%";
    return "coverage " + policy + ": " + s;
  }
  std::string summary() const { return std::to_string(passed) + " passed, " + std::to_string(failed) + " failed"; }

  std::string text(bool verbose) const {
    std::ostringstream os;
    for (const auto &o : outcomes) {
      if (!o.failure.empty()) os << where(o) << ": FAIL " << o.name << ": " << o.failure << "\n";
      else if (verbose) os << "PASS " << o.file << ": " << o.name << "\n";
    }
    for (const auto &[policy, c] : coverage) os << coverageLine(policy, c) << "\n";
    if (outcomes.empty()) os << "no policy tests found (<policy>_test.yaml beside <policy>.bw)\n";
    os << summary() << "\n";
    return os.str();
  }

  std::string github() const {
    std::ostringstream os;
    for (const auto &o : outcomes)
      if (!o.failure.empty())
        os << "::error file=" << githubEscape(o.file, true) << ",line=" << o.line << ",col=" << o.column
           << ",title=" << githubEscape("bulwarkc test: " + o.name, true) << "::" << githubEscape(o.failure, false) << "\n";
    for (const auto &[policy, c] : coverage)
      if (!coverageOk(c)) os << "::error title=bulwarkc test coverage::" << githubEscape(coverageLine(policy, c), false) << "\n";
    if (outcomes.empty()) os << "::error title=bulwarkc test::no policy tests found\n";
    os << summary() << "\n";
    return os.str();
  }

  std::string json() const {
    JsonWriter w;
    w.beginObject().key("tests").beginArray();
    for (const auto &o : outcomes) {
      w.beginObject().key("file").value(o.file).key("line").value(o.line).key("column").value(o.column);
      w.key("policy").value(o.policy).key("name").value(o.name).key("status").value(o.failure.empty() ? "pass" : "fail");
      if (!o.failure.empty()) w.key("message").value(o.failure);
      w.endObject();
    }
    w.endArray().key("coverage").beginArray();
    for (const auto &[policy, c] : coverage) {
      w.beginObject().key("policy").value(policy).key("rules").value(static_cast<uint64_t>(c.rules));
      w.key("exercised").value(static_cast<uint64_t>(c.hit.size())).key("not_exercised").strings(c.missing);
      w.key("ok").value(coverageOk(c)).endObject();
    }
    w.endArray().key("passed").value(static_cast<uint64_t>(passed)).key("failed").value(static_cast<uint64_t>(failed));
    w.endObject();
    return w.str() + "\n";
  }

  // JUnit XML as Jenkins, GitLab and GitHub test reporters read it: one <testsuite> per test
  // file, one <testcase> per test; rule coverage below --min-coverage is a failed case too.
  std::string junit() const {
    std::vector<std::string> suites;
    std::map<std::string, std::vector<const Outcome *>> bySuite;
    for (const auto &o : outcomes) {
      if (!bySuite.count(o.file)) suites.push_back(o.file);
      bySuite[o.file].push_back(&o);
    }
    size_t coverageFailures = 0;
    for (const auto &[policy, c] : coverage) coverageFailures += !coverageOk(c);
    bool coverageSuite = minCoverage > 0 && !coverage.empty();
    size_t tests = outcomes.size() + (coverageSuite ? coverage.size() : 0);
    std::ostringstream os;
    os << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    os << "<testsuites name=\"bulwarkc test\" tests=\"" << tests << "\" failures=\"" << failed + coverageFailures << "\">\n";
    auto testcase = [&](const std::string &name, const std::string &cls, const std::string &file, int line,
                        const std::string &failure, const std::string &detail) {
      os << "    <testcase name=\"" << xmlEscape(name) << "\" classname=\"" << xmlEscape(cls) << "\" file=\""
         << xmlEscape(file) << "\" line=\"" << line << "\"";
      if (failure.empty()) {
        os << "/>\n";
        return;
      }
      os << ">\n      <failure message=\"" << xmlEscape(failure) << "\" type=\"failure\">" << xmlEscape(detail)
         << "</failure>\n    </testcase>\n";
    };
    for (const auto &suite : suites) {
      const auto &list = bySuite.at(suite);
      size_t fails = 0;
      for (const Outcome *o : list) fails += !o->failure.empty();
      os << "  <testsuite name=\"" << xmlEscape(suite) << "\" tests=\"" << list.size() << "\" failures=\"" << fails
         << "\" errors=\"0\" skipped=\"0\">\n";
      for (const Outcome *o : list)
        testcase(o->name, o->policy, o->file, o->line, o->failure, where(*o) + ": " + o->failure);
      os << "  </testsuite>\n";
    }
    if (coverageSuite) {
      os << "  <testsuite name=\"rule coverage\" tests=\"" << coverage.size() << "\" failures=\"" << coverageFailures
         << "\" errors=\"0\" skipped=\"0\">\n";
      for (const auto &[policy, c] : coverage) {
        std::string line = coverageLine(policy, c);
        testcase("rule coverage of " + policy, policy, "", 0, coverageOk(c) ? "" : line, line);
      }
      os << "  </testsuite>\n";
    }
    os << "</testsuites>\n";
    return os.str();
  }
};

// Runs the tests of `testFile` against `policies` into `report`; the policies some test ran
// against go into `tested`. False (after printing the error) when the file is not YAML.
bool runTestFile(const fs::path &testFile, const std::vector<const CheckedPolicy *> &policies, Report &report,
                 std::set<std::string> &tested) {
  YAML::Node doc;
  try {
    doc = YAML::LoadFile(testFile.string());
  } catch (const YAML::Exception &e) {
    std::cerr << testFile.string() << ":" << e.mark.line + 1 << ":" << e.mark.column + 1 << ": error: " << e.msg << "\n";
    return false;
  }
  for (const CheckedPolicy *p : policies) report.coverage[p->ir.name].rules = p->ir.rules.size();
  Outcome fileLevel{testFile.string(), 1, 1, "(test file)", "", ""};
  try {
    checkKeys(doc, kFileKeys, "the test file");
    TestRun run{policies, policies.size() == 1 ? policies[0] : nullptr, modeOf(doc["mode"]), report.coverage};
    if (doc["policy"]) run.defaultPolicy = findPolicy(policies, doc["policy"]);
    for (const auto &t : doc["tests"]) {
      Outcome o{testFile.string(), t.Mark().line + 1, t.Mark().column + 1, "(unnamed)", "", ""};
      try {
        if (t.IsMap() && t["name"]) o.name = t["name"].as<std::string>();
        run(t, o);
      } catch (const TestFailure &f) {
        o.line = f.line, o.column = f.column, o.failure = f.what();
      } catch (const YAML::Exception &e) {
        o.line = e.mark.line + 1, o.column = e.mark.column + 1, o.failure = e.msg;
      }
      if (!o.policy.empty()) tested.insert(o.policy);
      report.add(std::move(o));
    }
  } catch (const TestFailure &f) {
    fileLevel.line = f.line, fileLevel.column = f.column, fileLevel.failure = f.what();
    report.add(std::move(fileLevel));
  } catch (const YAML::Exception &e) {
    fileLevel.line = e.mark.line + 1, fileLevel.column = e.mark.column + 1, fileLevel.failure = e.msg;
    report.add(std::move(fileLevel));
  }
  return true;
}

// Runs <policy>_test.yaml beside each policy file; a policy no test ran against is a failed
// outcome. False when a test file is not YAML.
bool runTestFiles(Compilation &c, Report &report) {
  for (FileId id = 0; id < c.sources().size(); ++id) {
    fs::path src = c.sources().file(id).path();
    if (src.extension() != ".bw") continue;
    std::vector<const CheckedPolicy *> policies;
    for (const auto &p : c.semaResult().policies)
      if (p.file == id) policies.push_back(&p);
    if (policies.empty()) continue;  // a module: nothing to test
    fs::path testFile = src.parent_path() / (src.stem().string() + "_test.yaml");
    std::set<std::string> tested;
    std::error_code ec;
    if (fs::exists(testFile, ec) && !runTestFile(testFile, policies, report, tested)) return false;
    for (const CheckedPolicy *p : policies) {
      if (tested.count(p->ir.name)) continue;
      const auto &loc = p->ir.loc;
      report.add({src.string(), static_cast<int>(loc.line), static_cast<int>(loc.column), "tests of policy " + p->ir.name,
                  p->ir.name, "no test for policy " + p->ir.name + " (write tests in " + testFile.string() + ")"});
    }
  }
  return true;
}

// Writes the report in the chosen format to stdout or opts.output (then a summary line to
// stderr); false when the file cannot be written.
bool writeReport(const Report &report, const PolicyTestOptions &opts) {
  std::string out;
  switch (opts.format) {
  case TestReportFormat::Text: out = report.text(opts.verbose); break;
  case TestReportFormat::Json: out = report.json(); break;
  case TestReportFormat::Junit: out = report.junit(); break;
  case TestReportFormat::Github: out = report.github(); break;
  }
  if (opts.output.empty()) {
    std::cout << out;
    return true;
  }
  std::ofstream f(opts.output, std::ios::binary);
  if (!(f << out)) {
    std::cerr << "bulwarkc: error: cannot write '" << opts.output << "'\n";
    return false;
  }
  std::cerr << report.summary() << "\n";
  return true;
}

} // namespace

int runPolicyTests(Compilation &c, const PolicyTestOptions &opts) {
  Report report;
  report.minCoverage = opts.minCoverage;
  if (!runTestFiles(c, report)) return kExitUsage;
  for (auto &[policy, cov] : report.coverage)
    for (const auto &p : c.semaResult().policies)
      if (p.ir.name == policy)
        for (const auto &r : p.ir.rules)
          if (!cov.hit.count(r.id)) cov.missing.push_back(r.name);
  if (!writeReport(report, opts)) return kExitUsage;
  bool coverageOk = true;
  for (const auto &[policy, cov] : report.coverage) coverageOk = coverageOk && report.coverageOk(cov);
  if (report.outcomes.empty() || report.failed || !coverageOk) return kExitFindings;
  return kExitClean;
}

} // namespace bulwark
