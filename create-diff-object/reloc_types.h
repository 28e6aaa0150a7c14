// Facts about x86_64 relocation types (R_X86_64_*) shared by every pass; no object model here.
#pragma once

#include <cstdint>
#include <string>

namespace klp {

// Bytes the relocation patches: 8, 4, 2 or 1; 0 for R_X86_64_NONE; 4 for types not listed.
unsigned reloc_width(uint32_t type);
// Like reloc_width(), but throws Error "<where>: relocation type N is not supported" for types
// the differ does not understand, so unknown input never passes silently.
unsigned reloc_width(uint32_t type, const std::string &where);
// Whether reloc_width(type, where) returns rather than throws (a caller can then build `where`
// only for the error).
bool reloc_supported(uint32_t type);
// PC-relative types: the CPU adds the address of the next instruction (PC32, PLT32, GOTPCREL...).
bool reloc_is_pc_relative(uint32_t type);

} // namespace klp
