#include "target_symtab.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <unordered_set>

#include "elf_file.h"
#include "error.h"

namespace klp {

std::string kallsyms_module_name(std::string_view name) {
  std::string out(name);
  std::replace(out.begin(), out.end(), '-', '_');
  return out;
}

namespace {

std::string_view trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::string_view basename_of(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

bool parse_hex(std::string_view s, uint64_t &out) {
  if (s.starts_with("0x") || s.starts_with("0X")) s.remove_prefix(2);
  if (s.empty() || s.size() > 16) return false;
  uint64_t v = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      d = c - 'A' + 10;
    else
      return false;
    v = v << 4 | (uint64_t)d;
  }
  out = v;
  return true;
}

bool parse_dec(std::string_view s, uint64_t &out) {
  if (s.empty() || s.size() > 19) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (uint64_t)(c - '0');
  }
  out = v;
  return true;
}

// Whitespace-separated tokens of a line, with their offsets.
struct Token {
  std::string_view text;
  size_t begin = 0;
  size_t end = 0;
};

std::vector<Token> tokenize(std::string_view line) {
  std::vector<Token> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) i++;
    if (i >= line.size()) break;
    size_t b = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') i++;
    out.push_back({line.substr(b, i - b), b, i});
  }
  return out;
}

std::string read_whole_file(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open: " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw Error(path + ": read error: " + std::strerror(errno));
  return ss.str();
}

std::string read_prefix(const std::string &path, size_t n) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open: " + std::strerror(errno));
  std::string buf(n, '\0');
  in.read(buf.data(), (std::streamsize)n);
  buf.resize((size_t)in.gcount());
  return buf;
}

bool is_readelf_dump(std::string_view text) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line = trim(text.substr(pos, nl == std::string_view::npos ? nl : nl - pos));
    if (!line.empty()) return line.starts_with("Symbol table '") || line.starts_with("File: ");
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  return false;
}

// Names scripts/mksysmap and scripts/kallsyms leave out of vmlinux's kallsyms (6.1).
bool kallsyms_ignores(std::string_view name) {
  static const char *const exact[] = {
      "kallsyms_addresses",   "kallsyms_offsets",     "kallsyms_relative_base",
      "kallsyms_num_syms",    "kallsyms_names",       "kallsyms_markers",
      "kallsyms_token_table", "kallsyms_token_index", "kallsyms_seqs_of_names",
      "_SDA_BASE_",           "_SDA2_BASE_",          "L0",
  };
  static const char *const prefixes[] = {
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
  static const char *const suffixes[] = {"_from_arm", "_from_thumb", "_veneer"};
  static const char *const infixes[] = {".long_branch.", ".plt_branch."};
  for (const char *s : exact)
    if (name == s) return true;
  for (const char *p : prefixes)
    if (name.starts_with(p)) return true;
  for (const char *s : suffixes)
    if (name.ends_with(s)) return true;
  for (const char *s : infixes)
    if (name.find(s) != std::string_view::npos) return true;
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

} // namespace

// One entry of an ELF or readelf symbol table, before the kallsyms filters.
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
  size_t index = 0;
};

struct TargetSymtab::Loader {
  explicit Loader(TargetSymtab &table) : t(table) {}

  TargetSymtab &t;
  std::string current_file; // name of the current STT_FILE block
  uint32_t block = 0;       // its 1-based number; 0 before the first STT_FILE

