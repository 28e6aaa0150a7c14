#include "klp_build.h"

#include <chrono>
#include <filesystem>

#include "diff_units.h"
#include "explain_dir.h"
#include "image_verify.h"
#include "inputs.h"
#include "module_build.h"
#include "tree_prepare.h"
#include "unit_builds.h"
#include "work_dir.h"

namespace klp {

namespace {

// Times the phases one after the other and reports each as it ends.
class PhaseClock {
public:
  explicit PhaseClock(const Reporter &report) : report_(report) {}
  void done(const std::string &phase) {
    auto now = std::chrono::steady_clock::now();
    report_.phase(phase, std::chrono::duration<double>(now - last_).count());
    last_ = now;
  }

private:
  const Reporter &report_;
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

} // namespace

BuildResult build_livepatch(const BuildOptions &opts, const Reporter &report) {
  PhaseClock clock(report);

  // Resolve inputs: read the patches, find the units they touch, the target's config, compiler,
  // symbols and build tree, and check each before anything is built (inputs.cpp).
  Inputs in = resolve_inputs(opts, report);
  clock.done("resolve");

  // Generate: write the module's runtime and descriptors and start compiling them beside the
  // pipeline; they do not depend on the diff (module_build.cpp).
  WorkDir work(opts.keep_tmp);
  KbuildTree tree = kbuild_tree_for(in);
  ModuleSpec spec = module_spec_for(in, tree);
  ModuleBuild module(
      spec, work.sub("module"),
      opts.use_cache && opts.replay ? link_template_path(cache_root(opts), spec) : "", opts.replay);
  clock.done("generate");

  // Prepare tree: shadow the user's tree and prepare an out-of-tree build directory, or reuse
  // the cached one; add the units that include patched headers (tree_prepare.cpp).
  std::unique_ptr<TreeCache> cache = prepare_tree_for(in, tree, work, report);
  clock.done("prepare");

  // Build originals: compile the touched units as the target has them (unit_builds.cpp).
  std::map<std::string, ObjectRecord> originals = build_originals(in, tree, work, report);
  clock.done("original");

  // Build patched: apply the patches to private copies and compile the units again.
  std::vector<ObjectRecord> patched = build_patched(in, tree, cache.get(), work);
  clock.done("patched");

  // Diff: keep what changed, with references to the running kernel (diff_units.cpp).
  DiffedUnits diffed = diff_units(in, patched, originals, work, report);
  clock.done("diff");

  // Verify: prove that the original objects are what the target runs (image_verify.cpp).
  if (!opts.kernel_image.empty()) {
    verify_against_image(opts.kernel_image, opts.modules_dir, diffed.sessions, report);
    clock.done("verify");
  }

  // Link: the diff objects, the runtime and the descriptors, against the target's build tree.
  std::string linked = module.link(diffed.outputs);
  clock.done("link");

  // Write: the module with its livepatch relocations converted, signed when asked, and what
  // klp-diff --explain needs beside it (module_build.cpp, explain_dir.cpp).
  BuildResult result;
  result.module_name = in.module_name;
  result.module_path = (std::filesystem::path(opts.output_dir) / (spec.name + ".ko")).string();
  result.objects = diffed.objects;
  write_module(linked, result.module_path, in, report);
  if (opts.explain)
    write_explain_dir(result.module_path, in.module_name, work, in.symvers, diffed.explained);
  clock.done("write");
  return result;
}

} // namespace klp
