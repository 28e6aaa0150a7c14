#include "module_compare.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <map>
#include <tuple>

#include "elf_file.h"
#include "input_file.h"
#include "json.h"

namespace klp {

namespace {

constexpr std::string_view kPresent = "present", kAbsent = "absent";

std::string xhex(uint64_t v) {
  char buf[24];
  snprintf(buf, sizeof buf, "0x%" PRIx64, v);
  return buf;
}

std::string signed_hex(int64_t v) {
  return v < 0 ? "-" + xhex(-(uint64_t)v) : "+" + xhex((uint64_t)v);
}

uint64_t fnv1a(Bytes bytes) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (uint8_t b : bytes) {
    h ^= b;
    h *= 0x100000001b3ull;
  }
  return h;
}

const char *reloc_type_name(uint32_t type) {
  switch (type) {
  case R_X86_64_NONE:
    return "R_X86_64_NONE";
  case R_X86_64_64:
    return "R_X86_64_64";
  case R_X86_64_PC32:
    return "R_X86_64_PC32";
  case R_X86_64_PLT32:
    return "R_X86_64_PLT32";
  case R_X86_64_32:
    return "R_X86_64_32";
  case R_X86_64_32S:
    return "R_X86_64_32S";
  case R_X86_64_PC64:
    return "R_X86_64_PC64";
  case R_X86_64_GOTPCREL:
    return "R_X86_64_GOTPCREL";
  case R_X86_64_GOTPCRELX:
    return "R_X86_64_GOTPCRELX";
  case R_X86_64_REX_GOTPCRELX:
    return "R_X86_64_REX_GOTPCRELX";
  }
  return nullptr;
}

std::string reloc_type(uint32_t type) {
  const char *n = reloc_type_name(type);
  return n ? n : "type " + std::to_string(type);
}

// Names made unique by occurrence: the k-th ".group" is ".group[k]" (k > 0).
template <typename T> struct Keyed {
  std::vector<std::string> order;
  std::map<std::string, T> items;
  std::map<std::string, unsigned> seen;
  void add(const std::string &name, T item) {
    unsigned k = seen[name]++;
    std::string key = k ? name + "[" + std::to_string(k) + "]" : name;
    order.push_back(key);
    items.emplace(key, std::move(item));
  }
};

struct SectionInfo {
  size_t index;
  GElf_Shdr shdr;
};

struct SymbolInfo {
  GElf_Sym sym;
  std::string section;
};

using RelocKey = std::tuple<uint64_t, uint32_t, std::string, int64_t>;

std::string section_name(ElfFile &f, size_t index) {
  return index < f.section_count() ? std::string(f.section_name(index))
                                   : "#" + std::to_string(index);
}

// Where a symbol is defined, as text comparable across files.
std::string symbol_section(ElfFile &f, size_t i, const GElf_Sym &sym) {
  size_t shndx = f.symbol_section(i, sym);
  switch (sym.st_shndx) {
  case SHN_UNDEF:
    return "UND";
  case SHN_ABS:
    return "ABS";
  case SHN_COMMON:
    return "COMMON";
  case 0xff20: // SHN_LIVEPATCH
    return "LIVEPATCH";
  }
  return section_name(f, shndx);
}

std::string symbol_name(ElfFile &f, size_t i, const GElf_Sym &sym) {
  if (GELF_ST_TYPE(sym.st_info) == STT_SECTION)
    return symbol_section(f, i, sym);
  return std::string(f.symbol_name(sym));
}

class Comparer {
public:
  Comparer(const std::string &a, const std::string &b) : a_(a), b_(b) { c_ = {a, b, {}}; }

  ModuleComparison run() {
    // "Identical" means the same bytes; the structural comparison then says where files differ.
    std::string x = read_input_file(a_.path()), y = read_input_file(b_.path());
    if (x == y)
      return std::move(c_);
    header();
    sections();
    symbols();
    relocations();
    if (c_.differences.empty())
      unplaced(x, y);
    return std::move(c_);
  }

private:
  void add(std::string kind, std::string name, std::string what, std::string a, std::string b) {
    c_.differences.push_back({std::move(kind), std::move(name), std::move(what), std::move(a),
                              std::move(b), std::nullopt});
  }

  void header() {
    const GElf_Ehdr &x = a_.ehdr(), &y = b_.ehdr();
    auto field = [&](const char *what, uint64_t u, uint64_t v) {
      if (u != v)
        add("header", "ELF header", what, xhex(u), xhex(v));
    };
    field("e_type", x.e_type, y.e_type);
    field("e_machine", x.e_machine, y.e_machine);
    field("e_flags", x.e_flags, y.e_flags);
    field("e_entry", x.e_entry, y.e_entry);
  }

  static Keyed<SectionInfo> sections_of(ElfFile &f) {
    Keyed<SectionInfo> k;
    for (size_t i = 1; i < f.section_count(); i++)
      k.add(std::string(f.section_name(i)), {i, f.shdr(i)});
    return k;
  }