  // Applies the kallsyms filters to one symbol table entry (in symtab order) and records it.
  void add(const SymtabEntry &e) {
    if (e.type == STT_FILE) {
      current_file = std::string(e.name);
      block++;
      if (!e.name.empty()) t.has_file_info_ = true;
      return;
    }
    if (e.type == STT_SECTION || e.where == SymtabEntry::Where::Undef || e.name.empty()) return;
    bool kept;
    if (t.is_vmlinux()) {
      kept = e.where == SymtabEntry::Where::Core ||
             (e.where == SymtabEntry::Where::Abs && kallsyms_keeps_absolute(e.name));
      kept = kept && !kallsyms_ignores(e.name);
    } else {
      if (e.where == SymtabEntry::Where::Abs || e.where == SymtabEntry::Where::ComingOnly) {
        t.coming_only_[std::string(e.name)].push_back(e.index);
        return;
      }
      kept = e.where == SymtabEntry::Where::Core;
    }
    if (!kept) return;
    TargetSymbol sym;
    sym.name = std::string(e.name);
    sym.address = e.value;
    sym.size = e.size;
    sym.kind = kind_from_stt(e.type);
    sym.binding = e.bind == STB_LOCAL ? SymbolBinding::Local : SymbolBinding::Global;
    if (sym.is_local() && block) {
      sym.file = current_file;
      sym.file_block = block;
    }
    sym.source_index = e.index;
    t.symbols_.push_back(std::move(sym));
  }

