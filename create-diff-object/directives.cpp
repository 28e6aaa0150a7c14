#include "directives.h"

#include <cstring>

#include "names.h"

namespace klp {

namespace {

constexpr std::string_view kIgnoreFunctionSections[] = {"__klp_ignore_functions",
                                                        ".kpatch.ignore.functions"};
constexpr std::string_view kIgnoreSectionSections[] = {"__klp_ignore_sections",
                                                       ".kpatch.ignore.sections"};

} // namespace

bool is_directive_section(std::string_view name) {
  return name.starts_with(kCallbackSectionPrefix) || name == "__klp_states";
}

namespace {

void apply_ignore_functions(DiffContext &ctx, const Section &sec) {
  for (const Relocation &r : sec.relocations()) {
    Symbol &fn = *r.sym;
    if (!fn.is_func())
      throw Error(ctx.patched.where(sec, r.offset) + ": KLP_IGNORE_FUNCTION names '" + fn.name +
                  "', which is not a function");
    if (fn.status == Status::New)
      throw Error(ctx.patched.where(sec, r.offset) + ": KLP_IGNORE_FUNCTION names new function '" +
                  fn.name + "'; only existing functions can be left unpatched");
    fn.status = Status::Same;
    ctx.note(fn, DecisionKind::IgnoredByFunction);
    if (fn.prefix)
      fn.prefix->status = Status::Same;
    for (Symbol *child : fn.children)
      child->status = Status::Same;
  }
}

// Each entry points at a section name in a string section.
void apply_ignore_section_names(DiffContext &ctx, const Section &sec) {
  for (const Relocation &r : sec.relocations()) {
    const Section *strings = r.sym->sec;
    int64_t off = wrapping_add(r.sym->is_section() ? 0 : (int64_t)r.sym->value, r.addend);
    if (!strings || off < 0 || (uint64_t)off >= strings->data.size())
      throw Error(ctx.patched.where(sec, r.offset) +
                  ": KPATCH_IGNORE_SECTION entry does not point at a section name");
    const char *p = reinterpret_cast<const char *>(strings->data.data()) + off;
    std::string name(p, strnlen(p, strings->data.size() - off));
    Section *target = ctx.patched.find_section(name);
    if (!target) {
      ctx.log(ctx.patched.where(sec, r.offset) + ": ignored section " + name + " does not exist");
      continue;
    }
    target->status = Status::Same;
    for (Symbol &sym : ctx.patched.symbols) {
      if (sym.sec != target || sym.status != Status::Changed)
        continue;
      sym.status = Status::Same;
      ctx.note(sym, DecisionKind::IgnoredBySection);
    }
  }
}

} // namespace

void apply_ignore_directives(DiffContext &ctx) {
  for (std::string_view name : kIgnoreFunctionSections)
    if (Section *sec = ctx.patched.find_section(name))
      apply_ignore_functions(ctx, *sec);
  for (std::string_view name : kIgnoreSectionSections)
    if (Section *sec = ctx.patched.find_section(name))
      apply_ignore_section_names(ctx, *sec);
}

void include_directive_sections(DiffContext &ctx) {
  for (Section &sec : ctx.patched.sections) {
    if (!is_directive_section(sec.name) || sec.is_rela())
      continue;
    if (sec.name.starts_with(kCallbackSectionPrefix) && sec.size() % kCallbackEntrySize)
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
