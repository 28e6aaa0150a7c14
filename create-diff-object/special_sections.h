// Special sections: the kernel's per-call-site tables, filtered down to the patch's functions.
//
// Macros and objtool describe code to the kernel through tables in dedicated sections: a
// WARN() adds a __bug_table entry, a static_branch_likely() a __jump_table entry, an
// ALTERNATIVE() an .altinstructions entry plus replacement code in .altinstr_replacement,
// objtool one .return_sites entry per `ret`, and so on. Each entry is one fixed-size struct, and
// one of its fields (the "anchor") is a relocation naming the instruction the entry describes.
// The patch must carry the entries of the functions it carries, and only those: an entry of a
// function left out would point at code that is not in the patch.
//
// include_special_sections() runs on the patched object after the changed functions have been
// included and before the reference closure: it keeps, in each special section, the entries
// whose anchor lies in an included function (Symbol::included; for code outside any function
// symbol, the text section's Section::included), rewrites the section's bytes and relocation
// list in place, and sets Section::included when at least one entry remains.
//
// Supported tables (x86_64, kernels 5.10-6.x), with the field that anchors each entry:
//
//   __bug_table          bug_entry.bug_addr (0)              struct bug_entry
//   __ex_table           exception_table_entry.insn (0)      struct exception_table_entry
//   __jump_table         jump_entry.code (0); key at 8       struct jump_entry
//   .altinstructions     alt_instr.instr_offset (0)          struct alt_instr
//   .static_call_sites   static_call_site.addr (0); key at 4 struct static_call_site
//   .parainstructions    paravirt_patch_site.instr (0)       struct paravirt_patch_site
//   .smp_locks, .retpoline_sites, .return_sites, .call_sites, .kcfi_traps:  s32 (0), 4 bytes
//   __mcount_loc                                             unsigned long (0), 8 bytes
//   .orc_unwind_ip       s32 (0), 4 bytes; .orc_unwind entry i (orc_entry, 6 bytes, no
//                        relocations) goes with .orc_unwind_ip entry i. objtool ends each text
//                        section with a terminator entry at .text.foo + size: it belongs to foo.
//   .printk_index        8-byte pointer to a `static const struct pi_entry`; it belongs to the
//                        included function whose code loads the same format string (no code
//                        refers to the pi_entry itself; see printk_owner())
//   .ibt_endbr_seal, __patchable_function_entries: dropped entirely (drops_every_entry())
//
// Entries anchored in code outside the object's functions follow the text section's
// Section::included; entries anchored in a sliced section (below) follow their piece.
//
// Code that tables point into but that is not a table:
//
//   .altinstr_replacement  sliced to the replacements of the kept .altinstructions entries
//                          ([repl_offset, repl_offset + replacementlen)); the repl_offset
//                          relocations are rewritten to the new offsets.
//   .altinstr_aux (static_cpu_has() slow paths), .fixup (exception fixups, kernels < 5.17):
//                          "code islands" with no table of their own. They are cut into pieces
//                          at every offset something refers to; a piece is kept when included
//                          code, a kept replacement or a kept table entry refers to it.
//
// Every relocation anywhere in the object that points into a section this pass shrinks is
// rewritten to the new offset, and symbols defined in it are moved (or, when their bytes are
// dropped, left with value 0 and size 0; they are not included).
//
// Unpatchable: a kept jump label or static call whose key lives in a loadable module. The module
// loader resolves the livepatch's __jump_table and .static_call_sites when the livepatch module
// is loaded, but a livepatch relocation to a module's symbol is applied only when that module is
// loaded, so the key would be read unrelocated.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "entry_size.h"
#include "object.h"

namespace klp {

// True for every section include_special_sections() rewrites (tables, their partners and the
// code they point into): other passes leave their contents and `included` to this one.
bool is_special_section(const Section &sec);

struct SpecialSectionOptions {
  // Whether `key` (a jump label's static key or a static call's key: the relocation's symbol, a
  // section symbol when the key has none of its own) lives in a loadable module rather than in
  // vmlinux or in the patch itself (e.g. a dynamic-debug descriptor the patch carries as new
  // data). Called for every kept __jump_table and .static_call_sites entry; unset: never.
  std::function<bool(const Symbol &key)> key_in_module;
  // The name of that module, for the message; unset or empty: "a module".
  std::function<std::string(const Symbol &key)> key_module_name;
  // Source of the *_STRUCT_SIZE overrides; ::getenv by default.
  GetEnvFn getenv;
  // A variable overruled by what the object shows (entry_size.h); shown to the user.
  std::function<void(const std::string &line)> warn;
  // One line per decision (entry sizes and how they were found, entries dropped), for --debug.
  std::function<void(const std::string &line)> log;
};

// One entry (or, for sliced code, one byte range) that the pass kept.
struct KeptEntry {
  std::string section;
  uint64_t offset = 0;     // in the input section
  uint64_t new_offset = 0; // in the rewritten section
  uint64_t size = 0;
  const Symbol *function = nullptr; // the function it belongs to (may be a .cold child); null
                                    // for code outside any function symbol
};

struct SpecialSectionSize {
  std::string section;
  EntrySize size;
};

struct SpecialResult {
  std::vector<SpecialSectionSize> sizes; // one per table present
  std::vector<KeptEntry> kept;           // per section (tables, then sliced code), by offset
  size_t dropped = 0;                    // entries and code pieces dropped
};

// Filters every special section of `patched` in place (see above) and marks what remains
// included. Throws klp::Error for
// malformed tables and klp::Unpatchable for module keys. Nothing is modified when it throws.
SpecialResult include_special_sections(Object &patched, const SpecialSectionOptions &opts = {});

} // namespace klp
