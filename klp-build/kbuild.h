// Driving the kernel's own build system: a prepared out-of-tree build directory, single-object
// targets compiled with -ffunction-sections -fdata-sections, and what kbuild recorded about each
// object (which module it belongs to, the files it depends on).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace klp {

struct KbuildTree {
  std::string srctree; // the shadow source tree
  std::string objtree; // O= build directory
  std::string cc = "gcc";
  std::string hostcc = "gcc";            // HOSTCC of that toolchain (served by the launcher)
  std::vector<std::string> cc_make_args; // the toolchain's (Toolchain::make_args: LLVM=-14)
  std::string launcher;                  // --compiler-launcher (ccache, distcc, icecc)
  std::string include_dir; // runtime/include: <klp-build/livepatch.h>, kpatch-macros.h
  int jobs = 1;
};

// The make invocation for `targets` in `tree`, with the differ's code-generation flags.
std::vector<std::string> make_argv(const KbuildTree &tree, const std::vector<std::string> &targets);

struct PreparedTree {
  std::vector<std::string> tolerated; // kconfig's tolerated changes, one a line
  bool units_built = false;           // the units given were compiled with prepare
  double seconds = 0;
};

// Copies `config` into the build directory and prepares it (modules_prepare), compiling `units`
// in the same make when there are any, and recording kbuild's descent to them (descend.h).
// Fails if kconfig had to change the config (it belongs to another source version or
// compiler); returns the changes it tolerated (compare_olddefconfig() in kconfig.h). A failed
// compile of the units is not an error here: they are left for compile_objects(), which says
// why.
PreparedTree prepare_tree(const KbuildTree &tree, const std::string &config,
                          const std::vector<std::string> &units);

// "compiling fs/proc/cmdline.o and others": what a failed compile of `objects` says it did.
std::string compiling(const std::vector<std::string> &objects);

// The first of `objects` not in the build directory ("" if all are).
std::string first_missing(const KbuildTree &tree, const std::vector<std::string> &objects);

// Throws, naming the object, unless kbuild produced every one of `objects`.
void check_produced(const KbuildTree &tree, const std::vector<std::string> &objects);

// Compiles the objects (paths relative to the tree, e.g. "fs/proc/cmdline.o") through kbuild's
// single-object targets. Returns the seconds spent. `record_descent`: the tree holds the user's
// sources, and the make also records how kbuild descends to the objects (descend.h); never
// while patches are applied, which may change Makefiles and so the recorded flags.
double compile_objects(const KbuildTree &tree, const std::vector<std::string> &objects,
                       bool record_descent = false);

struct ObjectRecord {
  std::string object;            // "fs/ext4/inode.o"
  std::string target;            // "vmlinux" or the module name as the kernel knows it ("ext4")
  std::string modfile;           // the module's path without .ko ("fs/ext4/ext4") when the record
                                 // names it; see module_path_in()
  std::vector<std::string> deps; // source files it was compiled from (the .c and its headers)
  // genksyms CRCs of the symbols it exports (CONFIG_MODVERSIONS; "#SYMVER name crc" lines
  // kbuild 5.19+ appends to the record).
  std::map<std::string, uint32_t> crcs;
};

// The contents of a text file kbuild wrote (a record, modules.order); "" if it cannot be read.
std::string read_text_file(const std::string &path);

// In every compile klp-build runs, no DWARF columns: a distributing launcher (distcc) compiles
// the preprocessed source, whose columns differ from the file's after macro expansion
// (DW_AT_decl_column 14 for 15, the line table's "Set column"); without them a module built
// through distcc is bit-identical to one built locally. The code is the same either way (-g
// options never change the instructions gcc or clang emit); line numbers stay.
inline constexpr const char *kNoDwarfColumns = "-gno-column-info";

// The program a --compiler-launcher runs, without directory or arguments ("distcc" for
// "/usr/bin/distcc"; "" for none).
std::string launcher_program(const std::string &launcher);

// Whether host tools are compiled through the launcher too. Not through a distributing one
// (distcc, icecc): the remote compiler gets preprocessed source without comments, and objtool's
// libsubcmd, built -Werror, marks its fall-throughs with comments that -Wimplicit-fallthrough
// then misses ("parse-options.c:740:6: error: this statement may fall through"). The kernel's
// own code uses the `fallthrough` attribute, which survives preprocessing.
bool launcher_serves_host_tools(const std::string &launcher);

// kbuild's record of `object` ("fs/proc/.cmdline.o.cmd"), under `objtree` unless it is empty.
std::string record_path(const std::string &objtree, const std::string &object);

// Reads kbuild's .<obj>.cmd record of a compiled object.
ObjectRecord read_object_record(const KbuildTree &tree, const std::string &object);

// The name the kernel knows a module file by: "livepatch-sample" -> "livepatch_sample".
std::string module_name_of(std::string file_stem);

// The path of the module `rec` belongs to, without .ko, relative to the built tree `objtree`
// ("drivers/misc/klp_test_mod/klp_test_mod"), from its modules.order; "" if it is not there.
std::string module_path_in(const std::string &objtree, const ObjectRecord &rec);

// "fs/proc/cmdline.c" -> "fs/proc/cmdline.o"; "" for files that are not translation units.
std::string object_for_source(const std::string &path);

} // namespace klp
