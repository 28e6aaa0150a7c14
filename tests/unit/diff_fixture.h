// Fixture for the create-diff-object feature tests: builds one case of testdata/diff/<case>/ (an
// orig.c and a patched.c) the way kpatch-build does, writes the Module.symvers and target symbol
// table the tool needs, runs the tool and loads its output; plus queries on the output object.
//
// How a case is built (orig.S/patched.S instead of .c: assembled through the preprocessor):
//   - both sources are compiled from the same path (<scratch>/src/<case>.c), so STT_FILE names and
//     __FILE__ strings agree, as they do when the same kernel tree is built twice;
//   - testdata/diff/<case>/orig/ and patched/ (if present) are on the include path of the
//     respective build, for "header" changes;
//   - gcc builds use klp::test::compile(); clang-14 builds go through assembly, because clang has
//     no -mrecord-mcount on x86: the kernel has objtool write __mcount_loc for clang, and the
//     fixture does the same by recording every `call __fentry__` (see compile_case_source()).
//   - Module.symvers exports every symbol orig.o or patched.o leave undefined, from vmlinux,
//     except those listed in DiffOptions::not_exported;
//   - the target's symbol table is `readelf -s --wide` of orig.o, or of `ld -r orig.o target.o`
//     when the case has a target.c defining the kernel's other (non-exported) symbols, unless the
//     test supplies its own text (a kallsyms fixture).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "object.h"
#include "test_util.h"

namespace klp::test {

struct DiffOptions {
  std::string cc = "gcc";         // "gcc" or "clang-14"
  std::string target = "vmlinux"; // --target: vmlinux or a module name
  std::string patch_name = "klp_test_patch";
  // Undefined symbols of the objects that Module.symvers must NOT list as exported.
  std::vector<std::string> not_exported;
  // Symbols defined in the object that Module.symvers lists as exported by the target (vmlinux).
  std::vector<std::string> extra_exports;
  // When set, written as the symbol table file instead of the readelf dump (e.g. kallsyms text).
  std::optional<std::string> symtab_text;
  // Extra compiler flags for both builds.
  std::string extra_cflags;
};

// Shorthands for the usual variations.
DiffOptions with_target(const std::string &target);
DiffOptions with_symtab(const std::string &text);
DiffOptions with_cc(const std::string &cc);

class DiffCase {
public:
  // Builds testdata/diff/<name>/{orig,patched}.c and writes symvers and symtab; throws on a
  // compiler failure.
  explicit DiffCase(const std::string &name, DiffOptions opts = {});

  const std::string &name() const { return name_; }
  const DiffOptions &options() const { return opts_; }
  std::string file(const std::string &f) const { return dir_.file(f); }

  std::string orig;    // orig.o
  std::string patched; // patched.o
  std::string symvers; // Module.symvers
  std::string symtab;  // symtab (readelf text or kallsyms)
  std::string output;  // output.o (not created by the fixture)

  // Exported symbol names written to Module.symvers.
  const std::set<std::string> &exports() const { return exports_; }

  // The named-option command line (without the binary) and the kpatch positional one.
  std::string named_args() const;
  std::string positional_args() const;

  // Runs create-diff-object with the named options (plus `extra`).
  RunResult run(const std::string &extra = "") const;
  RunResult run_positional() const;

  bool output_exists() const;
  // Loads the output object; throws if it does not exist.
  std::unique_ptr<Object> output_object() const;
  std::unique_ptr<Object> orig_object() const;
  std::unique_ptr<Object> patched_object() const;

