#include "target_symtab.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include "elf_file.h"
#include "error.h"
#include "input_file.h"
#include "unique_fd.h"

namespace klp {

std::string kallsyms_module_name(std::string_view name) {
  std::string out(name);
  std::replace(out.begin(), out.end(), '-', '_');
  return out;
}

namespace {

constexpr uint32_t kNone = UINT32_MAX;

// ' ', '\t' and '\r' separate columns; a table is cheaper than three comparisons a character.
constexpr std::array<bool, 256> kBlanks = [] {
  std::array<bool, 256> t{};
  t[' '] = t['\t'] = t['\r'] = true;
  return t;
}();

bool is_blank(char c) { return kBlanks[(unsigned char)c]; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// The value of a hexadecimal digit (either case); -1 for any other character.
constexpr std::array<int8_t, 256> kDigitValue = [] {
  std::array<int8_t, 256> t{};
  for (int c = 0; c < 256; c++)
    t[c] = -1;
  for (int c = 0; c < 10; c++)
    t['0' + c] = (int8_t)c;
  for (int c = 0; c < 6; c++)
    t['a' + c] = t['A' + c] = (int8_t)(10 + c);
  return t;
}();

std::string_view trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && (is_blank(s[b]) || s[b] == '\n'))
    b++;
  while (e > b && (is_blank(s[e - 1]) || s[e - 1] == '\n'))
    e--;
  return s.substr(b, e - b);
}

std::string_view basename_of(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

// A whole-string decimal number.
bool parse_dec(std::string_view s, uint64_t &out) {
  if (s.empty() || s.size() > 19)
    return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out, 10);
  return ec == std::errc() && end == s.data() + s.size();
}

// A blank-separated token of a line, with its offsets.
struct Token {
  std::string_view text;
  size_t begin = 0;
  size_t end = 0;
};

// The tokens of one line, one at a time.
struct Tokens {
  std::string_view line;
  size_t pos = 0;

  bool next(Token &t) {
    while (pos < line.size() && is_blank(line[pos]))
      pos++;
    if (pos >= line.size())
      return false;
    size_t b = pos;
    while (pos < line.size() && !is_blank(line[pos]))
      pos++;
    t = {line.substr(b, pos - b), b, pos};
    return true;
  }
};

// Copies of the strings a table keeps, in large blocks that never move.
class Arena {
public:
  std::string_view copy(std::string_view s) {
    if (s.size() > left_) {
      size_t n = std::max(s.size(), kBlock);
      blocks_.emplace_back(new char[n]);
      next_ = blocks_.back().get();
      left_ = n;
    }
    if (!s.empty())
      std::memcpy(next_, s.data(), s.size());
    std::string_view out(next_, s.size());
    next_ += s.size();
    left_ -= s.size();
    return out;
  }

private:
  static constexpr size_t kBlock = 64 * 1024;
  std::vector<std::unique_ptr<char[]>> blocks_;
  char *next_ = nullptr;
  size_t left_ = 0;
};

// Calls fn(line, lineno) for each '\n'-terminated line of `text`, and for an unterminated last
// line when `final`; `lineno` counts on across calls. Returns the bytes consumed.
template <typename Fn>
size_t each_line(std::string_view text, bool final, size_t &lineno, Fn &&fn) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) {
      if (!final)
        break;
      nl = text.size();
    }
    fn(text.substr(pos, nl - pos), ++lineno);
    pos = nl + 1;
  }
  return std::min(pos, text.size());
}

// Calls fn(line, lineno) for each line of the file behind `fd`, read in large chunks: the whole
// file is never in memory at once. The views passed are valid during the call only.
template <typename Fn> void for_each_line(int fd, const std::string &path, Fn &&fn) {
  // As large as a small file (plus one byte to see its end), at most 64 KiB; never zeroed.
  struct stat st;
  size_t cap = 64 * 1024;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size < cap)
    cap = std::max<size_t>((size_t)st.st_size + 1, 4096);
  std::unique_ptr<char[]> buf(new char[cap]);
  size_t have = 0, lineno = 0;
  bool eof = false;
  while (!eof) {
    if (have == cap) { // a line longer than the buffer
      std::unique_ptr<char[]> bigger(new char[cap * 2]);
      std::memcpy(bigger.get(), buf.get(), have);
      buf = std::move(bigger);
      cap *= 2;
    }
    ssize_t n = read(fd, buf.get() + have, cap - have);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      throw Error(path + ": read error: " + std::strerror(errno));
    }
    eof = n == 0;
    have += (size_t)n;
    size_t pos = each_line(std::string_view(buf.get(), have), eof, lineno, fn);
    std::memmove(buf.get(), buf.get() + pos, have - pos);
    have -= pos;
  }
}

template <typename Fn> void for_each_line(std::string_view text, Fn &&fn) {
  size_t lineno = 0;
  each_line(text, true, lineno, fn);
}

// Names scripts/mksysmap and scripts/kallsyms leave out of vmlinux's kallsyms (6.1).
bool kallsyms_ignores(std::string_view name) {
  static constexpr std::string_view exact[] = {
      "kallsyms_addresses",   "kallsyms_offsets",     "kallsyms_relative_base",
      "kallsyms_num_syms",    "kallsyms_names",       "kallsyms_markers",
      "kallsyms_token_table", "kallsyms_token_index", "kallsyms_seqs_of_names",
      "_SDA_BASE_",           "_SDA2_BASE_",          "L0",
  };
  static constexpr std::string_view prefixes[] = {
      "$",
      ".L",
      "__crc_",
      "__kstrtab_",
      "__kstrtabns_",
      "__efistub_",
      "__kvm_nvhe_$",
      "__kvm_nvhe_.L",
      "__AArch64ADRPThunk_",
      "__ARMV5PILongThunk_",
      "__ARMV7PILongThunk_",
      "__ThumbV7PILongThunk_",
      "__LA25Thunk_",
      "__microLA25Thunk_",
      "__kcfi_typeid_",
  };
  static constexpr std::string_view suffixes[] = {"_from_arm", "_from_thumb", "_veneer"};
  static constexpr std::string_view infixes[] = {".long_branch.", ".plt_branch."};
  if (name.empty())
    return false;
  // Compared inline, character by character: most names differ from a prefix in its first
  // three, and a library call each costs more than that (the kernel has many "__" names).
  auto starts = [&](std::string_view p) {
    if (name.size() < p.size() || (p.size() > 2 && name[2] != p[2])) // past most "__"
      return false;
    for (size_t i = 0; i < p.size(); i++)
      if (name[i] != p[i])
        return false;
    return true;
  };
  // Every exact name and prefix starts with one of these, every suffix ends with 'm', 'b' or 'r'
  // and every infix holds a '.': most names are decided by two characters.
  if (std::string_view("$._kL").find(name.front()) != std::string_view::npos) {
    for (std::string_view s : exact)
      if (name.size() == s.size() && starts(s))
        return true;
    for (std::string_view p : prefixes)
      if (starts(p))
        return true;
  }
  if (name.back() == 'm' || name.back() == 'b' || name.back() == 'r')
    for (std::string_view s : suffixes)
      if (name.ends_with(s))
        return true;
  if (name.find('.') != std::string_view::npos)
    for (std::string_view s : infixes)
      if (name.find(s) != std::string_view::npos)
        return true;
  return false;
}

