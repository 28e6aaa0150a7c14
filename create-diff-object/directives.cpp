#include "directives.h"

#include "names.h"

namespace klp {

static constexpr std::string_view kIgnoreSection = "__klp_ignore_functions";

bool is_directive_section(std::string_view name) {
  return starts_with(name, kCallbackSectionPrefix) || name == "__klp_states";
}

void apply_ignore_directives(DiffContext &ctx) {
  Section *sec = ctx.patched.find_section(kIgnoreSection);
  if (!sec)
    return;
  for (const Relocation &r : sec->relocations()) {
    Symbol &fn = *r.sym;
    if (!fn.is_func())
      throw Error(ctx.patched.where(*sec, r.offset) + ": KLP_IGNORE_FUNCTION names '" + fn.name +
                  "', which is not a function");
    if (fn.status == Status::New)
      throw Error(ctx.patched.where(*sec, r.offset) + ": KLP_IGNORE_FUNCTION names new function '" +
                  fn.name + "'; only existing functions can be left unpatched");
    fn.status = Status::Same;
    ctx.note(fn, "unchanged: KLP_IGNORE_FUNCTION");
    for (Symbol *child : fn.children)
      child->status = Status::Same;
  }
}

void include_directive_sections(DiffContext &ctx) {
  for (Section &sec : ctx.patched.sections) {
    if (!is_directive_section(sec.name) || sec.is_rela())
      continue;
    if (starts_with(sec.name, kCallbackSectionPrefix) && sec.size() % kCallbackEntrySize)
      throw Error(ctx.patched.where(sec) + ": size " + hex(sec.size()) +
                  " is not a multiple of the 16-byte callback entry; was it written with "
                  "KLP_*_CALLBACK()?");
    sec.included = true;
    if (sec.secsym)
      sec.secsym->included = true;
    ctx.log(ctx.patched.where(sec) + ": included: patch directive");
  }
}

} // namespace klp
