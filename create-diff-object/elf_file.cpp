#include "elf_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <memory>

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

// The largest section alignment an object may ask for. Kernel objects align sections to at most
// a page, or THREAD_SIZE for the init task's stack (16 KiB, 32 KiB with KASAN); 2 MiB (PMD_SIZE)
// leaves room for any of them.
constexpr uint64_t kMaxSectionAlignment = 2ull << 20;

namespace {

// Whether sh_addralign is one an object can really have: 0 or 1 (none), else a power of two up
// to kMaxSectionAlignment. libelf pads the output to its sections' alignments, so a corrupt
// 2^40 (found by fuzz-diff) made writing the patch object fill a 1 TiB file.
bool plausible_alignment(uint64_t align) {
  return (align & (align - 1)) == 0 && align <= kMaxSectionAlignment;
}

} // namespace

std::string elf_error(const std::string &what) { return what + ": " + elf_errmsg(-1); }

std::string elf_error(const std::string &what, int err) { return what + ": " + elf_errmsg(err); }

std::string hex(uint64_t v) {
  char buf[32];
  snprintf(buf, sizeof(buf), "0x%lx", (unsigned long)v);
  return buf;
}

ElfFile::ElfFile(std::string path) : path_(std::move(path)) {
  if (elf_version(EV_CURRENT) == EV_NONE)
    throw Error(elf_error(path_ + ": libelf initialisation failed"));
  fd_ = open_regular_file(path_).release(); // libelf reads through it: closed with elf_end
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
    if (!plausible_alignment(sh.sh_addralign))
      throw Error(where(i) + ": section alignment " + hex(sh.sh_addralign) +
                  " is not a power of two up to " + hex(kMaxSectionAlignment) +
                  "; the object is corrupt: rebuild it");
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
  const char *name =
      index < shdrs_.size() ? elf_strptr(elf_, shstrndx_, shdrs_[index].sh_name) : nullptr;
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

// Where the inflated bytes go: a buffer that grows with what the stream really produces, never
// past `claim` (the header's ch_size). A corrupt stream or one shorter than it claims fails after
// the bytes it holds, not after a buffer of the claimed size has been zeroed.
class InflateBuffer {
public:
  InflateBuffer(uint64_t claim, size_t payload) : claim_(claim) {
    out_.resize(std::min<uint64_t>(claim_, std::max<uint64_t>(payload * 8, 64 << 10)));
  }
  // The room the decompressor may fill next: the free part of the buffer, grown first when it is
  // full; once `claim` bytes are in, a small spare area whose use means the stream holds more.
  std::pair<uint8_t *, size_t> room() {
    if (done_ == out_.size() && out_.size() < claim_)
      out_.resize(std::min<uint64_t>(claim_, out_.size() * 2));
    if (done_ < out_.size())
      return {out_.data() + done_, out_.size() - done_};
    return {spare_, sizeof(spare_)};
  }
  // Records that `n` bytes of the last room() were filled; false if they overflow the claim.
  bool filled(size_t n) {
    if (done_ == out_.size())
      return n == 0;
    done_ += n;
    return true;
  }
  uint64_t done() const { return done_; }
  std::vector<uint8_t> take() {
    out_.resize(done_);
    return std::move(out_);
  }

private:
  uint64_t claim_;
  size_t done_ = 0;
  std::vector<uint8_t> out_;
  uint8_t spare_[64];
};

namespace {

std::vector<uint8_t> inflate_zlib(const std::string &where, Bytes in, uint64_t claim) {
  InflateBuffer out(claim, in.size());
  z_stream zs{};
  if (inflateInit(&zs) != Z_OK)
    throw Error(where + ": zlib initialisation failed");
  std::unique_ptr<z_stream, int (*)(z_stream *)> guard(&zs, inflateEnd);
  size_t in_done = 0;
  for (;;) {
    auto [buf, len] = out.room();
    // zlib counts in uInt: feed and drain in chunks below 4 GiB.
    size_t in_chunk = std::min<size_t>(in.size() - in_done, 1u << 30);
    size_t out_chunk = std::min<size_t>(len, 1u << 30);
    zs.next_in = const_cast<Bytef *>(in.data() + in_done);
    zs.avail_in = (uInt)in_chunk;
    zs.next_out = buf;
    zs.avail_out = (uInt)out_chunk;
    int rc = inflate(&zs, Z_NO_FLUSH);
    in_done += in_chunk - zs.avail_in;
    if (!out.filled(out_chunk - zs.avail_out))
      throw Error(where + ": zlib-compressed section inflates to more than the " + hex(claim) +
                  " bytes its header claims");
    if (rc == Z_STREAM_END)
      break;
    if (rc == Z_BUF_ERROR && (in_done == in.size() || zs.avail_in == in_chunk))
      throw Error(where + ": corrupt zlib-compressed section (truncated after " + hex(out.done()) +
                  " of " + hex(claim) + " bytes)");
    if (rc != Z_OK && rc != Z_BUF_ERROR)
      throw Error(where + ": corrupt zlib-compressed section (" +
                  (zs.msg ? zs.msg : "error " + std::to_string(rc)) + ")");
  }
  if (out.done() != claim)
    throw Error(where + ": corrupt zlib-compressed section (" + hex(out.done()) +
                " bytes inflated, " + hex(claim) + " claimed)");
  return out.take();
}

// A section may hold several zstd frames (a writer may split it); they are inflated in turn.
std::vector<uint8_t> inflate_zstd(const std::string &where, Bytes in, uint64_t claim) {
  InflateBuffer out(claim, in.size());
  std::unique_ptr<ZSTD_DStream, size_t (*)(ZSTD_DStream *)> ds(ZSTD_createDStream(),
                                                               ZSTD_freeDStream);
  if (!ds)
    throw Error(where + ": libzstd initialisation failed");
  // The window zstd allocates comes from the frame header, at most 2^27 (libzstd's default).
  ZSTD_DCtx_setParameter(ds.get(), ZSTD_d_windowLogMax, 27);
  ZSTD_inBuffer ib{in.data(), in.size(), 0};
  size_t rc = 0;
  while (ib.pos < ib.size || rc != 0) {
    auto [buf, len] = out.room();
    ZSTD_outBuffer ob{buf, len, 0};
    size_t in_before = ib.pos;
    rc = ZSTD_decompressStream(ds.get(), &ob, &ib);
    if (ZSTD_isError(rc))
      throw Error(where + ": corrupt zstd-compressed section (" + ZSTD_getErrorName(rc) + ")");
    if (!out.filled(ob.pos))
      throw Error(where + ": zstd-compressed section inflates to more than the " + hex(claim) +
                  " bytes its header claims");
    if (ib.pos == ib.size && ob.pos == 0 && ib.pos == in_before && rc != 0)
      throw Error(where + ": corrupt zstd-compressed section (truncated after " + hex(out.done()) +
                  " of " + hex(claim) + " bytes)");
  }
  if (out.done() != claim)
    throw Error(where + ": corrupt zstd-compressed section (" + hex(out.done()) +
                " bytes inflated, " + hex(claim) + " claimed)");
  return out.take();
}

std::vector<uint8_t> inflate_section(const std::string &where, Bytes raw) {
  Elf64_Chdr chdr;
  if (raw.size() < sizeof(chdr))
    throw Error(where + ": compressed section is shorter than its header");
  std::memcpy(&chdr, raw.data(), sizeof(chdr));
  Bytes payload = raw.subspan(sizeof(chdr));
  // Bound what the header claims by what its payload can hold, so a few hundred bytes cannot
  // claim gigabytes; the inflated bytes are then streamed into a buffer that grows with them.
  uint64_t ceiling = std::min<uint64_t>(
      kMaxInflatedSize, std::max<uint64_t>(kMinInflatedCeiling, payload.size() * kMaxInflateRatio));
  if (chdr.ch_size > ceiling)
    throw Error(where + ": compressed section of " + hex(payload.size()) + " bytes claims " +
                hex(chdr.ch_size) + " inflated bytes, more than the " + hex(ceiling) +
                " it may have");
  if (chdr.ch_type == ELFCOMPRESS_ZLIB)
    return inflate_zlib(where, payload, chdr.ch_size);
  if (chdr.ch_type == ELFCOMPRESS_ZSTD)
    return inflate_zstd(where, payload, chdr.ch_size);
  throw Error(where + ": unknown compression type " + std::to_string(chdr.ch_type));
}

} // namespace

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
