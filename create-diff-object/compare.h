// Comparison: deciding, for every correlated function and data object, whether the patch
// changed it.
//
// A function is changed when its bytes or its relocations differ. Relocations are compared by
// what they point at, never by symbol index: the twin of the target symbol and the addend must
// match. Two refinements keep unrelated edits from spreading:
//
// * string literals are compared by content. Adding a string to a function shifts the offsets of
//   other strings in the same .rodata.str section, which would otherwise make every user of the
//   section look changed;
// * per-call-site statics (__warned, __func__, ...) are never correlated, so references to them
//   compare by name with the compiler's numbering removed.
//
// Byte differences that are only `__LINE__` immediates handed to a line-number consumer such as
// __might_sleep() are ignored (line_macro.h): inserting lines above a function must not patch it.
//
// Functions and objects that sit alone in their section (-ffunction-sections / -fdata-sections)
// are compared section by section; those sharing a section (__sched, __read_mostly, ...) are
// compared over their own byte range. A .cold or .part child and its parent change together.
// Data sections without symbols (strings, constants) are compared first, so a function that
// refers to a changed anonymous constant is itself changed.
#pragma once

#include "context.h"

namespace klp {

void compare(DiffContext &ctx);

} // namespace klp
