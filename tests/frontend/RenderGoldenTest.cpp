// Rendered diagnostics: the exact text and GitHub output for a sample file compared with
// tests/frontend/render/*.expected; JSON and SARIF checked structurally with a strict
// JSON reader. Set BULWARK_UPDATE_GOLDENS=1 to rewrite the .expected files (then review
// the diff before committing).
#include "DiagnosticRender.h"
#include "FrontendTestSupport.h"
#include "LineDiff.h"
#include "MiniJson.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <set>

namespace bulwark::test {
namespace {

std::string renderDir() { return frontendTestDir() + "/render"; }

// The sample is added under a fixed relative name so the goldens do not depend on where
// the tree is checked out.
std::unique_ptr<Compilation> lintSource(const std::string &name, const std::string &text) {
  auto c = std::make_unique<Compilation>();
  c->addSource(name, text);
  c->lint();
  c->diags().sort();
  return c;
}

std::unique_ptr<Compilation> lintSample() { return lintSource("render/sample.bw", readFile(renderDir() + "/sample.bw")); }

std::string render(Compilation &c, DiagFormat f, bool color = false) {
  RenderOptions o;
  o.color = color;
  o.toolVersion = "0.0.0-test";
  return renderDiagnostics(c.sources(), c.diags().all(), f, o);
}

void expectMatchesGolden(const std::string &actual, const std::string &goldenName) {
  std::string path = renderDir() + "/" + goldenName;
  if (const char *u = std::getenv("BULWARK_UPDATE_GOLDENS"); u && std::string(u) == "1") {
    std::ofstream(path, std::ios::binary) << actual;
    GTEST_SKIP() << "rewrote " << path;
  }
  std::string expected = readFile(path);
  EXPECT_EQ(actual, expected) << "rendering differs from " << relativeToSource(path) << ":\n"
                              << unifiedDiff(goldenName, expected, actual);
}

TEST(RenderGolden, TextMatchesGolden) {
  auto c = lintSample();
  expectMatchesGolden(render(*c, DiagFormat::Text), "sample.text.expected");
}

TEST(RenderGolden, GithubMatchesGolden) {
  auto c = lintSample();
  expectMatchesGolden(render(*c, DiagFormat::Github), "sample.github.expected");
}

TEST(RenderGolden, TextWithColorWrapsTheSamePlainText) {
  auto c = lintSample();
  std::string colored = render(*c, DiagFormat::Text, true);
  EXPECT_NE(colored.find("\033["), std::string::npos);
  std::string stripped;
  for (size_t i = 0; i < colored.size(); ++i) {
    if (colored[i] == '\033') {
      while (i < colored.size() && colored[i] != 'm') ++i;
      continue;
    }
    stripped += colored[i];
  }
  EXPECT_EQ(stripped, render(*c, DiagFormat::Text));
}

TEST(RenderGolden, NoDiagnosticsRenderAsNothingOrAnEmptyReport) {
  auto c = lintSource("clean.bw", "policy p {\n  rule r {\n    on file.open\n    deny\n  }\n}\n");
  ASSERT_TRUE(c->diags().all().empty());
  EXPECT_EQ(render(*c, DiagFormat::Text), "");
  EXPECT_EQ(render(*c, DiagFormat::Github), "");
  std::string error;
  auto json = parseJson(render(*c, DiagFormat::Json), &error);
  ASSERT_TRUE(json) << error;
  ASSERT_NE(json->get("diagnostics"), nullptr);
  EXPECT_TRUE(json->get("diagnostics")->array.empty());
  auto sarif = parseJson(render(*c, DiagFormat::Sarif), &error);
  ASSERT_TRUE(sarif) << error;
  ASSERT_NE(sarif->at("runs[0].results"), nullptr);
  EXPECT_TRUE(sarif->at("runs[0].results")->array.empty());
}

// ---- JSON ----

const JsonValue &need(const JsonValue &v, std::string_view path) {
  const JsonValue *x = v.at(path);
  if (!x) throw std::runtime_error("missing " + std::string(path));
  return *x;
}

TEST(RenderJson, IsValidAndCarriesEveryDiagnostic) {
  auto c = lintSample();
  std::string text = render(*c, DiagFormat::Json);
  std::string error;
  auto doc = parseJson(text, &error);
  ASSERT_TRUE(doc) << error << "\n" << text;
  const auto &diags = c->diags().all();
  const JsonValue &arr = need(*doc, "diagnostics");
  ASSERT_TRUE(arr.isArray());
  ASSERT_EQ(arr.array.size(), diags.size());
  size_t errors = 0, warnings = 0;
  for (size_t i = 0; i < diags.size(); ++i) {
    const Diagnostic &d = diags[i];
    const JsonValue &j = arr.array[i];
    SCOPED_TRACE("diagnostic " + std::to_string(i) + ": " + d.message);
    EXPECT_EQ(need(j, "code").string, d.code());
    EXPECT_EQ(need(j, "severity").string, severityName(d.severity));
    EXPECT_EQ(need(j, "title").string, diagKind(d.id).title);
    EXPECT_EQ(need(j, "message").string, d.message);  // escapes round-trip: quotes, backslashes, %
    EXPECT_EQ(need(j, "location.file").string, "render/sample.bw");
    EXPECT_EQ(need(j, "location.line").number, d.loc.line);
    EXPECT_EQ(need(j, "location.column").number, d.loc.column);
    EXPECT_EQ(need(j, "location.length").number, d.loc.length);
    const JsonValue &notes = need(j, "notes");
    ASSERT_TRUE(notes.isArray());
    ASSERT_EQ(notes.array.size(), d.notes.size());
    for (size_t n = 0; n < d.notes.size(); ++n) {
      EXPECT_EQ(need(notes.array[n], "message").string, d.notes[n].message);
      const JsonValue &loc = need(notes.array[n], "location");
      if (d.notes[n].loc.valid()) EXPECT_EQ(need(loc, "line").number, d.notes[n].loc.line);
      else EXPECT_EQ(loc.kind, JsonValue::Kind::Null);
    }
    if (d.help.empty()) EXPECT_EQ(j.get("help"), nullptr);
    else EXPECT_EQ(need(j, "help").string, d.help);
    (d.severity == Severity::Error ? errors : warnings)++;
  }
  EXPECT_EQ(need(*doc, "errors").number, errors);
  EXPECT_EQ(need(*doc, "warnings").number, warnings);
  // The sample exercises what needs escaping.
  EXPECT_NE(text.find("\\\"22\\\""), std::string::npos);
  EXPECT_NE(text.find("relative%20\\\\q"), std::string::npos);
}

// ---- SARIF 2.1.0 ----

class RenderSarif : public ::testing::Test {
protected:
  void SetUp() override {
    c_ = lintSample();
    text_ = render(*c_, DiagFormat::Sarif);
    std::string error;
    auto doc = parseJson(text_, &error);
    ASSERT_TRUE(doc) << error << "\n" << text_;
    doc_ = std::move(*doc);
  }
  std::unique_ptr<Compilation> c_;
  std::string text_;
  JsonValue doc_;
};

TEST_F(RenderSarif, HasTheRequiredTopLevelFields) {
  EXPECT_EQ(need(doc_, "version").string, "2.1.0");
  const std::string &schema = need(doc_, "$schema").string;
  EXPECT_NE(schema.find("sarif"), std::string::npos) << schema;
  EXPECT_NE(schema.find("2.1.0"), std::string::npos) << schema;
  ASSERT_TRUE(need(doc_, "runs").isArray());
  ASSERT_EQ(need(doc_, "runs").array.size(), 1u);
  EXPECT_EQ(need(doc_, "runs[0].tool.driver.name").string, "bulwarkc");
  EXPECT_EQ(need(doc_, "runs[0].tool.driver.version").string, "0.0.0-test");
}

TEST_F(RenderSarif, RulesListEveryRegisteredCodeOnce) {
  const JsonValue &rules = need(doc_, "runs[0].tool.driver.rules");
  ASSERT_TRUE(rules.isArray());
  std::set<std::string> ids;
  for (const auto &r : rules.array) {
    const JsonValue *id = r.get("id");
    ASSERT_TRUE(id && id->isString());
    EXPECT_TRUE(ids.insert(id->string).second) << "duplicate rule id " << id->string;
    ASSERT_NE(r.at("shortDescription.text"), nullptr) << id->string;
    const JsonValue *level = r.at("defaultConfiguration.level");
    ASSERT_NE(level, nullptr) << id->string;
    const DiagKindInfo *k = findDiagKind(id->string);
    ASSERT_NE(k, nullptr) << id->string;
    EXPECT_EQ(level->string, k->severity == Severity::Error ? "error" : "warning") << id->string;
  }
  for (const auto &k : allDiagKinds()) EXPECT_TRUE(ids.count(std::string(k.code))) << k.code;
}

TEST_F(RenderSarif, ResultsMatchTheDiagnosticsAndPointAtTheirRule) {
  const JsonValue &rules = need(doc_, "runs[0].tool.driver.rules");
  const JsonValue &results = need(doc_, "runs[0].results");
  const auto &diags = c_->diags().all();
  ASSERT_EQ(results.array.size(), diags.size());
  for (size_t i = 0; i < diags.size(); ++i) {
    const JsonValue &r = results.array[i];
    const Diagnostic &d = diags[i];
    SCOPED_TRACE("result " + std::to_string(i) + ": " + d.message);
    const std::string &ruleId = need(r, "ruleId").string;
    EXPECT_EQ(ruleId, d.code());
    const JsonValue &index = need(r, "ruleIndex");
    ASSERT_TRUE(index.isNumber());
    ASSERT_LT(index.number, rules.array.size());
    EXPECT_EQ(need(rules.array[static_cast<size_t>(index.number)], "id").string, ruleId) << "ruleIndex points at another rule";
    EXPECT_EQ(need(r, "level").string, d.severity == Severity::Error ? "error" : "warning");
    const std::string &msg = need(r, "message.text").string;
    EXPECT_EQ(msg.rfind(d.message, 0), 0u) << msg;
    EXPECT_EQ(need(r, "locations[0].physicalLocation.artifactLocation.uri").string, "render/sample.bw");
    EXPECT_EQ(need(r, "locations[0].physicalLocation.region.startLine").number, d.loc.line);
    EXPECT_EQ(need(r, "locations[0].physicalLocation.region.startColumn").number, d.loc.column);
    const JsonValue &fp = need(r, "partialFingerprints");
    ASSERT_TRUE(fp.isObject());
    ASSERT_FALSE(fp.object.empty());
    for (const auto &m : fp.object) EXPECT_FALSE(m.string.empty()) << m.key;
  }
}

std::vector<std::string> fingerprints(const JsonValue &sarif) {
  std::vector<std::string> out;
  for (const auto &r : need(sarif, "runs[0].results").array)
    for (const auto &m : need(r, "partialFingerprints").object) out.push_back(m.key + "=" + m.string);
  return out;
}

TEST_F(RenderSarif, FingerprintsAreStableAcrossRunsAndDistinctPerResult) {
  auto again = lintSample();
  std::string text2 = render(*again, DiagFormat::Sarif);
  EXPECT_EQ(text2, text_) << "two runs over the same input must render identically";
  std::string error;
  auto doc2 = parseJson(text2, &error);
  ASSERT_TRUE(doc2) << error;
  auto fp = fingerprints(doc_);
  EXPECT_EQ(fingerprints(*doc2), fp);
  EXPECT_EQ(std::set<std::string>(fp.begin(), fp.end()).size(), fp.size()) << "two results share a fingerprint";
}

TEST_F(RenderSarif, FingerprintsSurviveLinesInsertedAbove) {
  // The fingerprint hashes the offending line's text, not its number: an unrelated edit
  // above a finding must not make code scanning see a new alert.
  auto shifted = lintSource("render/sample.bw", "# an unrelated new comment\n\n" + readFile(renderDir() + "/sample.bw"));
  std::string error;
  auto doc2 = parseJson(render(*shifted, DiagFormat::Sarif), &error);
  ASSERT_TRUE(doc2) << error;
  EXPECT_EQ(fingerprints(*doc2), fingerprints(doc_));
  EXPECT_EQ(need(*doc2, "runs[0].results[0].locations[0].physicalLocation.region.startLine").number,
            need(doc_, "runs[0].results[0].locations[0].physicalLocation.region.startLine").number + 2);
}

} // namespace
} // namespace bulwark::test
