#include "cold_parts.h"

#include <algorithm>
#include <unordered_map>

#include "names.h"

namespace klp {

namespace {

bool alone_in_code_section(const Symbol &sym) {
  return sym.is_func() && sym.included && sym.sec && sym.sec->bundled == &sym &&
         sym.sec->included && sym.sec->is_text() && sym.sec->type() == SHT_PROGBITS;
}

} // namespace

// GCC's hot/cold splitting (-freorder-blocks-and-partition, on from -O2) moves a function's
// unlikely blocks into `foo.cold`, a local symbol in `.text.unlikely.foo`, entered only by jumps
// from foo and jumping back into it: one function in two pieces. Livepatch's consistency model
// cannot see the second piece in a module. Its stack check (kernel/livepatch/transition.c,
// klp_check_stack_func()) looks for return addresses in [new_func, new_func + new_size), and
// new_size comes from kallsyms_lookup_size_offset() (kernel/livepatch/core.c), which for a
// module's symbol is the distance to the next symbol of the module's kallsyms
// (kernel/module/kallsyms.c, find_kallsyms_symbol()). A task sleeping in the patch's foo.cold is
// then not running the patch: disabling it completes at once, and after rmmod the task returns
// into freed code.
//
// So the patch object holds foo and foo.cold as one function: the child's section is appended to
// the parent's (aligned as the child's section requires), its symbol is dropped, foo's size covers
// both, and every reference to the child (foo's jumps to it, the entries of __ex_table,
// __bug_table, .altinstructions, .orc_unwind_ip, __jump_table, .static_call_sites,
// .return_sites, ...) becomes foo + the offset the code moved to, so each still points at the same
// instruction. Nothing but foo's symbol then starts inside the range. `.part.N` children are
// functions called in their own right (with their own klp_func when changed) and stay as they are.
bool merges_into_parent(const Symbol &child) {
  return child.parent && is_cold_part(child.name) && alone_in_code_section(child) &&
         alone_in_code_section(*child.parent) && child.sec != child.parent->sec &&
         !child.parent->merged_into;
}

void merge_cold_parts(DiffContext &ctx) {
  // The size each parent's output section reaches with the children appended so far.
  std::unordered_map<const Section *, uint64_t> end;
  for (Symbol &child : ctx.patched.symbols) {
    if (!merges_into_parent(child))
      continue;
    Symbol &parent = *child.parent;
    uint64_t &size = end.try_emplace(parent.sec, parent.sec->size()).first->second;
    uint64_t align = std::max<uint64_t>(child.sec->shdr.sh_addralign, 1);
    child.merged_into = &parent;
    child.merged_at = (size + align - 1) / align * align;
    size = child.merged_at + child.sec->size();
    ctx.note(child, DecisionKind::MergedIntoParent, {parent.name},
             hex(child.merged_at + child.value - parent.value));
  }
}

} // namespace klp
