// GCC's cold parts in the patch object: `foo.cold` is placed inside `foo`, so that the kernel
// sees one function where livepatch checks the stacks of tasks (see cold_parts.cpp).
#pragma once

#include "context.h"

namespace klp {

// Whether the patch object holds `child`'s code inside its parent's function rather than as a
// function of its own: an included `.cold` part of an included function, both alone in their
// sections.
bool merges_into_parent(const Symbol &child);

// Sets Symbol::merged_into and merged_at for every child merges_into_parent() accepts, and notes
// the decision (DecisionKind::MergedIntoParent). build_output() (output.h) carries it out.
void merge_cold_parts(DiffContext &ctx);

} // namespace klp
