// Directives patch authors write in the patched source (runtime/include/klp-build/livepatch.h
// and the kpatch-macros.h compatibility header): per-object callbacks, system states and
// functions to leave alone. They reach the differ as sections of the patched object:
//
//   __klp_callbacks_{pre,post}_{patch,unpatch}  16-byte entries { fn, objname }; objname is
//                                               NULL in the source and filled in by the output
//                                               (the object being patched is only known here)
//   __klp_states                                16-byte entries { id, version }
//   __klp_ignore_functions                      8-byte pointers to functions not to patch
//   .kpatch.ignore.functions                    the same, from objects built with kpatch's own
//                                               kpatch-macros.h (KPATCH_IGNORE_FUNCTION)
//   __klp_ignore_sections,                      8-byte pointers to section names whose changes
//   .kpatch.ignore.sections                     are not to be patched (KPATCH_IGNORE_SECTION,
//                                               e.g. ".init.text", which the kernel discarded)
#pragma once

#include "context.h"

namespace klp {

constexpr std::string_view kCallbackSectionPrefix = "__klp_callbacks_";
constexpr size_t kCallbackEntrySize = 16;
constexpr size_t kCallbackObjnameOffset = 8;

// Sections that go into the patch whole, with the functions they point at.
bool is_directive_section(std::string_view name);

// Marks the functions named by the ignore directives, and everything in the sections they name,
// unchanged (after compare()).
void apply_ignore_directives(DiffContext &ctx);

// Includes callback and state sections (before the closure pulls in their functions).
void include_directive_sections(DiffContext &ctx);

} // namespace klp
