// The instruction-level diff klp-diff --explain shows for a changed function: both versions
// decoded and printed by the LLVM MC disassembler (disasm.h), relocation targets printed by name
// (line_macro.h's reloc_symbolizer; string literals by content), aligned by a longest common
// subsequence over the printed instructions.
//
// Alignment compares instructions the way the differ compares relocations, so renumbering alone
// does not show up as a change: a target in the original is compared under its twin's name,
// per-call-site statics by their correlation key, string literals by content. Jumps inside the
// function are aligned without their targets first, then a matched pair whose targets do not map
// onto each other is shown as changed. A reference to data that changed is marked on the patched
// side ("# changed data: name").
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "explain.h"

namespace klp {

// A function's bytes: the whole section when it is alone in it, else its own range.
struct CodeRange {
  const Section *sec = nullptr;
  uint64_t start = 0, size = 0;
};
CodeRange code_range(const Symbol &fn);

// The aligned listing of `orig` and `patched` (twins), split into hunks with kHunkContext lines
// of context; the hunks' source ranges are left empty. No hunks when no instruction differs.
std::vector<Hunk> diff_instructions(const Symbol &orig, const Symbol &patched);

// The instructions of `fn` that start at `offsets` (from the start of the function), printed;
// "" where none starts.
std::vector<std::string> instructions_at(const Symbol &fn, const std::vector<uint64_t> &offsets);

} // namespace klp
