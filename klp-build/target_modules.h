// The target's module files (/lib/modules/RELEASE): where a module's symbols and code come from
// when the copy of /proc/kallsyms was taken without the module loaded. Distros ship modules
// compressed (Debian's 6.12: .ko.xz); the symbol table reader wants an ELF file.
#pragma once

#include <set>
#include <string>

namespace klp {

// The module file of `modname` ("binfmt_misc") under `modules_dir`: "<name>.ko", ".ko.xz",
// ".ko.zst" or ".ko.gz", its file name spelling '_' as '-' or not; "" if there is none.
std::string find_module_file(const std::string &modules_dir, const std::string &modname);

// An ELF copy of the module file `path`: `path` itself when it is not compressed, else the
// decompressed module written once to `scratch_dir`/<file name without the compression suffix>.
std::string uncompressed_module(const std::string &path, const std::string &scratch_dir);

// The modules a copy of /proc/kallsyms has symbols of ("[name]" at the end of a line).
std::set<std::string> kallsyms_modules(const std::string &kallsyms_path);

} // namespace klp