// The absolute symbols scripts/kallsyms keeps despite their type.
bool kallsyms_keeps_absolute(std::string_view name) {
  return name == "__kernel_syscall_via_break" || name == "__kernel_syscall_via_epc" ||
         name == "__kernel_sigtramp" || name == "__gp";
}

SymbolKind kind_from_stt(unsigned type) {
  switch (type) {
  case STT_FUNC:
  case STT_GNU_IFUNC:
    return SymbolKind::Function;
  case STT_OBJECT:
  case STT_TLS:
  case STT_COMMON:
    return SymbolKind::Object;
  default:
    return SymbolKind::Other;
  }
}

// Keeps the candidates with the highest positive score; all of them if every score is 0.
std::vector<size_t> keep_best(const std::vector<size_t> &cands, const std::vector<size_t> &scores) {
  size_t best = *std::max_element(scores.begin(), scores.end());
  if (best == 0)
    return cands;
  std::vector<size_t> out;
  for (size_t i = 0; i < cands.size(); i++)
    if (scores[i] == best)
      out.push_back(cands[i]);
  return out;
}
// Hashes std::string and std::string_view alike, so that a set of strings is searched by view.
struct NameHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using NameSet = std::unordered_set<std::string, NameHash, std::equal_to<>>;

// A bit per cheap digest of a name (its length and three of its characters): a set of a few
// thousand names leaves most bits clear, so most names of a 35 k-entry table are found absent
// without hashing them in full.
class NameFilter {
public:
  explicit NameFilter(const NameSet &names) : bits_(kBits / 64) {
    for (const std::string &n : names) {
      size_t d = digest(n);
      bits_[d / 64] |= uint64_t(1) << (d % 64);
    }
  }
  bool may_hold(std::string_view n) const {
    size_t d = digest(n);
    return bits_[d / 64] >> (d % 64) & 1;
  }

private:
  static constexpr size_t kBits = 1 << 16;
  static size_t digest(std::string_view n) {
    if (n.empty())
      return 0;
    size_t h = n.size() * 0x9e37 + (unsigned char)n.front() * 0x2d1 +
               (unsigned char)n.back() * 0x61 + (unsigned char)n[n.size() / 2] * 0xb5;
    return (h ^ (h >> 16)) & (kBits - 1);
  }
  std::vector<uint64_t> bits_;
};

// The kallsyms positions of some entries of a table sorted by address (stably), from the
// addresses of all its entries in symtab order: `some` are among those entries, in symtab order,
// each with its index there in `order`, which becomes its position. A position counts the
// entries at a lower address, and those at the same address earlier in the table; one pass
// over `all` with a binary search among the few distinct addresses of `some` counts both.
void positions_by_address(const std::vector<uint64_t> &all, std::vector<TargetSymbol> &some) {
  std::vector<uint64_t> addrs;
  addrs.reserve(some.size());
  for (const TargetSymbol &s : some)
    addrs.push_back(s.address);
  std::sort(addrs.begin(), addrs.end());
  addrs.erase(std::unique(addrs.begin(), addrs.end()), addrs.end());
  // below[i]: entries whose address lies between addrs[i - 1] (included) and addrs[i]; their
  // running sum, to i included, is the number of entries below addrs[i].
  std::vector<uint32_t> below(addrs.size() + 1, 0), same(addrs.size(), 0), ties(some.size(), 0);
  size_t next = 0;
  for (size_t j = 0; j < all.size(); j++) {
    size_t i = (size_t)(std::upper_bound(addrs.begin(), addrs.end(), all[j]) - addrs.begin());
    below[i]++;
    if (i > 0 && addrs[i - 1] == all[j]) {
      if (next < some.size() && some[next].order == j)
        ties[next++] = same[i - 1];
      same[i - 1]++;
    }
  }
  uint32_t sum = 0;
  for (uint32_t &b : below) {
    sum += b;
    b = sum;
  }
  for (size_t k = 0; k < some.size(); k++) {
    size_t i =
        (size_t)(std::lower_bound(addrs.begin(), addrs.end(), some[k].address) - addrs.begin());
    some[k].order = below[i] + ties[k];
  }
}
} // namespace

// One entry of an ELF or readelf symbol table, before the kallsyms filters. The name is valid
// while the entry is being added only.
struct SymtabEntry {
  enum class Where {
    Undef,      // SHN_UNDEF
    Abs,        // SHN_ABS, or any index >= e_shnum
    Common,     // SHN_COMMON
    Core,       // a section the object keeps mapped (SHF_ALLOC, not .init*)
    ComingOnly, // a module section dropped after init (.init*, non-SHF_ALLOC); vmlinux: not loaded
  };
  std::string_view name;
  uint64_t value = 0;
  uint64_t size = 0;
  unsigned type = STT_NOTYPE;
  unsigned bind = STB_LOCAL;
  Where where = Where::Core;
  uint32_t index = 0;
};

