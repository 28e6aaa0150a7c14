#include "object.h"

namespace klp {

namespace {

const std::vector<Relocation> kNoRelocs;

} // namespace

const std::vector<Relocation> &Section::relocations() const {
  return rela ? rela->relocs : kNoRelocs;
}

std::unique_ptr<Object> Object::empty_like(const Object &like, std::string path) {
  auto obj = std::make_unique<Object>();
  obj->path = std::move(path);
  obj->ehdr = like.ehdr;
  return obj;
}

namespace {

// The section types the reader and the writer treat as the object's own bookkeeping (the writer
// regenerates or drops them): a symbol, a relocation or a group pointing into one is a malformed
// input, reported here against the input rather than later against the output.
const char *metadata_type(uint32_t type) {
  switch (type) {
  case SHT_NULL:
    return "SHT_NULL";
  case SHT_SYMTAB:
    return "SHT_SYMTAB";
  case SHT_STRTAB:
    return "SHT_STRTAB";
  case SHT_SYMTAB_SHNDX:
    return "SHT_SYMTAB_SHNDX";
  }
  return nullptr;
}

// Whether a relocation's addend can be right for a field of `width` bytes. A field of 4 bytes or
// fewer holds S + A (or S + A - P) truncated to 32 bits and checked by the linker, with S and P
// kernel or module addresses: an addend beyond 32 bits cannot link (kernel objects use at most
// sym - __START_KERNEL_map, 0x80000000). fuzz-diff found a call with 0x7ffffffffffffffc, whose
// arithmetic overflowed. 8-byte fields take any addend (relocation arithmetic wraps, object.h).
bool addend_fits(int64_t addend, unsigned width) {
  constexpr int64_t kMax32 = 0xffffffff;
  return width > 4 || (addend <= kMax32 && addend >= -kMax32);
}

} // namespace

// Reads sections, then symbols, then relocations and groups, resolving every index to a pointer
// and checking it on the way.
std::unique_ptr<Object> Object::load(const std::string &path) {
  ElfFile elf(path);
  auto obj = std::make_unique<Object>();
  obj->path = path;
  obj->ehdr = elf.ehdr();
  if (elf.ehdr().e_type != ET_REL)
    throw Error(path + ": not a relocatable object (ELF type " + std::to_string(elf.ehdr().e_type) +
                "); pass the .o file built by kbuild");
  if (elf.ehdr().e_machine != EM_X86_64)
    throw Error(path + ": only x86_64 objects are supported (e_machine " +
                std::to_string(elf.ehdr().e_machine) + ")");

  std::vector<Section *> by_index(elf.section_count(), nullptr);
  for (size_t i = 1; i < elf.section_count(); i++) {
    Section sec;
    sec.name = std::string(elf.section_name(i));
    sec.shdr = elf.shdr(i);
    sec.index = i;
    Bytes bytes = elf.section_bytes(i);
    sec.data.assign(bytes.begin(), bytes.end());
    if (sec.shdr.sh_flags & SHF_COMPRESSED) {
      // The cooked section holds the inflated bytes; it is written back uncompressed.
      sec.shdr.sh_flags &= ~(uint64_t)SHF_COMPRESSED;
      sec.shdr.sh_size = sec.data.size();
    }
    by_index[i] = &obj->add_section(std::move(sec));
  }

  std::vector<Symbol *> sym_by_index(elf.symbol_count(), nullptr);
  for (size_t i = 1; i < elf.symbol_count(); i++) {
    GElf_Sym gs = elf.symbol(i);
    Symbol sym;
    sym.name = std::string(elf.symbol_name(gs));
    sym.type = GELF_ST_TYPE(gs.st_info);
    sym.bind = GELF_ST_BIND(gs.st_info);
    sym.other = gs.st_other;
    sym.value = gs.st_value;
    sym.size = gs.st_size;
    sym.index = i;
    size_t shndx = elf.symbol_section(i, gs);
    bool special = gs.st_shndx == SHN_UNDEF || gs.st_shndx == SHN_ABS ||
                   gs.st_shndx == SHN_COMMON ||
                   (gs.st_shndx >= SHN_LORESERVE && gs.st_shndx != SHN_XINDEX);
    if (special) {
      sym.shndx = gs.st_shndx;
    } else {
      if (shndx >= by_index.size() || !by_index[shndx])
        throw Error(elf.where(elf.symtab_index()) + ": symbol '" + sym.name +
                    "' has invalid section index " + std::to_string(shndx));
      sym.sec = by_index[shndx];
      if (const char *kind = metadata_type(sym.sec->type()))
        throw Error(obj->where(*sym.sec) + ": symbol '" +
                    (sym.type == STT_SECTION ? sym.sec->name : sym.name) +
                    "' is defined in a section of type " + kind + ", which holds no code or data");
      if (sym.type != STT_SECTION && sym.sec->type() != SHT_NOBITS &&
          (sym.value > sym.sec->size() || sym.size > sym.sec->size() - sym.value))
        throw Error(obj->where(*sym.sec) + ": symbol '" + sym.name + "' (" + hex(sym.value) +
                    ", size " + hex(sym.size) + ") extends past the end of the section");
    }
    if (sym.type == STT_SECTION) {
      if (!sym.sec)
        throw Error(elf.where(elf.symtab_index()) + ": section symbol " + std::to_string(i) +
                    " has no section");
      sym.name = sym.sec->name;
    }
    Symbol &added = obj->add_symbol(std::move(sym));
    sym_by_index[i] = &added;
    if (added.is_section() && !added.sec->secsym)
      added.sec->secsym = &added;
  }

  for (Section &sec : obj->sections) {
    if (sec.type() == SHT_REL)
      throw Error(obj->where(sec) + ": SHT_REL relocations are not supported on x86_64");
    if (sec.type() == SHT_RELA) {
      size_t target = sec.shdr.sh_info;
      if (target >= by_index.size() || !by_index[target])
        throw Error(obj->where(sec) + ": sh_info " + std::to_string(target) +
                    " does not name a section");
      if (sec.shdr.sh_link != elf.symtab_index())
        throw Error(obj->where(sec) + ": sh_link does not name the symbol table");
      Section *base = by_index[target];
      if (const char *kind = metadata_type(base->type()))
        throw Error(obj->where(sec) + ": relocates " + base->name + ", a section of type " + kind +
                    ", which holds no code or data");
      if (base->type() == SHT_NOBITS)
        throw Error(obj->where(sec) + ": relocates " + base->name +
                    ", a section of type SHT_NOBITS, which has no bytes to relocate");
      sec.base = base;
      if (!base->rela)
        base->rela = &sec;
      size_t n = elf.rela_count(sec.index);
      sec.relocs.reserve(n);
      for (size_t r = 0; r < n; r++) {
        GElf_Rela gr = elf.rela(sec.index, r);
        size_t symi = GELF_R_SYM(gr.r_info);
        Relocation rel;
        rel.offset = gr.r_offset;
        rel.type = GELF_R_TYPE(gr.r_info);
        rel.addend = gr.r_addend;
        // Built only for an error: objects have tens of thousands of relocations.
        auto at = [&] { return obj->where(*base, rel.offset); };
        if (symi == 0 || symi >= sym_by_index.size())
          throw Error(at() + ": relocation refers to invalid symbol index " + std::to_string(symi));
        rel.sym = sym_by_index[symi];
        unsigned width =
            reloc_supported(rel.type) ? reloc_width(rel.type) : reloc_width(rel.type, at());
        if (base->type() != SHT_NOBITS &&
            (rel.offset > base->size() || base->size() - rel.offset < width))
          throw Error(at() + ": relocation extends past the end of the section");
        if (!addend_fits(rel.addend, width))
          throw Error(at() + ": relocation addend " + hex((uint64_t)rel.addend) +
                      " cannot fit its " + std::to_string(width * 8) +
                      "-bit field; the object is corrupt: rebuild it");
        sec.relocs.push_back(rel);
      }
    } else if (sec.type() == SHT_GROUP) {
      size_t sig = sec.shdr.sh_info;
      if (sig == 0 || sig >= sym_by_index.size())
        throw Error(obj->where(sec) + ": group signature symbol " + std::to_string(sig) +
                    " is out of range");
      sec.group_signature = sym_by_index[sig];
      Bytes words = sec.bytes();
      for (size_t off = 4; off + 4 <= words.size(); off += 4) {
        uint32_t member = read_le<uint32_t>(words, off, obj->where(sec));
        if (member >= by_index.size() || !by_index[member])
          throw Error(obj->where(sec) + ": group member " + std::to_string(member) +
                      " is not a section");
        if (const char *kind = metadata_type(by_index[member]->type()))
          throw Error(obj->where(sec) + ": group member " + by_index[member]->name +
                      " is a section of type " + kind);
        sec.group_members.push_back(by_index[member]);
        by_index[member]->group = &sec;
      }
    }
  }
  return obj;
}

Section &Object::add_section(Section s) {
  Section &added = sections.emplace_back(std::move(s));
  section_by_name_.emplace(added.name, &added);
  return added;
}

Symbol &Object::add_symbol(Symbol s) {
  Symbol &added = symbols.emplace_back(std::move(s));
  symbols_by_name_[added.name].push_back(&added);
  return added;
}

Symbol &Object::section_symbol(Section &sec) {
  if (sec.secsym)
    return *sec.secsym;
  Symbol sym;
  sym.name = sec.name;
  sym.type = STT_SECTION;
  sym.bind = STB_LOCAL;
  sym.sec = &sec;
  sym.included = sec.included;
  sec.secsym = &add_symbol(std::move(sym));
  return *sec.secsym;
}

void Object::reindex() {
  section_by_name_.clear();
  symbols_by_name_.clear();
  for (Section &s : sections)
    section_by_name_.emplace(s.name, &s);
  for (Symbol &s : symbols)
    symbols_by_name_[s.name].push_back(&s);
}

Section *Object::find_section(std::string_view name) const {
  auto it = section_by_name_.find(name);
  return it == section_by_name_.end() ? nullptr : it->second;
}

const std::vector<Symbol *> &Object::symbols_named(std::string_view name) const {
  static const std::vector<Symbol *> none;
  auto it = symbols_by_name_.find(name);
  return it == symbols_by_name_.end() ? none : it->second;
}

Symbol *Object::find_symbol(std::string_view name) const {
  const auto &v = symbols_named(name);
  return v.empty() ? nullptr : v.front();
}

std::string_view Object::source_file() const {
  for (const Symbol &s : symbols)
    if (s.is_file())
      return s.name;
  return {};
}

std::string Object::where(const Section &sec) const { return path + ":(" + sec.name + ")"; }

std::string Object::where(const Section &sec, uint64_t offset) const {
  return where(sec) + "+" + hex(offset);
}

std::string Object::where(const Symbol &sym) const {
  if (sym.sec && !sym.is_section())
    return where(*sym.sec, sym.value) + " '" + sym.name + "'";
  return path + ": '" + sym.name + "'";
}

} // namespace klp
