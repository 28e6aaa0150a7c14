// Refusals: differences the livepatch runtime cannot apply safely. Each throws Unpatchable with
// one line naming the object, section or symbol and what the author can do instead.
#pragma once

#include "context.h"

namespace klp {

// After compare(): changed or resized data, changed __init/__exit code, changed section groups.
void refuse_unpatchable_changes(DiffContext &ctx);

// After inclusion: every function that will be redirected by ftrace must have an ftrace entry,
// and must have a section of its own.
void refuse_unpatchable_functions(DiffContext &ctx);

// Whether `sym` gets a klp_func: it is a changed function the running kernel calls (not a .cold
// part, which is only jumped to from its parent, nor a padding prefix).
bool needs_klp_func(const Symbol &sym);

// Read-only data may change: the patch carries the new copy and the functions using it.
bool is_read_only_data(const Symbol &sym);

} // namespace klp
