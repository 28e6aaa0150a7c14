#include "elf_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>
#include <tuple>
#include <unordered_map>

#include "input_file.h"

namespace klp {

namespace {

// Deduplicating string table builder.
class StringTable {
public:
  StringTable() { bytes_.push_back('\0'); }
  uint32_t add(std::string_view s) {
    if (s.empty())
      return 0;
    auto it = offsets_.find(std::string(s));
    if (it != offsets_.end())
      return it->second;
    uint32_t off = bytes_.size();
    bytes_.insert(bytes_.end(), s.begin(), s.end());
    bytes_.push_back('\0');
    offsets_.emplace(std::string(s), off);
    return off;
  }
  std::vector<char> &bytes() { return bytes_; }

private:
  std::vector<char> bytes_;
  std::unordered_map<std::string, uint32_t> offsets_;
};

// A temporary file beside the destination that is removed unless committed. The rename replaces
// whatever `dest` is, so only a regular file or a new path may be the destination: a device
// node, a FIFO or a socket given as the output is refused and left as it is.
class TempFile {
public:
  explicit TempFile(const std::string &dest) : dest_(dest) {
    struct stat st;
    if (stat(dest.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
      throw Error(dest + ": not a regular file (" + file_kind(st.st_mode) +
                  "); refusing to replace it with the output");
    tmp_ = dest + ".tmp.XXXXXX";
    fd_ = mkstemp(tmp_.data());
    if (fd_ < 0)
      throw Error(dest + ": cannot create a temporary file: " + strerror(errno));
    fchmod(fd_, 0644);
  }
  ~TempFile() {
    if (fd_ >= 0)
      close(fd_);
    if (!committed_)
      unlink(tmp_.c_str());
  }
  int fd() const { return fd_; }
  void commit() {
    // No fsync: the rename alone keeps readers from a partial file, and flushing the disk per
    // object (4-15 ms here) would cost a kpatch-style build more than the diff itself; like a
    // compiler's or linker's output, the file is as durable as the build around it.
    if (close(fd_) != 0) {
      fd_ = -1;
      throw Error(dest_ + ": cannot write: " + strerror(errno));
    }
    fd_ = -1;
    if (rename(tmp_.c_str(), dest_.c_str()) != 0)
      throw Error(dest_ + ": cannot rename the temporary file into place: " + strerror(errno));
    committed_ = true;
  }

private:
  std::string dest_, tmp_;
  int fd_ = -1;
  bool committed_ = false;
};

bool regenerated(const Section &sec) {
  switch (sec.type()) {
  case SHT_NULL:
  case SHT_SYMTAB:
  case SHT_STRTAB:
  case SHT_SYMTAB_SHNDX:
    return true;
  }
  return false;
}

struct ElfHandle {
  Elf *elf = nullptr;
  ~ElfHandle() {
    if (elf)
      elf_end(elf);
  }
};

} // namespace

void write_file_atomically(const std::string &path, std::string_view contents) {
  TempFile tmp(path);
  const char *p = contents.data();
  size_t left = contents.size();
  while (left) {
    ssize_t n = write(tmp.fd(), p, left);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      throw Error(path + ": cannot write: " + strerror(errno));
    }
    p += n;
    left -= n;
  }
  tmp.commit();
}

namespace {

// What the output's indices are: computed from the Object's pointers before libelf sees
// anything, in the four steps write_object names.
struct Layout {
  std::vector<const Section *> sections; // written, in order: index i + 1
  std::unordered_map<const Section *, size_t> sec_index;
  size_t symtab_idx = 0, strtab_idx = 0, shstrtab_idx = 0;
  StringTable strtab;
  std::vector<Elf64_Sym> syms;
  std::unordered_map<const Symbol *, size_t> sym_index;
  size_t first_global = 0;
  // Regenerated contents of RELA and GROUP sections (deques: the buffers never move).
  std::deque<std::vector<Elf64_Rela>> rela_bufs;
  std::deque<std::vector<uint32_t>> group_bufs;
  std::unordered_map<const Section *, std::pair<const void *, size_t>> contents;
  StringTable shstrtab;
  std::vector<uint32_t> names; // of `sections`
};

// A RELA section without relocations or without its base, and a GROUP without members, are
// not written; the tables regenerated from pointers never are.
bool is_written(const Section &sec) {
  if (regenerated(sec))
    return false;
  if (sec.is_rela() && (!sec.base || sec.relocs.empty()))
    return false;
  return !(sec.type() == SHT_GROUP && sec.group_members.empty());
}

void number_sections(const Object &obj, const std::string &path, Layout &l) {
  for (const Section &sec : obj.sections)
    if (is_written(sec))
      l.sections.push_back(&sec);
  for (size_t i = 0; i < l.sections.size(); i++)
    l.sec_index[l.sections[i]] = i + 1;
  // A RELA section may only be written when what it applies to is written.
  for (const Section *sec : l.sections)
    if (sec->is_rela() && !l.sec_index.count(sec->base))
      throw Error(obj.where(*sec) + ": relocation section outlives the section it applies to");
  size_t next = l.sections.size() + 1;
  l.symtab_idx = next++;
  l.strtab_idx = next++;
  l.shstrtab_idx = next++;
  if (l.shstrtab_idx >= SHN_LORESERVE)
    throw Error(path + ": too many sections (" + std::to_string(l.shstrtab_idx) +
                ") for an output object");
}

void lay_out_symbols(const Object &obj, Layout &l) {
  l.syms.resize(1);
  auto emit_symbol = [&](const Symbol &s) {
    Elf64_Sym es{};
    es.st_name = s.is_section() ? 0 : l.strtab.add(s.name);
    es.st_info = ELF64_ST_INFO(s.bind, s.type);
    es.st_other = s.other;
    es.st_value = s.value;
    es.st_size = s.size;
    if (s.sec) {
      auto it = l.sec_index.find(s.sec);
      if (it == l.sec_index.end()) {
        if (s.is_section())
          return; // the section was dropped, and with it its symbol
        throw Error(obj.where(s) + ": symbol's section '" + s.sec->name + "' is not written");
      }
      es.st_shndx = it->second;
    } else {
      es.st_shndx = s.shndx;
    }
    l.sym_index[&s] = l.syms.size();
    l.syms.push_back(es);
  };
  for (const Symbol &s : obj.symbols)
    if (s.is_local())
      emit_symbol(s);
  l.first_global = l.syms.size();
  for (const Symbol &s : obj.symbols)
    if (!s.is_local())
      emit_symbol(s);
}

void regenerate_contents(const Object &obj, Layout &l) {
  for (const Section *sec : l.sections) {
    if (sec->is_rela()) {
      auto &buf = l.rela_bufs.emplace_back();
      buf.reserve(sec->relocs.size());
      for (const Relocation &r : sec->relocs) {
        auto it = l.sym_index.find(r.sym);
        if (it == l.sym_index.end())
          throw Error(obj.where(*sec->base, r.offset) + ": relocation refers to symbol '" +
                      r.sym->name + "', which is not written");
        buf.push_back(Elf64_Rela{r.offset, ELF64_R_INFO(it->second, r.type), r.addend});
      }
      l.contents[sec] = {buf.data(), buf.size() * sizeof(Elf64_Rela)};
    } else if (sec->type() == SHT_GROUP) {
      auto &buf = l.group_bufs.emplace_back();
      uint32_t flags = sec->data.size() >= 4 ? read_le<uint32_t>(sec->bytes(), 0, "") : 0;
      buf.push_back(flags);
      for (const Section *m : sec->group_members) {
        auto it = l.sec_index.find(m);
        if (it != l.sec_index.end())
          buf.push_back(it->second);
      }
      l.contents[sec] = {buf.data(), buf.size() * sizeof(uint32_t)};
    }
  }
  for (const Section *sec : l.sections)
    l.names.push_back(l.shstrtab.add(sec->name));
}

// The header of a written section: its links and info as indices of the layout.
GElf_Shdr output_header(const Object &obj, const Layout &l, size_t i) {
  const Section *sec = l.sections[i];
  GElf_Shdr sh = sec->shdr;
  sh.sh_name = l.names[i];
  sh.sh_offset = 0;
  sh.sh_addr = 0;
  if (sec->is_rela()) {
    sh.sh_link = l.symtab_idx;
    sh.sh_info = l.sec_index.at(sec->base);
    sh.sh_entsize = sizeof(Elf64_Rela);
    sh.sh_flags |= SHF_INFO_LINK;
    if (!sh.sh_addralign)
      sh.sh_addralign = 8;
  } else if (sec->type() == SHT_GROUP) {
    sh.sh_link = l.symtab_idx;
    auto it = l.sym_index.find(sec->group_signature);
    if (it == l.sym_index.end())
      throw Error(obj.where(*sec) + ": group signature symbol is not written");
    sh.sh_info = it->second;
    sh.sh_entsize = 4;
  } else {
    sh.sh_link = 0;
    if (!(sh.sh_flags & SHF_INFO_LINK))
      sh.sh_info = 0;
  }
  return sh;
}

void write_elf(const Object &obj, Layout &l, const std::string &path) {
  TempFile tmp(path);
  if (elf_version(EV_CURRENT) == EV_NONE)
    throw Error(elf_error(path + ": libelf initialisation failed"));
  ElfHandle h;
  h.elf = elf_begin(tmp.fd(), ELF_C_WRITE, nullptr);
  if (!h.elf || !gelf_newehdr(h.elf, ELFCLASS64))
    throw Error(elf_error(path + ": cannot create ELF output"));
  GElf_Ehdr eh{};
  std::memcpy(eh.e_ident, obj.ehdr.e_ident, EI_NIDENT);
  eh.e_type = ET_REL;
  eh.e_machine = obj.ehdr.e_machine;
  eh.e_version = EV_CURRENT;
  eh.e_flags = obj.ehdr.e_flags;
  eh.e_shstrndx = l.shstrtab_idx;
  if (!gelf_update_ehdr(h.elf, &eh))
    throw Error(elf_error(path + ": cannot write the ELF header"));

  // A NOBITS section has a size but no bytes (`buf` null).
  auto add = [&](const std::string &name, GElf_Shdr sh, const void *buf, size_t size,
                 Elf_Type type) {
    Elf_Scn *scn = elf_newscn(h.elf);
    Elf_Data *d = scn ? elf_newdata(scn) : nullptr;
    if (!d)
      throw Error(elf_error(path + ":(" + name + "): cannot create section"));
    d->d_buf = const_cast<void *>(buf);
    d->d_size = size;
    d->d_type = type;
    d->d_align = sh.sh_addralign ? sh.sh_addralign : 1;
    d->d_version = EV_CURRENT;
    if (sh.sh_type != SHT_NOBITS)
      sh.sh_size = size;
    if (!gelf_update_shdr(scn, &sh))
      throw Error(elf_error(path + ":(" + name + "): cannot write section header"));
  };
  for (size_t i = 0; i < l.sections.size(); i++) {
    const Section *sec = l.sections[i];
    GElf_Shdr sh = output_header(obj, l, i);
    if (sec->type() == SHT_NOBITS)
      add(sec->name, sh, nullptr, sec->size(), ELF_T_BYTE);
    else if (sec->is_rela())
      add(sec->name, sh, l.contents.at(sec).first, l.contents.at(sec).second, ELF_T_RELA);
    else if (sec->type() == SHT_GROUP)
      add(sec->name, sh, l.contents.at(sec).first, l.contents.at(sec).second, ELF_T_WORD);
    else
      add(sec->name, sh, sec->data.data(), sec->data.size(), ELF_T_BYTE);
  }

  GElf_Shdr sh{};
  sh.sh_name = l.shstrtab.add(".symtab");
  sh.sh_type = SHT_SYMTAB;
  sh.sh_link = l.strtab_idx;
  sh.sh_info = l.first_global;
  sh.sh_entsize = sizeof(Elf64_Sym);
  sh.sh_addralign = 8;
  add(".symtab", sh, l.syms.data(), l.syms.size() * sizeof(Elf64_Sym), ELF_T_SYM);
  sh = {};
  sh.sh_name = l.shstrtab.add(".strtab");
  sh.sh_type = SHT_STRTAB;
  sh.sh_addralign = 1;
  add(".strtab", sh, l.strtab.bytes().data(), l.strtab.bytes().size(), ELF_T_BYTE);
  sh = {};
  sh.sh_name = l.shstrtab.add(".shstrtab");
  sh.sh_type = SHT_STRTAB;
  sh.sh_addralign = 1;
  add(".shstrtab", sh, l.shstrtab.bytes().data(), l.shstrtab.bytes().size(), ELF_T_BYTE);

  if (elf_update(h.elf, ELF_C_WRITE) < 0)
    throw Error(elf_error(path + ": cannot write ELF output"));
  elf_end(h.elf);
  h.elf = nullptr;
  tmp.commit();
}

} // namespace

void write_object(const Object &obj, const std::string &path) {
  Layout layout;
  // Number the sections that are written: indices are born here.
  number_sections(obj, path, layout);
  // Lay out the symbol table: null, locals, then globals.
  lay_out_symbols(obj, layout);
  // Regenerate relocation and group contents from their pointers.
  regenerate_contents(obj, layout);
  // Hand everything to libelf, through a temporary file renamed into place.
  write_elf(obj, layout, path);
}

} // namespace klp
