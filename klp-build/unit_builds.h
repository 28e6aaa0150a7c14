// Build originals and build patched: the touched translation units compiled by kbuild in the
// prepared tree, before and after the patches are applied, with the differ's code-generation
// flags (-ffunction-sections -fdata-sections). Each object is copied to the work directory
// (orig/<unit>, patched/<unit>) with kbuild's record of how it was built.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "inputs.h"
#include "kbuild.h"
#include "klp_build.h"
#include "tree_cache.h"
#include "work_dir.h"

namespace klp {

// Compiles the original units, except those the tree already holds (compiled by prepare's make,
// or in a cached tree by an earlier run); returns each unit's record.
std::map<std::string, ObjectRecord> build_originals(const Inputs &in, const KbuildTree &tree,
                                                    const WorkDir &work, const Reporter &report);

// Applies the patches to private copies of the touched files and compiles the units again. A
// cached tree gets its original files and objects back afterwards, on every exit path.
std::vector<ObjectRecord> build_patched(const Inputs &in, const KbuildTree &tree, TreeCache *cache,
                                        const WorkDir &work);

} // namespace klp