  void load_elf(const std::string &path) {
    t.format_ = TargetFormat::Elf;
    ElfFile elf(path);
    if (!elf.symtab_index()) throw Error(path + ": no symbol table (is it stripped?)");
    size_t shnum = elf.section_count();
    std::vector<SymtabEntry::Where> section_where(shnum, SymtabEntry::Where::ComingOnly);
    for (size_t i = 1; i < shnum; i++) {
      const GElf_Shdr &sh = elf.shdr(i);
      bool alloc = sh.sh_flags & SHF_ALLOC;
      bool init = elf.section_name(i).starts_with(".init");
      if (alloc && (t.is_vmlinux() || !init)) section_where[i] = SymtabEntry::Where::Core;
    }
    for (size_t i = 0; i < elf.symbol_count(); i++) {
      GElf_Sym sym = elf.symbol(i);
      SymtabEntry e;
      e.name = elf.symbol_name(sym);
      e.value = sym.st_value;
      e.size = sym.st_size;
      e.type = GELF_ST_TYPE(sym.st_info);
      e.bind = GELF_ST_BIND(sym.st_info);
      e.index = i;
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
    t.finish(t.is_vmlinux());
  }

  // `readelf -s --wide` output. Only the '.symtab' table is read; section flags are not shown, so
  // every symbol with a numeric Ndx counts as Core.
  void load_readelf(std::string_view text) {
    t.format_ = TargetFormat::Readelf;
    enum { Outside, InSymtab, InOther } state = Outside;
    bool seen_symtab = false;
    uint64_t declared = 0, parsed = 0;
    size_t declared_line = 0;
    auto check_count = [&] {
      if (state == InSymtab && parsed != declared)
        throw Error(t.source_ + ":" + std::to_string(declared_line) + ": symbol table declares " +
                    std::to_string(declared) + " entries but " + std::to_string(parsed) +
                    " follow (truncated dump?)");
    };
    size_t lineno = 0, pos = 0;
    while (pos < text.size()) {
      size_t nl = text.find('\n', pos);
      std::string_view line = text.substr(pos, nl == std::string_view::npos ? nl : nl - pos);
      pos = nl == std::string_view::npos ? text.size() : nl + 1;
      lineno++;
      std::string_view trimmed = trim(line);
      std::string loc = t.source_ + ":" + std::to_string(lineno);
      if (trimmed.starts_with("Symbol table '")) {
        check_count();
        size_t q = trimmed.find('\'', 14);
        std::string_view table = q == std::string_view::npos ? "" : trimmed.substr(14, q - 14);
        if (table != ".symtab") {
          state = InOther;
          continue;
        }
        if (seen_symtab)
          throw Error(loc + ": more than one '.symtab' table (dump of several files?)");
        seen_symtab = true;
        state = InSymtab;
        parsed = 0;
        declared_line = lineno;
        size_t c = trimmed.find(" contains ");
        std::vector<Token> toks =
            tokenize(c == std::string_view::npos ? "" : trimmed.substr(c + 10));
        if (toks.empty() || !parse_dec(toks[0].text, declared))
          throw Error(loc + ": malformed symbol table header");
        continue;
      }
      if (state != InSymtab || trimmed.empty() || trimmed.starts_with("Num:")) continue;
      if (trimmed.starts_with("File: ")) {
        check_count();
        state = Outside;
        continue;
      }
      read_readelf_line(line, loc);
      parsed++;
    }
    check_count();
    if (!seen_symtab) throw Error(t.source_ + ": no '.symtab' table in the readelf dump");
    t.finish(t.is_vmlinux());
  }

  void read_readelf_line(std::string_view line, const std::string &loc) {
    // "   Num:    Value          Size Type    Bind   Vis      Ndx Name"
    // Type and Bind may read "<OS specific>: 10"; Vis may be followed by "[<localentry>: 8]" or
    // "[VARIANT_PCS]"; Ndx may read "PRC[0xff00]", "OS [0xff20]" or "RSV[0xffff]".
    std::vector<Token> toks = tokenize(line);
    size_t i = 0;
    auto malformed = [&](const char *what) -> Error {
      return Error(loc + ": malformed line (" + what + ")");
    };
    // One column value, joining "<...>: N" and "[...]" groups that contain blanks.
    auto column = [&]() -> std::string_view {
      if (i >= toks.size()) throw malformed("too few columns");
      size_t b = toks[i].begin, e = toks[i].end;
      std::string_view first = toks[i].text;
      i++;
      if (first.starts_with("<")) {
        while (line.substr(b, e - b).find('>') == std::string_view::npos && i < toks.size())
          e = toks[i++].end;
        if (line.substr(b, e - b).ends_with(":") && i < toks.size()) e = toks[i++].end;
      }
      return line.substr(b, e - b);
    };
    auto skip_bracket_groups = [&] {
      while (i < toks.size() && toks[i].text.starts_with("[")) {
        while (i < toks.size() && !toks[i].text.ends_with("]")) i++;
        if (i == toks.size()) throw malformed("unterminated '['");
        i++;
      }
    };

    SymtabEntry e;
    std::string_view num = column();
    uint64_t index = 0;
    if (!num.ends_with(":") || !parse_dec(num.substr(0, num.size() - 1), index))
      throw malformed("expected 'Num: Value Size Type Bind Vis Ndx Name'");
    e.index = index;
    if (!parse_hex(column(), e.value)) throw malformed("bad value");
    std::string_view size = column();
    if (!(size.starts_with("0x") ? parse_hex(size, e.size) : parse_dec(size, e.size)))
      throw malformed("bad size");

    std::string_view type = column();
    static const std::unordered_map<std::string_view, unsigned> types = {
        {"NOTYPE", STT_NOTYPE},   {"OBJECT", STT_OBJECT},   {"FUNC", STT_FUNC},
        {"SECTION", STT_SECTION}, {"FILE", STT_FILE},       {"COMMON", STT_COMMON},
        {"TLS", STT_TLS},         {"IFUNC", STT_GNU_IFUNC}, {"GNU_IFUNC", STT_GNU_IFUNC},
    };
    auto ti = types.find(type);
    e.type = ti == types.end() ? STT_NOTYPE : ti->second;

    std::string_view bind = column();
    e.bind = bind == "LOCAL" ? STB_LOCAL : bind == "WEAK" ? STB_WEAK : STB_GLOBAL;
    column(); // Vis
    skip_bracket_groups();

    if (i >= toks.size()) throw malformed("missing section index");
    std::string_view ndx = toks[i].text;
    size_t name_from = toks[i].end;
    i++;
    if (ndx == "OS" && i < toks.size() && toks[i].text.starts_with("[")) {
      name_from = toks[i].end;
      i++;
    }
    uint64_t sec = 0;
    if (ndx == "UND")
      e.where = SymtabEntry::Where::Undef;
    else if (ndx == "ABS")
      e.where = SymtabEntry::Where::Abs;
    else if (ndx == "COM")
      e.where = SymtabEntry::Where::Common;
    else if (parse_dec(ndx, sec))
      e.where = SymtabEntry::Where::Core;
    else
      e.where = SymtabEntry::Where::Abs; // PRC[...], OS [...], RSV[...]: not a real section

    std::string_view name = trim(line.substr(std::min(name_from, line.size())));
    if (name.ends_with("[...]"))
      throw Error(loc + ": symbol name is truncated; dump with 'readelf -s --wide'");
    e.name = name;
    add(e);
  }

  void load_kallsyms(std::string_view text) {
    t.format_ = TargetFormat::Kallsyms;
    size_t lineno = 0, pos = 0;
    while (pos < text.size()) {
      size_t nl = text.find('\n', pos);
      std::string_view line = text.substr(pos, nl == std::string_view::npos ? nl : nl - pos);
      pos = nl == std::string_view::npos ? text.size() : nl + 1;
      lineno++;
      std::vector<Token> toks = tokenize(line);
      if (toks.empty()) continue;
      // Built only for an error: a kallsyms copy has ~100k lines.
      auto loc = [&] { return t.source_ + ":" + std::to_string(lineno); };
      uint64_t addr = 0;
      if (toks.size() < 3 || toks.size() > 4 || !parse_hex(toks[0].text, addr) ||
          toks[0].text.starts_with("0x") || toks[1].text.size() != 1)
        throw Error(loc() + ": malformed line (expected 'address type name [module]')");
      std::string_view module;
      if (toks.size() == 4) {
        std::string_view tag = toks[3].text;
        if (tag.size() < 3 || tag.front() != '[' || tag.back() != ']')
          throw Error(loc() + ": malformed module tag '" + std::string(tag) + "'");
        module = tag.substr(1, tag.size() - 2);
      }
      if (t.is_vmlinux() ? !module.empty() : kallsyms_module_name(module) != t.objname_) continue;
      char type = toks[1].text[0];
      TargetSymbol sym;
      sym.name = std::string(toks[2].text);
      sym.address = addr;
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
      sym.source_index = lineno;
      t.symbols_.push_back(std::move(sym));
    }
    t.finish(false);
  }
};

TargetSymtab::TargetSymtab(Blank, std::string source, std::string_view objname)
    : source_(std::move(source)), objname_(kallsyms_module_name(objname)) {
  if (objname_.empty() || objname_.find_first_of("/. \t") != std::string::npos)
    throw Error(source_ + ": '" + std::string(objname) +
                "' is not an object name (expected 'vmlinux' or a module name)");
}

TargetSymtab::TargetSymtab(const std::string &path, std::string_view objname)
    : TargetSymtab(Blank{}, path, objname) {
  Loader loader(*this);
  std::string magic = read_prefix(path, 6);
  if (magic.starts_with("\x7f"
                        "ELF")) {
    loader.load_elf(path);
    return;
  }
  if (magic.starts_with("\xfd"
                        "7zXZ") ||
      magic.starts_with("\x28\xb5\x2f\xfd") || magic.starts_with("\x1f\x8b"))
    throw Error(path + ": compressed file; decompress it first (xz -d, zstd -d or gzip -d)");
  std::string text = read_whole_file(path);
  if (is_readelf_dump(text))
    loader.load_readelf(text);
  else
    loader.load_kallsyms(text);
}

TargetSymtab TargetSymtab::from_text(std::string_view text, std::string source,
                                     std::string_view objname) {
  TargetSymtab t(Blank{}, std::move(source), objname);
  Loader loader(t);
  if (is_readelf_dump(text))
    loader.load_readelf(text);
  else
    loader.load_kallsyms(text);
  return t;
}

void TargetSymtab::finish(bool sort_by_address) {
  if (symbols_.empty())
    throw Error(
        source_ + ": no symbols of " + objname_ +
        (format_ == TargetFormat::Kallsyms && !is_vmlinux() ? " (is the module loaded?)" : ""));
  if (sort_by_address)
    std::stable_sort(
        symbols_.begin(), symbols_.end(),
        [](const TargetSymbol &a, const TargetSymbol &b) { return a.address < b.address; });
  has_addresses_ = false;
  by_name_.reserve(symbols_.size());
  for (size_t i = 0; i < symbols_.size(); i++) {
    symbols_[i].order = i;
    has_addresses_ |= symbols_[i].address != 0;
    by_name_[symbols_[i].name].push_back(i);
  }
}

const std::vector<size_t> *TargetSymtab::indices(std::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &it->second;
}

bool TargetSymtab::contains(std::string_view name) const {
  return indices(name) != nullptr;
}

std::vector<const TargetSymbol *> TargetSymtab::find_all(std::string_view name) const {
  std::vector<const TargetSymbol *> out;
  if (const std::vector<size_t> *idx = indices(name))
    for (size_t i : *idx) out.push_back(&symbols_[i]);
  return out;
}

const TargetSymbol *TargetSymtab::find(std::string_view name, unsigned long sympos) const {
  const std::vector<size_t> *idx = indices(name);
  if (!idx) return nullptr;
  if (sympos == 0) return idx->size() == 1 ? &symbols_[idx->front()] : nullptr;
  return sympos <= idx->size() ? &symbols_[(*idx)[sympos - 1]] : nullptr;
}

std::optional<uint64_t> TargetSymtab::address_of(std::string_view name,
                                                 unsigned long sympos) const {
  const TargetSymbol *sym = find(name, sympos);
  if (!sym) return std::nullopt;
  return sym->address;
}

namespace {

// Keeps the candidates with the highest positive score; all of them if every score is 0.
std::vector<size_t> keep_best(const std::vector<size_t> &cands, const std::vector<size_t> &scores) {
  size_t best = *std::max_element(scores.begin(), scores.end());
  if (best == 0) return cands;
  std::vector<size_t> out;
  for (size_t i = 0; i < cands.size(); i++)
    if (scores[i] == best) out.push_back(cands[i]);
  return out;
}

} // namespace

std::vector<size_t> TargetSymtab::narrow_by_files(std::vector<size_t> cands,
                                                  const SymbolHint &hint) const {
  if (!has_file_info_ || hint.file.empty()) return cands;
  std::vector<size_t> exact, base;
  std::string_view want_base = basename_of(hint.file);
  for (size_t c : cands) {
    const std::string &file = symbols_[c].file;
    if (file.empty()) continue;
    if (file == hint.file)
      exact.push_back(c);
    else if (basename_of(file) == want_base)
      base.push_back(c);
  }
  if (!exact.empty()) return exact;
  return base.empty() ? cands : base;
}

// Scores each candidate by how many distinct neighbour names are local symbols of its STT_FILE
// block.
std::vector<size_t> TargetSymtab::narrow_by_blocks(std::vector<size_t> cands, std::string_view name,
                                                   const SymbolHint &hint) const {
  if (!has_file_info_ || hint.neighbours.empty()) return cands;
  std::vector<size_t> scores(cands.size(), 0);
  std::unordered_set<std::string_view> seen;
  for (const std::string &n : hint.neighbours) {
    if (n == name || !seen.insert(n).second) continue;
    const std::vector<size_t> *idx = indices(n);
    if (!idx) continue;
    for (size_t k = 0; k < cands.size(); k++) {
      uint32_t block = symbols_[cands[k]].file_block;
      if (!block) continue;
      for (size_t i : *idx)
        if (symbols_[i].is_local() && symbols_[i].file_block == block) {
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
std::vector<size_t> TargetSymtab::narrow_by_window(std::vector<size_t> cands, std::string_view name,
                                                   const SymbolHint &hint) const {
  if (hint.neighbours.empty()) return cands;
  std::sort(cands.begin(), cands.end()); // indices are kallsyms positions
  std::vector<size_t> scores(cands.size(), 0);
  std::unordered_set<std::string_view> seen;
  std::vector<bool> voted(cands.size());
  for (const std::string &n : hint.neighbours) {
    if (n == name || !seen.insert(n).second) continue;
    const std::vector<size_t> *idx = indices(n); // sorted
    if (!idx) continue;
    std::fill(voted.begin(), voted.end(), false);
    size_t lo = cands.front() > kNeighbourWindow ? cands.front() - kNeighbourWindow : 0;
    for (auto it = std::lower_bound(idx->begin(), idx->end(), lo);
         it != idx->end() && *it <= cands.back() + kNeighbourWindow; ++it) {
      if (!symbols_[*it].is_local()) continue;
      size_t o = *it;
      // The candidates nearest to o: the last one at or before it and the first one after it.
      auto after = std::upper_bound(cands.begin(), cands.end(), o);
      size_t best = cands.size(), best_dist = kNeighbourWindow + 1;
      bool tie = false;
      for (auto c : {after - cands.begin() - 1, after - cands.begin()}) {
        if (c < 0 || (size_t)c >= cands.size()) continue;
        size_t dist = o > cands[c] ? o - cands[c] : cands[c] - o;
        if (dist < best_dist) {
          best = (size_t)c;
          best_dist = dist;
          tie = false;
        } else if (dist == best_dist) {
          tie = true;
        }
      }
      if (best < cands.size() && !tie) voted[best] = true;
    }
    for (size_t k = 0; k < cands.size(); k++) scores[k] += voted[k];
  }
  return keep_best(cands, scores);
}

void TargetSymtab::throw_ambiguous(std::string_view name, const std::vector<size_t> &cands) const {
  std::string list;
  size_t shown = 0;
  for (size_t c : cands) {
    if (shown == 8) {
      list += ", ...";
      break;
    }
    const TargetSymbol &s = symbols_[c];
    if (shown++) list += ", ";
    list += has_addresses_ ? hex(s.address) : "?";
    if (format_ == TargetFormat::Kallsyms)
      list += " (line " + std::to_string(s.source_index) + ")";
    else
      list += " (symbol " + std::to_string(s.source_index) + (s.file.empty() ? "" : ", ") + s.file +
              ")";
  }
  std::string remedy =
      has_file_info_
          ? "neither the source file name nor the neighbouring symbols tell them apart"
          : "pass the vmlinux or module, or a 'readelf -s --wide' dump of it, whose file symbols "
            "tell them apart";
  throw Error(source_ + ": symbol '" + std::string(name) + "' of " + objname_ + " is ambiguous: " +
              std::to_string(cands.size()) + " candidates at " + list + "; " + remedy);
}

unsigned long TargetSymtab::position_of(const TargetSymbol &sym) const {
  const std::vector<size_t> &same = *indices(sym.name);
  unsigned long pos = std::find(same.begin(), same.end(), sym.order) - same.begin() + 1;
  auto co = coming_only_.find(sym.name);
  if (co == coming_only_.end()) return same.size() == 1 ? 0 : pos;
  // While the module is COMING its kallsyms is the whole .symtab, in symtab order.
  unsigned long before = 0;
  for (size_t index : co->second) before += index < sym.source_index;
  if (before) {
    Decision d;
    d.kind = DecisionKind::SymposUnstable;
    d.object = source_;
    d.symbol = sym.name;
    d.detail = objname_;
    d.before = std::to_string(pos);
    d.after = std::to_string(pos + before);
    throw Unpatchable(std::move(d));
  }
  return pos; // never 0: the name is not unique while the module loads
}

const TargetSymbol *TargetSymtab::resolve(std::string_view name, const SymbolHint &hint) const {
  const std::vector<size_t> *all = indices(name);
  if (!all) return nullptr;
  std::vector<size_t> cands;
  for (size_t i : *all)
    if (!hint.binding || symbols_[i].binding == *hint.binding) cands.push_back(i);
  if (cands.empty()) return nullptr;
  if (cands.size() > 1 && hint.kind) {
    std::vector<size_t> kinded;
    for (size_t c : cands)
      if (symbols_[c].kind == *hint.kind || symbols_[c].kind == SymbolKind::Other)
        kinded.push_back(c);
    if (!kinded.empty()) cands = std::move(kinded);
  }
  if (cands.size() > 1) cands = narrow_by_files(std::move(cands), hint);
  if (cands.size() > 1) cands = narrow_by_blocks(std::move(cands), name, hint);
  if (cands.size() > 1) cands = narrow_by_window(std::move(cands), name, hint);
  if (cands.size() > 1) throw_ambiguous(name, cands);
  return &symbols_[cands.front()];
}

std::optional<unsigned long> TargetSymtab::sympos(std::string_view name,
                                                  const SymbolHint &hint) const {
  const TargetSymbol *sym = resolve(name, hint);
  if (!sym) return std::nullopt;
  return position_of(*sym);
}

} // namespace klp