  // The keys of `x` in order, then those only in `y`.
  template <typename T>
  static std::vector<std::string> union_order(const Keyed<T> &x, const Keyed<T> &y) {
    std::vector<std::string> keys = x.order;
    for (const std::string &k : y.order)
      if (!x.items.count(k))
        keys.push_back(k);
    return keys;
  }

  static bool compared_by_contents(uint32_t type) {
    return type != SHT_SYMTAB && type != SHT_STRTAB && type != SHT_RELA && type != SHT_REL &&
           type != SHT_GROUP && type != SHT_SYMTAB_SHNDX && type != SHT_NOBITS;
  }

  void sections() {
    Keyed<SectionInfo> x = sections_of(a_), y = sections_of(b_);
    for (const std::string &key : union_order(x, y)) {
      auto ix = x.items.find(key), iy = y.items.find(key);
      if (ix == x.items.end() || iy == y.items.end()) {
        bool in_a = ix != x.items.end();
        add("section", key, "presence", std::string(in_a ? kPresent : kAbsent),
            std::string(in_a ? kAbsent : kPresent));
        continue;
      }
      const GElf_Shdr &s = ix->second.shdr, &t = iy->second.shdr;
      auto field = [&](const char *what, uint64_t u, uint64_t v) {
        if (u != v)
          add("section", key, what, xhex(u), xhex(v));
      };
      field("type", s.sh_type, t.sh_type);
      field("flags", s.sh_flags, t.sh_flags);
      field("size", s.sh_size, t.sh_size);
      field("alignment", s.sh_addralign, t.sh_addralign);
      field("entry size", s.sh_entsize, t.sh_entsize);
      if (s.sh_type != t.sh_type || !compared_by_contents(s.sh_type))
        continue;
      Bytes u = a_.section_bytes(ix->second.index), v = b_.section_bytes(iy->second.index);
      auto mm = std::mismatch(u.begin(), u.end(), v.begin(), v.end());
      if (mm.first != u.end() || mm.second != v.end()) {
        add("section", key, "content", xhex(fnv1a(u)), xhex(fnv1a(v)));
        c_.differences.back().offset = mm.first - u.begin();
      }
    }
  }

  static Keyed<SymbolInfo> symbols_of(ElfFile &f) {
    Keyed<SymbolInfo> k;
    for (size_t i = 1; i < f.symbol_count(); i++) {
      GElf_Sym sym = f.symbol(i);
      k.add(symbol_name(f, i, sym), {sym, symbol_section(f, i, sym)});
    }
    return k;
  }

  void symbols() {
    Keyed<SymbolInfo> x = symbols_of(a_), y = symbols_of(b_);
    for (const std::string &key : union_order(x, y)) {
      auto ix = x.items.find(key), iy = y.items.find(key);
      if (ix == x.items.end() || iy == y.items.end()) {
        bool in_a = ix != x.items.end();
        add("symbol", key, "presence", std::string(in_a ? kPresent : kAbsent),
            std::string(in_a ? kAbsent : kPresent));
        continue;
      }
      const GElf_Sym &s = ix->second.sym, &t = iy->second.sym;
      auto field = [&](const char *what, uint64_t u, uint64_t v) {
        if (u != v)
          add("symbol", key, what, xhex(u), xhex(v));
      };
      field("type", GELF_ST_TYPE(s.st_info), GELF_ST_TYPE(t.st_info));
      field("binding", GELF_ST_BIND(s.st_info), GELF_ST_BIND(t.st_info));
      field("visibility", GELF_ST_VISIBILITY(s.st_other), GELF_ST_VISIBILITY(t.st_other));
      if (ix->second.section != iy->second.section)
        add("symbol", key, "section", ix->second.section, iy->second.section);
      field("value", s.st_value, t.st_value);
      field("size", s.st_size, t.st_size);
    }
  }

  static Keyed<std::vector<RelocKey>> relocs_of(ElfFile &f) {
    Keyed<std::vector<RelocKey>> k;
    for (size_t i = 1; i < f.section_count(); i++) {
      if (f.shdr(i).sh_type != SHT_RELA)
        continue;
      bool own_symtab = f.shdr(i).sh_link == f.symtab_index();
      std::vector<RelocKey> v;
      for (size_t r = 0; r < f.rela_count(i); r++) {
        GElf_Rela rela = f.rela(i, r);
        size_t symi = GELF_R_SYM(rela.r_info);
        std::string target = "#" + std::to_string(symi);
        if (own_symtab && symi && symi < f.symbol_count())
          target = symbol_name(f, symi, f.symbol(symi));
        v.emplace_back(rela.r_offset, GELF_R_TYPE(rela.r_info), target, rela.r_addend);
      }
      std::sort(v.begin(), v.end());
      k.add(std::string(f.section_name(i)), std::move(v));
    }
    return k;
  }

  static std::string reloc_text(const RelocKey &r) {
    auto &[offset, type, target, addend] = r;
    return "+" + xhex(offset) + " " + reloc_type(type) + " " + target +
           (addend ? signed_hex(addend) : "");
  }

