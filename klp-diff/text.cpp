// The text report: a verdict line per function, and with --explain a block per function that
// is not plainly unchanged. See man/klp-diff.1 for an annotated example.
#include <cinttypes>
#include <cstdio>
#include <map>

#include "explain.h"

namespace klp {

namespace {

constexpr size_t kSpecialShown = 8; // per section, before "... and N more"

std::string xhex(uint64_t v) {
  char buf[24];
  snprintf(buf, sizeof buf, "%" PRIx64, v);
  return buf;
}

// "ring.c:12, include/ring.h:13, 15-16": a file named once for its consecutive ranges.
std::string join(const std::vector<SourceRange> &v) {
  std::string s;
  for (size_t i = 0; i < v.size(); i++) {
    s += i ? ", " : "";
    if (i && v[i].file == v[i - 1].file)
      s += to_string(v[i]).substr(v[i].file.size() + 1);
    else
      s += to_string(v[i]);
  }
  return s;
}

std::string pad(std::string s, size_t width) {
  if (s.size() < width)
    s.append(width - s.size(), ' ');
  return s;
}

std::string display_name(const FunctionReport &f) {
  return f.orig_name.empty() ? f.name : f.name + " (orig " + f.orig_name + ")";
}

std::string sources(const std::vector<SourceRange> &orig, const std::vector<SourceRange> &patched) {
  std::string s;
  if (!orig.empty())
    s += "orig " + join(orig);
  if (!patched.empty())
    s += (s.empty() ? "" : " | ") + std::string("patched ") + join(patched);
  return s;
}

std::string in_patch(const FunctionReport &f) {
  if (f.klp_func) {
    std::string s = "yes, replaces the running kernel's ";
    if (f.klp_target)
      s += f.klp_target->object + ":" + f.klp_target->name + "," +
           std::to_string(f.klp_target->sympos);
    else
      s += f.orig_name.empty() ? f.name : f.orig_name;
    return s + " through a klp_func";
  }
  if (f.included)
    return f.parent.empty() ? "yes, as new code" : "yes, as part of " + f.parent;
  switch (f.verdict) {
  case Verdict::New:
    return "no: nothing in the patch refers to it";
  case Verdict::Removed:
    return "no: the running kernel keeps it (a livepatch cannot remove code)";
  default:
    return "no: the running kernel's copy stays";
  }
}

void print_code(const FunctionReport &f, std::ostream &out) {
  if (f.code.empty()) {
    out << "   code: no instruction differs (see why)\n";
    return;
  }
  out << "   code (- orig, + patched; offsets in hex):\n";
  for (const Hunk &h : f.code) {
    std::string src = sources(h.orig_source, h.patched_source);
    out << "     @@" << (src.empty() ? "" : " " + src + " @@") << "\n";
    for (const InsnLine &l : h.lines) {
      std::string o = l.orig_offset ? xhex(*l.orig_offset) : "";
      std::string p = l.patched_offset ? xhex(*l.patched_offset) : "";
      out << "     " << l.mark << " " << std::string(5 - std::min<size_t>(5, o.size()), ' ') << o
          << " " << std::string(5 - std::min<size_t>(5, p.size()), ' ') << p << "  " << l.text
          << "\n";
    }
  }
}

void print_special(const FunctionReport &f, std::ostream &out) {
  if (f.special.empty())
    return;
  out << "   special-section entries carried with it:\n";
  std::map<std::string, size_t> shown;
  for (const SpecialRef &s : f.special) {
    size_t &n = shown[s.section];
    if (n++ < kSpecialShown)
      out << "     " << s.section << "+0x" << xhex(s.offset) << " -> +0x" << xhex(s.target)
          << (s.insn.empty() ? "" : "  " + s.insn) << "\n";
  }
  for (const auto &[sec, n] : shown)
    if (n > kSpecialShown)
      out << "     " << sec << ": ... and " << n - kSpecialShown << " more\n";
}

void print_block(const FunctionReport &f, std::ostream &out) {
  out << "\n-- " << f.name << ": " << verdict_name(f.verdict) << "\n";
  out << "   in the patch: " << in_patch(f) << "\n";
  std::string sizes;
  if (f.orig_size && f.patched_size)
    sizes = " (0x" + xhex(*f.orig_size) + " -> 0x" + xhex(*f.patched_size) + " bytes)";
  else if (f.orig_size || f.patched_size)
    sizes = " (0x" + xhex(f.orig_size ? *f.orig_size : *f.patched_size) + " bytes)";
  out << "   section: " << f.section << sizes << "\n";
  if (!f.orig_name.empty())
    out << "   correlated: orig " << f.orig_name << " <-> patched " << f.name << "\n";
  if (!f.parent.empty())
    out << "   part of: " << f.parent << "\n";
  for (const std::string &c : f.children)
    out << "   has part: " << c << "\n";
  if (f.verdict == Verdict::Removed)
    out << "   why:\n     removed: no counterpart in the patched object\n";
  else if (!f.reasons.empty()) {
    out << "   why:\n";
    for (const Decision &r : f.reasons)
      out << "     " << describe(r) << "\n";
  }
  unsigned inlined = 0;
  for (const InlinedChange &i : f.inlined) {
    inlined += i.instructions;
    out << "   inlines changed " << (i.is_static ? "static " : "")
        << (i.declared_inline ? "inline " : "") << i.name << "()"
        << (i.decl_file.empty() ? "" : " from " + i.decl_file)
        << (i.decl_line ? ":" + std::to_string(i.decl_line) : "") << " (" << i.instructions
        << " of " << f.changed_instructions << " changed instructions)\n";
  }
  if (!f.inlined.empty() && inlined == f.changed_instructions)
    out << "   every changed instruction is inlined code: the function changed because what it "
           "inlines did\n";
  for (const StaticRef &s : f.statics)
    out << "   static: " << (s.orig_name.empty() ? s.name : s.orig_name + " <-> " + s.name) << ": "
        << s.how
        << (s.included ? ", the patch carries its own copy" : ", the running kernel's copy is used")
        << "\n";
  for (const KlpRef &r : f.references)
    out << "   reference: " << r.symbol << " -> " << r.klp_name << "\n";
  print_special(f, out);
  std::string src = sources(f.orig_source, f.patched_source);
  if (!src.empty())
    out << "   source: " << src << "\n";
  if (f.verdict == Verdict::Changed && f.orig_size)
    print_code(f, out);
}

void print_refusal(const Refusal &r, std::ostream &out) {
  out << "result: refused: the change cannot be live-patched\n";
  if (!r.symbol.empty())
    out << "   symbol: " << r.symbol << "\n";
  if (!r.location.empty())
    out << "   where: " << r.location << "\n";
  for (const Decision &why : r.reasons)
    out << "   why: " << describe(why) << "\n";
  for (const RefusalUser &u : r.users) {
    out << "   used by: " << u.name << "\n";
    for (const Decision &why : u.reasons)
      out << "     " << describe(why) << "\n";
  }
  out << "   message: " << r.message << "\n";
}

void print_object(const ObjectReport &o, bool explain, bool filtered, std::ostream &out) {
  out << "== " << (o.object.empty() ? "" : o.object + ": ") << o.orig_path << " -> "
      << o.patched_path << " (target " << o.target << ")\n";
  if (o.refusal) {
    print_refusal(*o.refusal, out);
    return;
  }
  std::map<Verdict, unsigned> counts;
  for (const FunctionReport &f : o.functions)
    counts[f.verdict]++;
  out << "result: " << (o.has_changes ? "changes" : "no change that needs a livepatch");
  std::string sep = " (";
  for (Verdict v : {Verdict::Changed, Verdict::New, Verdict::Dependency, Verdict::Ignored,
                    Verdict::Removed, Verdict::Unchanged})
    if (counts[v]) {
      out << sep << counts[v] << " " << verdict_name(v);
      sep = ", ";
    }
  out << (sep == ", " ? ")" : "") << (filtered ? " [--function]" : "") << "\n";
  if (!o.summary.empty()) {
    out << "patch:\n";
    for (const std::string &s : o.summary)
      out << "  " << s << "\n";
  }
  if (!o.functions.empty()) {
    out << "functions:\n";
    for (const FunctionReport &f : o.functions)
      out << "  " << pad(verdict_name(f.verdict), 24) << display_name(f) << "\n";
  }
  if (!o.data.empty()) {
    out << "data:\n";
    for (const DataReport &d : o.data)
      out << "  " << pad(verdict_name(d.verdict), 24)
          << (d.orig_name.empty() ? d.name : d.name + " (orig " + d.orig_name + ")")
          << (d.included ? " [in the patch]" : "") << "\n";
  }
  if (!explain)
    return;
  if (!o.orig_debug_info || !o.patched_debug_info)
    out << "note: " << (!o.orig_debug_info ? o.orig_path : o.patched_path)
        << " has no DWARF line information: no source lines or inlined callees (build with -g)\n";
  for (const FunctionReport &f : o.functions)
    if (f.verdict != Verdict::Unchanged || filtered)
      print_block(f, out);
}

} // namespace

void print_text(const Report &report, bool explain, std::ostream &out) {
  if (!report.explain_dir.empty())
    out << "klp-build result: " << report.explain_dir
        << (report.patch_name.empty() ? "" : " (patch " + report.patch_name + ")") << "\n";
  bool first = true;
  for (const ObjectReport &o : report.objects) {
    if (!first)
      out << "\n";
    first = false;
    print_object(o, explain, !report.function.empty(), out);
  }
}

} // namespace klp
