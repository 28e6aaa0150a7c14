// The symbol table of the running kernel's object (vmlinux or one module), and how a livepatch
// names those symbols.
//
// A livepatch relocation refers to a symbol of the target as `.klp.sym.<objname>.<name>,<sympos>`
// (Documentation/livepatch/module-elf-format.rst). The kernel resolves it with
// klp_find_object_symbol() (kernel/livepatch/core.c): it walks the object's kallsyms entries in
// their iteration order and counts those named <name>; sympos 0 means "the only one", N >= 1 means
// "the Nth one". This class computes that number from one of three sources:
//
//   - an ELF vmlinux or module .ko (its SHT_SYMTAB; STT_FILE symbols give file blocks),
//   - a text dump of `readelf -s --wide FILE` (what kpatch calls PARENT_SYMTAB),
//   - a copy of /proc/kallsyms (no file information; the real iteration order).
//
// Iteration order, as the kernel has it (verified in the 6.1 source):
//   - vmlinux: kallsyms_on_each_symbol() walks the kallsyms table by index, and scripts/kallsyms
//     sorts that table by address (ties: non-weak first, then fewer leading underscores, then `nm
//     -n` order). So for an ELF or readelf vmlinux we sort by address (stable); same-named symbols
//     at distinct addresses end up exactly in the kernel's order.
//   - modules: module_kallsyms_on_each_symbol() walks mod->kallsyms->symtab in ELF order, skipping
//     SHN_UNDEF. That table is the module's *whole* .symtab while the module is COMING (which is
//     when a livepatch loaded before the module resolves its relocations, klp_module_coming()) and
//     the cut-down core table after its init ran (add_kallsyms(): only named symbols in SHF_ALLOC,
//     non-.init sections; with CONFIG_KALLSYMS_ALL=y, else only executable ones). For an ELF module
//     we count positions in the core table and refuse a sympos that differs in the full one.
//   - /proc/kallsyms: file order is the kernel's iteration order for both.
//
// Limitations: a readelf dump shows no section flags or names, so symbols of a module's .init or
// non-SHF_ALLOC sections (or vmlinux's non-SHF_ALLOC ones) cannot be told apart there (only
// SHN_ABS ones are); /proc/kallsyms shows a loaded module's post-init table only, so the
// COMING-time check is done for ELF input alone; kallsyms-derived kinds are approximate
// (t/T/w/W = function, d/D/b/B/r/R/v/V = object).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace klp {

enum class SymbolKind { Function, Object, Other };
enum class SymbolBinding { Local, Global }; // STB_WEAK counts as global, as kallsyms prints it

enum class TargetFormat { Elf, Readelf, Kallsyms };

// name is a view into the table's own storage: valid as long as the TargetSymtab. 48 bytes: a
// vmlinux has tens of thousands.
struct TargetSymbol {
  std::string_view name;
  // Runtime address (kallsyms, ELF vmlinux), or st_value (section-relative in a .ko).
  uint64_t address = 0;
  uint64_t size = 0; // 0 if unknown (kallsyms)
  // 1-based number of the STT_FILE block of a local symbol; 0 if none (TargetSymtab::file_of()
  // names it).
  uint32_t file_block = 0;
  // 0-based position in kallsyms iteration order (the index in symbols(), the whole table).
  uint32_t order = 0;
  uint32_t source_index = 0; // index in the ELF/readelf symbol table, or 1-based kallsyms line
  SymbolKind kind = SymbolKind::Other;
  SymbolBinding binding = SymbolBinding::Global;

  bool is_local() const { return binding == SymbolBinding::Local; }
};

// What the caller knows about the symbol it wants, to pick among same-named ones.
struct SymbolHint {
  std::optional<SymbolBinding> binding; // required match when set (nullopt: any binding)
  std::optional<SymbolKind> kind;       // preferred when set; a mismatch never rules all out
  // Source file of the object being patched, "lib/cmdline.c" or "cmdline.c"; matched against
  // STT_FILE names exactly, else on the basename. Empty if unknown.
  std::string file;
  // Names of other local symbols defined in the same object file.
  std::vector<std::string> neighbours;
};

class TargetSymtab {
public:
  // How far (in kallsyms entries) around a candidate neighbour names are looked for when file
  // blocks do not decide. Each occurrence of a neighbour name within the window votes for the
  // nearest candidate, and the candidate voted for by the most distinct names wins. In the
  // address-sorted vmlinux table an object file's functions form one contiguous run (its data
  // another), and few translation units have more than a few hundred functions: ±256 entries reach
  // most neighbours of the same object from anywhere in its run, while staying short enough that
  // another object's same-named static rarely sees many of them. Counting distinct names keeps a
  // couple of generic names ("probe", "show") in an adjacent file from outweighing specific ones.
  static constexpr size_t kNeighbourWindow = 256;

