// Writes a cooked Object back to an ELF relocatable file.
//
// This is where indices are born: sections are numbered in the Object's order, the symbol table
// is laid out locals first, and every RELA and GROUP section is regenerated from its pointers.
// The symbol table, string tables and SHT_SYMTAB_SHNDX of the input are never copied. The file
// is written to a temporary name beside `path` and renamed, so no partial output is ever left.
#pragma once

#include <string>

#include "object.h"

namespace klp {

void write_object(const Object &obj, const std::string &path);

// Writes `contents` to `path` through a temporary file and rename (for non-ELF outputs).
void write_file_atomically(const std::string &path, std::string_view contents);

} // namespace klp
