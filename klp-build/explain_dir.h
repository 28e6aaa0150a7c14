// Write, with --explain: what klp-diff --explain needs to explain the module later, kept beside
// it (docs/klp-diff.md): <name>.explain/ holds the compared objects and a manifest.
#pragma once

#include <string>
#include <vector>

#include "work_dir.h"

namespace klp {

// One compared pair: its object path, the kernel object it belongs to, and the target symbol
// table it was resolved against.
struct ExplainObject {
  std::string object, target, symtab;
};

// Writes <name>.explain/ beside `module_path` through a temporary directory and a rename; the
// pairs are copied from the work directory's orig/ and patched/.
void write_explain_dir(const std::string &module_path, const std::string &name, const WorkDir &work,
                       const std::string &symvers, const std::vector<ExplainObject> &objects);

} // namespace klp
