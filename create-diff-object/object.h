// The cooked ELF layer: sections, symbols and relocations as objects linked by pointers.
//
// An Object is read once from an ElfFile (elf_file.h) and from then on nothing refers to ELF
// indices: a relocation points at its Symbol, a symbol at its Section, a RELA section at the
// section it applies to. Indices are assigned only when an Object is written (elf_writer.h), so
// passes may add, drop and rewire elements freely.
//
// The differ's vocabulary lives here too: every section and symbol has a `twin` (its counterpart
// in the other object, found by correlate.h), a `status` (found by compare.h) and an `included`
// flag (set by include.h).
#pragma once

#include <gelf.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "elf_file.h"
#include "reloc_types.h"

namespace klp {

#ifndef SHN_LIVEPATCH
#define SHN_LIVEPATCH 0xff20
#endif
#ifndef SHF_RELA_LIVEPATCH
#define SHF_RELA_LIVEPATCH 0x00100000
#endif

enum class Status { Same, Changed, New };

struct Section;
struct Symbol;

// Relocation arithmetic is modulo 2^64, as the psABI's S + A - P is: an addend near INT64_MAX,
// which only a corrupt object has (fuzz-diff found 0x7ffffffffffffffc), wraps to an offset no
// section has instead of overflowing.
inline int64_t wrapping_add(int64_t a, int64_t b) { return (int64_t)((uint64_t)a + (uint64_t)b); }

struct Relocation {
  uint64_t offset = 0; // in the section the relocation applies to
  uint32_t type = 0;   // R_X86_64_*
  int64_t addend = 0;
  Symbol *sym = nullptr;
  // For PC-relative relocations in code: the distance from the relocated field to the end of
  // its instruction, which the assembler folded into the addend (4 for `lea x(%rip)`, 5 for
  // `cmpb $0,x(%rip)`). Set by bundle.h's cook(); 0 elsewhere.
  uint8_t pc_bias = 0;
};

struct Section {
  std::string name;
  GElf_Shdr shdr{}; // as read; sh_name, sh_offset, sh_link, sh_info are not used after load
  std::vector<uint8_t> data; // contents, decompressed; empty for SHT_NOBITS
  size_t index = 0;          // index in the input file; 0 for sections a pass created

  // SHT_RELA sections own their relocations and point at the section they apply to.
  std::vector<Relocation> relocs;
  Section *base = nullptr;
  // The (first) SHT_RELA section that applies to this one.
  Section *rela = nullptr;

  // SHT_GROUP sections: the signature symbol and the member sections.
  Symbol *group_signature = nullptr;
  std::vector<Section *> group_members;
  Section *group = nullptr; // the group this section belongs to

  Symbol *secsym = nullptr;  // its STT_SECTION symbol, if any
  Symbol *bundled = nullptr; // the function or object this section was emitted for
                             // (-ffunction-sections / -fdata-sections), see bundle.h

  Section *twin = nullptr;
  Status status = Status::Same;
  bool included = false;

  uint64_t size() const { return shdr.sh_type == SHT_NOBITS ? shdr.sh_size : data.size(); }
  uint64_t flags() const { return shdr.sh_flags; }
  uint32_t type() const { return shdr.sh_type; }
  bool is_rela() const { return shdr.sh_type == SHT_RELA; }
  bool is_text() const { return shdr.sh_flags & SHF_EXECINSTR; }
  bool is_alloc() const { return shdr.sh_flags & SHF_ALLOC; }
  bool is_string() const { return (shdr.sh_flags & SHF_MERGE) && (shdr.sh_flags & SHF_STRINGS); }
  Bytes bytes() const { return Bytes(data); }
  // Relocations applying to this section through `rela` (empty if none); to change them, edit
  // rela->relocs.
  const std::vector<Relocation> &relocations() const;
};

struct Symbol {
  std::string name;
  uint8_t type = STT_NOTYPE; // STT_*
  uint8_t bind = STB_LOCAL;  // STB_*
  uint8_t other = 0;         // st_other (visibility)
  uint16_t shndx =
      SHN_UNDEF; // raw st_shndx when `sec` is null: SHN_UNDEF, SHN_ABS, SHN_COMMON, ...
  Section *sec = nullptr;
  uint64_t value = 0;
  uint64_t size = 0;
  size_t index = 0; // index in the input symbol table; 0 for symbols a pass created

  // GCC splits parts of a function into separate symbols: `foo.cold` (hot/cold splitting) and
  // `foo.part.N` (partial inlining). The part is a child of `foo`; see bundle.h.
  Symbol *parent = nullptr;
  std::vector<Symbol *> children;
  // On a `.cold` child the patch object holds inside its parent (cold_parts.h): the parent, and
  // the offset in the parent's output section at which the child's section starts.
  Symbol *merged_into = nullptr;
  uint64_t merged_at = 0;
  // Function padding (CONFIG_CALL_PADDING, 6.2+): objtool names the 16 bytes before `foo` in its
  // section `__pfx_foo` (clang's kCFI: `__cfi_foo`). The prefix is part of its function: bundled,
  // compared, correlated and included with it, never patched or reported on its own.
  Symbol *prefix = nullptr;    // on a function: its prefix symbol
  Symbol *prefix_of = nullptr; // on a prefix symbol: its function

  Symbol *twin = nullptr;
  Status status = Status::Same;
  bool included = false;

  bool is_func() const { return type == STT_FUNC; }
  bool is_object() const { return type == STT_OBJECT || type == STT_TLS; }
  bool is_section() const { return type == STT_SECTION; }
  bool is_file() const { return type == STT_FILE; }
  bool is_local() const { return bind == STB_LOCAL; }
  bool is_undefined() const { return !sec && shndx == SHN_UNDEF; }
};

class Object {
public:
  // Reads every section, symbol and relocation of an ELF relocatable object.
  static std::unique_ptr<Object> load(const std::string &path);
  // An empty object with the same ELF header as `like`, for building output.
  static std::unique_ptr<Object> empty_like(const Object &like, std::string path);

  std::string path;
  GElf_Ehdr ehdr{};
  std::deque<Section> sections; // in input order; deque keeps pointers stable
  std::deque<Symbol> symbols;   // in input order, without the null symbol

  Section *find_section(std::string_view name) const;
  // All symbols with this exact name (locals of several files may share one).
  const std::vector<Symbol *> &symbols_named(std::string_view name) const;
  // The first symbol with this exact name, or null.
  Symbol *find_symbol(std::string_view name) const;
  // The name of the first STT_FILE symbol (the translation unit), or "".
  std::string_view source_file() const;

  Section &add_section(Section s);
  Symbol &add_symbol(Symbol s);
  // Creates the STT_SECTION symbol for `sec` if it has none.
  Symbol &section_symbol(Section &sec);
  // Rebuilds the name maps after names were changed.
  void reindex();

  // Location prefixes for diagnostics: "orig.o:(.text.foo)" and "orig.o:(.text.foo)+0x1c".
  std::string where(const Section &sec) const;
  std::string where(const Section &sec, uint64_t offset) const;
  std::string where(const Symbol &sym) const;

private:
  std::unordered_map<std::string_view, Section *> section_by_name_;
  std::unordered_map<std::string_view, std::vector<Symbol *>> symbols_by_name_;
};

} // namespace klp
