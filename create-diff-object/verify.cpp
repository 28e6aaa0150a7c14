#include "verify.h"

#include "correlate.h"
#include "names.h"
#include "special_sections.h"

namespace klp {

bool needs_klp_func(const Symbol &sym) {
  return sym.is_func() && sym.included && sym.status == Status::Changed && sym.twin &&
         !is_cold_part(sym.name) && !sym.prefix_of;
}

bool is_read_only_data(const Symbol &sym) {
  return sym.is_object() && sym.sec && sym.sec->is_alloc() && !(sym.sec->flags() & SHF_WRITE);
}

namespace {

// Code the kernel frees after boot (__init) or never loads for built-in code (__exit).
bool is_init_or_exit_section(std::string_view name) {
  return name.starts_with(".init.") || name.starts_with(".exit.") ||
         name.starts_with(".ref.text") || name.starts_with(".meminit.");
}

// Sections whose data is kernel bookkeeping, not program state, and may differ freely. The
// kernel's tables (special_sections.h) are among them: their entries follow the functions they
// describe, e.g. the `_entry_ptr.14` pointers of .printk_index change whenever their pi_entry's
// line does.
bool is_bookkeeping_section(const Section &sec) {
  std::string_view name = sec.name;
  return name.starts_with(".discard") || name.starts_with("__ksymtab") ||
         name.starts_with("__kcrctab") || name == ".modinfo" || name.starts_with(".comment") ||
         name.starts_with(".note") || name.starts_with(".debug_") || is_special_section(sec);
}

// The functions whose relocations point at `sym`, for the refusal.
std::vector<std::string> users_of(const Object &obj, const Symbol &sym) {
  std::vector<std::string> users;
  for (const Section &sec : obj.sections) {
    if (!sec.bundled || !sec.bundled->is_func())
      continue;
    for (const Relocation &r : sec.relocations())
      if (r.sym == &sym) {
        users.push_back(sec.bundled->name);
        break;
      }
  }
  return users;
}

} // namespace

void refuse_unpatchable_changes(DiffContext &ctx) {
  for (Symbol &sym : ctx.patched.symbols) {
    if (sym.status != Status::Changed || !sym.sec || is_bookkeeping_section(*sym.sec))
      continue;
    if (sym.is_object() && !is_special_static(sym) && !is_read_only_data(sym)) {
      bool resized = sym.twin && sym.twin->size != sym.size;
      Decision d =
          about(resized ? DecisionKind::DataResized : DecisionKind::DataChanged, ctx.patched, sym);
      d.related = users_of(ctx.patched, sym);
      throw Unpatchable(std::move(d));
    }
    if (sym.is_func() && is_init_or_exit_section(sym.sec->name))
      throw Unpatchable(about(DecisionKind::InitFunctionChanged, ctx.patched, sym));
  }
  for (Section &sec : ctx.patched.sections) {
    if (sec.type() != SHT_GROUP || !sec.twin)
      continue;
    std::vector<std::string> a, b;
    for (const Section *m : sec.group_members)
      a.push_back(correlation_key(m->name));
    for (const Section *m : sec.twin->group_members)
      b.push_back(correlation_key(m->name));
    if (a != b) {
      Decision d = about(DecisionKind::GroupChanged, ctx.patched, sec);
      d.symbol = sec.group_signature ? sec.group_signature->name : sec.name;
      throw Unpatchable(std::move(d));
    }
  }
}

namespace {

// GCC's -mfentry puts `call __fentry__` first (after endbr64 with IBT); ftrace redirects there.
bool has_ftrace_entry(const Symbol &fn) {
  for (const Relocation &r : fn.sec->relocations())
    if (r.offset >= fn.value && r.offset < fn.value + 16 && r.sym->name == "__fentry__")
      return true;
  return false;
}

} // namespace

void refuse_unpatchable_functions(DiffContext &ctx) {
  for (Symbol &sym : ctx.patched.symbols) {
    if (!needs_klp_func(sym))
      continue;
    if (sym.sec->bundled != &sym)
      throw Unpatchable(about(DecisionKind::SharedSection, ctx.patched, sym));
    if (!has_ftrace_entry(sym))
      throw Unpatchable(about(DecisionKind::NoFtraceEntry, ctx.patched, sym));
  }
}

} // namespace klp
