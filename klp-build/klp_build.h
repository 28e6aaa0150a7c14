// klp-build's pipeline: from source patches to a loadable livepatch module, one phase after the
// other (each reported with its duration):
//
//   resolve    the patches read, the units they touch, the target's config, compiler, symbols
//              and build tree found and checked (inputs.h)
//   generate   the module's runtime and descriptors written; they start compiling beside the
//              pipeline (module_build.h)
//   prepare    a shadow of the user's tree (hard links; never modified) and an out-of-tree build
//              directory after olddefconfig + modules_prepare, or the cached pair (tree_prepare.h)
//   original   the touched translation units compiled by kbuild with -ffunction-sections
//              -fdata-sections (unit_builds.h)
//   patched    the patches applied to the shadow tree, the same units compiled again
//   diff       create-diff-object's engine on each pair: only what changed, with references to
//              the running kernel as livepatch symbols (diff_units.h)
//   verify     with --kernel-image: the original code proven to be the target's (image_verify.h)
//   link       the diff objects, the runtime and the descriptors linked by kbuild against the
//              target's build tree (module_build.h)
//   write      the livepatch relocations converted, the module signed when asked, and the
//              --explain directory beside it (explain_dir.h)
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

// Runs the pipeline. Throws Error (exit 1), Unpatchable (exit 2) or NoChange (exit 3).
BuildResult build_livepatch(const BuildOptions &opts, const Reporter &report);

// Thrown when no patched object differs in a way that needs a livepatch.
class NoChange : public std::runtime_error {
public:
  explicit NoChange(const std::string &msg) : std::runtime_error(msg) {}
};

} // namespace klp
