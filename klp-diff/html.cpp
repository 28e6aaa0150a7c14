// The reviewer's page (html.h). Layout, top to bottom: the build (module, kernel, inputs, counts,
// phases); an index; per object its result, its functions (a block per function that is not
// plainly unchanged, the unchanged ones folded into a list), its data, the references out of
// the module and the special-section entries kept; a refusal in place of the functions.
//
// Everything shown comes from the Report; every string from it goes through html_escape().
#include <cinttypes>
#include <cstdio>
#include <map>
#include <set>

#include "html.h"
#include "klp_reloc.h"
#include "version.h"

namespace klp {

std::string html_escape(const std::string &s) {
  std::string r;
  r.reserve(s.size());
  for (char c : s) {
    switch (c) {
    case '&':
      r += "&amp;";
      break;
    case '<':
      r += "&lt;";
      break;
    case '>':
      r += "&gt;";
      break;
    case '"':
      r += "&quot;";
      break;
    case '\'':
      r += "&#39;";
      break;
    default:
      // Control characters other than tab and newline are not allowed in HTML text.
      if ((unsigned char)c < 0x20 && c != '\t' && c != '\n')
        r += "\xef\xbf\xbd"; // U+FFFD
      else
        r += c;
    }
  }
  return r;
}

namespace {

const char *kStyle = R"(
:root { --add: #e6ffec; --del: #ffebe9; --chg: #fff8c5; --muted: #57606a; --line: #d0d7de; }
body { font: 14px/1.45 system-ui, sans-serif; margin: 1.5em auto; max-width: 1400px;
       padding: 0 1em; color: #1f2328; }
code, pre, .insn td { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 12.5px; }
h1 { font-size: 1.5em; margin: 0 0 .5em; } h2 { border-bottom: 2px solid var(--line); }
h3 { margin: 0 0 .3em; font-size: 1.1em; } h4 { margin: .8em 0 .2em; font-size: .95em; }
table { border-collapse: collapse; } td, th { padding: 1px 8px; vertical-align: top; }
table.grid td, table.grid th { border: 1px solid var(--line); } th { text-align: left; }
.meta th { color: var(--muted); font-weight: normal; white-space: nowrap; }
.verdict { display: inline-block; padding: 0 .5em; border-radius: 1em; font-size: .85em;
           border: 1px solid var(--line); }
.v-changed { background: var(--chg); } .v-new, .v-included-as-dependency { background: var(--add); }
.v-removed, .refused { background: var(--del); } .v-ignored, .v-unchanged { color: var(--muted); }
article.function { border: 1px solid var(--line); border-radius: 6px; padding: .6em 1em;
                   margin: 1em 0; break-inside: avoid-page;
                   content-visibility: auto; contain-intrinsic-size: auto 500px; }
.reasons { margin: 0; padding-left: 1.4em; }
pre.hunk { background: #f6f8fa; padding: .4em; overflow-x: auto; margin: .3em 0; }
pre.hunk .a { background: var(--add); } pre.hunk .d { background: var(--del); }
table.insn { width: 100%; table-layout: fixed; margin: .3em 0; }
table.insn td { white-space: pre-wrap; word-break: break-all; border-left: 1px solid var(--line); }
table.insn col.off { width: 4em; } table.insn col.mark { width: 1.5em; }
table.insn td.off { color: var(--muted); text-align: right; }
tr.del td.o, tr.chg td.o { background: var(--del); } tr.add td.p, tr.chg td.p { background: var(--add); }
tr.fold td { background: #f6f8fa; color: var(--muted); text-align: center; font-style: italic; }
tr.src td { color: var(--muted); font-style: italic; }
.refusal { border: 2px solid #cf222e; border-radius: 6px; padding: .6em 1em; }
.remedy { font-weight: bold; }
.muted { color: var(--muted); }
#filter { margin: .5em 0; }
@media print { #filter, nav { display: none; } body { max-width: none; }
               details > summary { list-style: none; } }
)";

// Opens every folded part before printing, and filters the function blocks by name or verdict.
// Without JavaScript everything is readable; folded parts open with a click.
const char *kScript = R"(
addEventListener('beforeprint', function () {
  document.querySelectorAll('details').forEach(function (d) { d.open = true; });
});
(function () {
  var f = document.getElementById('filter');
  if (!f) return;
  f.hidden = false;
  var q = document.getElementById('q'), v = document.getElementById('vf');
  function apply() {
    var s = q.value.toLowerCase(), want = v.value;
    document.querySelectorAll('[data-verdict]').forEach(function (e) {
      var ok = (!s || e.dataset.name.toLowerCase().indexOf(s) >= 0) &&
               (!want || e.dataset.verdict === want);
      e.style.display = ok ? '' : 'none';
    });
  }
  q.addEventListener('input', apply);
  v.addEventListener('change', apply);
})();
)";

std::string esc(const std::string &s) { return html_escape(s); }

std::string xhex(uint64_t v) {
  char buf[24];
  snprintf(buf, sizeof buf, "%" PRIx64, v);
  return buf;
}

std::string code(const std::string &s) { return "<code>" + esc(s) + "</code>"; }

std::string verdict_badge(const char *name) {
  return std::string("<span class=\"verdict v-") + name + "\">" + name + "</span>";
}

// "ring.c:12, include/ring.h:13, 15-16"
std::string ranges(const std::vector<SourceRange> &v) {
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

constexpr Verdict kVerdicts[] = {Verdict::Changed, Verdict::New,     Verdict::Dependency,
                                 Verdict::Ignored, Verdict::Removed, Verdict::Unchanged};

// Anchors: objects by index, functions by object index and name.
std::string object_id(size_t oi) { return "o" + std::to_string(oi); }
std::string function_id(size_t oi, const std::string &name) {
  return "f" + std::to_string(oi) + "-" + name;
}

class Page {
public:
  Page(const Report &r, const PageInfo &info, std::ostream &out) : r_(r), info_(info), out_(out) {}

  void print() {
    std::string title = !info_.module.empty()    ? info_.module
                        : !r_.patch_name.empty() ? r_.patch_name
                        : r_.objects.size() == 1 ? r_.objects[0].patched_path
                                                 : "klp-diff report";
    out_ << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
         << "<meta name=\"generator\" content=\"klp-diff " << kVersion << "\">\n"
         << "<title>" << esc(title) << ": livepatch review</title>\n<style>" << kStyle
         << "</style>\n</head>\n<body>\n";
    header(title);
    index();
    for (size_t oi = 0; oi < r_.objects.size(); oi++)
      object(oi, r_.objects[oi]);
    out_ << "<footer class=\"muted\"><p>klp-diff " << kVersion
         << ": every verdict and reason on this page is create-diff-object's own record "
            "(the same report as klp-diff --explain and --json)</p></footer>\n";
    out_ << "<script>" << kScript << "</script>\n</body>\n</html>\n";
  }

private:
  void row(const std::string &key, const std::string &html) {
    out_ << "<tr><th>" << esc(key) << "</th><td>" << html << "</td></tr>\n";
  }

  void header(const std::string &title) {
    out_ << "<header id=\"build\">\n<h1>Livepatch review: " << esc(title) << "</h1>\n"
         << "<table class=\"meta\">\n";
    if (!info_.module.empty())
      row("module", code(info_.module));
    if (!r_.patch_name.empty())
      row("patch name", code(r_.patch_name));
    if (!r_.explain_dir.empty())
      row("explain directory", code(r_.explain_dir));
    std::string kernel = info_.kernel_release.empty() ? "<span class=\"muted\">unknown</span>"
                                                      : code(info_.kernel_release);
    if (!info_.config.empty())
      kernel += " &middot; config " + code(info_.config) + " sha256 " + code(info_.config_sha256);
    row("target kernel", kernel);
    std::set<std::string> targets;
    for (const ObjectReport &o : r_.objects)
      targets.insert(o.target);
    std::string t;
    for (const std::string &s : targets)
      t += (t.empty() ? "" : ", ") + code(s);
    row("patched objects", t);
    if (info_.inputs.empty()) {
      row("inputs", "<span class=\"muted\">not given (klp-diff --patch FILE names them)</span>");
    } else {
      std::string s = "<table class=\"grid\" id=\"inputs\">";
      for (const PageInput &in : info_.inputs)
        s += "<tr><td>" + code(in.path) + "</td><td>sha256 " + code(in.sha256) + "</td><td>" +
             std::to_string(in.hunks.size()) + " hunk(s)</td></tr>";
      row("inputs", s + "</table>");
    }
    // Counts over all objects.
    std::map<Verdict, unsigned> counts;
    unsigned refused = 0, data = 0;
    for (const ObjectReport &o : r_.objects) {
      refused += o.refusal ? 1 : 0;
      data += o.data.size();
      for (const FunctionReport &f : o.functions)
        counts[f.verdict]++;
    }
    std::string c = "<span id=\"counts\">";
    for (Verdict v : kVerdicts)
      c += "<span class=\"count\" data-count=\"" + std::string(verdict_name(v)) + "\">" +
           std::to_string(counts[v]) + " " + verdict_badge(verdict_name(v)) + "</span> ";
    c += "&middot; " + std::to_string(data) + " data object(s) &middot; <span class=\"count\" " +
         "data-count=\"refused\">" + std::to_string(refused) + " refused object(s)</span></span>";
    row("functions", c);
    std::string result = report_exit_code(r_) == kExitUnpatchable ? "refused"
                         : report_exit_code(r_) == kExitOk        ? "changes that need a livepatch"
                                                           : "no change that needs a livepatch";
    row("result", esc(result));
    if (!info_.phases.empty()) {
      std::string s = "<table class=\"grid\" id=\"phases\"><tr>";
      double total = 0;
      for (const PagePhase &p : info_.phases) {
        char buf[32];
        snprintf(buf, sizeof buf, "%.1f s", p.seconds);
        s += "<td>" + esc(p.name) + " " + buf + "</td>";
        total += p.seconds;
      }
      char buf[32];
      snprintf(buf, sizeof buf, "%.1f s", total);
      row("build phases", s + "<td><b>total " + buf + "</b></td></tr></table>");
    }
    if (!r_.function.empty())
      row("only function", code(r_.function));
    out_ << "</table>\n</header>\n";
  }

  void index() {
    out_ << "<nav>\n<h2>Contents</h2>\n<div id=\"filter\" hidden>filter: <input id=\"q\" "
            "type=\"search\" placeholder=\"function name\"> <select id=\"vf\"><option "
            "value=\"\">any verdict</option>";
    for (Verdict v : kVerdicts)
      out_ << "<option>" << verdict_name(v) << "</option>";
    out_ << "</select></div>\n<ul>\n";
    for (size_t oi = 0; oi < r_.objects.size(); oi++) {
      const ObjectReport &o = r_.objects[oi];
      out_ << "<li><a href=\"#" << object_id(oi) << "\">" << code(object_name(o)) << "</a> ("
           << esc(o.target) << "): ";
      if (o.refusal) {
        out_ << "<span class=\"verdict refused\">refused</span></li>\n";
        continue;
      }
      bool any = false;
      for (const FunctionReport &f : o.functions)
        if (f.verdict != Verdict::Unchanged) {
          out_ << (any ? ", " : "") << "<a href=\"#" << esc(function_id(oi, f.name)) << "\">"
               << esc(f.name) << "</a>";
          any = true;
        }
      out_ << (any ? "" : "<span class=\"muted\">no function differs</span>") << "</li>\n";
    }
    out_ << "</ul>\n</nav>\n";
  }

  static std::string object_name(const ObjectReport &o) {
    return o.object.empty() ? o.patched_path : o.object;
  }

  void object(size_t oi, const ObjectReport &o) {
    out_ << "<section class=\"object\" id=\"" << object_id(oi) << "\">\n<h2>"
         << code(object_name(o)) << " <span class=\"muted\">target " << esc(o.target)
         << "</span></h2>\n"
         << "<table class=\"meta\">\n";
    row("original", code(o.orig_path));
    row("patched", code(o.patched_path));
    if (o.refusal) {
      out_ << "</table>\n";
      refusal(*o.refusal);
      out_ << "</section>\n";
      return;
    }
    row("result", o.has_changes ? "changes" : "no change that needs a livepatch");
    if (!o.summary.empty()) {
      std::string s;
      for (const std::string &l : o.summary)
        s += code(l) + "<br>";
      row("patch", s);
    }
    if (!o.orig_debug_info || !o.patched_debug_info)
      row("note", code(!o.orig_debug_info ? o.orig_path : o.patched_path) +
                      " has no DWARF line information: no source lines or inlined callees "
                      "(build with -g)");
    out_ << "</table>\n";
    callers_.clear();
    sections_.clear();
    names_.clear();
    for (const FunctionReport &f : o.functions) {
      sections_[f.section] = f.name;
      names_.insert(f.name);
    }
    for (const FunctionReport &f : o.functions)
      for (const Decision &d : f.reasons)
        if ((d.kind == DecisionKind::IncludedReferenced ||
             d.kind == DecisionKind::IncludedNewReferenced) &&
            !d.related.empty())
          if (auto it = sections_.find(d.related[0]); it != sections_.end())
            callers_[it->second].push_back(f.name);
    std::vector<const FunctionReport *> unchanged;
    for (const FunctionReport &f : o.functions) {
      if (f.verdict == Verdict::Unchanged && r_.function.empty())
        unchanged.push_back(&f);
      else
        function(oi, f);
    }
    if (!unchanged.empty()) {
      out_ << "<details class=\"unchanged\"><summary>" << unchanged.size()
           << " unchanged function(s): the running kernel's copies stay</summary>\n<ul>\n";
      for (const FunctionReport *f : unchanged)
        out_ << "<li class=\"function\" id=\"" << esc(function_id(oi, f->name)) << "\" data-name=\""
             << esc(f->name) << "\" data-verdict=\"unchanged\">" << code(f->name) << " "
             << verdict_badge("unchanged") << "</li>\n";
      out_ << "</ul>\n</details>\n";
    }
    data(o);
    references(oi, o);
    special(oi, o);
    out_ << "</section>\n";
  }

  // A link to a function of this object when the name is one, else the name.
  std::string fn_link(size_t oi, const std::string &name) {
    if (!names_.count(name))
      return code(name);
    return "<a href=\"#" + esc(function_id(oi, name)) + "\">" + code(name) + "</a>";
  }

  static std::string in_patch(const FunctionReport &f) {
    if (f.klp_func) {
      std::string s = "yes, replaces the running kernel's ";
      if (f.klp_target)
        s += code(f.klp_target->object + ":" + f.klp_target->name) + " sympos " +
             std::to_string(f.klp_target->sympos);
      else
        s += code(f.orig_name.empty() ? f.name : f.orig_name);
      return s + " through a klp_func";
    }
    if (f.included)
      return f.parent.empty() ? "yes, as new code" : "yes, as part of " + code(f.parent);
    switch (f.verdict) {
    case Verdict::New:
      return "no: nothing in the patch refers to it";
    case Verdict::Removed:
      return "no: the running kernel keeps it (a livepatch cannot remove code)";
    default:
      return "no: the running kernel's copy stays";
    }
  }

  void function(size_t oi, const FunctionReport &f) {
    const char *v = verdict_name(f.verdict);
    out_ << "<article class=\"function\" id=\"" << esc(function_id(oi, f.name)) << "\" data-name=\""
         << esc(f.name) << "\" data-verdict=\"" << v << "\">\n<h3>" << code(f.name) << " "
         << verdict_badge(v) << "</h3>\n<table class=\"meta\">\n";
    row("in the patch", in_patch(f));
    std::string sizes = code(f.section);
    if (f.orig_size && f.patched_size)
      sizes += " (0x" + xhex(*f.orig_size) + " &rarr; 0x" + xhex(*f.patched_size) + " bytes)";
    else if (f.orig_size || f.patched_size)
      sizes += " (0x" + xhex(f.orig_size ? *f.orig_size : *f.patched_size) + " bytes)";
    row("section", sizes);
    if (!f.orig_name.empty())
      row("correlated", "orig " + code(f.orig_name) + " &harr; patched " + code(f.name));
    out_ << "</table>\n";
    reasons(f);
    inclusion(oi, f);
    source(f);
    if (f.verdict == Verdict::Changed && f.orig_size)
      instructions(f);
    statics(f);
    out_ << "</article>\n";
  }

  void reasons(const FunctionReport &f) {
    out_ << "<h4>Why</h4>\n<ul class=\"reasons\">\n";
    if (f.verdict == Verdict::Removed)
      out_ << "<li>removed: no counterpart in the patched object</li>\n";
    else if (f.reasons.empty())
      out_ << "<li class=\"muted\">no note: identical</li>\n";
    for (const Decision &d : f.reasons)
      out_ << "<li data-kind=\"" << kind_name(d.kind) << "\">" << esc(describe(d)) << "</li>\n";
    out_ << "</ul>\n";
  }

  // What decided the function's inclusion besides its own change: the code that refers to it,
  // the included code it refers to, its .cold/.part family and the inlined callees that changed.
  void inclusion(size_t oi, const FunctionReport &f) {
    std::vector<std::string> lines;
    if (!f.parent.empty())
      lines.push_back("part of " + fn_link(oi, f.parent));
    for (const std::string &c : f.children)
      lines.push_back("has part " + fn_link(oi, c));
    for (const Decision &d : f.reasons)
      if ((d.kind == DecisionKind::IncludedReferenced ||
           d.kind == DecisionKind::IncludedNewReferenced) &&
          !d.related.empty()) {
        auto it = sections_.find(d.related[0]);
        lines.push_back("called or referenced by " +
                        (it != sections_.end() ? fn_link(oi, it->second) : code(d.related[0])));
      }
    if (auto it = callers_.find(f.name); it != callers_.end())
      for (const std::string &callee : it->second)
        lines.push_back("brings in " + fn_link(oi, callee) + " (it refers to it)");
    unsigned inlined = 0;
    for (const InlinedChange &i : f.inlined) {
      inlined += i.instructions;
      lines.push_back(std::string("inlines changed ") + (i.is_static ? "static " : "") +
                      (i.declared_inline ? "inline " : "") + code(i.name + "()") +
                      (i.decl_file.empty() ? "" : " from " + code(i.decl_file)) +
                      (i.decl_line ? ":" + std::to_string(i.decl_line) : "") + " (" +
                      std::to_string(i.instructions) + " of " +
                      std::to_string(f.changed_instructions) + " changed instructions)");
    }
    if (!f.inlined.empty() && inlined == f.changed_instructions)
      lines.push_back("every changed instruction is inlined code: the function changed because "
                      "what it inlines did");
    if (lines.empty())
      return;
    out_ << "<h4>Callers, callees and parts</h4>\n<ul class=\"reasons\">\n";
    for (const std::string &l : lines)
      out_ << "<li>" << l << "</li>\n";
    out_ << "</ul>\n";
  }

  void source(const FunctionReport &f) {
    std::vector<const PatchHunk *> hunks =
        hunks_touching(info_.inputs, f.orig_source, f.patched_source);
    if (f.orig_source.empty() && f.patched_source.empty() && hunks.empty())
      return;
    out_ << "<h4>Source change</h4>\n";
    if (!f.orig_source.empty() || !f.patched_source.empty())
      out_ << "<p class=\"lines\">lines (DWARF): "
           << (f.orig_source.empty() ? "" : "orig " + code(ranges(f.orig_source)))
           << (f.orig_source.empty() || f.patched_source.empty() ? "" : " | ")
           << (f.patched_source.empty() ? "" : "patched " + code(ranges(f.patched_source)))
           << "</p>\n";
    for (const PatchHunk *h : hunks) {
      out_ << "<p class=\"muted\">" << code(h->file) << "</p><pre class=\"hunk\">";
      size_t pos = 0;
      while (pos < h->text.size()) {
        size_t nl = h->text.find('\n', pos);
        std::string line = h->text.substr(pos, nl == std::string::npos ? nl : nl - pos);
        pos = nl == std::string::npos ? h->text.size() : nl + 1;
        const char *cls = line.empty() || line.rfind("@@", 0) == 0 ? nullptr
                          : line[0] == '+'                         ? "a"
                          : line[0] == '-'                         ? "d"
                                                                   : nullptr;
        if (cls)
          out_ << "<span class=\"" << cls << "\">" << esc(line) << "</span>\n";
        else
          out_ << esc(line) << "\n";
      }
      out_ << "</pre>\n";
    }
  }

  // Original | patched, with '-' and '+' runs paired row by row; the unchanged instructions
  // the report does not list (between hunks, before the first, after the last) folded into a
  // row that counts them.
  void instructions(const FunctionReport &f) {
    out_ << "<h4>Instructions (original | patched; offsets in hex)</h4>\n";
    if (f.code.empty()) {
      out_ << "<p class=\"muted\">no instruction differs (see why)</p>\n";
      return;
    }
    out_ << "<table class=\"insn grid\"><colgroup><col class=\"off\"><col class=\"mark\"><col>"
            "<col class=\"off\"><col class=\"mark\"><col></colgroup>\n";
    for (const Hunk &h : f.code) {
      fold(h.skipped_before);
      std::string src;
      if (!h.orig_source.empty())
        src += "orig " + ranges(h.orig_source);
      if (!h.patched_source.empty())
        src += (src.empty() ? "" : " | ") + std::string("patched ") + ranges(h.patched_source);
      if (!src.empty())
        out_ << "<tr class=\"src\"><td colspan=\"6\">" << esc(src) << "</td></tr>\n";
      for (size_t i = 0; i < h.lines.size();) {
        const InsnLine &l = h.lines[i];
        if (l.mark == ' ') {
          insn_row("ctx", &l, &l);
          i++;
          continue;
        }
        size_t d = i;
        while (d < h.lines.size() && h.lines[d].mark == '-')
          d++;
        size_t a = d;
        while (a < h.lines.size() && h.lines[a].mark == '+')
          a++;
        size_t dels = d - i, adds = a - d;
        for (size_t k = 0; k < std::max(dels, adds); k++) {
          const InsnLine *o = k < dels ? &h.lines[i + k] : nullptr;
          const InsnLine *p = k < adds ? &h.lines[d + k] : nullptr;
          insn_row(o && p ? "chg" : o ? "del" : "add", o, p);
        }
        i = a;
      }
      fold(h.skipped_after);
    }
    out_ << "</table>\n";
  }

  void fold(unsigned n) {
    if (n)
      out_ << "<tr class=\"fold\"><td colspan=\"6\">&#8943; " << n << " unchanged instruction"
           << (n == 1 ? "" : "s") << " folded &#8943;</td></tr>\n";
  }

  void insn_row(const char *cls, const InsnLine *o, const InsnLine *p) {
    bool ctx = std::string(cls) == "ctx";
    out_ << "<tr class=\"" << cls << "\"><td class=\"off\">"
         << (o && o->orig_offset ? xhex(*o->orig_offset) : "") << "</td><td>"
         << (o && !ctx ? "-" : "") << "</td><td class=\"o\">" << (o ? esc(o->text) : "")
         << "</td><td class=\"off\">" << (p && p->patched_offset ? xhex(*p->patched_offset) : "")
         << "</td><td>" << (p && !ctx ? "+" : "") << "</td><td class=\"p\">"
         << (p ? esc(p->text) : "") << "</td></tr>\n";
  }

  void statics(const FunctionReport &f) {
    if (f.statics.empty())
      return;
    out_ << "<h4>Statics</h4>\n<ul class=\"reasons\">\n";
    for (const StaticRef &s : f.statics)
      out_ << "<li>" << code(s.orig_name.empty() ? s.name : s.orig_name + " <-> " + s.name) << ": "
           << esc(s.how)
           << (s.included ? ", the patch carries its own copy"
                          : ", the running kernel's copy is used")
           << "</li>\n";
    out_ << "</ul>\n";
  }

  void data(const ObjectReport &o) {
    if (o.data.empty())
      return;
    out_ << "<h3>Data</h3>\n<table class=\"grid data\"><tr><th>name</th><th>verdict</th>"
            "<th>in the patch</th><th>section</th><th>why</th></tr>\n";
    for (const DataReport &d : o.data) {
      std::string why;
      for (const Decision &r : d.reasons)
        why += esc(describe(r)) + "<br>";
      out_ << "<tr data-name=\"" << esc(d.name) << "\"><td>"
           << code(d.orig_name.empty() ? d.name : d.name + " (orig " + d.orig_name + ")")
           << "</td><td>" << verdict_badge(verdict_name(d.verdict)) << "</td><td>"
           << (d.included ? "yes" : "no") << "</td><td>" << code(d.section) << "</td><td>" << why
           << "</td></tr>\n";
    }
    out_ << "</table>\n";
  }

  // Every symbol the object's patched code refers to in the running kernel.
  void references(size_t oi, const ObjectReport &o) {
    struct Ref {
      std::string object, sympos, kind;
      std::vector<std::string> users;
    };
    std::map<std::pair<std::string, std::string>, Ref> refs; // by symbol and name in the patch
    bool resolved = false;
    for (const FunctionReport &f : o.functions) {
      resolved |= f.klp_target.has_value();
      for (const KlpRef &k : f.references) {
        Ref &r = refs[{k.symbol, k.klp_name}];
        if (std::optional<KlpSymName> n = parse_klp_sym_name(k.klp_name)) {
          r.object = n->object;
          r.sympos = std::to_string(n->sympos);
        }
        r.kind = "klp relocation";
        r.users.push_back(f.name);
      }
      for (const ExportRef &e : f.exported) {
        Ref &r = refs[{e.symbol, ""}];
        r.object = e.object;
        r.kind = "exported";
        r.users.push_back(f.name);
      }
    }
    out_ << "<h3>References out of the module</h3>\n";
    if (refs.empty()) {
      out_ << "<p class=\"muted\">"
           << (resolved || !o.has_changes ? "none"
                                          : "not resolved: the target's symbol table was not "
                                            "given (--symtab)")
           << "</p>\n";
      return;
    }
    out_ << "<table class=\"grid refs\"><tr><th>symbol</th><th>object</th><th>sympos</th>"
            "<th>kind</th><th>as</th><th>used by</th></tr>\n";
    for (const auto &[key, r] : refs) {
      std::string users;
      for (const std::string &u : r.users)
        users += (users.empty() ? "" : ", ") + fn_link(oi, u);
      out_ << "<tr class=\"ref\" data-symbol=\"" << esc(key.first) << "\"><td>" << code(key.first)
           << "</td><td>" << (r.object.empty() ? "<span class=\"muted\">?</span>" : code(r.object))
           << "</td><td>" << esc(r.sympos) << "</td><td>" << esc(r.kind) << "</td><td>"
           << (key.second.empty() ? "" : code(key.second)) << "</td><td>" << users
           << "</td></tr>\n";
    }
    out_ << "</table>\n";
  }

  void special(size_t oi, const ObjectReport &o) {
    std::map<std::string, unsigned> per_section;
    size_t total = 0;
    for (const FunctionReport &f : o.functions)
      for (const SpecialRef &s : f.special) {
        per_section[s.section]++;
        total++;
      }
    if (!total)
      return;
    std::string summary;
    for (const auto &[sec, n] : per_section)
      summary += (summary.empty() ? "" : ", ") + esc(sec) + " " + std::to_string(n);
    out_ << "<h3>Special-section entries kept</h3>\n<details class=\"special\""
         << (total <= 30 ? " open" : "") << "><summary>" << total << " entries: " << summary
         << "</summary>\n"
         << "<table class=\"grid\"><tr><th>section</th><th>offset</th><th>function</th>"
            "<th>at</th><th>instruction</th></tr>\n";
    for (const FunctionReport &f : o.functions)
      for (const SpecialRef &s : f.special)
        out_ << "<tr><td>" << code(s.section) << "</td><td>0x" << xhex(s.offset) << "</td><td>"
             << fn_link(oi, f.name) << "</td><td>+0x" << xhex(s.target) << "</td><td>"
             << code(s.insn) << "</td></tr>\n";
    out_ << "</table>\n</details>\n";
  }

  void refusal(const Refusal &r) {
    out_ << "<div class=\"refusal\" data-verdict=\"refused\" data-name=\"" << esc(r.symbol)
         << "\">\n<h3><span class=\"verdict refused\">refused</span> the change cannot be "
            "live-patched</h3>\n<table class=\"meta\">\n";
    if (!r.symbol.empty())
      row("symbol", code(r.symbol));
    if (!r.location.empty())
      row("where", code(r.location));
    row("refusal", code(kind_name(r.decision.kind)));
    std::string why;
    for (const Decision &d : r.reasons)
      why += esc(describe(d)) + "<br>";
    if (!why.empty())
      row("noted before", why);
    for (const RefusalUser &u : r.users) {
      std::string s = code(u.name);
      for (const Decision &d : u.reasons)
        s += "<br>" + esc(describe(d));
      row("used by", s);
    }
    // The message ends with the remedy after its last "; " (decision.cpp words every refusal so).
    std::string msg = r.message;
    size_t semi = msg.rfind("; ");
    row("message", esc(semi == std::string::npos ? msg : msg.substr(0, semi)));
    if (semi != std::string::npos)
      row("remedy", "<span class=\"remedy\">" + esc(msg.substr(semi + 2)) + "</span>");
    out_ << "</table>\n</div>\n";
  }

  const Report &r_;
  const PageInfo &info_;
  std::ostream &out_;
  std::map<std::string, std::string> sections_;             // section -> function, this object
  std::map<std::string, std::vector<std::string>> callers_; // function -> what it brings in
  std::set<std::string> names_;                             // the object's functions
};

} // namespace

void print_html(const Report &report, const PageInfo &info, std::ostream &out) {
  Page(report, info, out).print();
}

} // namespace klp
