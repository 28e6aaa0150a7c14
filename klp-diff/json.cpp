// The JSON report, schema_version 1 (docs/klp-diff-json.md), through nlohmann-json's ordered
// objects: keys in the documented order, two-space indentation, one value per line, so that two
// reports diff line by line.
#include "json.h"

#include "explain.h"

namespace klp {

void write_json(const nlohmann::ordered_json &j, std::ostream &out) {
  out << j.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
}

namespace {

using Json = nlohmann::ordered_json;

Json optional_string(const std::string &s) { return s.empty() ? Json(nullptr) : Json(s); }

Json optional_number(const std::optional<uint64_t> &v) { return v ? Json(*v) : Json(nullptr); }

Json source_ranges(const std::vector<SourceRange> &v) {
  Json a = Json::array();
  for (const SourceRange &r : v)
    a.push_back({{"file", r.file}, {"first", r.first}, {"last", r.last}});
  return a;
}

Json hunk_json(const Hunk &h) {
  Json lines = Json::array();
  for (const InsnLine &l : h.lines)
    lines.push_back({{"mark", std::string(1, l.mark)},
                     {"orig_offset", optional_number(l.orig_offset)},
                     {"patched_offset", optional_number(l.patched_offset)},
                     {"text", l.text}});
  return {{"orig_source", source_ranges(h.orig_source)},
          {"patched_source", source_ranges(h.patched_source)},
          {"lines", lines},
          {"skipped_before", h.skipped_before},
          {"skipped_after", h.skipped_after}};
}

// The notes as text (`reasons`) and as records (`decisions`, decision.h).
Json reason_texts(const std::vector<Decision> &v) {
  Json a = Json::array();
  for (const Decision &d : v)
    a.push_back(describe(d));
  return a;
}

Json decision_json(const Decision &d) {
  return {{"kind", kind_name(d.kind)},
          {"object", d.object},
          {"section", optional_string(d.section)},
          {"offset", optional_number(d.offset)},
          {"symbol", optional_string(d.symbol)},
          {"related", d.related},
          {"detail", optional_string(d.detail)},
          {"before", optional_string(d.before)},
          {"after", optional_string(d.after)}};
}

Json decisions_json(const std::vector<Decision> &v) {
  Json a = Json::array();
  for (const Decision &d : v)
    a.push_back(decision_json(d));
  return a;
}

Json function_json(const FunctionReport &f) {
  Json j;
  j["name"] = f.name;
  j["orig_name"] = optional_string(f.orig_name);
  j["verdict"] = verdict_name(f.verdict);
  j["included"] = f.included;
  j["klp_func"] = f.klp_func;
  j["klp_target"] = f.klp_target ? Json{{"object", f.klp_target->object},
                                        {"name", f.klp_target->name},
                                        {"sympos", f.klp_target->sympos}}
                                 : Json(nullptr);
  j["section"] = f.section;
  j["orig_size"] = optional_number(f.orig_size);
  j["patched_size"] = optional_number(f.patched_size);
  j["parent"] = optional_string(f.parent);
  j["children"] = f.children;
  j["reasons"] = reason_texts(f.reasons);
  Json inlined = Json::array();
  for (const InlinedChange &i : f.inlined)
    inlined.push_back({{"name", i.name},
                       {"decl_file", i.decl_file},
                       {"decl_line", i.decl_line},
                       {"static", i.is_static},
                       {"inline", i.declared_inline},
                       {"instructions", i.instructions}});
  j["inlined_changes"] = inlined;
  Json statics = Json::array();
  for (const StaticRef &s : f.statics)
    statics.push_back({{"name", s.name},
                       {"orig_name", optional_string(s.orig_name)},
                       {"how", s.how},
                       {"included", s.included}});
  j["statics"] = statics;
  Json refs = Json::array();
  for (const KlpRef &r : f.references)
    refs.push_back({{"symbol", r.symbol}, {"klp_name", r.klp_name}});
  j["references"] = refs;
  Json exported = Json::array();
  for (const ExportRef &e : f.exported)
    exported.push_back({{"symbol", e.symbol}, {"object", optional_string(e.object)}});
  j["exported_references"] = exported;
  Json special = Json::array();
  for (const SpecialRef &s : f.special)
    special.push_back(
        {{"section", s.section}, {"offset", s.offset}, {"target", s.target}, {"insn", s.insn}});
  j["special_entries"] = special;
  j["orig_source"] = source_ranges(f.orig_source);
  j["patched_source"] = source_ranges(f.patched_source);
  j["changed_instructions"] = f.changed_instructions;
  Json code = Json::array();
  for (const Hunk &h : f.code)
    code.push_back(hunk_json(h));
  j["code"] = code;
  j["decisions"] = decisions_json(f.reasons);
  return j;
}

Json refusal_json(const Refusal &r) {
  Json users = Json::array();
  for (const RefusalUser &u : r.users)
    users.push_back({{"name", u.name},
                     {"reasons", reason_texts(u.reasons)},
                     {"decisions", decisions_json(u.reasons)}});
  return {{"message", r.message},
          {"location", optional_string(r.location)},
          {"symbol", optional_string(r.symbol)},
          {"reasons", reason_texts(r.reasons)},
          {"users", users},
          {"decision", decision_json(r.decision)},
          {"decisions", decisions_json(r.reasons)}};
}

Json object_json(const ObjectReport &o) {
  Json j;
  j["object"] = optional_string(o.object);
  j["orig"] = o.orig_path;
  j["patched"] = o.patched_path;
  j["target"] = o.target;
  j["result"] = o.refusal ? "refused" : o.has_changes ? "changes" : "no-change";
  j["refusal"] = o.refusal ? refusal_json(*o.refusal) : Json(nullptr);
  j["debug_info"] = {{"orig", o.orig_debug_info}, {"patched", o.patched_debug_info}};
  j["patch"] = o.summary;
  Json counts = Json::object();
  for (Verdict v : {Verdict::Changed, Verdict::New, Verdict::Dependency, Verdict::Ignored,
                    Verdict::Removed, Verdict::Unchanged}) {
    uint64_t n = 0;
    for (const FunctionReport &f : o.functions)
      n += f.verdict == v;
    counts[verdict_name(v)] = n;
  }
  j["counts"] = counts;
  Json functions = Json::array();
  for (const FunctionReport &f : o.functions)
    functions.push_back(function_json(f));
  j["functions"] = functions;
  Json data = Json::array();
  for (const DataReport &d : o.data)
    data.push_back({{"name", d.name},
                    {"orig_name", optional_string(d.orig_name)},
                    {"verdict", verdict_name(d.verdict)},
                    {"included", d.included},
                    {"section", d.section},
                    {"reasons", reason_texts(d.reasons)},
                    {"decisions", decisions_json(d.reasons)}});
  j["data"] = data;
  return j;
}

} // namespace

void print_json(const Report &report, std::ostream &out) {
  Json j;
  j["schema_version"] = kJsonSchemaVersion;
  j["tool"] = "klp-diff";
  j["mode"] = "explain";
  j["explain_dir"] = optional_string(report.explain_dir);
  j["patch"] = optional_string(report.patch_name);
  j["function"] = optional_string(report.function);
  j["exit_code"] = report_exit_code(report);
  Json objects = Json::array();
  for (const ObjectReport &o : report.objects)
    objects.push_back(object_json(o));
  j["objects"] = objects;
  write_json(j, out);
}

} // namespace klp