struct TargetSymtab::Table {
  TargetFormat format = TargetFormat::Kallsyms;
  bool has_file_info = false;
  bool has_addresses = false;
  std::vector<TargetSymbol> symbols;       // kallsyms order
  std::vector<std::string_view> files{""}; // STT_FILE names by block number (0: none)
  // Open-addressed hash of names: 1 + the first symbol of that name (in kallsyms order), 0 free.
  std::vector<uint32_t> slots;
  std::vector<uint32_t> next; // the next symbol of the same name, in kallsyms order; kNone
  // Modules only: source_index of named symbols present in the COMING-time kallsyms (whole
  // .symtab) but not in the core one (.init and non-SHF_ALLOC sections, SHN_ABS), by name.
  std::unordered_map<std::string_view, std::vector<uint32_t>> coming_only;
  Arena strings; // every name and file name above
  // Entries kept by the kallsyms rules, all of them, whether `symbols` holds them or not.
  size_t kept = 0;
  // While a table of the expected names only is read (expect_lookups()): those names. Then
  // `symbols` (and `coming_only`) hold their entries alone, each with its kallsyms position.
  const NameSet *only = nullptr;
  std::optional<NameFilter> only_filter; // of `only`, while it is read
  bool wanted(std::string_view name) const {
    return !only || (only_filter->may_hold(name) && only->count(name));
  }
  // Reading such a table of vmlinux in an ELF or readelf: every kept entry's address, in symtab
  // order, to find the positions in address order; freed once they are found.
  std::vector<uint64_t> all_addresses;

  size_t slot_of(std::string_view name) const {
    size_t mask = slots.size() - 1;
    size_t h = std::hash<std::string_view>{}(name)&mask;
    while (slots[h] && symbols[slots[h] - 1].name != name)
      h = (h + 1) & mask;
    return h;
  }
  uint32_t first(std::string_view name) const {
    uint32_t s = slots[slot_of(name)];
    return s ? s - 1 : kNone;
  }

  void finish(const TargetSymtab &owner, bool sort_by_address);
  void finish_expected(bool sort_by_address);
  void index_names(); // slots and next, from symbols in kallsyms order
  std::vector<size_t> narrow_by_files(std::vector<size_t> cands, const SymbolHint &hint) const;
  std::vector<size_t> narrow_by_blocks(std::vector<size_t> cands, std::string_view name,
                                       const SymbolHint &hint) const;
  std::vector<size_t> narrow_by_window(std::vector<size_t> cands, std::string_view name,
                                       const SymbolHint &hint) const;
  [[noreturn]] void throw_ambiguous(const TargetSymtab &owner, std::string_view name,
                                    const std::vector<size_t> &cands) const;
  unsigned long position_of(const TargetSymtab &owner, const TargetSymbol &sym) const;
};

struct TargetSymtab::Pending {
  std::mutex mutex;
  NameSet expected;               // expect_lookups()
  std::unique_ptr<Table> partial; // the expected names' entries, once read
};

struct TargetSymtab::Loader {
  Loader(const TargetSymtab &owner, Table &table) : o(owner), t(table) {}

  const TargetSymtab &o;
  Table &t;
  uint32_t block = 0; // the 1-based number of the current STT_FILE block; 0 before the first

  std::string loc(size_t lineno) const { return o.source_ + ":" + std::to_string(lineno); }

  // Applies the kallsyms filters to one symbol table entry (in symtab order) and records it.
  void add(const SymtabEntry &e) {
    if (e.type == STT_FILE) {
      t.files.push_back(t.strings.copy(e.name));
      block++;
      if (!e.name.empty())
        t.has_file_info = true;
      return;
    }
    if (e.type == STT_SECTION || e.where == SymtabEntry::Where::Undef || e.name.empty())
      return;
    bool kept;
    if (o.is_vmlinux()) {
      kept = e.where == SymtabEntry::Where::Core ||
             (e.where == SymtabEntry::Where::Abs && kallsyms_keeps_absolute(e.name));
      kept = kept && !kallsyms_ignores(e.name);
    } else {
      if (e.where == SymtabEntry::Where::Abs || e.where == SymtabEntry::Where::ComingOnly) {
        if (t.wanted(e.name))
          t.coming_only[t.strings.copy(e.name)].push_back(e.index);
        return;
      }
      kept = e.where == SymtabEntry::Where::Core;
    }
    if (!kept)
      return;
    TargetSymbol *sym = keep(e.name, e.value);
    if (!sym)
      return;
    sym->size = e.size;
    sym->kind = kind_from_stt(e.type);
    sym->binding = e.bind == STB_LOCAL ? SymbolBinding::Local : SymbolBinding::Global;
    if (sym->is_local())
      sym->file_block = block;
    sym->source_index = e.index;
  }

  // Whether the table's positions follow addresses rather than the order read.
  bool sorts_by_address() const { return o.is_vmlinux() && t.format != TargetFormat::Kallsyms; }

  // Counts an entry kallsyms keeps, and records it unless only other names are wanted (nullptr
  // then). Its `order` is its index among the kept entries until finish().
  TargetSymbol *keep(std::string_view name, uint64_t address) {
    size_t index = t.kept++;
    t.has_addresses |= address != 0;
    if (t.only) {
      if (sorts_by_address())
        t.all_addresses.push_back(address);
      if (!t.wanted(name))
        return nullptr;
    }
    TargetSymbol &sym = t.symbols.emplace_back();
    sym.name = t.strings.copy(name);
    sym.address = address;
    sym.order = (uint32_t)index;
    return &sym;
  }

  // Room for `n` entries ahead, in what this table records of each.
  void reserve(size_t n) {
    if (!t.only)
      t.symbols.reserve(n);
    else if (sorts_by_address())
      t.all_addresses.reserve(n);
  }

