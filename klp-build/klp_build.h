// klp-build's pipeline: from source patches to a loadable livepatch module.
//
//   shadow tree   hard links of the user's tree (never modified), build outputs left out
//   prepare       olddefconfig + modules_prepare in an out-of-tree build directory
//   original      the touched translation units, compiled by kbuild with
//                 -ffunction-sections -fdata-sections
//   patched       the patches applied to the shadow tree, the same units compiled again
//   diff          create-diff-object's engine on each pair: only what changed, with references
//                 to the running kernel as livepatch symbols
//   link          the diff objects, the runtime and the generated descriptors linked by kbuild
//                 against the target's build tree; then the livepatch relocations converted
#pragma once

#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "options.h"

namespace klp {

struct PatchedObject {
  std::string object; // "fs/proc/cmdline.o"
  std::string target; // "vmlinux" or a module name
  std::vector<std::string> changed_functions;
  std::vector<std::string> new_functions;
};

struct BuildResult {
  std::string module_path; // the written .ko
  std::string module_name;
  std::vector<PatchedObject> objects;
};

// Where progress goes: one line per finished phase with its duration, and notes.
struct Reporter {
  std::function<void(const std::string &phase, double seconds)> phase;
  std::function<void(const std::string &line)> info;
};

// --sourcedir and --headers exist and are directories; throws Error naming the option.
void check_input_dirs(const BuildOptions &o);
// Module.symvers parses, --kallsyms is a regular file that reads like /proc/kallsyms, --vmlinux
// an x86_64 ELF file with a symbol table, --kernel-image a regular file: checked before the first
// compile.
void check_input_files(const BuildOptions &o, const std::string &symvers);

// The --kallsyms to use: the one given; none with --vmlinux; else /proc/kallsyms, but only when
// building for the running kernel (`config_path` is /boot/config-`running_release`, the default
// --config on that machine). Throws Error, naming what to pass, when there is no target.
std::string resolve_target_symbols(const BuildOptions &o, const std::string &config_path,
                                   const std::string &running_release,
                                   const std::string &proc_kallsyms = "/proc/kallsyms");

// Runs the pipeline. Throws Error (exit 1), Unpatchable (exit 2) or NoChange (exit 3).
BuildResult build_livepatch(const BuildOptions &opts, const Reporter &report);

// Thrown when no patched object differs in a way that needs a livepatch.
class NoChange : public std::runtime_error {
public:
  explicit NoChange(const std::string &msg) : std::runtime_error(msg) {}
};

} // namespace klp
