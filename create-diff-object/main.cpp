// create-diff-object: compares the original and patched build of one kernel object and writes an
// object holding only what the livepatch needs.
//
//   create-diff-object --orig a.o --patched b.o --target vmlinux --symtab kallsyms
//       --symvers Module.symvers --patch-name fix -o out.o
//   create-diff-object ORIG.o PATCHED.o PARENT_NAME PARENT_SYMTAB SYMVERS PATCH_MODNAME OUTPUT.o
//
// Exit codes: 0 written, 1 error, 2 unpatchable difference, 3 no change (see error.h).
#include <CLI/CLI.hpp>

#include <malloc.h>

#include <iostream>

#include "cli.h"
#include "diff.h"
#include "version.h"

using namespace klp;

int main(int argc, char **argv) {
  // A short-lived process per object: freed memory stays in the heap for reuse rather than
  // going back to the kernel and faulting in again (10% fewer page faults on a large unit,
  // the same peak RSS).
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
  CLI::App app{"Compare the original and patched build of a kernel object and write the parts a "
               "livepatch needs.\n\nExit status: 0 output written, 1 error, 2 the change cannot "
               "be live-patched, 3 no change.",
               "create-diff-object"};
  DiffOptions opts;
  std::string output;
  bool debug = false;
  std::vector<std::string> positional;
  app.add_option("--orig", opts.orig_path,
                 "original object (built with -ffunction-sections "
                 "-fdata-sections)");
  app.add_option("--patched", opts.patched_path, "patched object, built the same way");
  app.add_option("--target", opts.target, "object being patched: vmlinux or a module name")
      ->capture_default_str();
  app.add_option("--symtab", opts.symtab_path,
                 "target's symbols: vmlinux or .ko, `readelf -s --wide` text, or /proc/kallsyms");
  app.add_option("--symvers", opts.symvers_path, "the target kernel's Module.symvers");
  app.add_option("--patch-name", opts.patch_name, "name of the livepatch module");
  app.add_option("-o,--output", output, "output object");
  app.add_flag("--debug", debug, "log every correlation, comparison and inclusion decision");
  app.add_option("args", positional,
                 "kpatch form: ORIG.o PATCHED.o PARENT_NAME PARENT_SYMTAB SYMVERS PATCH_MODNAME "
                 "OUTPUT.o");
  app.set_version_flag("--version", std::string("create-diff-object ") + kVersion);
  if (std::optional<int> rc = parse_command_line(app, argc, argv))
    return *rc;
  if (!positional.empty()) {
    if (positional.size() != 7) {
      std::cerr << "create-diff-object: the positional form takes 7 arguments: ORIG.o PATCHED.o "
                   "PARENT_NAME PARENT_SYMTAB SYMVERS PATCH_MODNAME OUTPUT.o\n";
      return kExitError;
    }
    opts.orig_path = positional[0];
    opts.patched_path = positional[1];
    opts.target = positional[2];
    opts.symtab_path = positional[3];
    opts.symvers_path = positional[4];
    opts.patch_name = positional[5];
    output = positional[6];
    // Like kpatch, which diffs one object at a time: a global found nowhere is another object's.
    opts.link_scope.assume_linked = true;
    // kpatch's layout: kpatch-build's later steps and its tests expect foo.cold as a function.
    opts.cold_parts_inside = false;
  }
  if (opts.orig_path.empty() || opts.patched_path.empty() || output.empty()) {
    std::cerr << "create-diff-object: --orig, --patched and -o are required (see --help)\n";
    return kExitError;
  }
  if (debug)
    opts.debug = &std::cerr;

  try {
    // Correlate, compare and choose what the patch needs.
    auto session = analyze(opts);
    if (session->refusal)
      throw Unpatchable(*session->refusal);
    for (const std::string &w : session->ctx->warnings)
      std::cerr << "create-diff-object: warning: " << w << "\n";
    for (const std::string &line : session->summary)
      std::cout << opts.patched_path << ": " << line << "\n";
    // Nothing to patch: say so and write nothing.
    if (!session->has_changes) {
      std::cerr << opts.patched_path << ": no changes that need a livepatch\n";
      return kExitNoChange;
    }
    // Write the patch object.
    write_patch(*session, opts, output);
    return kExitOk;
  } catch (const Unpatchable &e) {
    std::cerr << "create-diff-object: " << e.what() << "\n";
    return kExitUnpatchable;
  } catch (const Error &e) {
    std::cerr << "create-diff-object: " << e.what() << "\n";
    return kExitError;
  } catch (const std::exception &e) {
    std::cerr << "create-diff-object: internal error: " << e.what() << "\n";
    return kExitError;
  }
}
