// The size of one entry of a kernel special section (special_sections.h).
//
// The kernel's tables (__bug_table, __jump_table, .altinstructions, ...) are arrays of small C
// structs whose layout changed between kernel versions: alt_instr is 13 bytes in 5.10, 12 in
// 6.1 and 14 from 6.3; bug_entry is 12 bytes with CONFIG_DEBUG_BUGVERBOSE and 8 without. The
// object itself rarely says which, so the size is found by the first of these that answers:
//
//   1. Environment: kpatch's override variables (BUG_STRUCT_SIZE, JUMP_STRUCT_SIZE, ...), so a
//      kpatch-build recipe that sets them keeps working. A malformed value is an error.
//   2. Entsize: sh_entsize of the section. objtool sets it for the sections it creates
//      (.static_call_sites, .retpoline_sites, .return_sites, __mcount_loc, .orc_unwind, ...).
//   3. Dwarf: DW_AT_byte_size of the struct in the object's own debug info (built with -g), when
//      the compilation unit used the struct so that GCC emitted its type.
//   4. Fixed: sections whose entries are one pointer or one 32-bit offset (.retpoline_sites: 4,
//      __mcount_loc: 8) have a size that never changed.
//   5. Paired: .orc_unwind has no relocations; it holds as many entries as .orc_unwind_ip.
//   6. Inferred: from the relocation pattern (see infer_entry_size()).
//
// A variable is believed unless the object contradicts it: sh_entsize or the DWARF struct says
// otherwise, or the section cannot be an array of entries of that size (fits_entries()).
// Recipes set the variables once per kernel version, and one meant for another kernel is a
// mistake the object corrects: what it shows (2-6) wins, with a warning; an error only when
// nothing else answers.
//
// The last entry may be short. Tables written by assembler macros (.parainstructions'
// `_ASM_ALIGN; _ASM_PTR 661b; .byte ...`) align each entry at its start, so the padding of the
// last one is never emitted: 8 entries of 16 bytes make a 124-byte section. A short last entry
// must carry the same relocations as a whole one (its fields are there; only padding is not).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "object.h"

namespace klp {

enum class SizeMethod { Environment, Entsize, Dwarf, Fixed, Paired, Inferred };
const char *size_method_name(SizeMethod m);

struct EntrySize {
  uint64_t size = 0;
  SizeMethod method = SizeMethod::Inferred;
};

// What is known about one section's entries.
struct EntrySizeRule {
  const char *env_var = nullptr;      // kpatch's override variable, or null
  const char *dwarf_struct = nullptr; // the C struct of one entry, or null
  uint64_t fixed = 0;                 // the size when it never changed, else 0
  // The smallest size the struct had in any supported kernel (5.10-6.x); inference never answers
  // less. It keeps a struct whose fields all point at code (5.10's exception_table_entry when the
  // handlers are defined in the same file) from looking like an array of 4-byte offsets.
  uint64_t min_size = 1;
};

// Reads an environment variable; returns null when unset. Tests substitute their own.
using GetEnvFn = std::function<const char *(const char *name)>;

// Struct sizes from the DWARF of one object file, read (through libdwfl, which applies the
// relocations of a relocatable object's .debug_* sections) on the first query.
class DwarfStructSizes {
public:
  explicit DwarfStructSizes(std::string path) : path_(std::move(path)) {}
  // DW_AT_byte_size of the first complete `struct <name>` in any compilation unit; nullopt when
  // the object has no debug info or GCC did not emit the type.
  std::optional<uint64_t> size_of(std::string_view name);

private:
  void load();
  std::string path_;
  bool loaded_ = false;
  std::map<std::string, uint64_t, std::less<>> sizes_;
};

// The entry size of `sec` by the methods above. `paired_count` is the number of entries of the
// section's partner (.orc_unwind_ip for .orc_unwind), if it has one. `warn` hears of a variable
// that was overruled. Throws klp::Error for a malformed override, a size the section cannot hold,
// or when no method answers.
EntrySize entry_size(const Object &obj, const Section &sec, const EntrySizeRule &rule,
                     const GetEnvFn &getenv, DwarfStructSizes &dwarf,
                     std::optional<uint64_t> paired_count = std::nullopt,
                     const std::function<void(const std::string &)> &warn = {});

// Whether `sec` can be an array of `size`-byte entries: no relocated field straddles two entries
// and, when the size does not divide the section, the short last entry carries the same
// relocations as the first (see the essay above). When it cannot, `why` says what is wrong.
bool fits_entries(const Section &sec, uint64_t size, std::string *why = nullptr);

// The smallest size s >= max(min_size, widest relocation) that fits the section (fits_entries())
// and under which every entry carries the same relocations: the same (offset in entry, type, target
// kind) triples. The target kind (code: a symbol in an executable section; other: data,
// strings, undefined symbols) is part of the pattern because the type and offset alone are
// periodic at a fraction of the real size whenever consecutive fields use the same relocation
// type: .static_call_sites holds {s32 addr -> code, s32 key -> data} and would look like 4-byte
// entries of one PC32 each. The kind is deliberately coarse: a jump label's key is a local
// static key in one entry and an undefined one in the next, and both must match. Sizes above 64
// bytes are not believed (no x86 table struct exceeds 16; a larger period means the pattern is
// not periodic at all). Nullopt when nothing fits or the section has no relocations.
std::optional<uint64_t> infer_entry_size(const Section &sec, uint64_t min_size);

} // namespace klp