  // Loads `path` (format autodetected: ELF magic, readelf's "Symbol table" header, else kallsyms)
  // as the table of `objname`: "vmlinux" or a module name (normalised to kallsyms' '_' form).
  TargetSymtab(const std::string &path, std::string_view objname);

  // Like the constructor, but reads `path` only when a symbol is first looked up (or symbols(),
  // size(), format(), has_file_info() or has_addresses() is called): a diff that resolves nothing
  // never reads the table. Whether the file opens is checked now; errors in its contents are
  // thrown by the first lookup.
  static TargetSymtab open_lazily(const std::string &path, std::string_view objname);

  // Names the lookups will be about, with their hints' neighbours, before the table is read: its
  // one pass then keeps only those names' entries (each with its position among all, which is
  // all the sympos rules need of the others), not ~35 k entries for a handful of lookups. A
  // lookup of another name, or symbols() and size(), reads the whole table as usual; the answers
  // are the same either way. No effect once a table has been read, or on a table not read lazily.
  void expect_lookups(const std::vector<std::string> &names);

  // Parses text already in memory (readelf dump or kallsyms, autodetected); `source` names it in
  // diagnostics.
  static TargetSymtab from_text(std::string_view text, std::string source,
                                std::string_view objname);

  TargetSymtab(TargetSymtab &&) noexcept;
  TargetSymtab &operator=(TargetSymtab &&) noexcept;
  ~TargetSymtab();

  // "vmlinux", or the module name as the kernel knows it ('-' replaced by '_').
  const std::string &objname() const { return objname_; }
  bool is_vmlinux() const { return objname_ == "vmlinux"; }
  const std::string &source() const { return source_; }
  TargetFormat format() const;
  // Whether STT_FILE blocks are known (ELF or readelf input with FILE symbols).
  bool has_file_info() const;
  // False when every address is 0 (a /proc/kallsyms read without privileges).
  bool has_addresses() const;

  // The STT_FILE name of the symbol's block; empty if unknown (globals belong to none).
  std::string_view file_of(const TargetSymbol &sym) const;

  // All symbols kallsyms holds for the object, in kallsyms iteration order.
  const std::vector<TargetSymbol> &symbols() const;
  size_t size() const { return symbols().size(); }

  bool contains(std::string_view name) const;
  // Every symbol named `name`, in kallsyms order (their 1-based positions are sympos values).
  std::vector<const TargetSymbol *> find_all(std::string_view name) const;
  // The symbol the kernel resolves for (name, sympos): sympos 0 only if the name is unique.
  const TargetSymbol *find(std::string_view name, unsigned long sympos) const;
  std::optional<uint64_t> address_of(std::string_view name, unsigned long sympos) const;

  // The sympos for `.klp.sym.<objname>.<name>,<sympos>`: 0 if `name` is unique, else the 1-based
  // position of the chosen symbol among the same-named ones. nullopt if no symbol qualifies.
  // Throws Error if several candidates remain equally plausible, or (modules) if the position
  // differs between the COMING-time and the post-init kallsyms of the module.
  std::optional<unsigned long> sympos(std::string_view name, const SymbolHint &hint) const;

  // Like sympos(), but returns the chosen symbol itself.
  const TargetSymbol *resolve(std::string_view name, const SymbolHint &hint) const;

private:
  struct Table;   // the symbols, their name index and the storage of their names
  struct Pending; // a table not read yet: its path, the names expected, their partial table
  struct Loader;
  struct Blank {};
  TargetSymtab(Blank, std::string source, std::string_view objname);
  // The whole table, read first if it is pending.
  const Table &table() const;
  // A table that answers for `name` (and `neighbours`): the whole one if it is read or they
  // are not all expected, else the one of the expected names; read first if needed.
  const Table &table_for(std::string_view name,
                         const std::vector<std::string> *neighbours = nullptr) const;
  // Whichever table is read (the expected names' first), for what both know alike.
  const Table &any_table() const;
  const TargetSymbol *resolve_in(const Table &t, std::string_view name,
                                 const SymbolHint &hint) const;

  std::string source_;
  std::string objname_;
  mutable std::unique_ptr<Table> table_;
  std::unique_ptr<Pending> pending_;
};

// '-' replaced by '_', as KBUILD_MODNAME and thus kallsyms' [module] tags spell module names.
std::string kallsyms_module_name(std::string_view name);

} // namespace klp
