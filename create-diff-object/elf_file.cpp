#include "elf_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>

#include "input_file.h"

namespace klp {

#ifndef ELFCOMPRESS_ZSTD
#define ELFCOMPRESS_ZSTD 2
#endif

// How much a compressed section may claim to inflate to: deflate's best ratio is 1032:1; zstd can
// do better on runs, but no compiler-written section comes near it. Small sections may claim up
// to the floor whatever their size; nothing may claim more than the cap.
constexpr uint64_t kMaxInflateRatio = 1032;
constexpr uint64_t kMinInflatedCeiling = 64ull << 20;
constexpr uint64_t kMaxInflatedSize = 4ull << 30;

std::string elf_error(const std::string &what) {
  return what + ": " + elf_errmsg(-1);
}

std::string elf_error(const std::string &what, int err) {
  return what + ": " + elf_errmsg(err);
}

std::string hex(uint64_t v) {
  char buf[32];
  snprintf(buf, sizeof(buf), "0x%lx", (unsigned long)v);
  return buf;
}

ElfFile::ElfFile(std::string path) : path_(std::move(path)) {
  if (elf_version(EV_CURRENT) == EV_NONE)
    throw Error(elf_error(path_ + ": libelf initialisation failed"));
  fd_ = open_regular_file(path_);
  elf_ = elf_begin(fd_, ELF_C_READ_MMAP, nullptr);
  if (!elf_) {
    close(fd_);
    throw Error(elf_error(path_ + ": not an ELF file"));
  }
  // Once constructed the destructor cleans up, so later failures just throw.
  struct Guard {
    ElfFile *self;
    bool armed = true;
    ~Guard() {
      if (armed) {
        elf_end(self->elf_);
        close(self->fd_);
      }
    }
  } guard{this};

  if (elf_kind(elf_) != ELF_K_ELF)
    throw Error(path_ + ": not an ELF object");
  if (!gelf_getehdr(elf_, &ehdr_))
    throw Error(elf_error(path_ + ": cannot read the ELF header"));
  // What an x86_64 kernel loads; anything else would be misread or give a foreign output.
  if (ehdr_.e_ident[EI_CLASS] != ELFCLASS64)
    throw Error(path_ + ": not a 64-bit ELF file (EI_CLASS " +
                std::to_string(ehdr_.e_ident[EI_CLASS]) + "); only x86_64 ELF is supported");
  if (ehdr_.e_ident[EI_DATA] != ELFDATA2LSB)
    throw Error(path_ + ": not a little-endian ELF file (EI_DATA " +
                std::to_string(ehdr_.e_ident[EI_DATA]) +
                (ehdr_.e_ident[EI_DATA] == ELFDATA2MSB ? ", big-endian" : "") +
                "); only x86_64 ELF is supported");
  if (ehdr_.e_machine != EM_X86_64)
    throw Error(path_ + ": not an x86_64 ELF file (e_machine " + std::to_string(ehdr_.e_machine) +
                "); only x86_64 ELF is supported");

  size_t shnum = 0;
  if (elf_getshdrnum(elf_, &shnum) != 0)
    throw Error(elf_error(path_ + ": cannot count sections"));
  if (elf_getshdrstrndx(elf_, &shstrndx_) != 0)
    throw Error(elf_error(path_ + ": cannot find the section name table"));
  if (shnum && shstrndx_ >= shnum)
    throw Error(path_ + ": section name table index " + std::to_string(shstrndx_) +
                " is out of range");

  // libelf tolerates a file cut short (it then reports fewer sections or none); we do not.
  struct stat st;
  if (fstat(fd_, &st) != 0)
    throw Error(path_ + ": cannot stat: " + strerror(errno));
  uint64_t file_size = st.st_size;
  // shnum, not e_shnum: with more than 0xff00 sections the count is in section 0's sh_size.
  if (ehdr_.e_shoff > file_size || shnum > (file_size - ehdr_.e_shoff) / sizeof(Elf64_Shdr))
    throw Error(path_ + ": section header table extends past the end of the file (truncated?)");
  if (shnum == 0)
    throw Error(path_ + ": object has no sections");

  shdrs_.resize(shnum);
  for (size_t i = 0; i < shnum; i++) {
    Elf_Scn *scn = elf_getscn(elf_, i);
    if (!scn || !gelf_getshdr(scn, &shdrs_[i]))
      throw Error(elf_error(path_ + ": cannot read section header " + std::to_string(i)));
    const GElf_Shdr &sh = shdrs_[i];
    if (sh.sh_type != SHT_NOBITS && sh.sh_type != SHT_NULL &&
        (sh.sh_offset > file_size || sh.sh_size > file_size - sh.sh_offset))
      throw Error(where(i) + ": section extends past the end of the file (truncated?)");
  }
  for (size_t i = 1; i < shnum; i++) {
    if (shdrs_[i].sh_type != SHT_SYMTAB)
      continue;
    if (symtab_index_)
      throw Error(where(i) + ": more than one symbol table");
    symtab_index_ = i;
    if (shdrs_[i].sh_link >= shnum || shdrs_[shdrs_[i].sh_link].sh_type != SHT_STRTAB)
      throw Error(where(i) + ": sh_link does not name a string table");
    if (shdrs_[i].sh_entsize != sizeof(Elf64_Sym))
      throw Error(where(i) + ": unexpected symbol entry size " +
                  std::to_string(shdrs_[i].sh_entsize));
    symtab_data_ = raw_data(i);
    symbol_count_ = symtab_data_ ? symtab_data_->d_size / sizeof(Elf64_Sym) : 0;
  }
  for (size_t i = 1; i < shnum; i++)
    if (shdrs_[i].sh_type == SHT_SYMTAB_SHNDX && shdrs_[i].sh_link == symtab_index_)
      shndx_data_ = raw_data(i);
  guard.armed = false;
}

ElfFile::~ElfFile() {
  elf_end(elf_);
  close(fd_);
}

const GElf_Shdr &ElfFile::shdr(size_t index) const {
  if (index >= shdrs_.size())
    throw Error(path_ + ": section index " + std::to_string(index) + " is out of range");
  return shdrs_[index];
}

std::string_view ElfFile::string_at(size_t strtab_index, size_t offset) const {
  const char *s = elf_strptr(elf_, strtab_index, offset);
  if (!s)
    throw Error(elf_error(where(strtab_index) + ": bad string offset " + hex(offset)));
  return s;
}

std::string_view ElfFile::section_name(size_t index) const {
  return string_at(shstrndx_, shdr(index).sh_name);
}

std::string ElfFile::where(size_t index) const {
  const char *name = index < shdrs_.size() ? elf_strptr(elf_, shstrndx_, shdrs_[index].sh_name)
                                           : nullptr;
  return path_ + ":(" + (name ? name : "section " + std::to_string(index)) + ")";
}

Elf_Data *ElfFile::raw_data(size_t index) const {
  Elf_Scn *scn = elf_getscn(elf_, index);
  if (!scn)
    throw Error(elf_error(where(index) + ": cannot get section"));
  const GElf_Shdr &sh = shdr(index);
  if (sh.sh_type != SHT_NOBITS && sh.sh_size &&
      (sh.sh_offset > (uint64_t)INT64_MAX || sh.sh_offset + sh.sh_size < sh.sh_offset))
    throw Error(where(index) + ": section extends past the end of the file");
  Elf_Data *data = elf_getdata(scn, nullptr);
  // elf_errno() clears the error: keep it for the message.
  if (int err = data ? 0 : elf_errno())
    throw Error(elf_error(where(index) + ": cannot read section data", err));
  return data;
}

static std::vector<uint8_t> inflate_section(const std::string &where, Bytes raw) {
  Elf64_Chdr chdr;
  if (raw.size() < sizeof(chdr))
    throw Error(where + ": compressed section is shorter than its header");
  std::memcpy(&chdr, raw.data(), sizeof(chdr));
  Bytes payload = raw.subspan(sizeof(chdr));
  // The inflated buffer is allocated before inflating: bound what the header claims by what its
  // payload can hold, so a few hundred bytes cannot make us allocate gigabytes.
  uint64_t ceiling = std::min<uint64_t>(kMaxInflatedSize,
                                        std::max<uint64_t>(kMinInflatedCeiling,
                                                           payload.size() * kMaxInflateRatio));
  if (chdr.ch_size > ceiling)
    throw Error(where + ": compressed section of " + hex(payload.size()) + " bytes claims " +
                hex(chdr.ch_size) + " inflated bytes, more than the " + hex(ceiling) +
                " it may have");
  std::vector<uint8_t> out(chdr.ch_size);
  if (chdr.ch_type == ELFCOMPRESS_ZLIB) {
    uLongf len = out.size();
    if (uncompress(out.data(), &len, payload.data(), payload.size()) != Z_OK || len != out.size())
      throw Error(where + ": corrupt zlib-compressed section");
  } else if (chdr.ch_type == ELFCOMPRESS_ZSTD) {
    size_t len = ZSTD_decompress(out.data(), out.size(), payload.data(), payload.size());
    if (ZSTD_isError(len) || len != out.size())
      throw Error(where + ": corrupt zstd-compressed section");
  } else {
    throw Error(where + ": unknown compression type " + std::to_string(chdr.ch_type));
  }
  return out;
}

Bytes ElfFile::section_bytes(size_t index) {
  const GElf_Shdr &sh = shdr(index);
  if (sh.sh_type == SHT_NOBITS || sh.sh_type == SHT_NULL)
    return {};
  if (sh.sh_flags & SHF_COMPRESSED) {
    auto it = inflated_.find(index);
    if (it == inflated_.end()) {
      Elf_Data *data = raw_data(index);
      Bytes raw = data ? Bytes((const uint8_t *)data->d_buf, data->d_size) : Bytes();
      it = inflated_.emplace(index, inflate_section(where(index), raw)).first;
    }
    return it->second;
  }
  Elf_Data *data = raw_data(index);
  if (!data || !data->d_buf)
    return {};
  return Bytes((const uint8_t *)data->d_buf, data->d_size);
}

GElf_Sym ElfFile::symbol(size_t index) const {
  GElf_Sym sym;
  if (index >= symbol_count_ || !gelf_getsym(symtab_data_, (int)index, &sym))
    throw Error(where(symtab_index_) + ": symbol index " + std::to_string(index) +
                " is out of range");
  return sym;
}

std::string_view ElfFile::symbol_name(const GElf_Sym &sym) const {
  return string_at(shdrs_[symtab_index_].sh_link, sym.st_name);
}

size_t ElfFile::symbol_section(size_t index, const GElf_Sym &sym) const {
  if (sym.st_shndx != SHN_XINDEX)
    return sym.st_shndx;
  Elf32_Word xndx = 0;
  GElf_Sym tmp;
  if (!shndx_data_ || !gelf_getsymshndx(symtab_data_, shndx_data_, (int)index, &tmp, &xndx))
    throw Error(where(symtab_index_) + ": symbol " + std::to_string(index) +
                " has SHN_XINDEX but no valid SHT_SYMTAB_SHNDX entry");
  return xndx;
}

size_t ElfFile::rela_count(size_t section_index) const {
  const GElf_Shdr &sh = shdr(section_index);
  if (sh.sh_type != SHT_RELA)
    return 0;
  if (sh.sh_entsize != sizeof(Elf64_Rela))
    throw Error(where(section_index) + ": unexpected relocation entry size " +
                std::to_string(sh.sh_entsize));
  Elf_Data *data = raw_data(section_index);
  return data ? data->d_size / sizeof(Elf64_Rela) : 0;
}

GElf_Rela ElfFile::rela(size_t section_index, size_t index) const {
  GElf_Rela rela;
  Elf_Data *data = raw_data(section_index);
  if (!data || !gelf_getrela(data, (int)index, &rela))
    throw Error(where(section_index) + ": relocation " + std::to_string(index) +
                " is out of range");
  return rela;
}

} // namespace klp
