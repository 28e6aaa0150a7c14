// Inclusion: choosing what goes into the patch object.
//
// Changed functions go in, with their .cold and .part children. Then the closure over
// relocations: whatever an included section refers to is either included too (new functions,
// new data, string literals and anonymous read-only constants, which have no symbol the running
// kernel could offer) or left in the running kernel and referenced from the patch (everything
// that already exists there: unchanged functions, and all pre-existing data, whose state must
// be shared, not duplicated). Special sections are filtered in between (special_sections.h) and
// the closure runs again over what their kept entries refer to.
#pragma once

#include "context.h"

namespace klp {

// Marks changed functions, their children and new global functions included.
void include_changed_functions(DiffContext &ctx);

// Includes what included sections refer to and cannot be referenced in the running kernel.
void include_references(DiffContext &ctx);

// Whether `sym` stays in the running kernel when included code refers to it.
bool stays_in_kernel(const Symbol &sym);

} // namespace klp
