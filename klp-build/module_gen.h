// The livepatch module: a kbuild directory assembled from runtime/, the generated files of
// templates/ and the diff objects; built with the target kernel's build tree; then converted to
// the kernel's livepatch ELF format (klp_reloc.h).
#pragma once

#include <atomic>
#include <string>
#include <vector>

namespace klp {

struct ModuleSpec {
  std::string name;    // livepatch-<patch>
  bool replace = true; // atomic replace
  std::vector<std::string> diff_objects;
  std::string kbuild_dir;                // the target's build tree (headers or a built kernel)
  std::string data_dir;                  // where runtime/ and templates/ live
  std::string source_date_epoch;         // for reproducible builds ("" if unset)
  std::string compiler;                  // CC for the module's compiles ("" : the tree's own),
                                         // e.g. "ccache gcc-12" for --compiler-launcher
  std::vector<std::string> cc_make_args; // the target's toolchain (LLVM=-14 for clang kernels)
  std::string cc_version;                // the first line of its compiler's --version
  int jobs = 1;
};

// Where runtime/ and templates/ are found: $KLP_DATA_DIR, else the compiled-in location.
std::string data_dir();

// The module's objects in link order, as its Kbuild lists them: the runtime, the descriptors,
// then "diff-000.o"... for the diff objects.
std::vector<std::string> module_objects(const ModuleSpec &spec);
constexpr size_t kRuntimeObjects = 2; // klp_runtime.o, klp_patch_info.o

// Writes the module's kbuild directory into `dir`. Files that already hold what they should
// are left alone, so a second call (once the diff objects are known) keeps what was compiled.
void write_module_dir(const ModuleSpec &spec, const std::string &dir);

// Builds the module in `dir` before the diff objects are known: the runtime and the patch
// descriptors, which do not depend on them, are compiled and linked, so that link_module()
// finds them up to date and relink_module() (module_relink.h) has kbuild's link records.
// Stops early when `cancel` turns true.
void prelink_module(const ModuleSpec &spec, const std::string &dir,
                    const std::atomic<bool> *cancel = nullptr);

// Builds it with kbuild and returns the path of the linked .ko. Unresolved symbols other than
// livepatch symbols are an error.
std::string link_module(const ModuleSpec &spec, const std::string &dir);

// Throws if modpost's output names an undefined symbol that the kernel will not resolve (any
// but the livepatch symbols).
void check_modpost_output(const ModuleSpec &spec, const std::string &output);

// Converts the livepatch relocations of the linked module and writes it to `out` atomically.
// Returns the number of relocations converted.
size_t finish_module(const std::string &linked_ko, const std::string &out);

// Replaces @KEY@ placeholders; an unknown placeholder in the template is an error.
std::string render_template(const std::string &path,
                            const std::vector<std::pair<std::string, std::string>> &values);

} // namespace klp