  void load_elf(const std::string &path) {
    t.format = TargetFormat::Elf;
    ElfFile elf(path);
    if (!elf.symtab_index())
      throw Error(path + ": no symbol table (is it stripped?)");
    size_t shnum = elf.section_count();
    std::vector<SymtabEntry::Where> section_where(shnum, SymtabEntry::Where::ComingOnly);
    for (size_t i = 1; i < shnum; i++) {
      const GElf_Shdr &sh = elf.shdr(i);
      bool alloc = sh.sh_flags & SHF_ALLOC;
      bool init = elf.section_name(i).starts_with(".init");
      if (alloc && (o.is_vmlinux() || !init))
        section_where[i] = SymtabEntry::Where::Core;
    }
    reserve(elf.symbol_count());
    for (size_t i = 0; i < elf.symbol_count(); i++) {
      GElf_Sym sym = elf.symbol(i);
      SymtabEntry e;
      e.name = elf.symbol_name(sym);
      e.value = sym.st_value;
      e.size = sym.st_size;
      e.type = GELF_ST_TYPE(sym.st_info);
      e.bind = GELF_ST_BIND(sym.st_info);
      e.index = (uint32_t)i;
      if (sym.st_shndx == SHN_UNDEF) {
        e.where = SymtabEntry::Where::Undef;
      } else if (sym.st_shndx == SHN_COMMON) {
        e.where = SymtabEntry::Where::Common;
      } else {
        size_t sec = sym.st_shndx == SHN_ABS ? SHN_ABS : elf.symbol_section(i, sym);
        e.where = sec < shnum ? section_where[sec] : SymtabEntry::Where::Abs;
      }
      add(e);
    }
    t.finish(o, o.is_vmlinux());
  }

  // `readelf -s --wide` output. Only the '.symtab' table is read; section flags are not shown, so
  // every symbol with a numeric Ndx counts as Core.
  struct Readelf {
    Loader &l;
    enum { Outside, InSymtab, InOther } state = Outside;
    bool seen_symtab = false;
    uint64_t declared = 0, parsed = 0;
    size_t declared_line = 0;

    void check_count() const {
      if (state == InSymtab && parsed != declared)
        throw Error(l.loc(declared_line) + ": symbol table declares " + std::to_string(declared) +
                    " entries but " + std::to_string(parsed) + " follow (truncated dump?)");
    }

    void line(std::string_view line, size_t lineno) {
      // Nearly every line is an entry, which starts with its number: no header looks like that.
      if (state == InSymtab) {
        size_t i = 0;
        while (i < line.size() && is_blank(line[i]))
          i++;
        if (i < line.size() && is_digit(line[i])) {
          if (!fast_entry(line.substr(i)))
            entry(line, lineno);
          parsed++;
          return;
        }
      }
      std::string_view trimmed = trim(line);
      if (trimmed.starts_with("Symbol table '")) {
        check_count();
        size_t q = trimmed.find('\'', 14);
        std::string_view table = q == std::string_view::npos ? "" : trimmed.substr(14, q - 14);
        if (table != ".symtab") {
          state = InOther;
          return;
        }
        if (seen_symtab)
          throw Error(l.loc(lineno) + ": more than one '.symtab' table (dump of several files?)");
        seen_symtab = true;
        state = InSymtab;
        parsed = 0;
        declared_line = lineno;
        size_t c = trimmed.find(" contains ");
        Tokens toks{c == std::string_view::npos ? "" : trimmed.substr(c + 10)};
        Token count;
        if (!toks.next(count) || !parse_dec(count.text, declared))
          throw Error(l.loc(lineno) + ": malformed symbol table header");
        // What the header declares is checked against what follows: reserve no more than a
        // modest table ahead of it, so a few bytes cannot claim gigabytes.
        l.reserve(std::min<uint64_t>(declared, 1u << 16));
        return;
      }
      if (state != InSymtab || trimmed.empty() || trimmed.starts_with("Num:"))
        return;
      if (trimmed.starts_with("File: ")) {
        check_count();
        state = Outside;
        return;
      }
      if (!fast_entry(line))
        entry(line, lineno);
      parsed++;
    }

    void end() const {
      check_count();
      if (!seen_symtab)
        throw Error(l.o.source_ + ": no '.symtab' table in the readelf dump");
    }

    // The common line, "  123: ffffffff81000000    16 FUNC    LOCAL  DEFAULT    1 name", in one
    // scan without allocating. Returns false, having added nothing, for anything else (a "<...>"
    // type or binding, "[...]" after Vis, an "OS [...]" index, a truncated name, a malformed
    // column): entry() reads those and words the errors.
    bool fast_entry(std::string_view line) {
      // Each column is taken in one scan, without building a token first; anything unusual
      // returns false, and entry() reads the line the general way.
      const char *p = line.data(), *end = p + line.size();
      auto blanks = [&] {
        while (p < end && is_blank(*p))
          p++;
      };
      auto token = [&]() -> std::string_view {
        const char *b = p;
        while (p < end && !is_blank(*p))
          p++;
        return {b, (size_t)(p - b)};
      };
      // Digits of `base` up to a blank, at most `max` of them (which cannot overflow).
      auto number = [&](unsigned base, size_t max, uint64_t &out) {
        const char *b = p;
        uint64_t v = 0;
        for (int d; p < end && (d = kDigitValue[(unsigned char)*p]) >= 0 && (unsigned)d < base; p++)
          v = v * base + (unsigned)d;
        out = v;
        return p != b && (size_t)(p - b) <= max && p < end && is_blank(*p);
      };
      blanks();
      uint64_t index = 0;
      const char *b = p;
      while (p < end && is_digit(*p))
        index = index * 10 + (uint64_t)(*p++ - '0');
      if (p == b || p - b > 9 || p == end || *p++ != ':')
        return false;
      SymtabEntry e;
      e.index = (uint32_t)index;
      blanks();
      if (!number(16, 16, e.value))
        return false;
      blanks();
      if (end - p > 2 && p[0] == '0' && p[1] == 'x') {
        p += 2;
        if (!number(16, 16, e.size))
          return false;
      } else if (!number(10, 19, e.size)) {
        return false;
      }
      blanks();
      std::string_view type = token();
      blanks();
      std::string_view bind = token();
      blanks();
      std::string_view vis = token();
      blanks();
      std::string_view ndx = token();
      if (type.empty() || bind.empty() || vis.empty() || ndx.empty() || type[0] == '<' ||
          bind[0] == '<' || vis[0] == '<' || ndx[0] == '[' || ndx == "OS")
        return false;
      e.type = stt_of(type);
      e.bind = stb_of(bind);
      uint64_t sec = 0;
      if (is_digit(ndx[0]) && parse_dec(ndx, sec))
        e.where = SymtabEntry::Where::Core;
      else if (is(ndx, "UND"))
        e.where = SymtabEntry::Where::Undef;
      else if (is(ndx, "ABS"))
        e.where = SymtabEntry::Where::Abs;
      else if (is(ndx, "COM"))
        e.where = SymtabEntry::Where::Common;
      else
        e.where = SymtabEntry::Where::Abs;
      std::string_view name = trim(std::string_view(p, (size_t)(end - p)));
      if (name.ends_with("[...]"))
        return false;
      e.name = name;
      l.add(e);
      return true;
    }

