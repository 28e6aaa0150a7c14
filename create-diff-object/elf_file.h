// The raw ELF layer: an open libelf handle plus bounds-checked views over what it holds.
//
// Nothing here interprets the kernel's conventions; it only answers "what does section N contain"
// without ever reading past the end of a buffer. Compressed sections (SHF_COMPRESSED, zlib or
// zstd) are inflated on first access. The cooked layer (object.h) is built from these views.
#pragma once

#include <gelf.h>
#include <libelf.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "error.h"

namespace klp {

using Bytes = std::span<const uint8_t>;

// Little-endian read of a T at `offset` of `bytes`; throws when it would run past the end.
template <typename T> T read_le(Bytes bytes, uint64_t offset, const std::string &where) {
  if (offset > bytes.size() || bytes.size() - offset < sizeof(T))
    throw Error(where + ": read of " + std::to_string(sizeof(T)) + " bytes at offset 0x" +
                std::to_string(offset) + " is past the end (size " + std::to_string(bytes.size()) +
                ")");
  T value;
  std::memcpy(&value, bytes.data() + offset, sizeof(T));
  return value;
}

// One open input object. Owns the file descriptor and the Elf handle.
class ElfFile {
public:
  explicit ElfFile(std::string path);
  ~ElfFile();
  ElfFile(const ElfFile &) = delete;
  ElfFile &operator=(const ElfFile &) = delete;

  const std::string &path() const { return path_; }
  const GElf_Ehdr &ehdr() const { return ehdr_; }
  size_t section_count() const { return shdrs_.size(); }
  const GElf_Shdr &shdr(size_t index) const;
  std::string_view section_name(size_t index) const;

  // The section's contents, decompressed if needed; empty for SHT_NOBITS.
  Bytes section_bytes(size_t index);

  // Reads the symbol table (the one SHT_SYMTAB section); empty if the object has none.
  size_t symtab_index() const { return symtab_index_; }
  size_t symbol_count() const { return symbol_count_; }
  GElf_Sym symbol(size_t index) const;
  std::string_view symbol_name(const GElf_Sym &sym) const;
  // SHT_SYMTAB_SHNDX-aware section index of a symbol.
  size_t symbol_section(size_t index, const GElf_Sym &sym) const;

  size_t rela_count(size_t section_index) const;
  GElf_Rela rela(size_t section_index, size_t index) const;

  // "file:(section)" prefix for diagnostics.
  std::string where(size_t section_index) const;

private:
  Elf_Data *raw_data(size_t index) const;
  std::string_view string_at(size_t strtab_index, size_t offset) const;

  std::string path_;
  int fd_ = -1;
  Elf *elf_ = nullptr;
  GElf_Ehdr ehdr_{};
  std::vector<GElf_Shdr> shdrs_;
  size_t shstrndx_ = 0;
  size_t symtab_index_ = 0;
  size_t symbol_count_ = 0;
  Elf_Data *symtab_data_ = nullptr;
  Elf_Data *shndx_data_ = nullptr;
  std::unordered_map<size_t, std::vector<uint8_t>> inflated_;
};

// "0x1c"
std::string hex(uint64_t value);

// "<what>: <elf_errmsg(-1)>" for failures of libelf calls.
std::string elf_error(const std::string &what);
// The same with an error number already taken with elf_errno(), which clears it.
std::string elf_error(const std::string &what, int err);

} // namespace klp
