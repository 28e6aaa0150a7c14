// Verify: the proof that the original objects are what the target runs (image_match.h), for
// every function the module replaces.
#pragma once

#include <string>
#include <vector>

#include "diff_units.h"
#include "klp_build.h"

namespace klp {

// Compares every function the patch replaces in vmlinux with `image`; functions of modules with
// the module's .ko when that is their symbol table, or its file under `modules_dir`. Throws
// Error on a mismatch, naming the function.
void verify_against_image(const std::string &image, const std::string &modules_dir,
                          const std::vector<DiffedObject> &diffed, const Reporter &report);

} // namespace klp
