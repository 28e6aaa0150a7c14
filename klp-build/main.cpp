// klp-build: turns kernel source patches into a livepatch module.
//
//   klp-build --sourcedir linux fix.patch   ->   ./livepatch-fix.ko
//   klp-build --targets kernels.toml fix.patch   ->   ./<target>/livepatch-fix.ko, each target
//
// Exit codes: 0 module written, 1 error, 2 the patch cannot be live-patched, 3 no change,
// 5 (--targets) one or more targets did not build.
#include <unistd.h>

#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "batch.h"
#include "batch_report.h"
#include "batch_status.h"
#include "cli.h"
#include "elf_writer.h"
#include "error.h"
#include "explain.h"
#include "html.h"
#include "kbuild.h"
#include "klp_build.h"
#include "module_compare.h"
#include "process.h"
#include "targets.h"
#include "version.h"
#include "work_dir.h"

using namespace klp;

namespace {

// What the reviewer's page says about this build beyond klp-diff's report: the module, the
// patches with their digests, the kernel config and release, the phase timings.
PageInfo page_info(const BuildOptions &o, const BuildResult &r,
                   const std::vector<PagePhase> &phases) {
  namespace fs = std::filesystem;
  PageInfo info;
  info.module = fs::path(r.module_path).filename().string();
  for (const std::string &p : o.patches)
    info.inputs.push_back(read_page_input(p));
  std::string config = !o.config.empty() ? o.config : o.sourcedir + "/.config";
  std::string release = o.headers.empty() ? "" : o.headers + "/include/config/kernel.release";
  if (fs::exists(config))
    describe_kernel(info, config, release);
  info.phases = phases;
  return info;
}

// Builds a second time and compares the two modules (exit 1 if they differ). The second build
// varies what must not matter: a fresh tree (no cache) at other absolute paths, another -j, make
// instead of a replay of kbuild's commands for the patched units, and its output in a scratch
// directory.
int check_reproducible(const BuildOptions &o, const BuildResult &first, const Reporter &report) {
  WorkDir scratch(false); // removed on every exit path
  BuildOptions again = o;
  again.output_dir = scratch.path();
  again.explain = false;
  again.check_reproducible = false;
  again.use_cache = false;
  again.jobs = o.jobs == 1 ? 2 : 1;
  again.replay = false; // make compiles the patched units: a replay must give the same bytes
  report.info("building again for --check-reproducible: fresh tree, -j" +
              std::to_string(again.jobs) + ", make throughout");
  BuildResult second = build_livepatch(again, report);
  ModuleComparison c = compare_modules(first.module_path, second.module_path);
  if (c.identical()) {
    std::printf("klp-build: reproducible: a second build is bit-identical\n");
    return kExitOk;
  }
  std::printf("klp-build: NOT reproducible: a second build differs:\n");
  print_comparison_text(c, std::cout);
  return kExitError;
}

// distcc names gcc by its target triple on the way out ("gcc-12" runs as
// "x86_64-linux-gnu-gcc-12", clang gets -target): kconfig's `$(CC) --version` then records
// another CONFIG_CC_VERSION_TEXT than the target's config has, and the config is refused as
// changed. With the rewrite off, distcc runs the very command a local build runs. distcc 3.4
// reads DISTCC_NO_REWRITE_CROSS; its man page spells it DISTCC_NO_CROSS_REWRITE: both are set
// (a user's own value is kept).
void keep_distcc_commands_as_given(const std::string &launcher) {
  if (launcher_program(launcher) != "distcc")
    return;
  setenv("DISTCC_NO_REWRITE_CROSS", "1", 0);
  setenv("DISTCC_NO_CROSS_REWRITE", "1", 0);
}

// The options every target of a batch gets from the command line (the rest are the target's).
std::vector<std::string> shared_args(const CLI::App &app, const BuildOptions &o) {
  std::vector<std::string> args;
  if (!o.cache_dir.empty())
    args.insert(args.end(), {"--cache", o.cache_dir});
  if (!o.compiler_launcher.empty())
    args.insert(args.end(), {"--compiler-launcher", o.compiler_launcher});
  for (const char *flag : {"--no-replace", "--no-cache", "--keep-tmp", "--explain",
                           "--check-reproducible", "--verbose"})
    if (app.count(flag))
      args.push_back(flag);
  return args;
}

// klp-build --targets: every target built by a klp-build of its own, the summary at the end.
int build_batch(const CLI::App &app, const BuildOptions &o, const std::string &targets_file,
                bool json) {
  BatchPlan plan;
  plan.targets = read_targets(targets_file);
  plan.patches = o.patches;
  plan.name = o.name;
  plan.shared_args = shared_args(app, o);
  plan.output_dir = o.output_dir;
  plan.jobs = o.jobs > 0 ? o.jobs : static_cast<int>(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)));
  plan.klp_build = std::filesystem::read_symlink("/proc/self/exe").string();
  // With --json, standard output is the summary alone; the progress goes to standard error.
  FILE *progress_out = json ? stderr : stdout;
  std::vector<std::string> names;
  for (const Target &t : plan.targets)
    names.push_back(t.name);
  BatchProgress progress(names, progress_out, isatty(fileno(progress_out)));
  BatchEvents events;
  events.started = [&](size_t i) { progress.started(i); };
  events.phase = [&](size_t i, const std::string &p, double s) { progress.phase(i, p, s); };
  events.finished = [&](size_t i, const TargetResult &r) { progress.finished(i, r); };
  std::vector<TargetResult> results = run_batch(plan, events);
  if (json)
    std::cout << batch_summary_json(results).dump(2) << "\n";
  else
    print_batch_summary(results, std::cout);
  return batch_exit_code(results);
}

} // namespace

