// The JSON report, schema_version 1 (docs/klp-diff-json.md): keys in a fixed order, two-space
// indentation, one value per line, so that two reports diff line by line.
#include "json.h"

#include <cstdio>

#include "explain.h"

namespace klp {

std::string json_quote(std::string_view s) {
  std::string q = "\"";
  for (unsigned char c : s) {
    switch (c) {
    case '"':
      q += "\\\"";
      break;
    case '\\':
      q += "\\\\";
      break;
    case '\n':
      q += "\\n";
      break;
    case '\t':
      q += "\\t";
      break;
    default:
      if (c < 0x20) {
        char buf[8];
        snprintf(buf, sizeof buf, "\\u%04x", c);
        q += buf;
      } else {
        q += (char)c;
      }
    }
  }
  return q + "\"";
}

void JsonWriter::open(char bracket) {
  item();
  out_ << bracket;
  first_.push_back(true);
}

void JsonWriter::close(char bracket) {
  bool empty = first_.back();
  first_.pop_back();
  if (!empty) out_ << "\n" << std::string(2 * first_.size(), ' ');
  out_ << bracket;
  if (first_.empty()) out_ << "\n";
}

void JsonWriter::key(std::string_view k) {
  item();
  out_ << json_quote(k) << ": ";
  after_key_ = true;
}

void JsonWriter::item() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (first_.empty()) return;
  out_ << (first_.back() ? "\n" : ",\n") << std::string(2 * first_.size(), ' ');
  first_.back() = false;
}

void JsonWriter::raw(const std::string &text) {
  item();
  out_ << text;
}

void JsonWriter::value(std::string_view s) {
  raw(json_quote(s));
}
void JsonWriter::value(uint64_t v) {
  raw(std::to_string(v));
}
void JsonWriter::value(bool b) {
  raw(b ? "true" : "false");
}
void JsonWriter::null() {
  raw("null");
}

void JsonWriter::strings(const std::vector<std::string> &v) {
  begin_array();
  for (const std::string &s : v) value(s);
  end_array();
}