    // "   Num:    Value          Size Type    Bind   Vis      Ndx Name"
    // Type and Bind may read "<OS specific>: 10"; Vis may be followed by "[<localentry>: 8]" or
    // "[VARIANT_PCS]"; Ndx may read "PRC[0xff00]", "OS [0xff20]" or "RSV[0xffff]".
    void entry(std::string_view line, size_t lineno) {
      Tokens toks{line};
      auto malformed = [&](const char *what) -> Error {
        return Error(l.loc(lineno) + ": malformed line (" + what + ")");
      };
      // One column value, joining "<...>: N" groups that contain blanks.
      auto column = [&]() -> std::string_view {
        Token t;
        if (!toks.next(t))
          throw malformed("too few columns");
        size_t b = t.begin, e = t.end;
        if (t.text.starts_with("<")) {
          while (line.substr(b, e - b).find('>') == std::string_view::npos && toks.next(t))
            e = t.end;
          if (line.substr(b, e - b).ends_with(":") && toks.next(t))
            e = t.end;
        }
        return line.substr(b, e - b);
      };

      SymtabEntry e;
      std::string_view num = column();
      uint64_t index = 0;
      if (!num.ends_with(":") || !parse_dec(num.substr(0, num.size() - 1), index) ||
          index > UINT32_MAX)
        throw malformed("expected 'Num: Value Size Type Bind Vis Ndx Name'");
      e.index = (uint32_t)index;
      if (!parse_hex(column(), e.value))
        throw malformed("bad value");
      std::string_view size = column();
      if (!(size.starts_with("0x") ? parse_hex(size, e.size) : parse_dec(size, e.size)))
        throw malformed("bad size");
      e.type = stt_of(column());
      std::string_view bind = column();
      e.bind = stb_of(bind);
      column(); // Vis

      // "[...]" groups after Vis, then Ndx.
      Token ndx;
      auto next_column = [&] {
        if (!toks.next(ndx))
          throw malformed("missing section index");
      };
      next_column();
      while (ndx.text.starts_with("[")) {
        while (!ndx.text.ends_with("]"))
          if (!toks.next(ndx))
            throw malformed("unterminated '['");
        next_column();
      }
      size_t name_from = ndx.end;
      if (ndx.text == "OS") {
        Tokens peek = toks;
        Token t;
        if (peek.next(t) && t.text.starts_with("[")) {
          name_from = t.end;
          toks = peek;
        }
      }
      uint64_t sec = 0;
      if (ndx.text == "UND")
        e.where = SymtabEntry::Where::Undef;
      else if (ndx.text == "ABS")
        e.where = SymtabEntry::Where::Abs;
      else if (ndx.text == "COM")
        e.where = SymtabEntry::Where::Common;
      else if (parse_dec(ndx.text, sec))
        e.where = SymtabEntry::Where::Core;
      else
        e.where = SymtabEntry::Where::Abs; // PRC[...], OS [...], RSV[...]: not a real section

      std::string_view name = trim(line.substr(std::min(name_from, line.size())));
      if (name.ends_with("[...]"))
        throw Error(l.loc(lineno) + ": symbol name is truncated; dump with 'readelf -s --wide'");
      e.name = name;
      l.add(e);
    }

    static unsigned stt_of(std::string_view type) {
      if (is(type, "FUNC"))
        return STT_FUNC;
      if (is(type, "OBJECT"))
        return STT_OBJECT;
      if (is(type, "SECTION"))
        return STT_SECTION;
      if (is(type, "FILE"))
        return STT_FILE;
      if (is(type, "COMMON"))
        return STT_COMMON;
      if (is(type, "TLS"))
        return STT_TLS;
      if (is(type, "IFUNC") || is(type, "GNU_IFUNC"))
        return STT_GNU_IFUNC;
      return STT_NOTYPE;
    }
    static unsigned stb_of(std::string_view bind) {
      return is(bind, "LOCAL") ? STB_LOCAL : is(bind, "WEAK") ? STB_WEAK : STB_GLOBAL;
    }
    // s == lit, compared with a length the compiler knows (no library call).
    template <size_t N> static bool is(std::string_view s, const char (&lit)[N]) {
      return s.size() == N - 1 && std::memcmp(s.data(), lit, N - 1) == 0;
    }
  };

  // A copy of /proc/kallsyms: "address type name [module]".
  struct Kallsyms {
    Loader &l;

    void line(std::string_view line, size_t lineno) {
      Tokens toks{line};
      Token tok[5];
      size_t n = 0;
      while (n < 5 && toks.next(tok[n]))
        n++;
      if (n == 0)
        return;
      uint64_t addr = 0;
      if (n < 3 || n > 4 || !parse_hex(tok[0].text, addr) || tok[0].text.starts_with("0x") ||
          tok[1].text.size() != 1)
        throw Error(l.loc(lineno) + ": malformed line (expected 'address type name [module]')");
      std::string_view module;
      if (n == 4) {
        std::string_view tag = tok[3].text;
        if (tag.size() < 3 || tag.front() != '[' || tag.back() != ']')
          throw Error(l.loc(lineno) + ": malformed module tag '" + std::string(tag) + "'");
        module = tag.substr(1, tag.size() - 2);
      }
      if (l.o.is_vmlinux() ? !module.empty() : !is_module(module))
        return;
      char type = tok[1].text[0];
      TargetSymbol *kept = l.keep(tok[2].text, addr);
      if (!kept)
        return;
      TargetSymbol &sym = *kept;
      switch (type) {
      case 't':
      case 'T':
      case 'w':
      case 'W':
        sym.kind = SymbolKind::Function;
        break;
      case 'd':
      case 'D':
      case 'b':
      case 'B':
      case 'r':
      case 'R':
      case 'v':
      case 'V':
        sym.kind = SymbolKind::Object;
        break;
      default:
        sym.kind = SymbolKind::Other;
      }
      // Lower case is local, except the weak (w, v) and unique (u) types.
      bool local = type >= 'a' && type <= 'z' && type != 'w' && type != 'v' && type != 'u';
      sym.binding = local ? SymbolBinding::Local : SymbolBinding::Global;
      sym.source_index = (uint32_t)lineno;
    }

