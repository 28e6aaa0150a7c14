// klp-diff: why each function is (or is not) in a livepatch, from create-diff-object's own
// decisions; and what differs between two built modules.
//
//   klp-diff ORIG.o PATCHED.o [--explain] [--json] [--function NAME]
//            [--target NAME --symtab FILE --symvers FILE]
//   klp-diff --explain DIR|MODULE.ko [--json] [--function NAME]
//   klp-diff A.ko B.ko [--json]        (klp-diff --compare A B for any two ELF files)
//   --html OUT.html [--patch FILE]... [--config FILE] with either explaining form: the
//   reviewer's page (html.h)
//
// Exit codes (man/klp-diff.1): explaining, 0 changes, 2 refused, 3 no change; comparing, 0
// identical, 4 different; 1 error.
#include <CLI/CLI.hpp>

#include <fstream>
#include <iostream>
#include <sstream>

#include "cli.h"
#include "explain.h"
#include "html.h"
#include "module_compare.h"
#include "names.h"
#include "version.h"

using namespace klp;

namespace {

struct Args {
  std::vector<std::string> paths;
  bool explain = false, json = false, compare = false;
  std::string function, target = "vmlinux", symtab, symvers;
  std::string html, config;
  std::vector<std::string> patches;
  bool target_given = false;
};

// Which of the three forms the arguments select; throws Error for a mix that means nothing.
enum class Mode { Pair, ExplainDir, Compare };

Mode mode_of(const Args &a) {
  bool two_modules = a.paths.size() == 2 && a.paths[0].ends_with(".ko") &&
                     a.paths[1].ends_with(".ko") && !a.explain;
  if (a.compare || two_modules) {
    if (a.paths.size() != 2)
      throw Error("--compare takes two files");
    if (a.explain || !a.function.empty() || a.target_given || !a.symtab.empty() ||
        !a.symvers.empty() || !a.html.empty())
      throw Error("comparing two files takes no --explain, --function, --target, --symtab, "
                  "--symvers or --html");
    return Mode::Compare;
  }
  if (a.paths.size() == 1) {
    if (a.target_given || !a.symtab.empty() || !a.symvers.empty())
      throw Error("an explain directory names its own targets, symbol tables and Module.symvers");
    return Mode::ExplainDir;
  }
  if (a.paths.size() != 2)
    throw Error("expected ORIG.o PATCHED.o, DIR or MODULE.ko, or A.ko B.ko (see --help)");
  return Mode::Pair;
}

} // namespace

int main(int argc, char **argv) {
  CLI::App app{"Explain why each function is, or is not, in a livepatch (create-diff-object's own "
               "decisions), or list the differences between two built modules.\n\nExit status: "
               "explaining, 0 changes, 2 refused, 3 no change; comparing, 0 identical, 4 "
               "different; 1 error.",
               "klp-diff"};
  Args a;
  app.add_option("paths", a.paths, "ORIG.o PATCHED.o | DIR | MODULE.ko | A.ko B.ko");
  app.add_flag("--explain", a.explain,
               "per function: reasons, source lines, inlined callees and an instruction diff");
  app.add_flag("--json", a.json, "JSON report (docs/klp-diff-json.md, schema_version 1)");
  app.add_flag("--compare", a.compare, "list the differences between two ELF files");
  app.add_option("--html", a.html,
                 "also write the reviewer's page, one self-contained HTML file, to this path");
  app.add_option("--patch", a.patches,
                 "with --html: a patch file the build applied (named with its sha256; its hunks "
                 "shown beside the functions they touch); repeatable");
  app.add_option("--config", a.config,
                 "with --html: the target kernel's config (its sha256 and release are shown)");
  app.add_option("--function", a.function, "only this function (patched or original name)");
  app.add_option("--target", a.target, "object being patched: vmlinux or a module name")
      ->capture_default_str();
  app.add_option("--symtab", a.symtab,
                 "target's symbols (shows how the patch names what it references)");
  app.add_option("--symvers", a.symvers, "the target kernel's Module.symvers");
  app.set_version_flag("--version", std::string("klp-diff ") + kVersion);
  if (std::optional<int> rc = parse_command_line(app, argc, argv))
    return *rc;
  a.target_given = app.count("--target") > 0;

  try {
    Mode mode = mode_of(a);
    if (a.html.empty() && (!a.patches.empty() || !a.config.empty()))
      throw Error("--patch and --config describe the build on the --html page; give --html");
    // Two built modules: list what differs.
    if (mode == Mode::Compare) {
      ModuleComparison c = compare_modules(a.paths[0], a.paths[1]);
      a.json ? print_comparison_json(c, std::cout) : print_comparison_text(c, std::cout);
      return c.identical() ? kExitOk : kExitDifferent;
    }
    // Run the differ on each pair (one from the command line, or the explain directory's).
    ExplainOptions opts{a.function, a.explain || a.json || !a.html.empty()};
    Report report;
    if (mode == Mode::ExplainDir) {
      report = explain_manifest(read_manifest(a.paths[0]), opts);
    } else {
      DiffOptions diff;
      diff.orig_path = a.paths[0];
      diff.patched_path = a.paths[1];
      diff.target = a.target;
      diff.symtab_path = a.symtab;
      diff.symvers_path = a.symvers;
      report = explain_objects(diff, opts);
    }
    // Write the page (first: an unwritable path is an error before any report is printed).
    if (!a.html.empty()) {
      PageInfo info;
      if (mode == Mode::ExplainDir && !report.patch_name.empty())
        info.module = report.patch_name + ".ko";
      for (const std::string &p : a.patches)
        info.inputs.push_back(read_page_input(p));
      if (!a.config.empty())
        describe_kernel(info, a.config);
      std::ostringstream page;
      print_html(report, info, page);
      std::ofstream out(a.html, std::ios::binary | std::ios::trunc);
      if (!(out << page.str()) || !out.flush())
        throw Error(a.html + ": cannot write the page");
    }
    // Print the report.
    a.json ? print_json(report, std::cout) : print_text(report, a.explain, std::cout);
    // Exit with the differ's verdict.
    return report_exit_code(report);
  } catch (const Error &e) {
    std::cerr << "klp-diff: " << e.what() << "\n";
    return kExitError;
  } catch (const std::exception &e) {
    std::cerr << "klp-diff: internal error: " << e.what() << "\n";
    return kExitError;
  }
}
