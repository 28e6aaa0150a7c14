// Structure the compiler left implicit in an object built with -ffunction-sections and
// -fdata-sections:
//
// * bundling: each function or data object sits alone in a section named after it (.text.foo,
//   .data.bar, .bss.baz, .rodata.qux, and .text.unlikely.foo for foo.cold). Such a section and its
//   symbol are one unit: they are correlated, compared and included together.
// * section-symbol relocations: the assembler expresses references to local symbols as
//   "section symbol + offset". Once sections are bundled these are rewritten to name the symbol,
//   so relocations compare by what they point at.
// * children: GCC's .cold and .part.N pieces of a function are linked to their parent.
#pragma once

#include "object.h"

namespace klp {

// Links every padding prefix symbol to the function it precedes (Symbol::prefix).
void find_prefixes(Object &obj);

// Sets Section::bundled for every section that holds exactly one function or object (and that
// function's prefix, or the padding before it).
void bundle_sections(Object &obj);

// Rewrites relocations against the STT_SECTION symbol of a bundled section into relocations
// against the bundled symbol (and, for other sections, against the named symbol containing the
// target when that is unambiguous).
void replace_section_symbols(Object &obj);

// Links `foo.cold` / `foo.part.N` to `foo` (Symbol::parent / children).
void find_children(Object &obj);

// All of these, in order.
void cook(Object &obj);

// The offset inside `target` that relocation `r` (applying to `site`) refers to. For
// PC-relative relocations in code the addend is biased by the distance from the relocated field
// to the end of the instruction; this undoes that bias.
int64_t reloc_target_offset(const Section &site, const Relocation &r);

} // namespace klp