    // Whether a [module] tag names the table's module ('-' and '_' alike).
    bool is_module(std::string_view module) const {
      const std::string &want = l.o.objname_;
      if (module.size() != want.size())
        return false;
      for (size_t i = 0; i < module.size(); i++)
        if ((module[i] == '-' ? '_' : module[i]) != want[i])
          return false;
      return true;
    }

    void end() const {}
  };

  // Text input, readelf dump or kallsyms, told apart by its first non-blank line.
  struct Text {
    Loader &l;
    Readelf readelf{l};
    Kallsyms kallsyms{l};
    bool decided = false;

    void line(std::string_view line, size_t lineno) {
      if (!decided) {
        std::string_view trimmed = trim(line);
        if (trimmed.empty())
          return;
        decided = true;
        if (trimmed.starts_with("Symbol table '") || trimmed.starts_with("File: "))
          l.t.format = TargetFormat::Readelf;
      }
      if (l.t.format == TargetFormat::Readelf)
        readelf.line(line, lineno);
      else
        kallsyms.line(line, lineno);
    }
    void end() {
      if (l.t.format == TargetFormat::Readelf) {
        readelf.end();
        l.t.finish(l.o, l.o.is_vmlinux());
      } else {
        l.t.finish(l.o, false);
      }
    }
  };

  void load_text(std::string_view text) {
    Text parser{*this};
    for_each_line(text, [&](std::string_view line, size_t lineno) { parser.line(line, lineno); });
    parser.end();
  }

  void load_file(const std::string &path) {
    UniqueFd owned(open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!owned)
      throw Error(path + ": cannot open: " + std::strerror(errno));
    int fd = owned.get();
    char magic[6] = {};
    ssize_t n = pread(fd, magic, sizeof(magic), 0);
    if (n < 0)
      throw Error(path + ": read error: " + std::strerror(errno));
    std::string_view m(magic, (size_t)n);
    if (m.starts_with("\x7f"
                      "ELF")) {
      load_elf(path);
      return;
    }
    if (m.starts_with("\xfd"
                      "7zXZ") ||
        m.starts_with("\x28\xb5\x2f\xfd") || m.starts_with("\x1f\x8b"))
      throw Error(path + ": compressed file; decompress it first (xz -d, zstd -d or gzip -d)");
    Text parser{*this};
    for_each_line(fd, path,
                  [&](std::string_view line, size_t lineno) { parser.line(line, lineno); });
    parser.end();
  }
};

void TargetSymtab::Table::finish(const TargetSymtab &owner, bool sort_by_address) {
  if (kept == 0)
    throw Error(owner.source_ + ": no symbols of " + owner.objname_ +
                (format == TargetFormat::Kallsyms && !owner.is_vmlinux()
                     ? " (is the module loaded?)"
                     : ""));
  if (kept >= kNone)
    throw Error(owner.source_ + ": too many symbols");
  if (only) {
    finish_expected(sort_by_address);
    return;
  }
  auto by_address = [](const TargetSymbol &a, const TargetSymbol &b) {
    return a.address < b.address;
  };
  if (sort_by_address && !std::is_sorted(symbols.begin(), symbols.end(), by_address)) {
    // A stable LSD radix sort of the positions by address, 11 bits a pass (a small count
    // table); the passes over bits all addresses share (a kernel's top 32) are skipped.
    size_t n = symbols.size();
    std::vector<uint32_t> order(n), tmp(n);
    for (size_t i = 0; i < n; i++)
      order[i] = (uint32_t)i;
    constexpr unsigned kBits = 11;
    std::vector<uint32_t> count(1 << kBits);
    for (unsigned shift = 0; shift < 64; shift += kBits) {
      auto digit = [&](uint32_t i) {
        return (size_t)(symbols[i].address >> shift) & ((1 << kBits) - 1);
      };
      std::fill(count.begin(), count.end(), 0);
      for (uint32_t i : order)
        count[digit(i)]++;
      if (count[digit(order[0])] == n)
        continue; // one digit for all: nothing to reorder
      uint32_t sum = 0;
      for (uint32_t &c : count) {
        uint32_t here = c;
        c = sum;
        sum += here;
      }
      for (uint32_t i : order)
        tmp[count[digit(i)]++] = i;
      order.swap(tmp);
    }
    // Permuted in place, cycle by cycle: a sorted copy would double the table's memory.
    std::vector<bool> placed(n);
    for (size_t i = 0; i < n; i++) {
      if (placed[i])
        continue;
      TargetSymbol first = symbols[i];
      size_t j = i;
      while (true) {
        placed[j] = true;
        size_t from = order[j];
        if (from == i) {
          symbols[j] = first;
          break;
        }
        symbols[j] = symbols[from];
        j = from;
      }
    }
  }
  for (size_t i = 0; i < symbols.size(); i++)
    symbols[i].order = (uint32_t)i;
  index_names();
}

void TargetSymtab::Table::finish_expected(bool sort_by_address) {
  // The entries are in symtab order, `order` their index among all kept ones.
  if (sort_by_address && !std::is_sorted(all_addresses.begin(), all_addresses.end()))
    positions_by_address(all_addresses, symbols);
  std::vector<uint64_t>().swap(all_addresses);
  std::sort(symbols.begin(), symbols.end(),
            [](const TargetSymbol &a, const TargetSymbol &b) { return a.order < b.order; });
  index_names();
}

void TargetSymtab::Table::index_names() {
  size_t n = symbols.size();
  size_t cap = 16;
  while (cap < 2 * n)
    cap <<= 1;
  slots.assign(cap, 0);
  next.assign(n, kNone);
  // Backwards, so that each name's chain runs in kallsyms order.
  for (size_t i = n; i-- > 0;) {
    size_t s = slot_of(symbols[i].name);
    if (slots[s])
      next[i] = slots[s] - 1;
    slots[s] = (uint32_t)i + 1;
  }
}

TargetSymtab::TargetSymtab(Blank, std::string source, std::string_view objname)
    : source_(std::move(source)), objname_(kallsyms_module_name(objname)) {
  if (objname_.empty() || objname_.find_first_of("/. \t") != std::string::npos)
    throw Error(source_ + ": '" + std::string(objname) +
                "' is not an object name (expected 'vmlinux' or a module name)");
}