  // `readelf -SsrW` of a file, for failure messages.
  static std::string dump(const std::string &path);

private:
  std::string name_;
  DiffOptions opts_;
  ScratchDir dir_;
  std::set<std::string> exports_;
};

// Compiles a C file with gcc (klp::test::compile) or clang-14 (via assembly, with a __mcount_loc
// built from the __fentry__ calls, as objtool --mcount does for clang kernels).
void compile_case_source(const std::string &src, const std::string &out, const std::string &extra,
                         const std::string &cc);

// ---- Queries on an output object ----

// Names of the functions (STT_FUNC) defined in the object.
std::set<std::string> functions(const Object &obj);
// Names of the data objects (STT_OBJECT) defined in the object.
std::set<std::string> data_objects(const Object &obj);
// Names of all `.klp.sym.*` symbols.
std::set<std::string> klp_syms(const Object &obj);
// Names of undefined symbols that are not `.klp.sym.*` (they must all be exported).
std::set<std::string> plain_undefined(const Object &obj);
bool is_klp_sym(const Symbol &sym);

// What relocation `r` of section `site` refers to: the symbol's name; for a section symbol, the
// single function or object in that section, or the one covering the target offset, else the
// section's name.
std::string reloc_target(const Object &obj, const Section &site, const Relocation &r);
// The symbol itself a relocation of `site` refers to, resolved like reloc_target(); for section
// symbols, the covering named symbol if any, else the section symbol.
const Symbol *reloc_target_symbol(const Object &obj, const Section &site, const Relocation &r);
// Relocations applying to section `section` (by name).
std::vector<const Relocation *> relocs_in(const Object &obj, const std::string &section);
// Relocations applying to `section` whose target (reloc_target) is `symbol`.
std::vector<const Relocation *> relocs_to(const Object &obj, const std::string &section,
                                          const std::string &symbol);
// The set of reloc_target() names of the relocations applying to `section`.
std::set<std::string> reloc_targets(const Object &obj, const std::string &section);

// The NUL-terminated string a relocation points at (symbol value + addend in its section); empty
// if the symbol is undefined or out of range.
std::string string_at(const Symbol &sym, int64_t addend);
// Whether any allocated section of the object contains `text` (without its NUL).
bool contains_string(const Object &obj, const std::string &text);

// One decoded __klp_funcs entry.
struct KlpFunc {
  std::string new_func; // function the +0 relocation targets
  std::string old_name; // string at +8
  std::string objname;  // string at +16
  uint64_t sympos = 0;  // u64 at +24
};
// Decodes __klp_funcs; throws if its size is not a multiple of 32 or a field lacks its relocation.
std::vector<KlpFunc> klp_funcs(const Object &obj);
// Entry for `old_name`, if any.
std::optional<KlpFunc> klp_func(const Object &obj, const std::string &old_name);

// The functions the 8-byte entries of __mcount_loc point at, in order (one name per entry; "?"
// for an entry without a relocation).
std::vector<std::string> mcount_targets(const Object &obj);

// One decoded __jump_table entry (x86: s32 code, s32 target, s64 key, all PC-relative).
struct JumpEntry {
  std::string code;   // function containing the patched instruction
  std::string target; // function containing the branch target
  std::string key;    // the key's symbol
};
std::vector<JumpEntry> jump_entries(const Object &obj);

// Runs `ld -r` on `path`; returns the result (exit 0 on success).
RunResult link_relocatable(const std::string &path, const std::string &out);

// ---- Expectations (gtest non-fatal failures) ----

// The tool's output plus a readelf dump of the output object (if any), for failure messages.
std::string context(const DiffCase &c, const RunResult &r);
// `section` has at least one relocation to `klp_name` (".klp.sym.vmlinux.helper,0"), an
// undefined GLOBAL symbol (SHN_UNDEF, or SHN_LIVEPATCH if the tool marks it already).
void expect_klp_reloc(const Object &obj, const std::string &section, const std::string &klp_name);
// `section` has at least one relocation to `symbol`, and it is defined in the output.
void expect_local_reloc(const Object &obj, const std::string &section, const std::string &symbol);
// `section` has at least one relocation to the undefined, non-klp symbol `symbol`.
void expect_plain_reloc(const Object &obj, const std::string &section, const std::string &symbol);
// Every undefined non-klp symbol of the output is exported per the case's Module.symvers, and
// every .klp.sym name is well-formed for the case's target.
void expect_well_formed(const Object &obj, const DiffCase &c);
// Every function of the output that exists in `orig` (so is not new), other than a `.cold` part,
// has a __klp_funcs entry under its name, and every entry names such a function; __mcount_loc
// has exactly one entry for each of them (and for new functions).
void expect_descriptors_complete(const Object &out, const Object &orig);
// Exit code `code` (2 or 3) and no output file.
void expect_no_output(const DiffCase &c, const RunResult &r, int code);

} // namespace klp::test
