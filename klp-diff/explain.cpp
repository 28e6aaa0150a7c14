#include "explain.h"

#include <algorithm>
#include <map>
#include <unordered_map>

#include "bundle.h"
#include "correlate.h"
#include "insn_diff.h"
#include "klp_reloc.h"
#include "names.h"
#include "output.h"
#include "source_lines.h"
#include "special_sections.h"
#include "verify.h"

namespace klp {

const char *verdict_name(Verdict v) {
  switch (v) {
  case Verdict::Changed:
    return "changed";
  case Verdict::New:
    return "new";
  case Verdict::Dependency:
    return "included-as-dependency";
  case Verdict::Ignored:
    return "ignored";
  case Verdict::Unchanged:
    return "unchanged";
  case Verdict::Removed:
    return "removed";
  }
  return "?";
}

std::string to_string(const SourceRange &r) {
  std::string s = r.file + ":" + std::to_string(r.first);
  if (r.last != r.first)
    s += "-" + std::to_string(r.last);
  return s;
}

int report_exit_code(const Report &report) {
  bool changes = false;
  for (const ObjectReport &o : report.objects) {
    if (o.refusal)
      return kExitUnpatchable;
    changes |= o.has_changes;
  }
  return changes ? kExitOk : kExitNoChange;
}

namespace {

// ---- verdicts -------------------------------------------------------------------------------

bool has_note(const std::vector<Decision> &notes, DecisionKind kind) {
  return std::any_of(notes.begin(), notes.end(), [&](const Decision &d) { return d.kind == kind; });
}

Verdict verdict_of(const Symbol &p, const std::vector<Decision> &notes) {
  if (p.status == Status::Changed)
    return Verdict::Changed;
  if (p.status == Status::New)
    return p.included && !p.parent && !has_note(notes, DecisionKind::IncludedNewGlobal)
               ? Verdict::Dependency
               : Verdict::New;
  if (p.included)
    return Verdict::Dependency;
  if (has_note(notes, DecisionKind::IgnoredLineChange) ||
      has_note(notes, DecisionKind::IgnoredByFunction))
    return Verdict::Ignored;
  return Verdict::Unchanged;
}

// Relocations applying to the function's code.
std::vector<const Relocation *> code_relocs(const Symbol &fn) {
  CodeRange r = code_range(fn);
  std::vector<const Relocation *> v;
  if (!r.sec)
    return v;
  for (const Relocation &rel : r.sec->relocations())
    if (rel.offset >= r.start && rel.offset < r.start + r.size)
      v.push_back(&rel);
  std::stable_sort(v.begin(), v.end(),
                   [](const Relocation *a, const Relocation *b) { return a->offset < b->offset; });
  return v;
}

// ---- what the function refers to ------------------------------------------------------------

std::vector<StaticRef> statics_of(const Symbol &fn) {
  std::vector<StaticRef> v;
  std::vector<const Symbol *> seen;
  for (const Relocation *r : code_relocs(fn)) {
    const Symbol &t = *r->sym;
    // DO_ONCE_LITE and WARN_ONCE flags in .data.once may be reached through the section symbol.
    bool once_section = t.is_section() && t.sec && is_special_static_section(t.sec->name);
    if (!once_section && (!t.is_object() || !t.is_local() || !t.sec))
      continue;
    bool special = once_section || is_special_static(t);
    if (!special && static_local_base(t.name).empty())
      continue;
    if (std::find(seen.begin(), seen.end(), &t) != seen.end())
      continue;
    seen.push_back(&t);
    StaticRef s;
    s.name = t.name;
    s.orig_name = t.twin ? t.twin->name : "";
    s.how = special ? "new per-call-site static" : t.twin ? "correlated" : "new";
    s.included = once_section ? t.sec->included : t.included;
    v.push_back(std::move(s));
  }
  return v;
}

// What the function's code refers to outside the patch: klp symbols (the notes build_output()
// left) and, with a symbol table (so that build_output() ran), the rest, which the module loader
// resolves as exports.
void references_of(const DiffContext &ctx, const Symbol &fn, const Symvers *symvers, bool resolved,
                   FunctionReport &fr) {
  std::vector<const Symbol *> seen;
  for (const Relocation *r : code_relocs(fn)) {
    const Symbol &t = *r->sym;
    if (std::find(seen.begin(), seen.end(), &t) != seen.end())
      continue;
    seen.push_back(&t);
    bool klp = false;
    for (const Decision &d : ctx.notes(t))
      if (d.kind == DecisionKind::ReferencedAs) {
        fr.references.push_back({t.name, d.detail});
        klp = true;
      }
    if (klp || !resolved || t.is_section() || t.included || (t.sec && t.sec->included))
      continue;
    const std::string &name = t.twin ? t.twin->name : t.name;
    const Export *e = symvers ? symvers->find(name) : nullptr;
    fr.exported.push_back({name, e ? e->module : ""});
  }
}

// The relocations of the special tables the pass kept (it rewrote them in place to hold only
// the entries of included code), grouped by the function they point into.
std::unordered_map<const Symbol *, std::vector<SpecialRef>> special_refs(const Object &patched) {
  std::unordered_map<const Section *, std::vector<const Symbol *>> functions;
  for (const Symbol &s : patched.symbols)
    if (s.is_func() && s.sec)
      functions[s.sec].push_back(&s);
  std::unordered_map<const Symbol *, std::vector<SpecialRef>> refs;
  for (const Section &sec : patched.sections) {
    if (!sec.included || sec.is_rela() || sec.is_text() || !is_special_section(sec))
      continue;
    for (const Relocation &r : sec.relocations()) {
      const Symbol &t = *r.sym;
      if (!t.sec || !t.sec->is_text())
        continue;
      int64_t off =
          wrapping_add(t.is_section() ? 0 : (int64_t)t.value, reloc_target_offset(sec, r));
      for (const Symbol *fn : functions[t.sec]) {
        CodeRange range = code_range(*fn);
        if (off >= (int64_t)range.start && off < (int64_t)(range.start + range.size)) {
          refs[fn].push_back({sec.name, r.offset, (uint64_t)off - range.start, ""});
          break;
        }
      }
    }
  }
  for (auto &[fn, v] : refs) {
    std::vector<uint64_t> offsets;
    for (const SpecialRef &s : v)
      offsets.push_back(s.target);
    std::vector<std::string> texts = instructions_at(*fn, offsets);
    for (size_t i = 0; i < v.size(); i++)
      v[i].insn = texts[i];
  }
  return refs;
}

// ---- source lines ---------------------------------------------------------------------------

// Lines, in order of appearance, compressed to ranges per file (files in order of appearance).
class LineSet {
public:
  void add(const SourceLine &l) {
    auto it = std::find_if(files_.begin(), files_.end(),
                           [&](const auto &f) { return f.first == l.file; });
    if (it == files_.end())
      files_.push_back({l.file, {l.line}});
    else
      it->second.push_back(l.line);
  }
  std::vector<SourceRange> ranges() const {
    std::vector<SourceRange> v;
    for (auto [file, lines] : files_) {
      std::sort(lines.begin(), lines.end());
      lines.erase(std::unique(lines.begin(), lines.end()), lines.end());
      for (size_t i = 0; i < lines.size();) {
        size_t j = i;
        while (j + 1 < lines.size() && lines[j + 1] == lines[j] + 1)
          j++;
        v.push_back({file, lines[i], lines[j]});
        i = j + 1;
      }
    }
    return v;
  }

private:
  std::vector<std::pair<std::string, std::vector<unsigned>>> files_;
};

struct DwarfPair {
  SourceLines orig, patched;
};

void add_inlined(std::vector<InlinedChange> &v, const InlinedCallee &c) {
  for (InlinedChange &i : v)
    if (i.name == c.name && i.decl_file == c.decl_file && i.decl_line == c.decl_line) {
      i.instructions++;
      return;
    }
  v.push_back({c.name, c.decl_file, c.decl_line, c.is_static, c.declared_inline, 1});
}

// Instruction diff, its source lines and the inlined callees it touches.
void add_code(FunctionReport &fr, const Symbol &o, const Symbol &p, DwarfPair &dw) {
  fr.code = diff_instructions(o, p);
  CodeRange orange = code_range(o), prange = code_range(p);
  LineSet all_orig, all_patched;
  for (Hunk &h : fr.code) {
    LineSet ho, hp;
    for (const InsnLine &l : h.lines) {
      if (l.mark == ' ')
        continue;
      fr.changed_instructions++;
      bool orig_side = l.mark == '-';
      const SourceLines &lines = orig_side ? dw.orig : dw.patched;
      const CodeRange &range = orig_side ? orange : prange;
      uint64_t off = range.start + *(orig_side ? l.orig_offset : l.patched_offset);
      if (std::optional<SourceLine> sl = lines.line_at(*range.sec, off)) {
        (orig_side ? ho : hp).add(*sl);
        (orig_side ? all_orig : all_patched).add(*sl);
      }
      if (std::optional<InlinedCallee> c = lines.inlined_at(*range.sec, off))
        add_inlined(fr.inlined, *c);
    }
    h.orig_source = ho.ranges();
    h.patched_source = hp.ranges();
  }
  fr.orig_source = all_orig.ranges();
  fr.patched_source = all_patched.ranges();
}

// The lines a function without a counterpart spans.
std::vector<SourceRange> lines_of(const Symbol &fn, const SourceLines &lines) {
  CodeRange range = code_range(fn);
  LineSet set;
  if (!range.sec || !lines.available())
    return {};
  // Every byte is looked up: the line table answers per address, and functions are small.
  for (uint64_t off = 0; off < range.size; off++)
    if (std::optional<SourceLine> sl = lines.line_at(*range.sec, range.start + off))
      set.add(*sl);
  return set.ranges();
}

// ---- one function ---------------------------------------------------------------------------

struct Gathered {
  const DiffContext &ctx;
  std::unordered_map<const Symbol *, std::vector<SpecialRef>> special;
  std::map<std::string, KlpTarget> klp_targets; // by original name
  const Symvers *symvers = nullptr;
  bool resolved = false;      // build_output() ran: references are resolved (needs --symtab)
  DwarfPair *dwarf = nullptr; // null: no details
};

FunctionReport report_function(const Symbol &p, Gathered &g) {
  FunctionReport fr;
  fr.name = p.name;
  if (p.twin && p.twin->name != p.name)
    fr.orig_name = p.twin->name;
  fr.section = p.sec->name;
  fr.patched_size = code_range(p).size;
  if (p.twin && p.twin->sec)
    fr.orig_size = code_range(*p.twin).size;
  if (p.parent)
    fr.parent = p.parent->name;
  for (const Symbol *c : p.children)
    fr.children.push_back(c->name);
  fr.reasons = g.ctx.notes(p);
  fr.verdict = verdict_of(p, fr.reasons);
  fr.included = p.included;
  fr.klp_func = needs_klp_func(p);
  if (fr.klp_func)
    if (auto it = g.klp_targets.find(p.twin->name); it != g.klp_targets.end())
      fr.klp_target = it->second;
  if (p.included) {
    fr.statics = statics_of(p);
    references_of(g.ctx, p, g.symvers, g.resolved, fr);
    if (auto it = g.special.find(&p); it != g.special.end())
      fr.special = it->second;
  }
  if (!g.dwarf)
    return fr;
  if (fr.verdict == Verdict::Changed && p.twin && p.twin->sec)
    add_code(fr, *p.twin, p, *g.dwarf);
  else if (fr.verdict == Verdict::New || fr.verdict == Verdict::Dependency)
    fr.patched_source = lines_of(p, g.dwarf->patched);
  return fr;
}

FunctionReport report_removed(const Symbol &o, Gathered &g) {
  FunctionReport fr;
  fr.name = o.name;
  fr.verdict = Verdict::Removed;
  fr.section = o.sec->name;
  fr.orig_size = code_range(o).size;
  if (o.parent)
    fr.parent = o.parent->name;
  for (const Symbol *c : o.children)
    fr.children.push_back(c->name);
  if (g.dwarf)
    fr.orig_source = lines_of(o, g.dwarf->orig);
  return fr;
}

std::vector<DataReport> report_data(const DiffContext &ctx) {
  std::vector<DataReport> v;
  for (const Symbol &p : ctx.patched.symbols) {
    if (!p.is_object() || !p.sec || is_special_section(*p.sec))
      continue;
    DataReport d;
    if (p.status == Status::Changed)
      d.verdict = Verdict::Changed;
    else if (p.status == Status::New && (p.included || !is_special_static(p)))
      d.verdict = Verdict::New;
    else if (p.status == Status::Same && p.included)
      d.verdict = Verdict::Dependency;
    else
      continue;
    d.name = p.name;
    if (p.twin && p.twin->name != p.name)
      d.orig_name = p.twin->name;
    d.included = p.included;
    d.section = p.sec->name;
    d.reasons = ctx.notes(p);
    v.push_back(std::move(d));
  }
  for (const Symbol &o : ctx.orig.symbols)
    if (o.is_object() && o.sec && !o.twin && !is_special_static(o) && !is_special_section(*o.sec))
      v.push_back({o.name, "", Verdict::Removed, false, o.sec->name, {}});
  return v;
}

// ---- refusals -------------------------------------------------------------------------------

// Refusals about one symbol's change, whose message starts with that symbol (decision.h).
bool is_about_symbol(DecisionKind kind) {
  switch (kind) {
  case DecisionKind::DataChanged:
  case DecisionKind::DataResized:
  case DecisionKind::InitFunctionChanged:
  case DecisionKind::SharedSection:
  case DecisionKind::NoFtraceEntry:
    return true;
  default:
    return false;
  }
}

// The notes about the first patched symbol named `name`.
const std::vector<Decision> &notes_named(const DiffContext &ctx, const std::string &name) {
  static const std::vector<Decision> none;
  const Symbol *sym = ctx.patched.find_symbol(name);
  return sym ? ctx.notes(*sym) : none;
}

Refusal refusal_of(const Decision &d, const DiffContext &ctx) {
  Refusal r;
  r.decision = d;
  r.message = describe(d);
  r.location = location(d);
  if (is_about_symbol(d.kind)) {
    r.symbol = d.symbol;
    r.reasons = notes_named(ctx, d.symbol);
  }
  if (d.kind == DecisionKind::DataChanged || d.kind == DecisionKind::DataResized)
    for (const std::string &user : d.related)
      r.users.push_back({user, notes_named(ctx, user)});
  return r;
}

} // namespace

namespace {

// The report on one analyzed pair; `diff.link_scope` names the globals the patch module's other
// objects define.
ObjectReport report_session(const DiffSession &s, const DiffOptions &diff,
                            const ExplainOptions &opts, const std::string &object) {
  ObjectReport rep;
  rep.object = object;
  rep.orig_path = diff.orig_path;
  rep.patched_path = diff.patched_path;
  rep.target = diff.target;
  std::unique_ptr<DwarfPair> dwarf;
  if (opts.details) {
    dwarf.reset(new DwarfPair{SourceLines(diff.orig_path), SourceLines(diff.patched_path)});
    rep.orig_debug_info = dwarf->orig.available();
    rep.patched_debug_info = dwarf->patched.available();
  }
  // A refusal keeps the decisions taken before it.
  if (s.refusal) {
    rep.refusal = refusal_of(*s.refusal, *s.ctx);
    return rep;
  }
  rep.summary = s.summary;
  rep.has_changes = s.has_changes;
  Gathered g{*s.ctx, special_refs(*s.patched), {}, s.symvers.get(), false, nullptr};
  // How the patch names what stays in the running kernel: needs the target's symbol table.
  if (!diff.symtab_path.empty()) {
    ReferenceResolver resolver(diff.target, s.symvers.get(), s.symtab.get(), *s.orig,
                               &diff.link_scope);
    Output out = build_output(*s.ctx, resolver, diff.patched_path);
    for (const PatchedFunction &f : out.functions)
      g.klp_targets[f.name] = {f.objname, f.name, f.sympos};
    g.resolved = true;
  }
  g.dwarf = dwarf.get();
  for (const Symbol &p : s.patched->symbols) {
    if (!p.is_func() || !p.sec || is_special_section(*p.sec))
      continue;
    if (!opts.function.empty() && p.name != opts.function &&
        !(p.twin && p.twin->name == opts.function))
      continue;
    rep.functions.push_back(report_function(p, g));
  }
  for (const Symbol &o : s.orig->symbols) {
    if (!o.is_func() || !o.sec || o.twin || is_special_section(*o.sec))
      continue;
    if (!opts.function.empty() && o.name != opts.function)
      continue;
    rep.functions.push_back(report_removed(o, g));
  }
  if (opts.function.empty())
    rep.data = report_data(*s.ctx);
  return rep;
}

} // namespace

ObjectReport explain_pair(const DiffOptions &diff, const ExplainOptions &opts,
                          const std::string &object) {
  return report_session(*analyze(diff), diff, opts, object);
}

// ---- reports ---------------------------------------------------------------------------------

namespace {

void require_function(const Report &r) {
  if (r.function.empty())
    return;
  std::string where;
  for (const ObjectReport &o : r.objects) {
    if (o.refusal || !o.functions.empty())
      return;
    where += (where.empty() ? "" : ", ") + o.orig_path + ", " + o.patched_path;
  }
  throw Error(where + ": no function '" + r.function + "'");
}

} // namespace

Report explain_objects(const DiffOptions &diff, const ExplainOptions &opts) {
  Report r;
  r.function = opts.function;
  r.objects.push_back(explain_pair(diff, opts));
  require_function(r);
  return r;
}

Report explain_manifest(const Manifest &m, const ExplainOptions &opts) {
  Report r;
  r.explain_dir = m.dir;
  r.patch_name = m.patch_name;
  r.function = opts.function;
  // Analyze every pair first: a new global one object defines is the module's own symbol in the
  // others, as when klp-build wrote the module (klp-build/diff_units.cpp).
  std::vector<DiffOptions> diffs;
  std::vector<std::unique_ptr<DiffSession>> sessions;
  LinkScope scope;
  for (const ManifestObject &o : m.objects) {
    DiffOptions diff;
    diff.orig_path = o.orig;
    diff.patched_path = o.patched;
    diff.target = o.target;
    diff.symtab_path = m.symtab_for(o.target);
    diff.symvers_path = m.symvers;
    diff.patch_name = m.patch_name;
    sessions.push_back(analyze(diff));
    if (!sessions.back()->refusal)
      add_module_globals(scope, *sessions.back()->patched);
    diffs.push_back(std::move(diff));
  }
  for (size_t i = 0; i < diffs.size(); i++) {
    diffs[i].link_scope = scope;
    r.objects.push_back(report_session(*sessions[i], diffs[i], opts, m.objects[i].object));
  }
  require_function(r);
  return r;
}

} // namespace klp