TargetSymtab::TargetSymtab(const std::string &path, std::string_view objname)
    : TargetSymtab(Blank{}, path, objname) {
  table_ = std::make_unique<Table>();
  Loader(*this, *table_).load_file(path);
}

TargetSymtab TargetSymtab::open_lazily(const std::string &path, std::string_view objname) {
  TargetSymtab t(Blank{}, path, objname);
  if (!UniqueFd(open(path.c_str(), O_RDONLY | O_CLOEXEC)))
    throw Error(path + ": cannot open: " + std::strerror(errno));
  t.pending_ = std::make_unique<Pending>();
  return t;
}

TargetSymtab TargetSymtab::from_text(std::string_view text, std::string source,
                                     std::string_view objname) {
  TargetSymtab t(Blank{}, std::move(source), objname);
  t.table_ = std::make_unique<Table>();
  Loader(t, *t.table_).load_text(text);
  return t;
}

TargetSymtab::TargetSymtab(TargetSymtab &&) noexcept = default;
TargetSymtab &TargetSymtab::operator=(TargetSymtab &&) noexcept = default;
TargetSymtab::~TargetSymtab() = default;

void TargetSymtab::expect_lookups(const std::vector<std::string> &names) {
  if (!pending_)
    return;
  std::lock_guard<std::mutex> lock(pending_->mutex);
  if (table_ || pending_->partial)
    return;
  pending_->expected.insert(names.begin(), names.end());
}

const TargetSymtab::Table &TargetSymtab::table() const {
  if (pending_) {
    std::lock_guard<std::mutex> lock(pending_->mutex);
    if (!table_) {
      auto table = std::make_unique<Table>();
      Loader(*this, *table).load_file(source_);
      table_ = std::move(table);
    }
  }
  return *table_;
}

const TargetSymtab::Table &
TargetSymtab::table_for(std::string_view name, const std::vector<std::string> *neighbours) const {
  if (!pending_ || pending_->expected.empty())
    return table();
  const NameSet &expected = pending_->expected; // not changed once a table is read
  bool covered = expected.count(name) != 0;
  if (covered && neighbours)
    for (const std::string &n : *neighbours)
      if (!expected.count(n)) {
        covered = false;
        break;
      }
  if (covered) {
    std::lock_guard<std::mutex> lock(pending_->mutex);
    if (table_)
      return *table_;
    if (!pending_->partial) {
      auto table = std::make_unique<Table>();
      table->only = &expected;
      table->only_filter.emplace(expected);
      Loader(*this, *table).load_file(source_);
      table->only = nullptr;
      table->only_filter.reset();
      pending_->partial = std::move(table);
    }
    return *pending_->partial;
  }
  return table();
}

const TargetSymtab::Table &TargetSymtab::any_table() const {
  if (pending_ && !pending_->expected.empty()) // the whole table if read, else the expected's
    return table_for(*pending_->expected.begin());
  return table();
}

TargetFormat TargetSymtab::format() const { return any_table().format; }

bool TargetSymtab::has_file_info() const { return any_table().has_file_info; }

bool TargetSymtab::has_addresses() const { return any_table().has_addresses; }

// Block numbers and file names are the same in the whole table and in the expected names' one.
std::string_view TargetSymtab::file_of(const TargetSymbol &sym) const {
  const Table &t = any_table();
  return sym.file_block < t.files.size() ? t.files[sym.file_block] : std::string_view();
}

const std::vector<TargetSymbol> &TargetSymtab::symbols() const { return table().symbols; }

bool TargetSymtab::contains(std::string_view name) const {
  return table_for(name).first(name) != kNone;
}

std::vector<const TargetSymbol *> TargetSymtab::find_all(std::string_view name) const {
  const Table &t = table_for(name);
  std::vector<const TargetSymbol *> out;
  for (uint32_t i = t.first(name); i != kNone; i = t.next[i])
    out.push_back(&t.symbols[i]);
  return out;
}

const TargetSymbol *TargetSymtab::find(std::string_view name, unsigned long sympos) const {
  const Table &t = table_for(name);
  uint32_t i = t.first(name);
  if (i == kNone)
    return nullptr;
  if (sympos == 0)
    return t.next[i] == kNone ? &t.symbols[i] : nullptr;
  for (unsigned long k = 1; k < sympos && i != kNone; k++)
    i = t.next[i];
  return i == kNone ? nullptr : &t.symbols[i];
}

std::optional<uint64_t> TargetSymtab::address_of(std::string_view name,
                                                 unsigned long sympos) const {
  const TargetSymbol *sym = find(name, sympos);
  if (!sym)
    return std::nullopt;
  return sym->address;
}

std::vector<size_t> TargetSymtab::Table::narrow_by_files(std::vector<size_t> cands,
                                                         const SymbolHint &hint) const {
  if (!has_file_info || hint.file.empty())
    return cands;
  std::vector<size_t> exact, base;
  std::string_view want_base = basename_of(hint.file);
  for (size_t c : cands) {
    std::string_view file = files[symbols[c].file_block];
    if (file.empty())
      continue;
    if (file == hint.file)
      exact.push_back(c);
    else if (basename_of(file) == want_base)
      base.push_back(c);
  }
  if (!exact.empty())
    return exact;
  return base.empty() ? cands : base;
}

// Scores each candidate by how many distinct neighbour names are local symbols of its STT_FILE
// block.
std::vector<size_t> TargetSymtab::Table::narrow_by_blocks(std::vector<size_t> cands,
                                                          std::string_view name,
                                                          const SymbolHint &hint) const {
  if (!has_file_info || hint.neighbours.empty())
    return cands;
  std::vector<size_t> scores(cands.size(), 0);
  std::unordered_set<std::string_view> seen;
  for (const std::string &n : hint.neighbours) {
    if (n == name || !seen.insert(n).second)
      continue;
    uint32_t head = first(n);
    if (head == kNone)
      continue;
    for (size_t k = 0; k < cands.size(); k++) {
      uint32_t block = symbols[cands[k]].file_block;
      if (!block)
        continue;
      for (uint32_t i = head; i != kNone; i = next[i])
        if (symbols[i].is_local() && symbols[i].file_block == block) {
          scores[k]++;
          break;
        }
    }
  }
  return keep_best(cands, scores);
}

