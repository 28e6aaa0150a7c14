// Correlation: pairing every section and symbol of the patched object with its twin in the
// original object.
//
// The two objects come from one translation unit compiled twice, so most names match exactly.
// What does not match is compiler numbering that moves when unrelated code changes: GCC's IPA
// clones (foo.isra.1 may become foo.isra.2), cold parts, numbered function-local statics
// (count.3 -> count.5 when the patch adds a static earlier in the file), __UNIQUE_ID_ counters
// and clang's .llvm.N hashes. Correlation therefore works in rounds, each only over what earlier
// rounds left unpaired:
//
//   1. exact name, same symbol type and binding: the overwhelming majority;
//   2. function-local statics, re-paired by use: a numbered static `x.N` in the patched object is
//      the twin of the static with the same base name that the twin of its referencing function
//      references in the original. Numbering alone is not trusted: `x.1` may belong to a different
//      function in each build;
//   3. the correlation key (names.h): names equal once numbering is removed, when exactly one
//      unpaired candidate has that key;
//   4. numbered statics no function ties down keep their exact name when nothing else claimed it;
//   5. padding prefixes (__pfx_foo, bundle.h) follow their functions.
//
// Per-call-site statics of kernel macros (__warned, __key, _rs, ...) are never paired: each build's
// copy is its own and a patch gets fresh ones. Sections follow their bundled symbols; other
// sections pair by name, then by key; section symbols follow their sections.
//
// Anything left without a twin is new (in the patched object) or removed (in the original).
#pragma once

#include "object.h"

namespace klp {

void correlate(Object &orig, Object &patched);

// Whether `sym` is a per-call-site static that is never correlated (names.h).
bool is_special_static(const Symbol &sym);

} // namespace klp
