// Diff: create-diff-object's engine on each (original, patched) pair of compiled units. Only
// what changed is kept, references to the running kernel become livepatch symbols, and a new
// global one unit of the module defines is the module's own symbol in the others.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "diff.h"
#include "explain_dir.h"
#include "inputs.h"
#include "kbuild.h"
#include "klp_build.h"
#include "output.h"
#include "work_dir.h"

namespace klp {

// Every function the patch replaces in vmlinux is compared with the target's image; functions
// of modules are compared with the module's .ko when that is their symbol table.
struct DiffedObject {
  std::unique_ptr<DiffSession> session;
  std::vector<PatchedFunction> functions; // with the sympos the descriptors carry
};

struct DiffedUnits {
  std::vector<DiffedObject> sessions;   // the changed units, kept for the image match
  std::vector<std::string> outputs;     // their diff objects, linked into the module
  std::vector<PatchedObject> objects;   // what each replaces and adds
  std::vector<ExplainObject> explained; // every compared pair, for --explain
};

// Diffs work/orig/<unit> against work/patched/<unit> for every record and writes the changed
// units' parts to work/diff/. Throws Unpatchable when a unit cannot be live-patched, NoChange
// when none needs a livepatch.
DiffedUnits diff_units(const Inputs &in, const std::vector<ObjectRecord> &patched,
                       const std::map<std::string, ObjectRecord> &orig, const WorkDir &work,
                       const Reporter &report);

} // namespace klp
