// klp-diff's report model: for every function of one original/patched object pair, the verdict
// the differ reached and why.
//
// Everything here is read from what analyze() (diff.h) decided and recorded: the statuses, twins
// and inclusion flags it set, the decisions its passes noted (DiffContext::decisions, records of
// decision.h), the special sections it filtered, the refusal it recorded. Nothing re-decides, and
// nothing reads the differ's messages: their text is rendered from the records (describe()). Two
// things are added for the reader, never to decide: DWARF source lines and inlined callees
// (source_lines.h) and an instruction-level diff of each changed function (insn_diff.h).
//
// Printers: text.cpp (print_text) and json.cpp (print_json, schema in docs/klp-diff-json.md).
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "diff.h"

namespace klp {

// Why a function or a data object is, or is not, in the patch.
enum class Verdict {
  Changed,    // its code differs: the patch carries the new version
  New,        // added by the patch (a new global function, or a new one nothing included needs)
  Dependency, // in the patch only because included code refers to it
  Ignored,    // it differs, but only in ways the differ ignores (__LINE__, KLP_IGNORE_FUNCTION)
  Unchanged,  // identical: the running kernel's copy stays
  Removed,    // only in the original object: the running kernel keeps it
};
const char *verdict_name(Verdict v); // "changed", ..., "included-as-dependency", ...

// Lines first..last of one source file, the file relative to the compilation directory.
struct SourceRange {
  std::string file;
  unsigned first = 0, last = 0;
};
std::string to_string(const SourceRange &r); // "inc/ring.h:4-6" or "inc/ring.h:4"

// One line of an instruction diff.
struct InsnLine {
  char mark = ' '; // ' ' in both, '-' only in the original, '+' only in the patched function
  std::optional<uint64_t> orig_offset, patched_offset; // from the start of the function
  std::string text; // the patched instruction for ' ' and '+', the original one for '-'
};

// Changed instructions with up to kHunkContext unchanged ones around them.
struct Hunk {
  std::vector<InsnLine> lines;
  std::vector<SourceRange> orig_source;    // lines of the '-' instructions (original DWARF)
  std::vector<SourceRange> patched_source; // lines of the '+' instructions (patched DWARF)
  // Unchanged instructions not listed: between the previous hunk (or the function's start) and
  // this one, and after this one when it is the last.
  unsigned skipped_before = 0, skipped_after = 0;
};
constexpr unsigned kHunkContext = 3;

// A callee inlined into the function whose inlined code is among the changed instructions.
struct InlinedChange {
  std::string name;
  std::string decl_file; // where the callee is declared (e.g. a header)
  unsigned decl_line = 0;
  bool is_static = false;       // no DW_AT_external
  bool declared_inline = false; // DW_AT_inline: declared inline
  unsigned instructions = 0;    // changed instructions ('-' and '+') inlined from it
};

// A function-local static the function refers to, and what the differ made of it.
struct StaticRef {
  std::string name;      // in the patched object
  std::string orig_name; // its twin in the original object; "" when it has none
  std::string how;       // "correlated", "new", "new per-call-site static"
  bool included = false; // the patch carries its own copy (else the running kernel's is used)
};

// A relocation of a special section the patch keeps that points into the function.
struct SpecialRef {
  std::string section;
  uint64_t offset = 0; // of the relocated field, in the section as the patch carries it
  uint64_t target = 0; // offset in the function
  std::string insn;    // the instruction there ("" if it does not decode)
};

// A symbol the function refers to that the livepatch core resolves (needs --symtab).
struct KlpRef {
  std::string symbol;
  std::string klp_name; // ".klp.sym.vmlinux.helper,0"
};

// A symbol the function refers to that the module loader resolves by name, as an export of the
// running kernel (needs --symtab, like KlpRef: what is not a klp symbol is an export).
struct ExportRef {
  std::string symbol;
  std::string object; // exporter per Module.symvers: "vmlinux" or a module path; "" if unknown
};

// How the livepatch core finds the function it replaces (needs --symtab).
struct KlpTarget {
  std::string object;
  std::string name;
  unsigned long sympos = 0;
};

struct FunctionReport {
  std::string name;      // in the patched object (the original's for removed functions)
  std::string orig_name; // its twin's name when that differs (IPA clone renumbered, ...), else ""
  Verdict verdict = Verdict::Unchanged;
  bool included = false; // the patch carries it
  bool klp_func = false; // the patch replaces it through a klp_func (verify.h needs_klp_func)
  std::string section;
  std::optional<uint64_t> orig_size, patched_size;
  std::string parent;                // for .cold/.part children
  std::vector<std::string> children; // .cold/.part children
  std::vector<Decision> reasons;     // DiffContext::decisions about it, in order
  std::vector<StaticRef> statics;
  std::vector<InlinedChange> inlined;
  std::vector<SpecialRef> special;
  std::vector<KlpRef> references;
  std::vector<ExportRef> exported;
  std::optional<KlpTarget> klp_target;
  std::vector<SourceRange> orig_source, patched_source; // over all hunks
  std::vector<Hunk> code;
  unsigned changed_instructions = 0; // '-' and '+' lines over all hunks
};

// A data object the patch carries or that differs.
struct DataReport {
  std::string name;
  std::string orig_name;
  Verdict verdict = Verdict::Changed; // Changed, New, Dependency or Removed
  bool included = false;
  std::string section;
  std::vector<Decision> reasons;
};

// A user of refused data and what the differ had noted about it before it refused.
struct RefusalUser {
  std::string name;
  std::vector<Decision> reasons;
};

// The change cannot be live-patched (DiffSession::refusal): the decision, and what the differ
// had noted about its symbol and the symbol's users before it refused.
struct Refusal {
  Decision decision;
  std::string message;           // describe(decision)
  std::string location;          // "patched.o:(.data.max)+0x0"
  std::string symbol;            // "" unless the refusal is about one symbol's change
  std::vector<Decision> reasons; // noted about the symbol before the refusal
  std::vector<RefusalUser> users;
};

struct ObjectReport {
  std::string object; // the manifest's object path, "" for a pair given on the command line
  std::string orig_path, patched_path, target;
  bool orig_debug_info = false, patched_debug_info = false;
  std::optional<Refusal> refusal;
  std::vector<std::string> summary; // DiffSession::summary: what create-diff-object prints
  bool has_changes = false;
  std::vector<FunctionReport> functions; // patched order, then removed ones in original order
  std::vector<DataReport> data;
};

struct Report {
  std::string explain_dir; // "" for a pair given on the command line
  std::string patch_name;
  std::string function; // --function filter, "" for all
  std::vector<ObjectReport> objects;
};

struct ExplainOptions {
  std::string function; // only this function (patched or original name); "" for all
  bool details = true;  // source lines, inlined callees and instruction diffs
};

// Runs analyze() on one pair and turns its decisions into a report. Unpatchable becomes
// ObjectReport::refusal; Error propagates.
ObjectReport explain_pair(const DiffOptions &diff, const ExplainOptions &opts,
                          const std::string &object = "");

// The report for one pair given on the command line, and for every pair of a klp-build explain
// directory (its targets, symbol tables and Module.symvers from the manifest). Throw Error when
// ExplainOptions::function names no function of any pair.
struct Manifest;
Report explain_objects(const DiffOptions &diff, const ExplainOptions &opts);
Report explain_manifest(const Manifest &manifest, const ExplainOptions &opts);

// Exit code for a report: kExitUnpatchable if any object was refused, kExitNoChange if none
// has changes, else kExitOk.
int report_exit_code(const Report &report);

// Printers. `explain` adds the per-function blocks to the text summary; JSON always has
// everything.
void print_text(const Report &report, bool explain, std::ostream &out);
void print_json(const Report &report, std::ostream &out);

// ---- The klp-build explain directory (docs/klp-diff.md) ----

struct ManifestObject {
  std::string object;  // path in the kernel tree, e.g. "fs/proc/cmdline.o"
  std::string target;  // "vmlinux" or the module's name
  std::string orig;    // <dir>/orig/<object>
  std::string patched; // <dir>/patched/<object>
};

struct Manifest {
  std::string dir;                                          // the explain directory, as found
  std::string patch_name;                                   // "" if the manifest has none
  std::string symvers;                                      // resolved path, "" if none
  std::vector<std::pair<std::string, std::string>> symtabs; // target -> resolved path
  std::vector<ManifestObject> objects;

  std::string symtab_for(const std::string &target) const;
};

// Writes `m` as DIR/manifest. Paths are written as given: relative to DIR unless absolute
// (ManifestObject::orig and ::patched are implied by the layout and not written).
void write_manifest(const std::string &dir, const Manifest &m);

// Finds the explain directory for `path` (the directory itself, MODULE.ko whose MODULE.explain/
// sits next to it, or a directory holding exactly one *.explain/) and reads its manifest.
// Throws Error with "<manifest>: <key>: ..." for a malformed one.
Manifest read_manifest(const std::string &path);

} // namespace klp