// Each local occurrence of a neighbour name within kNeighbourWindow entries of a candidate votes
// for the candidate nearest to it (none on a tie); a candidate scores the number of distinct names
// that voted for it.
std::vector<size_t> TargetSymtab::Table::narrow_by_window(std::vector<size_t> cands,
                                                          std::string_view name,
                                                          const SymbolHint &hint) const {
  if (hint.neighbours.empty())
    return cands;
  // Indices and kallsyms positions ascend together (the table of the expected names holds some
  // positions only); distances are in positions.
  std::sort(cands.begin(), cands.end());
  auto pos = [&](size_t i) -> size_t { return symbols[i].order; };
  std::vector<size_t> scores(cands.size(), 0);
  std::unordered_set<std::string_view> seen;
  std::vector<bool> voted(cands.size());
  size_t lo = pos(cands.front()) > kNeighbourWindow ? pos(cands.front()) - kNeighbourWindow : 0;
  size_t hi = pos(cands.back()) + kNeighbourWindow;
  for (const std::string &n : hint.neighbours) {
    if (n == name || !seen.insert(n).second)
      continue;
    std::fill(voted.begin(), voted.end(), false);
    // The chain is in ascending order.
    for (uint32_t i = first(n); i != kNone && pos(i) <= hi; i = next[i]) {
      size_t o = pos(i);
      if (o < lo || !symbols[i].is_local())
        continue;
      // The candidates nearest to o: the last one at or before it and the first one after it.
      auto after = std::upper_bound(cands.begin(), cands.end(), o,
                                    [&](size_t p, size_t c) { return p < pos(c); });
      size_t best = cands.size(), best_dist = kNeighbourWindow + 1;
      bool tie = false;
      for (auto c : {after - cands.begin() - 1, after - cands.begin()}) {
        if (c < 0 || (size_t)c >= cands.size())
          continue;
        size_t dist = o > pos(cands[c]) ? o - pos(cands[c]) : pos(cands[c]) - o;
        if (dist < best_dist) {
          best = (size_t)c;
          best_dist = dist;
          tie = false;
        } else if (dist == best_dist) {
          tie = true;
        }
      }
      if (best < cands.size() && !tie)
        voted[best] = true;
    }
    for (size_t k = 0; k < cands.size(); k++)
      scores[k] += voted[k];
  }
  return keep_best(cands, scores);
}

void TargetSymtab::Table::throw_ambiguous(const TargetSymtab &owner, std::string_view name,
                                          const std::vector<size_t> &cands) const {
  std::string list;
  size_t shown = 0;
  for (size_t c : cands) {
    if (shown == 8) {
      list += ", ...";
      break;
    }
    const TargetSymbol &s = symbols[c];
    if (shown++)
      list += ", ";
    list += has_addresses ? hex(s.address) : "?";
    if (format == TargetFormat::Kallsyms)
      list += " (line " + std::to_string(s.source_index) + ")";
    else
      list += " (symbol " + std::to_string(s.source_index) +
              (files[s.file_block].empty() ? "" : ", ") + std::string(files[s.file_block]) + ")";
  }
  std::string remedy =
      has_file_info
          ? "neither the source file name nor the neighbouring symbols tell them apart"
          : "pass the vmlinux or module, or a 'readelf -s --wide' dump of it, whose file symbols "
            "tell them apart";
  throw Error(owner.source_ + ": symbol '" + std::string(name) + "' of " + owner.objname_ +
              " is ambiguous: " + std::to_string(cands.size()) + " candidates at " + list + "; " +
              remedy);
}

unsigned long TargetSymtab::Table::position_of(const TargetSymtab &owner,
                                               const TargetSymbol &sym) const {
  unsigned long pos = 0, count = 0;
  for (uint32_t i = first(sym.name); i != kNone; i = next[i]) {
    count++;
    if (symbols[i].order == sym.order)
      pos = count;
  }
  auto co = coming_only.find(sym.name);
  if (co == coming_only.end())
    return count == 1 ? 0 : pos;
  // While the module is COMING its kallsyms is the whole .symtab, in symtab order.
  unsigned long before = 0;
  for (uint32_t index : co->second)
    before += index < sym.source_index;
  if (before) {
    Decision d;
    d.kind = DecisionKind::SymposUnstable;
    d.object = owner.source_;
    d.symbol = std::string(sym.name);
    d.detail = owner.objname_;
    d.before = std::to_string(pos);
    d.after = std::to_string(pos + before);
    throw Unpatchable(std::move(d));
  }
  return pos; // never 0: the name is not unique while the module loads
}

const TargetSymbol *TargetSymtab::resolve(std::string_view name, const SymbolHint &hint) const {
  return resolve_in(table_for(name, &hint.neighbours), name, hint);
}

const TargetSymbol *TargetSymtab::resolve_in(const Table &t, std::string_view name,
                                             const SymbolHint &hint) const {
  std::vector<size_t> cands;
  for (uint32_t i = t.first(name); i != kNone; i = t.next[i])
    if (!hint.binding || t.symbols[i].binding == *hint.binding)
      cands.push_back(i);
  if (cands.empty())
    return nullptr;
  if (cands.size() > 1 && hint.kind) {
    std::vector<size_t> kinded;
    for (size_t c : cands)
      if (t.symbols[c].kind == *hint.kind || t.symbols[c].kind == SymbolKind::Other)
        kinded.push_back(c);
    if (!kinded.empty())
      cands = std::move(kinded);
  }
  if (cands.size() > 1)
    cands = t.narrow_by_files(std::move(cands), hint);
  if (cands.size() > 1)
    cands = t.narrow_by_blocks(std::move(cands), name, hint);
  if (cands.size() > 1)
    cands = t.narrow_by_window(std::move(cands), name, hint);
  if (cands.size() > 1)
    t.throw_ambiguous(*this, name, cands);
  return &t.symbols[cands.front()];
}

std::optional<unsigned long> TargetSymtab::sympos(std::string_view name,
                                                  const SymbolHint &hint) const {
  const Table &t = table_for(name, &hint.neighbours);
  const TargetSymbol *sym = resolve_in(t, name, hint);
  if (!sym)
    return std::nullopt;
  return t.position_of(*this, *sym);
}

} // namespace klp
