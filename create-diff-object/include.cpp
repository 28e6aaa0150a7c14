#include "include.h"

#include <deque>

#include "correlate.h"

namespace klp {

namespace {

// A byte range whose relocations the closure still has to visit.
struct Unit {
  Section *sec;
  uint64_t start, size;
};

} // namespace

namespace {

// A bundled symbol brings its whole section; a symbol sharing its section with others (an
// explicit __section(), e.g. __read_mostly) brings only its own bytes, which the output gives a
// section of their own (output.h).
void include_symbol(DiffContext &ctx, Symbol &sym, std::deque<Unit> &work, DecisionKind why,
                    std::vector<std::string> related = {}) {
  if (sym.included)
    return;
  sym.included = true;
  ctx.note(sym, why, std::move(related));
  if (sym.sec && sym.sec->bundled == &sym && !sym.sec->included) {
    sym.sec->included = true;
    work.push_back({sym.sec, 0, sym.sec->size()});
  } else if (sym.sec && !sym.sec->included) {
    work.push_back({sym.sec, sym.value, sym.size});
  }
  if (sym.prefix)
    include_symbol(ctx, *sym.prefix, work, DecisionKind::IncludedPrefix, {sym.name});
  for (Symbol *child : sym.children)
    include_symbol(ctx, *child, work, DecisionKind::IncludedChild, {sym.name});
}

} // namespace

void include_changed_functions(DiffContext &ctx) {
  std::deque<Unit> unused;
  for (Symbol &sym : ctx.patched.symbols) {
    if (!sym.is_func() || !sym.sec)
      continue;
    if (sym.status == Status::Changed)
      include_symbol(ctx, sym, unused, DecisionKind::IncludedChanged);
    // A new global function is part of the patch even when nothing in this object calls it.
    else if (sym.status == Status::New && !sym.is_local() && !sym.parent && !sym.prefix_of)
      include_symbol(ctx, sym, unused, DecisionKind::IncludedNewGlobal);
  }
}

bool stays_in_kernel(const Symbol &sym) {
  if (sym.included)
    return false;
  if (sym.is_undefined())
    return true;
  if (sym.is_section() || is_special_static(sym) || sym.status == Status::New)
    return false;
  // Changed read-only data travels with the patch (verify.h refuses changed writable data).
  return !(sym.is_object() && sym.status == Status::Changed);
}

namespace {

// Anonymous sections reached through their section symbol: the running kernel has no name for
// them, so the patch carries its own copy. That is only sound for read-only contents.
bool copy_anonymous_section(const Section &sec) {
  return sec.is_alloc() && !(sec.flags() & SHF_WRITE) && !sec.is_text();
}

} // namespace

void include_references(DiffContext &ctx) {
  std::deque<Unit> work;
  for (Section &sec : ctx.patched.sections)
    if (sec.included && !sec.is_rela())
      work.push_back({&sec, 0, sec.size()});
  for (Symbol &sym : ctx.patched.symbols)
    if (sym.included && sym.sec && !sym.sec->included)
      work.push_back({sym.sec, sym.value, sym.size});
  while (!work.empty()) {
    Unit unit = work.front();
    Section *sec = unit.sec;
    work.pop_front();
    for (const Relocation &r : sec->relocations()) {
      if (r.offset < unit.start || r.offset >= unit.start + unit.size)
        continue;
      Symbol &t = *r.sym;
      if (t.included || t.is_undefined())
        continue;
      if (t.is_section()) {
        Section &ts = *t.sec;
        if (ts.included || !ts.is_alloc())
          continue;
        if (ts.bundled) {
          include_symbol(ctx, *ts.bundled, work, DecisionKind::IncludedReferenced, {sec->name});
          continue;
        }
        if (copy_anonymous_section(ts) || ts.status == Status::New) {
          ts.included = true;
          t.included = true;
          ctx.log(ctx.patched.where(ts) + ": included: anonymous data referenced by " + sec->name);
          work.push_back({&ts, 0, ts.size()});
        }
        continue;
      }
      if (stays_in_kernel(t))
        continue;
      include_symbol(ctx, t, work, DecisionKind::IncludedNewReferenced, {sec->name});
    }
  }
  // Section symbols of included sections come along.
  for (Section &sec : ctx.patched.sections)
    if (sec.included && sec.secsym)
      sec.secsym->included = true;
}

} // namespace klp
