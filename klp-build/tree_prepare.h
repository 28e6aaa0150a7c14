// Prepare tree: a shadow of the user's tree (never modified) and an out-of-tree build directory
// prepared for the target's config, or the cached pair an earlier run prepared for the same
// source, config and compiler (tree_cache.h); then the units that include patched headers.
#pragma once

#include <memory>
#include <string>

#include "inputs.h"
#include "kbuild.h"
#include "klp_build.h"
#include "tree_cache.h"
#include "work_dir.h"

namespace klp {

// The kbuild tree that compiles units for `in` (its directories are set by prepare_tree_for).
KbuildTree kbuild_tree_for(const Inputs &in);

// The tree cache's root: --cache, else ~/.cache/klp-build.
std::string cache_root(const BuildOptions &opts);

// Sets `tree`'s source and build directories, prepares them unless the cache has them ready,
// and adds to `in.objects` the units of this config that include a patched header. Returns the
// cache entry in use (null with --no-cache). Throws NoChange when no unit is left to build.
std::unique_ptr<TreeCache> prepare_tree_for(Inputs &in, KbuildTree &tree, const WorkDir &work,
                                            const Reporter &report);

} // namespace klp