  void relocations() {
    Keyed<std::vector<RelocKey>> x = relocs_of(a_), y = relocs_of(b_);
    for (const std::string &key : x.order) {
      auto iy = y.items.find(key);
      if (iy == y.items.end())
        continue; // reported as a missing section
      const std::vector<RelocKey> &u = x.items.at(key), &v = iy->second;
      std::vector<RelocKey> only_a, only_b;
      std::set_difference(u.begin(), u.end(), v.begin(), v.end(), std::back_inserter(only_a));
      std::set_difference(v.begin(), v.end(), u.begin(), u.end(), std::back_inserter(only_b));
      // In offset order, a's side of a pair first.
      std::vector<std::pair<RelocKey, bool>> all;
      for (const RelocKey &r : only_a)
        all.push_back({r, true});
      for (const RelocKey &r : only_b)
        all.push_back({r, false});
      std::stable_sort(all.begin(), all.end(), [](const auto &p, const auto &q) {
        return std::get<0>(p.first) < std::get<0>(q.first);
      });
      for (const auto &[r, in_a] : all)
        add("relocation", key, "presence", in_a ? reloc_text(r) : "", in_a ? "" : reloc_text(r));
    }
  }

  // The bytes differ but nothing compared above does: say in which part of the file the first
  // difference of each kind of part lies (file header, section header table, a section's
  // bytes, or padding between them).
  void unplaced(const std::string &x, const std::string &y) {
    auto part = [&](uint64_t off) -> std::string {
      const GElf_Ehdr &e = a_.ehdr();
      if (off < sizeof(Elf64_Ehdr))
        return "file header";
      if (off >= e.e_shoff && (off - e.e_shoff) / sizeof(Elf64_Shdr) < a_.section_count())
        return "section header table";
      for (size_t i = 1; i < a_.section_count(); i++) {
        const GElf_Shdr &sh = a_.shdr(i);
        if (sh.sh_type != SHT_NOBITS && off >= sh.sh_offset && off - sh.sh_offset < sh.sh_size)
          return "section " + section_name(a_, i);
      }
      return "padding";
    };
    std::vector<std::string> seen;
    size_t n = std::min(x.size(), y.size());
    for (size_t off = 0; off < n; off++) {
      if (x[off] == y[off])
        continue;
      std::string p = part(off);
      if (std::find(seen.begin(), seen.end(), p) != seen.end())
        continue;
      seen.push_back(p);
      add("bytes", p, "outside the parts compared", xhex(fnv1a(as_bytes(x))),
          xhex(fnv1a(as_bytes(y))));
      c_.differences.back().offset = off;
    }
    if (x.size() != y.size())
      add("bytes", "file", "size", xhex(x.size()), xhex(y.size()));
  }

  static Bytes as_bytes(const std::string &s) {
    return Bytes(reinterpret_cast<const uint8_t *>(s.data()), s.size());
  }

  ElfFile a_, b_;
  ModuleComparison c_;
};

} // namespace

ModuleComparison compare_modules(const std::string &a, const std::string &b) {
  return Comparer(a, b).run();
}

void print_comparison_text(const ModuleComparison &c, std::ostream &out) {
  if (c.identical()) {
    out << c.a_path << " and " << c.b_path << " are identical (byte for byte)\n";
    return;
  }
  out << c.a_path << " and " << c.b_path << " differ (" << c.differences.size()
      << (c.differences.size() == 1 ? " difference" : " differences") << "):\n";
  for (const ModuleDifference &d : c.differences) {
    if (d.kind == "bytes") {
      if (d.offset)
        out << "  bytes differ outside the parts compared: " << d.name << " at " << xhex(*d.offset)
            << "\n";
      else
        out << "  file size " << d.a << " -> " << d.b << "\n";
      continue;
    }
    out << "  " << d.kind << " " << d.name << ": ";
    if (d.what == "presence" && d.kind == "relocation")
      out << "only in " << (d.a.empty() ? c.b_path : c.a_path) << ": " << (d.a.empty() ? d.b : d.a)
          << "\n";
    else if (d.what == "presence")
      out << "only in " << (d.a == kPresent ? c.a_path : c.b_path) << "\n";
    else if (d.offset)
      out << d.what << " differs at +" << xhex(*d.offset) << " (fnv1a64 " << d.a << " -> " << d.b
          << ")\n";
    else
      out << d.what << " " << d.a << " -> " << d.b << "\n";
  }
}

void print_comparison_json(const ModuleComparison &c, std::ostream &out) {
  using Json = nlohmann::ordered_json;
  auto optional = [](const std::string &s) { return s.empty() ? Json(nullptr) : Json(s); };
  Json differences = Json::array();
  for (const ModuleDifference &d : c.differences)
    differences.push_back({{"kind", d.kind},
                           {"name", d.name},
                           {"what", d.what},
                           {"a", optional(d.a)},
                           {"b", optional(d.b)},
                           {"offset", d.offset ? Json(*d.offset) : Json(nullptr)}});
  Json j;
  j["schema_version"] = kJsonSchemaVersion;
  j["tool"] = "klp-diff";
  j["mode"] = "compare";
  j["a"] = c.a_path;
  j["b"] = c.b_path;
  j["identical"] = c.identical();
  j["exit_code"] = c.identical() ? 0 : kExitDifferent;
  j["differences"] = differences;
  write_json(j, out);
}

} // namespace klp
