// Every decision the differ takes, as a value.
//
// A decision names its kind, the object, section and symbol it concerns and the symbols it
// relates to (the users of refused data, the parent of a .cold child, the section that reached
// an included symbol). Its text is rendered from those fields in one place, describe(); the
// --debug log, the CLIs' messages and klp-diff's reports all print that text, and klp-diff
// decides from the fields, never from the text.
//
// Two families share the type: notes, which explain a symbol's verdict (DiffContext::note), and
// refusals, which stop the diff (Unpatchable carries one; DiffSession::refusal keeps it).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace klp {

class Object;
struct Section;
struct Symbol;

enum class DecisionKind {
  // ---- notes: why a symbol has its verdict ----
  New,                   // no twin in the original object (detail: the original's path)
  NewPerCallSite,        // a per-call-site static (WARN_ONCE flag, dyndbg descriptor, ...)
  Changed,               // its bytes or references differ (detail: the first difference)
  ChangedWithChild,      // a .cold/.part child changed (related: the child)
  ChangedWithParent,     // its parent changed (related: the parent)
  IgnoredLineChange,     // a __LINE__ immediate (offset: from the function's start;
                         // before/after: the instructions; related: the line's consumer)
  IgnoredByFunction,     // KLP_IGNORE_FUNCTION names it
  IgnoredBySection,      // it lives in a section KPATCH_IGNORE_SECTION names (section)
  IncludedChanged,       // the patch carries it: it changed
  IncludedNewGlobal,     // ... it is a new global function
  IncludedPrefix,        // ... it is the prefix (__pfx_/__cfi_) of an included function (related)
  IncludedChild,         // ... it is a .cold/.part child of an included function (related)
  MergedIntoParent,      // ... as code of its parent (related), a .cold part placed inside
                         // it (detail: the offset from the parent's start), see cold_parts.h
  IncludedReferenced,    // ... included code refers to its section (related: that section)
  IncludedNewReferenced, // ... it is new and included code refers to it (related: the section)
  ReferencedAs,          // the running kernel's copy is used, through a klp symbol (detail)
  // ---- refusals: the change cannot be live-patched (exit 2) ----
  DataChanged,           // writable data changed (related: the functions using it)
  DataResized,           // writable data changed size (related: the functions using it)
  InitFunctionChanged,   // a changed function in .init/.exit code (section)
  GroupChanged,          // a COMDAT group changed its members (symbol: the signature)
  SharedSection,         // a changed function shares its section with other code
  NoFtraceEntry,         // a changed function has no __fentry__ call
  JumpLabelKeyInModule,  // symbol: the function; related: the key; detail: "module 'x'"
  StaticCallKeyInModule, // the same for a static call
  SymposUnstable,        // a module symbol's sympos differs while loading (before/after)
  ExportCrcChanged,      // a replaced exported function changed its CRC (before/after)
};

struct Decision {
  DecisionKind kind = DecisionKind::Changed;
  std::string object;             // the object file it concerns
  std::string section;            // "" when it concerns no section
  std::optional<uint64_t> offset; // in `section`
  std::string symbol;             // "" when it concerns no symbol
  std::vector<std::string> related;
  std::string detail;
  std::string before, after; // the two sides of a change, for the kinds that have them
};

// A decision about `sym` of `obj`: its object, section and offset filled in.
Decision about(DecisionKind kind, const Object &obj, const Symbol &sym);
// A decision about `sec` (at `offset`, when given) of `obj`.
Decision about(DecisionKind kind, const Object &obj, const Section &sec,
               std::optional<uint64_t> offset = std::nullopt);

bool is_refusal(DecisionKind kind);
// The kind's stable name, as klp-diff's JSON reports it: "changed", "included-new-global", ...
const char *kind_name(DecisionKind kind);

// The decision's text. A note reads "changed: its child foo.cold changed"; a refusal is the
// whole message: "patched.o:(.data.max)+0x0 'max': data changed (used by f, g); keep the ...".
std::string describe(const Decision &d);

// Where a decision points: "patched.o:(.data.max)+0x0", "patched.o:(.group)" or "patched.o".
std::string location(const Decision &d);

} // namespace klp
