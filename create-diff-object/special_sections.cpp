#include "special_sections.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <set>
#include <string_view>
#include <unordered_map>

#include "bundle.h"
#include "disasm.h"

namespace klp {

namespace {

// ---- the table of tables --------------------------------------------------------------------

enum class Layout {
  Table,       // fixed-size entries, each anchored by the relocation at `anchor`
  OrcUnwind,   // .orc_unwind: no relocations; entry i follows entry i of .orc_unwind_ip
  PrintkIndex, // .printk_index: pointers to pi_entry structs, see printk_owner()
  DropAll,     // never carried by a patch, see drops_every_entry()
};

enum class KeyKind { None, JumpLabel, StaticCall };

struct TableSpec {
  std::string_view name;
  EntrySizeRule size;
  Layout layout = Layout::Table;
  uint64_t anchor = 0; // offset of the anchoring field in the entry
  KeyKind key = KeyKind::None;
  uint64_t key_offset = 0;
};

constexpr std::string_view kAltInstructions = ".altinstructions";
constexpr std::string_view kAltReplacement = ".altinstr_replacement";
constexpr std::string_view kOrcUnwind = ".orc_unwind";
constexpr std::string_view kOrcUnwindIp = ".orc_unwind_ip";

// Sizes: see the struct definitions in arch/x86/include/asm/{bug.h (asm-generic), extable.h,
// jump_label.h (linux), alternative.h, paravirt_types.h, orc_types.h} and
// include/linux/static_call_types.h. min_size is the smallest the struct has been in 5.10-6.x:
// bug_entry is 8 bytes without CONFIG_DEBUG_BUGVERBOSE, alt_instr 12 in 6.1 (13 in 5.10, 14
// from 6.3), paravirt_patch_site 16 (pointer + two bytes, padded by _ASM_ALIGN).
const TableSpec kTables[] = {
    {"__bug_table", {"BUG_STRUCT_SIZE", "bug_entry", 0, 8}},
    {"__ex_table", {"EX_STRUCT_SIZE", "exception_table_entry", 0, 12}},
    {"__jump_table",
     {"JUMP_STRUCT_SIZE", "jump_entry", 0, 16},
     Layout::Table,
     0,
     KeyKind::JumpLabel,
     8},
    {kAltInstructions, {"ALT_STRUCT_SIZE", "alt_instr", 0, 12}},
    {".static_call_sites",
     {"STATIC_CALL_STRUCT_SIZE", "static_call_site", 0, 8},
     Layout::Table,
     0,
     KeyKind::StaticCall,
     4},
    {".parainstructions", {"PARA_STRUCT_SIZE", "paravirt_patch_site", 0, 16}},
    {".smp_locks", {nullptr, nullptr, 4, 4}},
    {".retpoline_sites", {nullptr, nullptr, 4, 4}},
    {".return_sites", {nullptr, nullptr, 4, 4}},
    {".call_sites", {nullptr, nullptr, 4, 4}}, // 6.2+ call depth tracking
    {".kcfi_traps", {nullptr, nullptr, 4, 4}}, // clang kCFI, 6.1+
    {"__mcount_loc", {nullptr, nullptr, 8, 8}},
    {"__patchable_function_entries", {nullptr, nullptr, 8, 8}, Layout::DropAll},
    {kOrcUnwindIp, {nullptr, nullptr, 4, 4}},
    {kOrcUnwind, {"ORC_STRUCT_SIZE", "orc_entry", 0, 6}, Layout::OrcUnwind},
    // Pointers to pi_entry, not pi_entry itself: __printk_index_emit() puts `_entry_ptr` there.
    // kpatch's PRINTK_INDEX_STRUCT_SIZE is sizeof(struct pi_entry) (44), each pi_entry being a
    // symbol of its own here, so the variable says nothing about this section.
    {".printk_index", {nullptr, nullptr, 8, 8}, Layout::PrintkIndex},
    {".ibt_endbr_seal", {nullptr, nullptr, 4, 4}, Layout::DropAll},
};

// Code that tables point into without being tables themselves ("code islands"):
//   .altinstr_aux  _static_cpu_has() (asm/cpufeature.h): a testb/jnz/jmp slow path per use,
//                  reached by a `jmp 6f` in the function.
//   .fixup         kernels before 5.17: exception fixup code, reached from __ex_table.fixup.
bool is_code_island(std::string_view name) { return name == ".altinstr_aux" || name == ".fixup"; }

const TableSpec *table_spec(std::string_view name) {
  for (const TableSpec &t : kTables)
    if (t.name == name)
      return &t;
  return nullptr;
}

// Tables a patch never carries:
// - objtool's .ibt_endbr_seal lists ENDBR instructions it proved superfluous so that
//   apply_ibt_endbr() can poison them. That proof is about every indirect caller in the object
//   objtool saw; a patch function may be reached in ways that object never showed. Dropping an
//   entry only leaves an ENDBR unsealed, so the patch carries none.
// - __patchable_function_entries: x86 compiles with -fpatchable-function-entry only for the
//   padding of CONFIG_CALL_PADDING; ftrace finds its call sites through __mcount_loc, and the
//   kernel's linker scripts discard the section (PATCHABLE_DISCARDS). Its entries point at the
//   start of each function's padding, and the SHF_LINK_ORDER section could not follow the
//   several text sections a patch keeps anyway.
bool drops_every_entry(const TableSpec &t) { return t.layout == Layout::DropAll; }

// Where alt_instr.replacementlen sits: {s32 instr_offset, s32 repl_offset, u16 cpuid, u8
// instrlen, u8 replacementlen} puts it at 11 in 6.1 (12 bytes) and in 5.10, whose 13-byte
// struct appends u8 padlen; 6.3 widened cpuid to u32 ft_flags (14 bytes, offset 13).
std::optional<uint64_t> alt_replacementlen_offset(uint64_t entry_size) {
  switch (entry_size) {
  case 12:
  case 13:
    return 11;
  case 14:
    return 13;
  }
  return std::nullopt;
}

// ---- places and owners ----------------------------------------------------------------------

// A byte of the object: a section and an offset in it.
struct Place {
  Section *sec = nullptr;
  uint64_t off = 0;
  bool operator<(const Place &o) const { return std::tie(sec, off) < std::tie(o.sec, o.off); }
};

// What relocation `r` of section `site` points at; nullopt for undefined and absolute symbols.
std::optional<Place> reloc_place(const Section &site, const Relocation &r) {
  const Symbol &s = *r.sym;
  if (!s.sec)
    return std::nullopt;
  int64_t off = wrapping_add(s.is_section() ? 0 : (int64_t)s.value, reloc_target_offset(site, r));
  if (off < 0)
    return std::nullopt;
  return Place{s.sec, (uint64_t)off};
}

// Function symbols by section, to find the function an address belongs to.
class FunctionIndex {
public:
  explicit FunctionIndex(Object &obj) {
    for (Symbol &s : obj.symbols)
      if (s.is_func() && s.sec)
        by_sec_[s.sec].push_back(&s);
  }
  // The function containing `off` (an included one if aliases overlap) or, failing that, the
  // one ending exactly at `off`: objtool's end-of-section ORC terminator at .text.foo + size.
  Symbol *at(const Section *sec, uint64_t off) const {
    auto it = by_sec_.find(sec);
    if (it == by_sec_.end())
      return nullptr;
    Symbol *found = nullptr, *ending = nullptr;
    for (Symbol *s : it->second) {
      uint64_t end = s->value + std::max<uint64_t>(s->size, 1);
      if (off >= s->value && off < end) {
        if (!found || (!found->included && s->included))
          found = s;
      } else if (off == s->value + s->size && !ending) {
        ending = s;
      }
    }
    return found ? found : ending;
  }

private:
  std::unordered_map<const Section *, std::vector<Symbol *>> by_sec_;
};

// A byte range of a sliced section (.altinstr_replacement or a code island).
struct Piece {
  uint64_t start = 0, end = 0;
  Symbol *owner = nullptr;
  bool kept = false;
  bool contains(uint64_t off) const {
    return (off >= start && off < end) || (start == end && off == start);
  }
};

struct Owner {
  bool kept = false;
  Symbol *func = nullptr;
};

// An entry of a table and the indices of its relocations in sec.rela->relocs.
struct Entry {
  uint64_t offset = 0;
  std::vector<size_t> relocs;
  bool kept = false;
  Symbol *owner = nullptr;
};

struct Table {
  Section *sec = nullptr;
  const TableSpec *spec = nullptr;
  bool unneeded = false; // no entry can be kept: dropped whole, its size never asked for
  EntrySize size;
  std::vector<Entry> entries;
};

// Maps old offsets of a shrunk section to new ones.
struct OffsetMap {
  struct Span {
    uint64_t start, end, new_start;
  };
  std::vector<Span> spans; // sorted, disjoint
  // A kept byte maps to its new place; failing that (with `end_ok`), the end of a kept span
  // maps to the new end, for references just past the last byte.
  std::optional<uint64_t> map(uint64_t off, bool end_ok = true) const {
    for (const Span &s : spans)
      if (off >= s.start && off < s.end)
        return s.new_start + (off - s.start);
    for (const Span &s : spans)
      if (end_ok && off == s.end)
        return s.new_start + (off - s.start);
    return std::nullopt;
  }
};

// ---- the pass -------------------------------------------------------------------------------

class SpecialFilter {
public:
  SpecialFilter(Object &obj, const SpecialSectionOptions &opts)
      : obj_(obj), opts_(opts), functions_(obj), dwarf_(obj.path) {}

