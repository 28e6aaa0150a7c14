#include "compare.h"

#include <algorithm>
#include <cstring>

#include "bundle.h"
#include "correlate.h"
#include "line_macro.h"
#include "names.h"

namespace klp {

namespace {

// A symbol's bytes: the whole section when the symbol is bundled, else its own range.
struct Range {
  const Section *sec = nullptr;
  uint64_t start = 0;
  uint64_t size = 0;
};

Range range_of(const Symbol &sym) {
  if (sym.sec->bundled == &sym)
    return {sym.sec, 0, sym.sec->size()};
  return {sym.sec, sym.value, sym.size};
}

std::vector<const Relocation *> relocs_in(const Range &r) {
  std::vector<const Relocation *> v;
  for (const Relocation &rel : r.sec->relocations())
    if (rel.offset >= r.start && rel.offset < r.start + r.size)
      v.push_back(&rel);
  std::sort(v.begin(), v.end(),
            [](const Relocation *a, const Relocation *b) { return a->offset < b->offset; });
  return v;
}

// The NUL-terminated string at `offset` of a string section ("" if out of range).
std::string_view string_at(const Section &sec, int64_t offset) {
  if (offset < 0 || (uint64_t)offset >= sec.data.size())
    return {};
  const char *p = (const char *)sec.data.data() + offset;
  return std::string_view(p, strnlen(p, sec.data.size() - offset));
}

// Whether two relocations point at the same thing.
bool same_target(const Section &osite, const Relocation &o, const Section &psite,
                 const Relocation &p) {
  const Symbol &os = *o.sym, &ps = *p.sym;
  if (os.is_section() && ps.is_section()) {
    // String literals: by content (see the essay in compare.h).
    if (ps.sec->is_string() && os.sec->is_string())
      return o.pc_bias == p.pc_bias && string_at(*os.sec, reloc_target_offset(osite, o)) ==
                                           string_at(*ps.sec, reloc_target_offset(psite, p));
    // UBSAN's data is per call site (names.h): the same kind of datum compares equal.
    if (is_ubsan_data_section(ps.sec->name) && is_ubsan_data_section(os.sec->name))
      return ubsan_data_kind(ps.sec->name) == ubsan_data_kind(os.sec->name) && o.addend == p.addend;
    return ps.sec->twin == os.sec && o.addend == p.addend && ps.sec->status != Status::Changed;
  }
  if (o.addend != p.addend)
    return false;
  // Changed read-only data (whose new copy the patch carries) changes its users too; a changed
  // function does not: callers reach the new version through ftrace.
  if (ps.twin)
    return ps.twin == &os && !(ps.is_object() && ps.status == Status::Changed);
  // Per-call-site statics are never correlated; the same macro use compares equal.
  if (is_special_static(ps) && is_special_static(os))
    return correlation_key(ps.name) == correlation_key(os.name);
  // Undefined symbols pair by name; a symbol without a twin is new, hence different.
  return ps.is_undefined() && os.is_undefined() && ps.name == os.name;
}

// How two relocations at the same place differ, for a reader: target and addend, and where those
// read the same, that the target itself changed (changed read-only data the patch carries anew).
std::string reloc_difference(const Relocation &a, const Relocation &b) {
  std::string s = a.sym->name + "+" + std::to_string(a.addend) + " -> " + b.sym->name + "+" +
                  std::to_string(b.addend);
  if (a.type != b.type)
    s += " (relocation type " + std::to_string(a.type) + " -> " + std::to_string(b.type) + ")";
  else if (a.sym->name == b.sym->name && a.addend == b.addend)
    s += " (" + b.sym->name + " itself changed)";
  return s;
}

// Compares bytes and relocations; on a difference, says where.
bool ranges_equal(const Range &o, const Range &p, std::string *why) {
  if (o.size != p.size) {
    *why = "size " + hex(o.size) + " -> " + hex(p.size);
    return false;
  }
  auto orels = relocs_in(o), prels = relocs_in(p);
  bool nobits = o.sec->type() == SHT_NOBITS || p.sec->type() == SHT_NOBITS;
  if (!nobits) {
    // Compare bytes outside relocated fields (their contents are the addends' business).
    std::vector<uint8_t> ob(o.sec->data.begin() + o.start, o.sec->data.begin() + o.start + o.size);
    std::vector<uint8_t> pb(p.sec->data.begin() + p.start, p.sec->data.begin() + p.start + p.size);
    for (const Relocation *r : orels)
      std::fill_n(ob.begin() + (r->offset - o.start),
                  std::min<uint64_t>(reloc_width(r->type, ""), o.size - (r->offset - o.start)), 0);
    for (const Relocation *r : prels)
      std::fill_n(pb.begin() + (r->offset - p.start),
                  std::min<uint64_t>(reloc_width(r->type, ""), p.size - (r->offset - p.start)), 0);
    auto mm = std::mismatch(ob.begin(), ob.end(), pb.begin());
    if (mm.first != ob.end()) {
      *why = "bytes differ at +" + hex(mm.first - ob.begin());
      return false;
    }
  } else if (o.sec->type() != p.sec->type()) {
    *why = "section type changed";
    return false;
  }
  if (orels.size() != prels.size()) {
    *why =
        "relocation count " + std::to_string(orels.size()) + " -> " + std::to_string(prels.size());
    return false;
  }
  for (size_t i = 0; i < orels.size(); i++) {
    const Relocation &a = *orels[i], &b = *prels[i];
    if (a.offset - o.start != b.offset - p.start || a.type != b.type ||
        !same_target(*o.sec, a, *p.sec, b)) {
      *why = "relocation at +" + hex(b.offset - p.start) + " differs: " + reloc_difference(a, b);
      return false;
    }
  }
  return true;
}

// The function's code and relocations in line_macro.h's terms, offsets relative to the start.
struct CodeView {
  std::vector<CodeReloc> relocs;
  std::unordered_map<uint64_t, const Relocation *> by_offset;
  FunctionBytes bytes() const { return {code, relocs}; }
  std::span<const uint8_t> code;
};

CodeView code_view(const Range &r) {
  CodeView v;
  v.code = std::span<const uint8_t>(r.sec->data).subspan(r.start, r.size);
  for (const Relocation *rel : relocs_in(r)) {
    v.relocs.push_back({rel->offset - r.start, rel->type, rel->sym->name, rel->addend});
    v.by_offset[rel->offset - r.start] = rel;
  }
  return v;
}

// Whether the two ranges differ only in __LINE__ immediates (line_macro.h), comparing
// relocations the way the rest of the differ does.
LineMacroResult check_line_numbers(const Range &o, const Range &p) {
  if (o.size != p.size || o.sec->type() == SHT_NOBITS || p.sec->type() == SHT_NOBITS)
    return {};
  CodeView ov = code_view(o), pv = code_view(p);
  LineMacroOptions opts;
  opts.same_reloc = [&](const CodeReloc &a, const CodeReloc &b) {
    const Relocation *ra = ov.by_offset.at(a.offset), *rb = pv.by_offset.at(b.offset);
    return ra->type == rb->type && same_target(*o.sec, *ra, *p.sec, *rb);
  };
  return check_line_macro_changes(ov.bytes(), pv.bytes(), opts);
}

void compare_anonymous_sections(DiffContext &ctx) {
  for (Section &p : ctx.patched.sections) {
    if (p.is_rela() || p.bundled || p.is_text() || !p.is_alloc())
      continue;
    if (!p.twin) {
      p.status = Status::New;
      continue;
    }
    std::string why;
    if (!ranges_equal({p.twin, 0, p.twin->size()}, {&p, 0, p.size()}, &why))
      p.status = Status::Changed;
  }
}

void compare_symbol(DiffContext &ctx, Symbol &p) {
  if (!p.twin) {
    p.status = Status::New;
    if (is_special_static(p))
      ctx.note(p, DecisionKind::NewPerCallSite);
    else
      ctx.note(p, DecisionKind::New, {}, ctx.orig.path);
    return;
  }
  if (!p.sec || !p.twin->sec)
    return;
  Range o = range_of(*p.twin), n = range_of(p);
  std::string why;
  if (ranges_equal(o, n, &why))
    return;
  if (p.is_func()) {
    LineMacroResult check = check_line_numbers(o, n);
    if (check.line_only) {
      for (const IgnoredInsn &i : check.ignored) {
        Decision d = about(DecisionKind::IgnoredLineChange, ctx.patched, p);
        d.offset = i.offset; // from the function's start
        d.before = i.orig_text;
        d.after = i.patched_text;
        d.related = {std::string(i.consumer)};
        ctx.note(p, std::move(d));
      }
      return;
    }
  }
  p.status = Status::Changed;
  ctx.note(p, DecisionKind::Changed, {}, why);
}

} // namespace

void compare(DiffContext &ctx) {
  compare_anonymous_sections(ctx);
  // Data first: a function referring to changed data is changed.
  for (Symbol &p : ctx.patched.symbols)
    if (p.is_object() && p.sec)
      compare_symbol(ctx, p);
  // A prefix is compared as part of its function's section (bundle.h) and shares its verdict.
  for (Symbol &p : ctx.patched.symbols)
    if (p.is_func() && p.sec && !p.prefix_of)
      compare_symbol(ctx, p);
  for (Symbol &p : ctx.patched.symbols)
    if (p.prefix_of)
      p.status = p.prefix_of->status;
  // Bundled sections take their symbol's verdict.
  for (Section &sec : ctx.patched.sections)
    if (sec.bundled)
      sec.status = sec.bundled->status;
  // A function and its .cold/.part children change together.
  for (Symbol &p : ctx.patched.symbols) {
    if (!p.parent || p.status == Status::Same || p.parent->status != Status::Same)
      continue;
    p.parent->status = Status::Changed;
    ctx.note(*p.parent, DecisionKind::ChangedWithChild, {p.name});
  }
  for (Symbol &p : ctx.patched.symbols)
    if (p.parent && p.status == Status::Same && p.parent->status == Status::Changed) {
      p.status = Status::Changed;
      ctx.note(p, DecisionKind::ChangedWithParent, {p.parent->name});
    }
}

} // namespace klp