int main(int argc, char **argv) {
  CLI::App app{"Build a livepatch module from kernel source patches.\n\nExit status: 0 module "
               "written, 1 error, 2 the change cannot be live-patched, 3 no change, 5 (--targets) "
               "one or more targets did not build.",
               "klp-build"};
  BuildOptions o;
  bool no_replace = false;
  app.add_option("patches", o.patches, "patch files (unified diff, -p1); combined in one module")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("--sourcedir", o.sourcedir, "kernel source tree (never modified)")
      ->capture_default_str();
  app.add_option("--config", o.config,
                 "kernel config (default: SOURCEDIR/.config, else /boot/config-$(uname -r))");
  app.add_option("--vmlinux", o.vmlinux, "the target's vmlinux (a kernel built from this tree)");
  app.add_option("--kallsyms", o.kallsyms, "a copy of the target's /proc/kallsyms");
  app.add_option("--symvers", o.symvers, "the target's Module.symvers (default: from --headers)");
  app.add_option("--headers", o.headers,
                 "kbuild tree to link against, e.g. /usr/src/linux-headers-$(uname -r)");
  app.add_option("-n,--name", o.name, "module name (default: livepatch-<first patch>)");
  app.add_option("-o,--output", o.output_dir, "directory for the .ko")->capture_default_str();
  app.add_option("-j,--jobs", o.jobs, "parallel compile jobs (default: number of CPUs)");
  app.add_flag("--no-replace", no_replace, "stack on earlier patches instead of replacing them");
  app.add_option("--compiler-launcher", o.compiler_launcher, "e.g. ccache, distcc, icecc");
  app.add_option("--kernel-image", o.kernel_image,
                 "the target's vmlinux or vmlinuz: prove the original build matches it")
      ->check(CLI::ExistingFile);
  app.add_option("--modules", o.modules_dir,
                 "the target's /lib/modules/RELEASE: symbols of modules --kallsyms lacks come "
                 "from their .ko (.ko.xz, .ko.zst, .ko.gz) there; with --kernel-image, functions "
                 "of modules are checked against them")
      ->check(CLI::ExistingDirectory);
  app.add_option("--cache", o.cache_dir,
                 "where prepared trees and original objects are kept (default: "
                 "~/.cache/klp-build)");
  CLI::Option *sign_key =
      app.add_option("--sign-key", o.sign_key,
                     "sign the module with this private key (PEM file or PKCS#11 URI) by the "
                     "build tree's scripts/sign-file, for kernels that enforce signatures");
  CLI::Option *sign_cert =
      app.add_option("--sign-cert", o.sign_cert,
                     "the X.509 certificate (PEM or DER) of --sign-key, which the target kernel "
                     "must trust")
          ->check(CLI::ExistingFile);
  sign_key->needs(sign_cert);
  sign_cert->needs(sign_key);
  bool no_cache = false;
  app.add_flag("--no-cache", no_cache, "prepare a throwaway tree instead of using the cache");
  app.add_flag("--keep-tmp", o.keep_tmp, "keep the work directory");
  app.add_flag("--explain", o.explain,
               "keep the compared objects in <name>.explain/ beside the module for klp-diff");
  app.add_flag("--check-reproducible", o.check_reproducible,
               "build twice in different work directories and report differing sections");
  app.add_flag("-v,--verbose", o.verbose, "show every command");
  std::string targets_file;
  CLI::Option *targets =
      app.add_option("--targets", targets_file,
                     "build for every kernel this TOML file names ([target.NAME] tables, see "
                     "klp-build(1) BATCH BUILDS): one module per target under OUTPUT/NAME/")
          ->check(CLI::ExistingFile);
  // A target's own options come from the file (targets.h's keys are those options' names).
  for (const std::string &key : kTargetKeys)
    targets->excludes(app.get_option("--" + key));
  bool json = false;
  app.add_flag("--json", json, "with --targets: the summary as JSON on standard output")
      ->needs(targets);
  // The batch's channel to a target it runs (batch_status.h); not for users.
  int status_fd = -1;
  app.add_option("--status-fd", status_fd)->group("");
  app.set_version_flag("--version", std::string("klp-build ") + kVersion);
  if (std::optional<int> rc = parse_command_line(app, argc, argv))
    return *rc;
  // 0 jobs would mean "as many as CPUs" inside; given on the command line it is a mistake.
  if (app.count("--jobs") && o.jobs < 1) {
    std::cerr << "klp-build: -j " << o.jobs << ": the number of jobs must be at least 1\n";
    return kExitError;
  }
  o.replace = !no_replace;
  o.use_cache = !no_cache;
  g_verbose_commands = o.verbose;
  keep_distcc_commands_as_given(o.compiler_launcher);
  install_interrupt_handlers();

  if (!targets_file.empty()) {
    try {
      return build_batch(app, o, targets_file, json);
    } catch (const std::exception &e) {
      std::cerr << "klp-build: " << e.what() << "\n";
      return kExitError;
    }
  }

  StatusWriter status(status_fd);
  // Tells the batch that runs this build how it ended, then returns the exit status.
  auto ended = [&status](int code, const std::string &reason) {
    status.write(result_event(code, reason));
    return code;
  };
  Reporter report;
  std::vector<PagePhase> phases; // for the reviewer's page
  report.phase = [&phases, &status](const std::string &phase, double s) {
    phases.push_back({phase, s});
    status.write(phase_event(phase, s));
    std::printf("klp-build: %-9s %6.1f s\n", phase.c_str(), s);
    std::fflush(stdout);
  };
  report.info = [](const std::string &line) { std::printf("klp-build: %s\n", line.c_str()); };
  try {
    // Build original and patched objects, diff them, link and convert the module.
    BuildResult r = build_livepatch(o, report);
    // Say what the module patches (and, for a batch, the same as data).
    StatusEvent built = result_event(kExitOk);
    built.module = std::filesystem::absolute(r.module_path).string();
    for (const PatchedObject &po : r.objects) {
      for (const std::string &f : po.changed_functions) {
        std::printf("klp-build: %s (%s): patched %s\n", po.object.c_str(), po.target.c_str(),
                    f.c_str());
        built.functions.push_back(po.object + ": " + f);
      }
      for (const std::string &f : po.new_functions) {
        std::printf("klp-build: %s (%s): new %s\n", po.object.c_str(), po.target.c_str(),
                    f.c_str());
        built.functions.push_back(po.object + ": " + f + " (new)");
      }
    }
    std::printf("klp-build: wrote %s\n", r.module_path.c_str());
    // The reviewer's report: klp-diff's explanation of every decision, next to the module, as
    // text and as the reviewer's page.
    if (o.explain) {
      std::string base = r.module_path.substr(0, r.module_path.size() - 3);
      Report explained = explain_manifest(read_manifest(r.module_path), ExplainOptions{});
      std::ostringstream text, page;
      print_text(explained, true, text);
      write_file_atomically(base + ".explain.txt", text.str());
      std::printf("klp-build: wrote %s.explain.txt\n", base.c_str());
      print_html(explained, page_info(o, r, phases), page);
      write_file_atomically(base + ".explain.html", page.str());
      std::printf("klp-build: wrote %s.explain.html\n", base.c_str());
    }
    // Build again elsewhere and compare, section by section.
    if (o.check_reproducible && check_reproducible(o, r, report) != kExitOk)
      return ended(kExitError, "not reproducible: a second build differs");
    status.write(built);
    return kExitOk;
  } catch (const NoChange &e) {
    std::cerr << "klp-build: " << e.what() << "\n";
    return ended(kExitNoChange, e.what());
  } catch (const Unpatchable &e) {
    std::cerr << "klp-build: " << e.what() << "\n";
    return ended(kExitUnpatchable, e.what());
  } catch (const Error &e) {
    std::cerr << "klp-build: " << e.what() << "\n";
    return ended(kExitError, e.what());
  } catch (const std::exception &e) {
    std::cerr << "klp-build: internal error: " << e.what() << "\n";
    return ended(kExitError, std::string("internal error: ") + e.what());
  }
}
