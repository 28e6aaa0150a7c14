// Relinking the livepatch module without make.
//
// `make M=` spends about half a second in the top Makefile of a distribution's headers before it
// links anything. So the module is built by make once early, with the runtime alone
// (prelink_module(), on another thread while the units compile), and once the diff objects
// exist, the four steps kbuild recorded for that link run again in its build directory:
//
//   <name>.o         ld -r of the objects the <name>.mod file lists (written anew with the diff
//                    objects in it)
//   Module.symvers   modpost, which writes <name>.mod.c with the symbol versions
//   <name>.mod.o     the compile of <name>.mod.c
//   <name>.ko        the final ld -r
//
// Each is the command in kbuild's record (replay.h). A link whose records do not have that
// shape (kernels before the .mod list file, a composite object that names its objects itself)
// or that would also generate BTF goes through make; so does --check-reproducible's second
// build, which proves the two give the same module.
#pragma once

#include <string>

#include "module_gen.h"

namespace klp {

// Whether `text`, a <name>.mod file, lists exactly `objects`, one path a line.
bool is_mod_list(const std::string &text, const std::vector<std::string> &objects);

// Links the module in `dir`, which prelink_module() built and write_module_dir() has since
// given the diff objects, by kbuild's recorded commands. Returns the .ko's path, or "" when the
// records are not what it needs (then link_module() must do it).
std::string relink_module(const ModuleSpec &spec, const std::string &dir);

} // namespace klp