namespace {

void optional_string(JsonWriter &w, const char *k, const std::string &s) {
  w.key(k);
  if (s.empty())
    w.null();
  else
    w.value(s);
}

void optional_number(JsonWriter &w, const char *k, const std::optional<uint64_t> &v) {
  w.key(k);
  if (v)
    w.value(*v);
  else
    w.null();
}

void source_ranges(JsonWriter &w, const char *k, const std::vector<SourceRange> &v) {
  w.key(k);
  w.begin_array();
  for (const SourceRange &r : v) {
    w.begin_object();
    w.field("file", r.file);
    w.field("first", (uint64_t)r.first);
    w.field("last", (uint64_t)r.last);
    w.end_object();
  }
  w.end_array();
}

void write_hunk(JsonWriter &w, const Hunk &h) {
  w.begin_object();
  source_ranges(w, "orig_source", h.orig_source);
  source_ranges(w, "patched_source", h.patched_source);
  w.key("lines");
  w.begin_array();
  for (const InsnLine &l : h.lines) {
    w.begin_object();
    w.field("mark", std::string(1, l.mark));
    optional_number(w, "orig_offset", l.orig_offset);
    optional_number(w, "patched_offset", l.patched_offset);
    w.field("text", l.text);
    w.end_object();
  }
  w.end_array();
  w.end_object();
}

void write_function(JsonWriter &w, const FunctionReport &f) {
  w.begin_object();
  w.field("name", f.name);
  optional_string(w, "orig_name", f.orig_name);
  w.field("verdict", std::string(verdict_name(f.verdict)));
  w.field("included", f.included);
  w.field("klp_func", f.klp_func);
  w.key("klp_target");
  if (f.klp_target) {
    w.begin_object();
    w.field("object", f.klp_target->object);
    w.field("name", f.klp_target->name);
    w.field("sympos", (uint64_t)f.klp_target->sympos);
    w.end_object();
  } else {
    w.null();
  }
  w.field("section", f.section);
  optional_number(w, "orig_size", f.orig_size);
  optional_number(w, "patched_size", f.patched_size);
  optional_string(w, "parent", f.parent);
  w.key("children");
  w.strings(f.children);
  w.key("reasons");
  w.strings(f.reasons);
  w.key("inlined_changes");
  w.begin_array();
  for (const InlinedChange &i : f.inlined) {
    w.begin_object();
    w.field("name", i.name);
    w.field("decl_file", i.decl_file);
    w.field("decl_line", (uint64_t)i.decl_line);
    w.field("static", i.is_static);
    w.field("inline", i.declared_inline);
    w.field("instructions", (uint64_t)i.instructions);
    w.end_object();
  }
  w.end_array();
  w.key("statics");
  w.begin_array();
  for (const StaticRef &s : f.statics) {
    w.begin_object();
    w.field("name", s.name);
    optional_string(w, "orig_name", s.orig_name);
    w.field("how", s.how);
    w.field("included", s.included);
    w.end_object();
  }
  w.end_array();
  w.key("references");
  w.begin_array();
  for (const KlpRef &r : f.references) {
    w.begin_object();
    w.field("symbol", r.symbol);
    w.field("klp_name", r.klp_name);
    w.end_object();
  }
  w.end_array();
  w.key("special_entries");
  w.begin_array();
  for (const SpecialRef &s : f.special) {
    w.begin_object();
    w.field("section", s.section);
    w.field("offset", s.offset);
    w.field("target", s.target);
    w.field("insn", s.insn);
    w.end_object();
  }
  w.end_array();
  source_ranges(w, "orig_source", f.orig_source);
  source_ranges(w, "patched_source", f.patched_source);
  w.field("changed_instructions", (uint64_t)f.changed_instructions);
  w.key("code");
  w.begin_array();
  for (const Hunk &h : f.code) write_hunk(w, h);
  w.end_array();
  w.end_object();
}

void write_refusal(JsonWriter &w, const Refusal &r) {
  w.begin_object();
  w.field("message", r.message);
  optional_string(w, "location", r.location);
  optional_string(w, "symbol", r.symbol);
  w.key("reasons");
  w.strings(r.reasons);
  w.key("users");
  w.begin_array();
  for (const RefusalUser &u : r.users) {
    w.begin_object();
    w.field("name", u.name);
    w.key("reasons");
    w.strings(u.reasons);
    w.end_object();
  }
  w.end_array();
  w.end_object();
}

void write_object(JsonWriter &w, const ObjectReport &o) {
  w.begin_object();
  optional_string(w, "object", o.object);
  w.field("orig", o.orig_path);
  w.field("patched", o.patched_path);
  w.field("target", o.target);
  w.field("result", std::string(o.refusal ? "refused" : o.has_changes ? "changes" : "no-change"));
  w.key("refusal");
  if (o.refusal)
    write_refusal(w, *o.refusal);
  else
    w.null();
  w.key("debug_info");
  w.begin_object();
  w.field("orig", o.orig_debug_info);
  w.field("patched", o.patched_debug_info);
  w.end_object();
  w.key("patch");
  w.strings(o.summary);
  w.key("counts");
  w.begin_object();
  for (Verdict v : {Verdict::Changed, Verdict::New, Verdict::Dependency, Verdict::Ignored,
                    Verdict::Removed, Verdict::Unchanged}) {
    uint64_t n = 0;
    for (const FunctionReport &f : o.functions) n += f.verdict == v;
    w.field(verdict_name(v), n);
  }
  w.end_object();
  w.key("functions");
  w.begin_array();
  for (const FunctionReport &f : o.functions) write_function(w, f);
  w.end_array();
  w.key("data");
  w.begin_array();
  for (const DataReport &d : o.data) {
    w.begin_object();
    w.field("name", d.name);
    optional_string(w, "orig_name", d.orig_name);
    w.field("verdict", d.verdict);
    w.field("included", d.included);
    w.field("section", d.section);
    w.key("reasons");
    w.strings(d.reasons);
    w.end_object();
  }
  w.end_array();
  w.end_object();
}

} // namespace

void print_json(const Report &report, std::ostream &out) {
  JsonWriter w(out);
  w.begin_object();
  w.field("schema_version", (uint64_t)kJsonSchemaVersion);
  w.field("tool", std::string("klp-diff"));
  w.field("mode", std::string("explain"));
  optional_string(w, "explain_dir", report.explain_dir);
  optional_string(w, "patch", report.patch_name);
  optional_string(w, "function", report.function);
  w.field("exit_code", (uint64_t)report_exit_code(report));
  w.key("objects");
  w.begin_array();
  for (const ObjectReport &o : report.objects) write_object(w, o);
  w.end_array();
  w.end_object();
}

} // namespace klp
