// bulwarkc: checks, lints, formats, tests and compiles Bulwark policies.
#include "Catalogue.h"
#include "CompileCommand.h"
#include "Compilation.h"
#include "DiagnosticRender.h"
#include "ExitCodes.h"
#include "Formatter.h"
#include "HugeHeap.h"
#include "LineDiff.h"
#include "ModuleLoader.h"
#include "Parser.h"
#include "PolicyTests.h"

#include <CLI/CLI.hpp>

#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <map>
#include <iostream>

namespace bulwark {
namespace {

struct CommonOptions {
  std::vector<std::string> paths;
  std::vector<std::string> stdlibDirs;
  std::string format = "text";
  std::string color = "auto";
  std::string output;
  std::string btf = "/sys/kernel/btf/vmlinux";
};

void addCommon(CLI::App *cmd, CommonOptions &o, bool withFormat = true) {
  cmd->add_option("paths", o.paths, "policy files or directories (searched for *.bw)")->required();
  cmd->add_option("--stdlib", o.stdlibDirs, "extra directory to search for imported modules");
  cmd->add_option("--btf", o.btf, "kernel BTF for kprobe argument types");
  if (withFormat) {
    cmd->add_option("--format", o.format, "diagnostic format")->check(CLI::IsMember({"text", "json", "sarif", "github"}));
    cmd->add_option("-o,--output", o.output, "write diagnostics to this file instead of the terminal");
  }
  cmd->add_option("--color", o.color, "color text diagnostics")->check(CLI::IsMember({"auto", "always", "never"}));
}

DiagFormat parseFormat(const std::string &f) {
  if (f == "json") return DiagFormat::Json;
  if (f == "sarif") return DiagFormat::Sarif;
  if (f == "github") return DiagFormat::Github;
  return DiagFormat::Text;
}

std::unique_ptr<Compilation> makeCompilation(const CommonOptions &o, int *rc) {
  CompilationOptions copts;
  copts.stdlibDirs = o.stdlibDirs;
  copts.sema.btfPath = o.btf;
  auto c = std::make_unique<Compilation>(copts);
  std::string err;
  if (!c->addInputs(o.paths, &err)) {
    std::cerr << "bulwarkc: error: " << err << "\n";
    *rc = kExitUsage;
    return nullptr;
  }
  return c;
}

// Prints diagnostics in the chosen format; returns the exit code for the fail level.
int report(Compilation &c, const CommonOptions &o, Severity failLevel) {
  c.diags().sort();
  RenderOptions ropts;
  ropts.toolVersion = BULWARK_VERSION;
  DiagFormat fmt = parseFormat(o.format);
  bool tty = isatty(o.output.empty() && fmt == DiagFormat::Text ? 2 : 1);
  ropts.color = o.color == "always" || (o.color == "auto" && tty && o.output.empty());
  std::string text = renderDiagnostics(c.sources(), c.diags().all(), fmt, ropts);
  if (!o.output.empty()) {
    std::ofstream f(o.output, std::ios::binary);
    if (!(f << text)) {
      std::cerr << "bulwarkc: error: cannot write '" << o.output << "'\n";
      return kExitUsage;
    }
  } else if (fmt == DiagFormat::Text) {
    std::cerr << text;
  } else {
    std::cout << text;
  }
  size_t errors = c.diags().errorCount(), warnings = c.diags().warningCount();
  if (errors) return kExitFindings;
  if (failLevel == Severity::Warning && warnings) return kExitFindings;
  return kExitClean;
}

int runFmt(const CommonOptions &o, bool check, bool toStdout) {
  std::vector<std::string> files;
  std::string err;
  if (!collectPolicyFiles(o.paths, &files, &err)) {
    std::cerr << "bulwarkc: error: " << err << "\n";
    return kExitUsage;
  }
  int rc = kExitClean;
  for (const auto &path : files) {
    SourceManager sm;
    DiagnosticEngine diags;
    auto id = sm.load(path, &err);
    if (!id) {
      std::cerr << "bulwarkc: error: " << err << "\n";
      return kExitUsage;
    }
    auto file = parseFile(sm, *id, diags);
    if (diags.errorCount()) {
      RenderOptions ropts;
      ropts.color = o.color == "always" || (o.color == "auto" && isatty(2));
      std::cerr << renderDiagnostics(sm, diags.all(), DiagFormat::Text, ropts);
      std::cerr << "bulwarkc: error: not formatting '" << path << "': fix the syntax errors first\n";
      rc = kExitFindings;
      continue;
    }
    std::string formatted = formatFile(sm.file(*id), *file);
    const std::string &original = sm.file(*id).text();
    if (toStdout) {
      std::cout << formatted;
    } else if (check) {
      if (formatted != original) {
        std::cout << unifiedDiff(path, original, formatted);
        rc = kExitFindings;
      }
    } else if (formatted != original) {
      std::ofstream f(path, std::ios::binary | std::ios::trunc);
      if (!(f << formatted)) {
        std::cerr << "bulwarkc: error: cannot write '" << path << "'\n";
        return kExitUsage;
      }
      std::cerr << "formatted " << path << "\n";
    }
  }
  if (check && rc == kExitFindings) std::cerr << "bulwarkc: some files are not formatted; run 'bulwarkc fmt' on them\n";
  return rc;
}

int runExplain(const std::string &code, bool list) {
  if (list) {
    for (const auto &k : allDiagKinds())
      std::cout << k.code << "  " << severityName(k.severity) << "  " << k.title << "\n";
    return kExitClean;
  }
  std::string upper = code;  // codes are printed upper case; accept e0006 too
  for (char &ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  const DiagKindInfo *k = findDiagKind(upper);
  if (!k) {
    std::cerr << "bulwarkc: error: unknown diagnostic code '" << code << "' (see 'bulwarkc explain --list')\n";
    return kExitUsage;
  }
  std::cout << k->code << ": " << k->title << " (" << severityName(k->severity) << ")\n\n" << k->explanation << "\n";
  return kExitClean;
}

// The hook catalogue as Markdown: docs/hooks.md is generated from this output.
int runHooks() {
  const auto &cat = Catalogue::get();
  std::cout << "# Hooks\n\nGenerated by `bulwarkc hooks` from the hook catalogue "
               "(`abi/hooks.def`). Do not edit by hand.\n\n";
  std::cout << "Every hook also has the common fields:\n\n| field | type | meaning |\n|---|---|---|\n";
  for (const auto &f : cat.hook(HookId::FILE_OPEN).fields)
    if (f.common) std::cout << "| `" << f.name << "` | " << Catalogue::typeName(f.type) << " | " << f.summary << " |\n";
  std::cout << "\n| hook | kernel attach point | can prevent | fields |\n|---|---|---|---|\n";
  for (const auto &h : cat.hooks()) {
    if (cat.findHook(h.name)->id != h.id) continue;  // a companion: listed with its hook
    std::string attach = "LSM `" + std::string(h.attach) + "`";
    for (const HookInfo *c : cat.companions(h.id)) attach += ", `" + std::string(c->attach) + "`";
    std::cout << "| `" << h.name << "` | " << (h.kind == HookKind::Lsm ? attach : std::string("kprobe on the named function (`kprobe/<fn>`, attached directly)"))
              << " | " << (h.canPrevent() ? "yes (allow, deny, audit, kill)" : "no (audit, kill)") << " | ";
    bool first = true;
    for (const auto &f : h.fields) {
      if (f.common) continue;
      std::cout << (first ? "" : "<br>") << "`" << f.name << "`: " << Catalogue::typeName(f.type) << " — " << f.summary;
      first = false;
    }
    if (h.id == HookId::KPROBE)
      std::cout << "`arg0`..`arg4`: the function's parameters, typed from kernel BTF: int (widened with the C type's sign) "
                   "or string (`char *`, kernel or user memory); struct pointers have no field";
    std::cout << " |\n";
  }
  std::cout << "\n## Enums and flag sets\n\n";
  for (const auto &e : cat.enums()) {
    std::cout << "- `" << e.name << "`" << (e.isFlags ? " (flags: test with `has`)" : "") << ": ";
    for (size_t i = 0; i < e.values.size(); ++i) std::cout << (i ? ", " : "") << "`" << e.values[i].name << "`";
    std::cout << "\n";
  }
  return kExitClean;
}

// The command line: the subcommands and the options they fill.
struct CommandLine {
  CLI::App app{"bulwarkc: check, lint, format, test and compile Bulwark security policies"};
  CLI::App *check = nullptr, *lint = nullptr, *fmt = nullptr, *explain = nullptr, *hooks = nullptr,
           *compile = nullptr, *inspect = nullptr, *test = nullptr;
  CommonOptions checkOpts, lintOpts, fmtOpts, compileOpts, testOpts;
  std::string failLevel = "warning";
  bool fmtCheck = false, fmtStdout = false;
  std::string code;
  bool listCodes = false;
  CompileCommandOptions compileCmd;
  std::string inspectDir, inspectFormat = "text";
  PolicyTestOptions testCmd;
  std::string testFormat = "text";
};

// --version and the source-level subcommands: check, lint, fmt, explain, hooks.
void defineSourceCommands(CommandLine &cl) {
  std::string version = std::string("bulwarkc ") + BULWARK_VERSION + "\nstdlib search path:";
  if (const char *env = std::getenv("BULWARK_STDLIB")) version += std::string(" ") + env + " ($BULWARK_STDLIB)";
  for (const auto &dir : defaultStdlibDirs()) version += " " + dir;
  cl.app.set_version_flag("--version", version);
  cl.app.require_subcommand(1);

  cl.check = cl.app.add_subcommand("check", "report syntax and type errors");
  addCommon(cl.check, cl.checkOpts);
  cl.lint = cl.app.add_subcommand("lint", "check, then report warnings (W01xx)");
  addCommon(cl.lint, cl.lintOpts);
  cl.lint->add_option("--fail-level", cl.failLevel, "lowest severity that makes the exit code 1")->check(CLI::IsMember({"error", "warning"}));
  cl.fmt = cl.app.add_subcommand("fmt", "format files in place (canonical style, comments kept)");
  addCommon(cl.fmt, cl.fmtOpts, false);
  cl.fmt->add_flag("--check", cl.fmtCheck, "change nothing; print a diff and exit 1 if a file is not formatted");
  cl.fmt->add_flag("--stdout", cl.fmtStdout, "print the formatted text instead of writing files");
  cl.explain = cl.app.add_subcommand("explain", "describe a diagnostic code");
  cl.explain->add_option("code", cl.code, "a code such as E0006");
  cl.explain->add_flag("--list", cl.listCodes, "list every code");
  cl.hooks = cl.app.add_subcommand("hooks", "print the hook catalogue (Markdown)");
}

// The subcommands on compiled policies: compile, inspect, test.
void defineBundleCommands(CommandLine &cl) {
  cl.compile = cl.app.add_subcommand("compile", "check, then compile each policy into a bundle (<out>/<policy>.bwb)");
  addCommon(cl.compile, cl.compileOpts);
  cl.compile->add_option("--out-dir", cl.compileCmd.outDir, "directory for the bundles")->required();
  cl.compile->add_option("--policy", cl.compileCmd.onlyPolicies, "compile only this policy (repeatable)");
  cl.compile->add_flag("-q,--quiet", cl.compileCmd.quiet, "do not print a line per bundle");

  cl.inspect = cl.app.add_subcommand("inspect", "describe a bundle: manifest, programs, maps, rule table");
  cl.inspect->add_option("bundle", cl.inspectDir, "bundle directory")->required();
  cl.inspect->add_option("--format", cl.inspectFormat, "output format")->check(CLI::IsMember({"text", "json"}));

  cl.test = cl.app.add_subcommand("test", "run policy unit tests (<policy>_test.yaml beside <policy>.bw)");
  addCommon(cl.test, cl.testOpts, false);
  cl.test->add_option("--format", cl.testFormat, "report format (diagnostics use json or github too, else text)")
      ->check(CLI::IsMember({"text", "json", "junit", "github"}));
  cl.test->add_option("-o,--output", cl.testCmd.output, "write the report to this file instead of stdout");
  cl.test->add_flag("-v,--verbose", cl.testCmd.verbose, "print passing tests too");
  cl.test->add_option("--min-coverage", cl.testCmd.minCoverage, "fail unless each tested policy exercises this percent of its rules");
}

// check or lint: diagnostics of the inputs.
int runCheckOrLint(CommandLine &cl) {
  bool lint = static_cast<bool>(*cl.lint);
  CommonOptions &o = lint ? cl.lintOpts : cl.checkOpts;
  int rc = kExitClean;
  auto c = makeCompilation(o, &rc);
  if (!c) return rc;
  if (lint) c->lint();
  else c->check();
  return report(*c, o, lint && cl.failLevel == "warning" ? Severity::Warning : Severity::Error);
}

// compile or test: check the inputs, then write the bundles or run the policy tests.
int runCompileOrTest(CommandLine &cl) {
  bool test = static_cast<bool>(*cl.test);
  if (test) {
    static const std::map<std::string, TestReportFormat> formats{
        {"text", TestReportFormat::Text}, {"json", TestReportFormat::Json},
        {"junit", TestReportFormat::Junit}, {"github", TestReportFormat::Github}};
    cl.testCmd.format = formats.at(cl.testFormat);
    if (cl.testFormat == "json" || cl.testFormat == "github") cl.testOpts.format = cl.testFormat;
  }
  CommonOptions &o = test ? cl.testOpts : cl.compileOpts;
  int rc = kExitClean;
  auto c = makeCompilation(o, &rc);
  if (!c) return rc;
  c->check();
  if (c->diags().errorCount()) return report(*c, o, Severity::Error);
  if (test) return runPolicyTests(*c, cl.testCmd);
  std::string ioError;
  bool ok = compilePolicies(*c, cl.compileCmd, &ioError);
  if (!ioError.empty()) {
    std::cerr << "bulwarkc: error: " << ioError << "\n";
    return kExitUsage;
  }
  int reported = report(*c, o, Severity::Error);
  return ok ? reported : kExitFindings;
}

int run(int argc, char **argv) {
  CommandLine cl;
  defineSourceCommands(cl);
  defineBundleCommands(cl);
  try {
    cl.app.parse(argc, argv);
  } catch (const CLI::ParseError &e) {
    int rc = cl.app.exit(e);
    return rc == 0 ? kExitClean : kExitUsage;
  }
  if (*cl.check || *cl.lint) return runCheckOrLint(cl);
  if (*cl.fmt) return runFmt(cl.fmtOpts, cl.fmtCheck, cl.fmtStdout);
  if (*cl.explain) {
    if (cl.code.empty() && !cl.listCodes) {
      std::cerr << "bulwarkc: error: explain needs a code (or --list)\n";
      return kExitUsage;
    }
    return runExplain(cl.code, cl.listCodes);
  }
  if (*cl.hooks) return runHooks();
  if (*cl.inspect) return runInspect(cl.inspectDir, cl.inspectFormat);
  if (*cl.compile || *cl.test) return runCompileOrTest(cl);
  return kExitUsage;
}

} // namespace
} // namespace bulwark

int main(int argc, char **argv) {
  // compile and test build large automata and LLVM modules: their heap in huge pages
  if (argc > 1 && (std::string_view(argv[1]) == "compile" || std::string_view(argv[1]) == "test"))
    bulwark::preferHugePages(argv);
  try {
    return bulwark::run(argc, argv);
  } catch (const std::exception &e) {
    std::cerr << "bulwarkc: internal error: " << e.what() << "\n";
    return bulwark::kExitInternal;
  } catch (...) {
    std::cerr << "bulwarkc: internal error\n";
    return bulwark::kExitInternal;
  }
}