  SpecialResult run();

private:
  void log(const std::string &line) const {
    if (opts_.log)
      opts_.log(line);
  }
  const char *env(const char *name) const {
    return opts_.getenv ? opts_.getenv(name) : std::getenv(name);
  }

  void find_tables();
  bool may_keep_entries(const Table &t, bool alternatives_kept) const;
  bool island_referenced_by_included_code(const Section &island) const;
  void split_entries(Table &t);
  const Relocation *reloc_at(const Table &t, const Entry &e, uint64_t field) const;
  Owner owner_of(const Place &p) const;
  Owner anchor_owner(const Table &t, const Entry &e) const;
  void decide_alternatives(Table &t);
  void collect_code_refs();
  void cut_islands();
  void merge_dependent_pieces(Section &island, std::vector<Piece> &pieces) const;
  void decide_table(Table &t);
  Symbol *printk_owner(const Table &t, const Entry &e) const;
  void keep_island_refs_of(const Table &t);
  void check_keys(const Table &t) const;
  void rewrite_table(Table &t, SpecialResult &res);
  void slice(Section &sec, std::vector<Piece> &pieces, SpecialResult &res);
  void remap_references();

  Object &obj_;
  const SpecialSectionOptions &opts_;
  FunctionIndex functions_;
  DwarfStructSizes dwarf_;
  std::vector<Section *> special_; // every special section, including empty ones
  std::vector<Table> tables_;
  std::map<Section *, std::vector<Piece>> pieces_; // .altinstr_replacement and code islands
  std::map<Place, Symbol *> code_refs_;            // what included code refers to, by whom
  std::map<Section *, OffsetMap> maps_;            // every section this pass shrinks
};

void SpecialFilter::find_tables() {
  for (Section &sec : obj_.sections) {
    if (sec.is_rela())
      continue;
    if (!is_special_section(sec))
      continue;
    // Entries and code islands are bytes to cut; a NOBITS one (fuzz-diff) has none to cut.
    if (sec.type() == SHT_NOBITS && sec.size() > 0)
      throw Error(obj_.where(sec) + ": special section of type SHT_NOBITS has no bytes for its " +
                  hex(sec.size()) + " bytes of entries; the object is corrupt: rebuild it");
    special_.push_back(&sec);
    if (const TableSpec *spec = table_spec(sec.name)) {
      if (sec.size() > 0)
        tables_.push_back({&sec, spec, false, {}, {}});
    } else {
      pieces_[&sec];
    }
  }
  // .altinstructions first (whether it keeps anything decides whether .altinstr_replacement
  // can), .orc_unwind last (it counts .orc_unwind_ip's entries).
  auto rank = [](const Table &t) {
    return t.spec->name == kAltInstructions ? 0 : t.spec->layout == Layout::OrcUnwind ? 2 : 1;
  };
  std::stable_sort(tables_.begin(), tables_.end(),
                   [&](const Table &a, const Table &b) { return rank(a) < rank(b); });
  const Table *orc_ip = nullptr;
  bool alternatives_kept = false;
  for (Table &t : tables_) {
    std::optional<uint64_t> paired;
    if (t.spec->name == kOrcUnwindIp) {
      if (orc_ip)
        throw Error(obj_.where(*t.sec) + ": more than one " + std::string(kOrcUnwindIp) +
                    " section");
      orc_ip = &t;
    }
    if (t.spec->layout == Layout::OrcUnwind && !orc_ip)
      throw Error(obj_.where(*t.sec) + ": has no " + std::string(kOrcUnwindIp) +
                  " section to pair with");
    t.unneeded = t.spec->layout == Layout::OrcUnwind ? orc_ip->unneeded
                                                     : !may_keep_entries(t, alternatives_kept);
    if (t.spec->name == kAltInstructions)
      alternatives_kept = !t.unneeded;
    if (t.unneeded) {
      log(obj_.where(*t.sec) + ": no entry can belong to included code; dropped whole");
      continue;
    }
    if (t.spec->layout == Layout::OrcUnwind)
      paired = orc_ip->entries.size();
    t.size = entry_size(
        obj_, *t.sec, t.spec->size, [this](const char *n) { return env(n); }, dwarf_, paired,
        opts_.warn);
    log(obj_.where(*t.sec) + ": entry size " + std::to_string(t.size.size) + " (" +
        size_method_name(t.size.method) + ")");
    uint64_t need = std::max(t.spec->anchor, t.spec->key_offset) + 4;
    if (t.spec->layout == Layout::Table && t.size.size < need)
      throw Error(obj_.where(*t.sec) + ": entry size " + std::to_string(t.size.size) +
                  " is too small for its fields" +
                  (t.spec->size.env_var ? std::string("; check ") + t.spec->size.env_var : ""));
    // Entries are allocated per sh_size: a table must hold its bytes, not claim them.
    if (t.sec->type() == SHT_NOBITS)
      throw Error(obj_.where(*t.sec) + ": special section of type SHT_NOBITS (size " +
                  hex(t.sec->size()) + "); its entries must be in the file");
    split_entries(t);
    if (t.spec->layout == Layout::OrcUnwind && t.entries.size() != orc_ip->entries.size())
      throw Error(obj_.where(*t.sec) + ": holds " + std::to_string(t.entries.size()) +
                  " entries but " + std::string(kOrcUnwindIp) + " holds " +
                  std::to_string(orc_ip->entries.size()));
  }
  bool has_orc = std::any_of(tables_.begin(), tables_.end(),
                             [](const Table &t) { return t.spec->layout == Layout::OrcUnwind; });
  if (orc_ip && !has_orc)
    throw Error(obj_.where(*orc_ip->sec) + ": has no " + std::string(kOrcUnwind) +
                " section to pair with");
}

// Whether some entry of `t` may be kept, decided before its entry size is known: some
// relocation of the table reaches code of an included function (or included code outside any
// function), or a sliced section that kept code may reach (.altinstr_replacement when
// .altinstructions keeps entries; a code island that included code refers to). A table no
// included code needs is dropped whole, so a *_STRUCT_SIZE meant for another kernel (kpatch's
// recipes set every variable for every object) cannot fail a patch that does not carry it.
bool SpecialFilter::may_keep_entries(const Table &t, bool alternatives_kept) const {
  if (drops_every_entry(*t.spec))
    return false;
  if (t.spec->layout == Layout::PrintkIndex)
    return true; // its owners are found through the code's format strings, later
  for (const Relocation &r : t.sec->relocations()) {
    std::optional<Place> to = reloc_place(*t.sec, r);
    if (!to || !to->sec->is_text())
      continue;
    if (to->sec->name == kAltReplacement) {
      if (alternatives_kept && t.spec->name != kAltInstructions)
        return true;
    } else if (is_code_island(to->sec->name)) {
      if (island_referenced_by_included_code(*to->sec))
        return true;
    } else if (owner_of(*to).kept) {
      return true;
    }
  }
  return false;
}

bool SpecialFilter::island_referenced_by_included_code(const Section &island) const {
  for (Section &sec : obj_.sections) {
    if (!sec.is_text() || sec.is_rela() || is_special_section(sec))
      continue;
    for (const Relocation &r : sec.relocations()) {
      std::optional<Place> to = reloc_place(sec, r);
      if (to && to->sec == &island && owner_of({&sec, r.offset}).kept)
        return true;
    }
  }
  return false;
}

// The last entry may be short (entry_size.h): it ends with the section.
void SpecialFilter::split_entries(Table &t) {
  uint64_t n = (t.sec->size() + t.size.size - 1) / t.size.size;
  t.entries.resize(n);
  for (uint64_t i = 0; i < n; i++)
    t.entries[i].offset = i * t.size.size;
  const std::vector<Relocation> &relocs = t.sec->relocations();
  for (size_t i = 0; i < relocs.size(); i++) {
    const Relocation &r = relocs[i];
    uint64_t idx = r.offset / t.size.size;
    auto at = [&] { return obj_.where(*t.sec, r.offset); }; // built only for an error
    unsigned width = reloc_supported(r.type) ? reloc_width(r.type) : reloc_width(r.type, at());
    if (idx >= n || r.offset % t.size.size + width > t.size.size)
      throw Error(at() + ": relocation straddles two entries; the entry size " +
                  std::to_string(t.size.size) + " (" + size_method_name(t.size.method) +
                  ") is wrong");
    t.entries[idx].relocs.push_back(i);
  }
}

const Relocation *SpecialFilter::reloc_at(const Table &t, const Entry &e, uint64_t field) const {
  for (size_t i : e.relocs) {
    const Relocation &r = t.sec->relocations()[i];
    if (r.offset == e.offset + field)
      return &r;
  }
  return nullptr;
}

// Code at `p` belongs to the patch when its function is included; code in a sliced section when
// its piece is kept; code outside any function symbol when its section is included.
Owner SpecialFilter::owner_of(const Place &p) const {
  auto it = pieces_.find(p.sec);
  if (it != pieces_.end()) {
    for (const Piece &piece : it->second)
      if (piece.kept && piece.contains(p.off))
        return {true, piece.owner};
    return {};
  }
  if (!p.sec->is_text())
    return {};
  if (Symbol *f = functions_.at(p.sec, p.off))
    return {f->included, f};
  return {p.sec->included, nullptr};
}

Owner SpecialFilter::anchor_owner(const Table &t, const Entry &e) const {
  const Relocation *r = reloc_at(t, e, t.spec->anchor);
  if (!r)
    throw Error(obj_.where(*t.sec, e.offset) + ": entry has no relocation at its anchor field (+" +
                std::to_string(t.spec->anchor) + ")");
  std::optional<Place> p = reloc_place(*t.sec, *r);
  return p ? owner_of(*p) : Owner{};
}

// .altinstructions first: the replacements its kept entries keep are code that other tables
// (and code islands) may point into.
void SpecialFilter::decide_alternatives(Table &t) {
  std::optional<uint64_t> len_at = alt_replacementlen_offset(t.size.size);
  if (!len_at)
    throw Error(obj_.where(*t.sec) + ": unknown alt_instr layout of " +
                std::to_string(t.size.size) + " bytes; check ALT_STRUCT_SIZE");
  for (Entry &e : t.entries) {
    Owner o = anchor_owner(t, e);
    e.kept = o.kept;
    e.owner = o.func;
    if (!e.kept)
      continue;
    const Relocation *repl = reloc_at(t, e, 4);
    if (!repl)
      throw Error(obj_.where(*t.sec, e.offset + 4) + ": alternative has no replacement relocation");
    std::optional<Place> p = reloc_place(*t.sec, *repl);
    if (!p || p->sec->name != kAltReplacement)
      continue; // not sliceable: the closure copes with whatever it is
    uint64_t len = read_le<uint8_t>(t.sec->bytes(), e.offset + *len_at, obj_.where(*t.sec));
    if (p->off + len > p->sec->size())
      throw Error(obj_.where(*t.sec, e.offset) + ": replacement " + hex(p->off) + "+" +
                  std::to_string(len) + " is past the end of " + std::string(kAltReplacement));
    pieces_[p->sec].push_back({p->off, p->off + len, e.owner, true});
  }
}

// Every place included code refers to, with the function that refers to it. Included code is
// the text of included functions plus the kept replacements.
void SpecialFilter::collect_code_refs() {
  for (Section &sec : obj_.sections) {
    if (!sec.is_text() || sec.is_rela() || is_code_island(sec.name))
      continue;
    for (const Relocation &r : sec.relocations()) {
      Owner from = owner_of({&sec, r.offset});
      if (!from.kept)
        continue;
      std::optional<Place> to = reloc_place(sec, r);
      if (!to)
        continue;
      code_refs_.emplace(*to, from.func);
      if (to->sec->name == kAltReplacement && !owner_of(*to).kept)
        throw Error(obj_.where(sec, r.offset) + ": included code refers to " +
                    obj_.where(*to->sec, to->off) + ", which no kept alternative covers");
    }
  }
}

// Cuts each code island at every offset anything refers to, glues pieces that cannot be
// separated, and keeps the pieces included code refers to.
void SpecialFilter::cut_islands() {
  std::map<Section *, std::set<uint64_t>> cuts;
  for (Section &rela : obj_.sections) {
    if (!rela.is_rela() || !rela.base)
      continue;
    for (const Relocation &r : rela.relocs) {
      std::optional<Place> to = reloc_place(*rela.base, r);
      if (to && is_code_island(to->sec->name) && to->off < to->sec->size())
        cuts[to->sec].insert(to->off);
    }
  }
  for (auto &[sec, pieces] : pieces_) {
    if (!is_code_island(sec->name) || sec->size() == 0)
      continue;
    std::set<uint64_t> &at = cuts[sec];
    at.insert(0);
    for (auto it = at.begin(); it != at.end(); ++it) {
      auto next = std::next(it);
      pieces.push_back({*it, next == at.end() ? sec->size() : *next, nullptr, false});
    }
    merge_dependent_pieces(*sec, pieces);
    for (Piece &piece : pieces) {
      auto it = code_refs_.lower_bound(Place{sec, piece.start});
      if (it != code_refs_.end() && it->first.sec == sec && it->first.off < piece.end) {
        piece.kept = true;
        piece.owner = it->second;
      }
    }
  }
}

// Two pieces of an island must stay together, in order, when the code of one reaches the other
// without a relocation: a piece that falls through into the next (its last instruction is not
// an unconditional jump, return or trap) or a branch the assembler resolved inside the section
// (hand-written fixups in .S files do both).
void SpecialFilter::merge_dependent_pieces(Section &island, std::vector<Piece> &pieces) const {
  std::vector<Insn> insns = Disassembler::shared().decode(island.bytes());
  auto piece_of = [&](uint64_t off) -> size_t {
    for (size_t i = 0; i < pieces.size(); i++)
      if (off >= pieces[i].start && off < pieces[i].end)
        return i;
    return pieces.size();
  };
  auto has_reloc = [&](const Insn &in) {
    for (const Relocation &r : island.relocations())
      if (r.offset >= in.offset && r.offset < in.end())
        return true;
    return false;
  };
  std::vector<bool> glue_next(pieces.size(), false); // piece i and i+1 are one
  for (const Insn &in : insns) {
    size_t p = piece_of(in.offset);
    if (p == pieces.size())
      continue;
    bool ends_piece = in.end() >= pieces[p].end;
    if (in.end() > pieces[p].end)
      glue_next[p] = true; // an instruction straddles the cut
    if (ends_piece && !(in.valid && (in.is_unconditional_branch() || in.is_return || in.is_trap)))
      glue_next[p] = true;
    if (in.branch_target && !has_reloc(in)) {
      size_t q = piece_of(*in.branch_target);
      for (size_t i = std::min(p, q); i < std::max(p, q) && i < pieces.size(); i++)
        glue_next[i] = true;
    }
  }
  std::vector<Piece> merged;
  for (size_t i = 0; i < pieces.size(); i++) {
    if (i > 0 && glue_next[i - 1])
      merged.back().end = pieces[i].end;
    else
      merged.push_back(pieces[i]);
  }
  pieces = std::move(merged);
}

// A .printk_index entry points at a `static const struct pi_entry _entry` whose first field is
// the format string. Nothing in the code refers to the pi_entry (it is only __used), so the
// entry belongs to the included function whose code loads the same format string: the printk
// call next to the __printk_index_emit(). No match (a format only reached through data) drops
// the entry; the index is informational (debugfs printk/index), so that loses nothing the
// patched code needs.
Symbol *SpecialFilter::printk_owner(const Table &t, const Entry &e) const {
  const Relocation *r = reloc_at(t, e, 0);
  std::optional<Place> pi = r ? reloc_place(*t.sec, *r) : std::nullopt;
  if (!pi)
    return nullptr;
  for (const Relocation &f : pi->sec->relocations()) {
    if (f.offset != pi->off)
      continue;
    std::optional<Place> fmt = reloc_place(*pi->sec, f);
    if (!fmt)
      return nullptr;
    auto it = code_refs_.find(*fmt);
    return it == code_refs_.end() ? nullptr : it->second;
  }
  return nullptr;
}

void SpecialFilter::decide_table(Table &t) {
  if (drops_every_entry(*t.spec))
    return;
  switch (t.spec->layout) {
  case Layout::Table:
    for (Entry &e : t.entries) {
      Owner o = anchor_owner(t, e);
      e.kept = o.kept;
      e.owner = o.func;
    }
    break;
  case Layout::PrintkIndex:
    for (Entry &e : t.entries) {
      e.owner = printk_owner(t, e);
      e.kept = e.owner != nullptr;
    }
    break;
  case Layout::OrcUnwind: {
    auto ip = std::find_if(tables_.begin(), tables_.end(),
                           [](const Table &x) { return x.spec->name == kOrcUnwindIp; });
    for (size_t i = 0; i < t.entries.size(); i++) {
      t.entries[i].kept = ip->entries[i].kept;
      t.entries[i].owner = ip->entries[i].owner;
    }
    break;
  }
  case Layout::DropAll:
    break;
  }
}

// Kept entries keep the island pieces they point at (__ex_table.fixup into .fixup).
void SpecialFilter::keep_island_refs_of(const Table &t) {
  for (const Entry &e : t.entries) {
    if (!e.kept)
      continue;
    for (size_t i : e.relocs) {
      std::optional<Place> to = reloc_place(*t.sec, t.sec->relocations()[i]);
      if (!to || !is_code_island(to->sec->name))
        continue;
      for (Piece &piece : pieces_[to->sec]) {
        if (piece.contains(to->off) && !piece.kept) {
          piece.kept = true;
          piece.owner = e.owner;
        }
      }
    }
  }
}

// A kept jump label or static call must not use a key in a loadable module (see the header).
void SpecialFilter::check_keys(const Table &t) const {
  if (t.spec->key == KeyKind::None || !opts_.key_in_module)
    return;
  for (const Entry &e : t.entries) {
    if (!e.kept)
      continue;
    const Relocation *k = reloc_at(t, e, t.spec->key_offset);
    if (!k)
      throw Error(obj_.where(*t.sec, e.offset + t.spec->key_offset) +
                  ": entry has no relocation for its key");
    if (!opts_.key_in_module(*k->sym))
      continue;
    std::string mod = opts_.key_module_name ? opts_.key_module_name(*k->sym) : std::string();
    mod = mod.empty() ? "a module" : "module '" + mod + "'";
    std::string fn = e.owner ? e.owner->name : std::string("?");
    Decision d = about(t.spec->key == KeyKind::JumpLabel ? DecisionKind::JumpLabelKeyInModule
                                                         : DecisionKind::StaticCallKeyInModule,
                       obj_, *t.sec, e.offset);
    d.symbol = fn;
    d.related = {k->sym->name};
    d.detail = mod;
    throw Unpatchable(std::move(d));
  }
}

void SpecialFilter::rewrite_table(Table &t, SpecialResult &res) {
  Section &sec = *t.sec;
  uint64_t es = t.size.size;
  std::vector<uint8_t> data;
  std::vector<Relocation> relocs;
  OffsetMap map;
  size_t kept = 0;
  for (const Entry &e : t.entries) {
    if (!e.kept) {
      res.dropped++;
      continue;
    }
    uint64_t at = data.size();
    // A short last entry gets the padding the assembler did not emit (entry_size.h).
    data.insert(data.end(), sec.data.begin() + e.offset,
                sec.data.begin() + std::min<uint64_t>(e.offset + es, sec.data.size()));
    data.resize(at + es, 0);
    for (size_t i : e.relocs) {
      Relocation r = sec.relocations()[i];
      r.offset = at + (r.offset - e.offset);
      relocs.push_back(r);
    }
    map.spans.push_back({e.offset, e.offset + es, at});
    res.kept.push_back({sec.name, e.offset, at, es, e.owner});
    kept++;
  }
  log(obj_.where(sec) + ": kept " + std::to_string(kept) + " of " +
      std::to_string(t.entries.size()) + " entries");
  sec.data = std::move(data);
  sec.shdr.sh_size = sec.data.size();
  if (sec.rela)
    sec.rela->relocs = std::move(relocs);
  sec.included = kept > 0;
  maps_[&sec] = std::move(map);
}

void SpecialFilter::slice(Section &sec, std::vector<Piece> &pieces, SpecialResult &res) {
  std::sort(pieces.begin(), pieces.end(),
            [](const Piece &a, const Piece &b) { return a.start < b.start; });
  // Kept ranges, merged where they overlap (or touch, so an end offset maps unambiguously).
  struct Range {
    uint64_t start, end;
  };
  std::vector<Range> ranges;
  bool any = false;
  for (const Piece &p : pieces) {
    if (!p.kept) {
      res.dropped++;
      continue;
    }
    any = true;
    if (!ranges.empty() && p.start <= ranges.back().end)
      ranges.back().end = std::max(ranges.back().end, p.end);
    else
      ranges.push_back({p.start, p.end});
  }
  OffsetMap map;
  std::vector<uint8_t> data;
  for (const Range &r : ranges) {
    map.spans.push_back({r.start, r.end, data.size()});
    data.insert(data.end(), sec.data.begin() + r.start, sec.data.begin() + r.end);
  }
  for (const Piece &p : pieces)
    if (p.kept)
      res.kept.push_back({sec.name, p.start, *map.map(p.start), p.end - p.start, p.owner});
  std::vector<Relocation> relocs;
  for (const Relocation &r : sec.relocations()) {
    bool inside = std::any_of(ranges.begin(), ranges.end(), [&](const Range &x) {
      return r.offset >= x.start && r.offset < x.end;
    });
    if (!inside)
      continue;
    Relocation moved = r;
    moved.offset = *map.map(r.offset);
    relocs.push_back(moved);
  }
  log(obj_.where(sec) + ": kept " + std::to_string(data.size()) + " of " +
      std::to_string(sec.size()) + " bytes");
  sec.data = std::move(data);
  sec.shdr.sh_size = sec.data.size();
  if (sec.rela)
    sec.rela->relocs = std::move(relocs);
  sec.included = any;
  maps_[&sec] = std::move(map);
}

// Relocations anywhere that point into a shrunk section follow their bytes; so do symbols.
void SpecialFilter::remap_references() {
  for (Section &rela : obj_.sections) {
    if (!rela.is_rela() || !rela.base)
      continue;
    for (Relocation &r : rela.relocs) {
      Symbol &s = *r.sym;
      auto m = s.sec ? maps_.find(s.sec) : maps_.end();
      if (m == maps_.end())
        continue;
      std::optional<Place> to = reloc_place(*rela.base, r);
      if (!to)
        continue;
      std::optional<uint64_t> new_off = m->second.map(to->off);
      if (!new_off)
        continue; // from code that is not in the patch
      int64_t sym_move = 0;
      if (!s.is_section())
        sym_move =
            (int64_t)m->second.map(s.value, s.size == 0).value_or(s.value) - (int64_t)s.value;
      r.addend = wrapping_add(r.addend, (int64_t)*new_off - (int64_t)to->off - sym_move);
    }
  }
  for (Symbol &s : obj_.symbols) {
    auto m = s.sec && !s.is_section() ? maps_.find(s.sec) : maps_.end();
    if (m == maps_.end())
      continue;
    if (std::optional<uint64_t> v = m->second.map(s.value, s.size == 0)) {
      s.value = *v;
    } else {
      s.value = 0;
      s.size = 0;
      s.included = false;
    }
  }
}

SpecialResult SpecialFilter::run() {
  SpecialResult res;
  find_tables();
  for (Table &t : tables_)
    if (!t.unneeded)
      res.sizes.push_back({t.sec->name, t.size});
  for (Table &t : tables_)
    if (t.spec->name == kAltInstructions && !t.unneeded)
      decide_alternatives(t);
  collect_code_refs();
  cut_islands();
  for (Table &t : tables_) {
    if (t.spec->name == kAltInstructions || t.spec->layout == Layout::OrcUnwind)
      continue;
    decide_table(t);
  }
  for (Table &t : tables_)
    if (t.spec->layout == Layout::OrcUnwind)
      decide_table(t);
  for (Table &t : tables_) {
    keep_island_refs_of(t);
    check_keys(t);
  }
  // Decisions are final; from here on the object changes.
  for (Section *sec : special_)
    sec->included = false;
  for (Table &t : tables_)
    rewrite_table(t, res);
  for (auto &[sec, pieces] : pieces_)
    slice(*sec, pieces, res);
  remap_references();
  return res;
}

} // namespace

bool is_special_section(const Section &sec) {
  return !sec.is_rela() &&
         (table_spec(sec.name) || sec.name == kAltReplacement || is_code_island(sec.name));
}

SpecialResult include_special_sections(Object &patched, const SpecialSectionOptions &opts) {
  SpecialFilter f(patched, opts);
  return f.run();
}

} // namespace klp
