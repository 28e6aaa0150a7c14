// The livepatch module: a kbuild directory assembled from runtime/, the generated files of
// templates/ and the diff objects; built with the target kernel's build tree; then converted to
// the kernel's livepatch ELF format (klp_reloc.h).
#pragma once

#include <string>
#include <vector>

namespace klp {

struct ModuleSpec {
  std::string name;                     // livepatch-<patch>
  bool replace = true;                  // atomic replace
  std::vector<std::string> diff_objects;
  std::string kbuild_dir;               // the target's build tree (headers or a built kernel)
  std::string data_dir;                 // where runtime/ and templates/ live
  std::string source_date_epoch;        // for reproducible builds ("" if unset)
  std::string compiler;                 // CC for the module's compiles ("" : the tree's own),
                                        // e.g. "ccache gcc-12" for --compiler-launcher
  int jobs = 1;
};

// Where runtime/ and templates/ are found: $KLP_DATA_DIR, else the compiled-in location.
std::string data_dir();

// Writes the module's kbuild directory into `dir`. Files that already hold what they should
// are left alone, so a second call (once the diff objects are known) keeps what was compiled.
void write_module_dir(const ModuleSpec &spec, const std::string &dir);

// Compiles the runtime and the patch descriptors in the module directory (they do not depend on
// the diff objects), so that link_module() later finds them up to date.
void compile_runtime_objects(const ModuleSpec &spec, const std::string &dir);

// Builds it with kbuild and returns the path of the linked .ko. Unresolved symbols other than
// livepatch symbols are an error.
std::string link_module(const ModuleSpec &spec, const std::string &dir);

// Converts the livepatch relocations of the linked module and writes it to `out` atomically.
// Returns the number of relocations converted.
size_t finish_module(const std::string &linked_ko, const std::string &out);

// Replaces @KEY@ placeholders; an unknown placeholder in the template is an error.
std::string render_template(const std::string &path,
                            const std::vector<std::pair<std::string, std::string>> &values);

} // namespace klp
