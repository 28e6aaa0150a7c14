// Building and linking the livepatch module without make.
//
// `make M=` spends about half a second in the top Makefile of a distribution's headers before it
// compiles anything, and the module's runtime (klp_runtime.c, the descriptors) is the longest
// compile of a small patch. So the module is built by make once early, with the runtime alone
// (prelink_module(), on another thread while the units compile), and once the diff objects
// exist, the four link steps kbuild recorded for it run again in its build directory:
//
//   <name>.o         ld -r of the objects the <name>.mod file lists (written anew with the diff
//                    objects in it)
//   Module.symvers   modpost, which writes <name>.mod.c with the symbol versions
//   <name>.mod.o     the compile of <name>.mod.c
//   <name>.ko        the final ld -r
//
// Those four and the runtime's two compiles are also kept, per target build tree, as a link
// template: the next module for that tree (another patch, another name) runs them all, with
// its own directory and name put in, and make is not needed at all. A template is used only if
// the old directory and names occur in its commands in nothing but the forms that are put back.
// The compiled runtime is kept beside it: of the compiles, only the descriptors' (the module's
// name, ~20 ms) runs again for the next module.
//
// Each is a command from kbuild's records (replay.h). A link whose records do not have that
// shape (kernels before the .mod list file, a composite object that names its objects itself)
// goes through make; so does --check-reproducible's second
// build, which proves the two give the same module.
#pragma once

#include <atomic>
#include <optional>
#include <string>
#include <vector>

#include "module_gen.h"

namespace klp {

// The commands that build one module, as kbuild recorded them for the module `name` in `dir`:
// the compiles that do not depend on the diff objects (the runtime's two, and from 6.12 on
// kbuild's .module-common.o), then the four link steps. Run in the target's build tree.
struct LinkTemplate {
  std::string dir, name;
  size_t compiles = kRuntimeObjects; // the leading commands that are such compiles
  std::string order_suffix = ".ko";  // of the module in modules.order: ".o" from 6.2 on
  std::vector<std::string> commands;
};

// Whether `text`, a <name>.mod file, lists exactly `objects`, one path a line.
bool is_mod_list(const std::string &text, const std::vector<std::string> &objects);

// The template in the records of the module make built in `dir` with the objects of `spec`
// (prelink_module(), or link_module()); nullopt if the records are not what it needs (see
// above).
std::optional<LinkTemplate> read_link_template(const ModuleSpec &spec, const std::string &dir);

// Saves a template (atomically) and loads one; nullopt if there is none or it is unreadable.
void save_link_template(const LinkTemplate &t, const std::string &path);
std::optional<LinkTemplate> load_link_template(const std::string &path);

// The template for the module of `spec` in `dir`; nullopt if the template's directory or names
// occur in a form that would not be replaced.
std::optional<LinkTemplate> instantiate(const LinkTemplate &t, const ModuleSpec &spec,
                                        const std::string &dir);

// The object of a template's leading compile `i`: klp_runtime.o, klp_patch_info.o, then (6.12+)
// .module-common.o, the order in which kbuild runs them.
std::string template_compile_object(size_t i);

// Whether `object`, one of those, compiles to the same bytes for every module built on one
// target tree, whatever its name and directory, so that one copy serves them all: the runtime's
// source pins KBUILD_MODNAME, the one input kbuild varies with the module (runtime/klp_runtime.c),
// and kbuild names .module-common.o after its own file. The module's directory is mapped away
// from every compile (module_gen.cpp's -ffile-prefix-map). klp_patch_info.o carries the name.
bool compiles_alike_for_every_module(const std::string &object);

// Compiles the runtime by the template's leading compiles (in parallel); false if one failed or
// `cancel` turned true. `store` is a directory of the objects that compile alike for every
// module, as an earlier module of the template compiled them ("" for none): those found there are
// copied instead of compiled, and those compiled are put there (store_runtime_objects()).
bool compile_runtime(const LinkTemplate &t, const ModuleSpec &spec, const std::string &dir,
                     const std::string &store, const std::atomic<bool> *cancel);

// Puts the objects of `dir` that compile alike for every module into `store`, each atomically;
// those already there are left. An empty `store` (runtime_store_path()'s "keep nothing") keeps
// nothing.
void store_runtime_objects(const LinkTemplate &t, const std::string &dir, const std::string &store);

// Links the module in the template's directory by its link steps, with the diff objects of
// `spec`. Returns the .ko's path. With a `store` (compile_runtime()), the <name>.mod.o compiled
// last for a module of this name is kept there and used again while modpost writes the same
// <name>.mod.c (a revised fix that imports the same symbols).
std::string link_by_template(const LinkTemplate &t, const ModuleSpec &spec,
                             const std::string &store);

// Links the module in `dir`, which prelink_module() built and write_module_dir() has since
// given the diff objects, by its own records. Returns the .ko's path, or "" when the records
// are not what it needs (then link_module() must do it).
std::string relink_module(const ModuleSpec &spec, const std::string &dir);

} // namespace klp
