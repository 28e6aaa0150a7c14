#include "decision.h"

#include "elf_file.h"
#include "object.h"

namespace klp {

Decision about(DecisionKind kind, const Object &obj, const Symbol &sym) {
  Decision d;
  d.kind = kind;
  d.object = obj.path;
  d.symbol = sym.name;
  if (sym.sec && !sym.is_section()) {
    d.section = sym.sec->name;
    d.offset = sym.value;
  }
  return d;
}

Decision about(DecisionKind kind, const Object &obj, const Section &sec,
               std::optional<uint64_t> offset) {
  Decision d;
  d.kind = kind;
  d.object = obj.path;
  d.section = sec.name;
  d.offset = offset;
  return d;
}

bool is_refusal(DecisionKind kind) { return kind >= DecisionKind::DataChanged; }

const char *kind_name(DecisionKind kind) {
  switch (kind) {
  case DecisionKind::New:
    return "new";
  case DecisionKind::NewPerCallSite:
    return "new-per-call-site";
  case DecisionKind::Changed:
    return "changed";
  case DecisionKind::ChangedWithChild:
    return "changed-with-child";
  case DecisionKind::ChangedWithParent:
    return "changed-with-parent";
  case DecisionKind::IgnoredLineChange:
    return "ignored-line-change";
  case DecisionKind::IgnoredByFunction:
    return "ignored-by-function";
  case DecisionKind::IgnoredBySection:
    return "ignored-by-section";
  case DecisionKind::IncludedChanged:
    return "included-changed";
  case DecisionKind::IncludedNewGlobal:
    return "included-new-global";
  case DecisionKind::IncludedPrefix:
    return "included-prefix";
  case DecisionKind::IncludedChild:
    return "included-child";
  case DecisionKind::MergedIntoParent:
    return "merged-into-parent";
  case DecisionKind::IncludedReferenced:
    return "included-referenced";
  case DecisionKind::IncludedNewReferenced:
    return "included-new-referenced";
  case DecisionKind::ReferencedAs:
    return "referenced-as";
  case DecisionKind::DataChanged:
    return "data-changed";
  case DecisionKind::DataResized:
    return "data-resized";
  case DecisionKind::InitFunctionChanged:
    return "init-function-changed";
  case DecisionKind::GroupChanged:
    return "group-changed";
  case DecisionKind::SharedSection:
    return "shared-section";
  case DecisionKind::NoFtraceEntry:
    return "no-ftrace-entry";
  case DecisionKind::JumpLabelKeyInModule:
    return "jump-label-key-in-module";
  case DecisionKind::StaticCallKeyInModule:
    return "static-call-key-in-module";
  case DecisionKind::SymposUnstable:
    return "sympos-unstable";
  case DecisionKind::ExportCrcChanged:
    return "export-crc-changed";
  }
  return "?";
}

std::string location(const Decision &d) {
  if (d.section.empty())
    return d.object;
  std::string s = d.object + ":(" + d.section + ")";
  if (d.offset)
    s += "+" + hex(*d.offset);
  return s;
}

namespace {

// The first related symbol, which the kinds that name one always have.
const std::string &first_related(const Decision &d) {
  static const std::string none = "?";
  return d.related.empty() ? none : d.related.front();
}

std::string joined(const std::vector<std::string> &names, const char *if_none) {
  std::string s;
  for (const std::string &n : names)
    s += (s.empty() ? "" : ", ") + n;
  return s.empty() ? if_none : s;
}

// What a refusal about a symbol starts with: "patched.o:(.data.max)+0x0 'max'" (Object::where).
std::string subject(const Decision &d) {
  if (d.section.empty())
    return d.object + ": '" + d.symbol + "'";
  return location(d) + " '" + d.symbol + "'";
}

} // namespace

std::string describe(const Decision &d) {
  switch (d.kind) {
  case DecisionKind::New:
    return "new: no counterpart in " + d.detail;
  case DecisionKind::NewPerCallSite:
    return "new: per-call-site static, never correlated";
  case DecisionKind::Changed:
    return "changed: " + d.detail;
  case DecisionKind::ChangedWithChild:
    return "changed: its child " + first_related(d) + " changed";
  case DecisionKind::ChangedWithParent:
    return "changed: its parent " + first_related(d) + " changed";
  case DecisionKind::IgnoredLineChange:
    return "ignored __LINE__ change at +" + hex(d.offset.value_or(0)) + ": " + d.before + " -> " +
           d.after + " (line passed to " + first_related(d) + ")";
  case DecisionKind::IgnoredByFunction:
    return "unchanged: KLP_IGNORE_FUNCTION";
  case DecisionKind::IgnoredBySection:
    return "unchanged: in " + d.section + ", which KPATCH_IGNORE_SECTION ignores";
  case DecisionKind::IncludedChanged:
    return "included: changed";
  case DecisionKind::IncludedNewGlobal:
    return "included: new global function";
  case DecisionKind::IncludedPrefix:
    return "included: prefix of " + first_related(d);
  case DecisionKind::IncludedChild:
    return "included: child of " + first_related(d);
  case DecisionKind::MergedIntoParent:
    return "included: inside " + first_related(d) + " at +" + d.detail +
           ", so that livepatch's stack check covers it";
  case DecisionKind::IncludedReferenced:
    return "included: referenced by " + first_related(d);
  case DecisionKind::IncludedNewReferenced:
    return "included: new, referenced by " + first_related(d);
  case DecisionKind::ReferencedAs:
    return "referenced as " + d.detail;
  case DecisionKind::DataChanged:
  case DecisionKind::DataResized:
    return subject(d) + ": data " + (d.kind == DecisionKind::DataResized ? "resized" : "changed") +
           " (used by " + joined(d.related, "no function") +
           "); the running kernel's copy cannot be replaced: keep the layout and use a shadow "
           "variable (klp_shadow_*) or a pre-patch callback instead";
  case DecisionKind::InitFunctionChanged:
    return subject(d) + ": changed function is in " + d.section +
           ", which the running kernel has discarded; make the change in the code that calls "
           "it, or in a callback";
  case DecisionKind::GroupChanged:
    return location(d) + ": section group '" + d.symbol +
           "' changed its members; the running kernel holds one copy of a COMDAT group and "
           "livepatch cannot replace it: keep the group's sections as they are and make the "
           "change in a function outside the group";
  case DecisionKind::SharedSection:
    return subject(d) + ": changed function shares section " + d.section +
           " with other code; build with -ffunction-sections and move the change out of the "
           "__section()-annotated function";
  case DecisionKind::NoFtraceEntry:
    return subject(d) + ": changed function has no ftrace entry (notrace or built without -pg "
                        "-mfentry), so livepatch cannot redirect it; patch its callers instead";
  case DecisionKind::JumpLabelKeyInModule:
    return location(d) + ": jump label in '" + d.symbol + "' uses key '" + first_related(d) +
           "' defined in " + d.detail + "; use static_key_enabled() instead of static_branch_*()";
  case DecisionKind::StaticCallKeyInModule:
    return location(d) + ": static call in '" + d.symbol + "' uses key '" + first_related(d) +
           "' defined in " + d.detail +
           "; call static_call_query() and the function it returns instead";
  case DecisionKind::SymposUnstable:
    return location(d) + ": symbol '" + d.symbol + "' of " + d.detail + " is number " + d.before +
           " of its name in the module's kallsyms after init but number " + d.after +
           " while the module loads (same-named symbols in .init, non-allocated or absolute "
           "sections precede it), so no sympos fits both load orders; avoid referring to it "
           "from the patch";
  case DecisionKind::ExportCrcChanged:
    return location(d) + ": exported function '" + d.symbol + "' changes its symbol CRC (" +
           d.before + " -> " + d.after +
           "), so its interface changed; modules built against the running kernel would call "
           "it wrongly: keep the prototype and the types it uses";
  }
  return "?";
}

} // namespace klp
