#include "image_match.h"

#include <elf.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <unordered_map>

#include "disasm.h"
#include "error.h"
#include "reloc_types.h"
#include "unique_fd.h"
#include "vmlinuz.h"

namespace klp {

namespace {

// ---------------------------------------------------------------------------------------------
// A vmlinux ELF in memory: program headers to map addresses, section headers and (if present)
// the symbol table to find the link address of the reference symbol and check sizes.

template <typename T> T read_struct(Bytes d, uint64_t off, const std::string &where) {
  return read_le<T>(d, off, where);
}

struct ImageSymbol {
  uint64_t value = 0;
  uint64_t size = 0;
  uint8_t type = STT_NOTYPE;
};

class VmlinuxView {
public:
  VmlinuxView(Bytes data, const std::string &where) : data_(data), where_(where) {
    auto eh = read_struct<Elf64_Ehdr>(data, 0, where);
    type_ = eh.e_type;
    if (eh.e_phentsize != sizeof(Elf64_Phdr) && eh.e_phnum)
      throw Error(where + ": unexpected program header entry size " +
                  std::to_string(eh.e_phentsize));
    for (unsigned i = 0; i < eh.e_phnum; i++)
      phdrs_.push_back(
          read_struct<Elf64_Phdr>(data, eh.e_phoff + uint64_t(i) * sizeof(Elf64_Phdr), where));
    if (eh.e_shnum && eh.e_shentsize == sizeof(Elf64_Shdr)) {
      for (unsigned i = 0; i < eh.e_shnum; i++)
        shdrs_.push_back(
            read_struct<Elf64_Shdr>(data, eh.e_shoff + uint64_t(i) * sizeof(Elf64_Shdr), where));
      shstrndx_ = eh.e_shstrndx;
    }
    load_symbols();
  }

  uint16_t type() const { return type_; }
  bool has_symbols() const { return !symbols_.empty(); }

  // The symbols named `name` (values are link addresses).
  const std::vector<ImageSymbol> *symbols(const std::string &name) const {
    auto it = symbols_.find(name);
    return it == symbols_.end() ? nullptr : &it->second;
  }

  // Where .text starts: `_text`, `_stext` and `startup_64` are all there (vmlinux.lds.S opens
  // .text with `_text = .; _stext = .;` followed by HEAD_TEXT, whose first code is startup_64).
  std::optional<uint64_t> text_start() const {
    for (size_t i = 0; i < shdrs_.size(); i++)
      if (section_name(i) == ".text")
        return shdrs_[i].sh_addr;
    for (const Elf64_Phdr &p : phdrs_)
      if (p.p_type == PT_LOAD && (p.p_flags & PF_X))
        return p.p_vaddr;
    return std::nullopt;
  }

  // The file bytes from `addr` on, at most `max` of them, within the executable PT_LOAD segment
  // that holds `addr`; nullopt if none does.
  std::optional<Bytes> code_at(uint64_t addr, uint64_t max) const {
    for (const Elf64_Phdr &p : phdrs_) {
      if (p.p_type != PT_LOAD || !(p.p_flags & PF_X) || addr < p.p_vaddr ||
          addr - p.p_vaddr >= p.p_filesz)
        continue;
      uint64_t size = std::min(max, p.p_filesz - (addr - p.p_vaddr));
      uint64_t off = p.p_offset + (addr - p.p_vaddr);
      if (off > data_.size() || data_.size() - off < size)
        throw Error(where_ + ": program header " + hex(p.p_vaddr) +
                    " points past the end of the file");
      return data_.subspan(off, size);
    }
    return std::nullopt;
  }

private:
  std::string_view section_name(size_t i) const {
    if (shstrndx_ >= shdrs_.size())
      return {};
    return string_at(shdrs_[shstrndx_], shdrs_[i].sh_name);
  }

  std::string_view string_at(const Elf64_Shdr &strtab, uint64_t off) const {
    if (strtab.sh_offset > data_.size() || data_.size() - strtab.sh_offset < strtab.sh_size ||
        off >= strtab.sh_size)
      return {};
    const char *base = reinterpret_cast<const char *>(data_.data() + strtab.sh_offset);
    size_t max = strtab.sh_size - off;
    return std::string_view(base + off, strnlen(base + off, max));
  }

  void load_symbols() {
    for (const Elf64_Shdr &sh : shdrs_) {
      if (sh.sh_type != SHT_SYMTAB || sh.sh_entsize != sizeof(Elf64_Sym) ||
          sh.sh_link >= shdrs_.size())
        continue;
      const Elf64_Shdr &strtab = shdrs_[sh.sh_link];
      for (uint64_t off = sizeof(Elf64_Sym); off + sizeof(Elf64_Sym) <= sh.sh_size;
           off += sizeof(Elf64_Sym)) {
        auto s = read_struct<Elf64_Sym>(data_, sh.sh_offset + off, where_);
        if (s.st_shndx == SHN_UNDEF || ELF64_ST_TYPE(s.st_info) == STT_SECTION ||
            ELF64_ST_TYPE(s.st_info) == STT_FILE)
          continue;
        std::string_view name = string_at(strtab, s.st_name);
        if (name.empty())
          continue;
        symbols_[std::string(name)].push_back(
            {s.st_value, s.st_size, uint8_t(ELF64_ST_TYPE(s.st_info))});
      }
      break;
    }
  }

  Bytes data_;
  std::string where_;
  uint16_t type_ = ET_NONE;
  std::vector<Elf64_Phdr> phdrs_;
  std::vector<Elf64_Shdr> shdrs_;
  size_t shstrndx_ = 0;
  std::unordered_map<std::string, std::vector<ImageSymbol>> symbols_;
};

// ---------------------------------------------------------------------------------------------
// What of a function's bytes is compared.

// A place where the image may hold objtool's NOP of `len` bytes instead of the object's bytes.
struct NopSite {
  uint64_t offset; // from the function's start
  unsigned len;
};

// A relocation field of the original inside the function: what the linker writes there.
struct Field {
  uint64_t offset = 0; // from the function's start
  unsigned width = 0;
  bool pcrel = false;
  int64_t addend = 0;
  const Symbol *sym = nullptr;
};

struct Mask {
  std::vector<uint8_t> masked; // 1: not compared byte for byte
  std::vector<NopSite> nops;   // sorted by offset
  std::vector<Field> fields;   // relocations wholly inside the function whose value is checked
};

// Marks [from, to) of the function [start, start + size) as masked; offsets are section offsets.
void mask_range(Mask &m, uint64_t start, uint64_t size, int64_t from, int64_t to) {
  int64_t lo = std::max<int64_t>(from, (int64_t)start);
  int64_t hi = std::min<int64_t>(to, (int64_t)(start + size));
  for (int64_t i = lo; i < hi; i++)
    m.masked[i - start] = 1;
}

bool is_got_relaxable(uint32_t type) {
  return type == R_X86_64_GOTPCRELX || type == R_X86_64_REX_GOTPCRELX;
}

// Bytes the linker may write for a relocation at `r.offset`: its field, and for the relaxable
// GOT loads also the instruction bytes before it (REX prefix, opcode, ModRM).
void mask_relocation(Mask &m, uint64_t start, uint64_t size, const Relocation &r,
                     const std::string &where) {
  unsigned width = reloc_width(r.type, where);
  int64_t from = (int64_t)r.offset;
  if (r.type == R_X86_64_GOTPCRELX)
    from -= 2;
  else if (r.type == R_X86_64_REX_GOTPCRELX)
    from -= 3;
  mask_range(m, start, size, from, (int64_t)(r.offset + width));
}

bool is_objtool_nopped_call(const Symbol *target) {
  if (!target)
    return false;
  return target->name == "__fentry__" || target->name.starts_with("__sanitizer_cov_");
}

// The relocations applying to `sec` (every SHT_RELA section whose base it is).
template <typename F> void for_each_reloc(const Object &obj, const Section &sec, F f) {
  for (const Section &rela : obj.sections)
    if (rela.is_rela() && rela.base == &sec)
      for (const Relocation &r : rela.relocs)
        f(rela, r);
}

Mask original_mask(const Object &obj, const Symbol &sym) {
  const Section &sec = *sym.sec;
  uint64_t start = sym.value, size = sym.size;
  Mask m;
  m.masked.assign(size, 0);
  Bytes code = sec.bytes();

  for_each_reloc(obj, sec, [&](const Section &rela, const Relocation &r) {
    if (r.offset + 8 <= start || r.offset >= start + size + 3)
      return;
    mask_relocation(m, start, size, r, obj.where(sec, r.offset));
    unsigned width = reloc_width(r.type);
    if (width && r.offset >= start && r.offset + width <= start + size && r.sym &&
        !is_got_relaxable(r.type) && r.type != R_X86_64_GOTPCREL)
      m.fields.push_back({r.offset - start, width, reloc_is_pc_relative(r.type), r.addend, r.sym});
    // `call __fentry__` (e8 + rel32) that objtool --mnop may turn into a 5-byte NOP.
    if (r.offset >= start + 1 && r.offset + 4 <= start + size && is_objtool_nopped_call(r.sym) &&
        (r.type == R_X86_64_PLT32 || r.type == R_X86_64_PC32) && code[r.offset - 1] == 0xe8)
      m.nops.push_back({r.offset - 1 - start, 5});
  });

  // Static branches: __jump_table entries are {s32 code, s32 target, s64 key} (16 bytes,
  // CONFIG_HAVE_ARCH_JUMP_LABEL_RELATIVE); bit 1 of the key field's addend marks the
  // arch_static_branch() sites whose `jmp` objtool --hacks=jump_label replaces with a NOP.
  for (const Section &jt : obj.sections) {
    if (jt.name != "__jump_table" || !jt.rela)
      continue;
    std::map<uint64_t, const Relocation *> by_offset;
    for (const Relocation &r : jt.rela->relocs)
      by_offset[r.offset] = &r;
    for (const auto &[off, r] : by_offset) {
      if (off % 16 != 0 || !r->sym || r->sym->sec != &sec)
        continue;
      auto key = by_offset.find(off + 8);
      if (key == by_offset.end() || !(key->second->addend & 2))
        continue;
      int64_t site = (int64_t)r->sym->value + r->addend + r->pc_bias;
      if (site < (int64_t)start || site >= (int64_t)(start + size))
        continue;
      unsigned len = code[site] == 0xeb ? 2 : code[site] == 0xe9 ? 5 : 0;
      if (len && (uint64_t)site + len <= start + size)
        m.nops.push_back({(uint64_t)site - start, len});
    }
  }
  std::sort(m.nops.begin(), m.nops.end(),
            [](const NopSite &a, const NopSite &b) { return a.offset < b.offset; });
  std::sort(m.fields.begin(), m.fields.end(),
            [](const Field &a, const Field &b) { return a.offset < b.offset; });
  return m;
}

std::string hex_bytes(Bytes b, const std::vector<uint8_t> *masked, uint64_t from) {
  std::string s;
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < b.size(); i++) {
    if (i)
      s += ' ';
    if (masked && (*masked)[from + i]) {
      s += "??";
    } else {
      s += digits[b[i] >> 4];
      s += digits[b[i] & 15];
    }
  }
  return s;
}

// The addresses a relocation's symbol may have in the image (link addresses; several for a name
// that several local symbols share), or none when it cannot be told (e.g. a mergeable string
// section, or a symbol the target's tables do not list): such a field is only masked.
using Resolver = std::function<std::vector<uint64_t>(const Symbol &)>;

// The image side of a comparison: the bytes from the function's start on (at most as many as the
// function can have), and its size if a symbol table tells it.
struct ImageCode {
  Bytes bytes;
  std::optional<uint64_t> size;
  uint64_t address = 0;        // of the function's first byte (link address, or section offset)
  std::vector<uint8_t> masked; // image-side relocation fields (a .ko's); empty if none
  bool is_masked(uint64_t i) const { return i < masked.size() && masked[i]; }
};

// Why a comparison failed: where in the original, and the bytes on both sides.
struct Difference {
  uint64_t offset = 0;
  std::string text; // "expected 48 89 e5, found 48 8b 05", or an explanation
};

// A direct jmp/jcc, classified from its encoding: eb rel8, e9 rel32, 7x rel8, 0f 8x rel32.
struct DirectBranch {
  bool conditional = false;
  unsigned cc = 0;          // condition code (jcc)
  unsigned disp_offset = 0; // position of the displacement in the instruction
  unsigned disp_size = 0;   // 1 or 4
  int64_t target = 0;       // offset + size + displacement, in the decoding's address space
};

std::optional<DirectBranch> direct_branch(const Insn &in) {
  auto b = in.raw();
  DirectBranch br;
  if (b.size() == 2 && b[0] == 0xeb) {
    br.disp_offset = 1, br.disp_size = 1;
  } else if (b.size() == 5 && b[0] == 0xe9) {
    br.disp_offset = 1, br.disp_size = 4;
  } else if (b.size() == 2 && (b[0] & 0xf0) == 0x70) {
    br.conditional = true, br.cc = b[0] & 0xf, br.disp_offset = 1, br.disp_size = 1;
  } else if (b.size() == 6 && b[0] == 0x0f && (b[1] & 0xf0) == 0x80) {
    br.conditional = true, br.cc = b[1] & 0xf, br.disp_offset = 2, br.disp_size = 4;
  } else {
    return std::nullopt;
  }
  int64_t disp;
  if (br.disp_size == 1) {
    disp = (int8_t)b[br.disp_offset];
  } else {
    int32_t d32;
    std::memcpy(&d32, b.data() + br.disp_offset, 4);
    disp = d32;
  }
  br.target = (int64_t)in.end() + disp;
  return br;
}

// A NOP as the assembler pads with: 90, 0f 1f /0, behind 66/2e/3e prefixes (not f3 90, pause).
bool is_nop(const Insn &in) {
  auto b = in.raw();
  size_t k = 0;
  while (k < b.size() && (b[k] == 0x66 || b[k] == 0x2e || b[k] == 0x3e))
    k++;
  if (k < b.size() && b[k] == 0x90)
    return k + 1 == b.size() && (k == 0 || b[0] == 0x66);
  return k + 2 < b.size() && b[k] == 0x0f && b[k + 1] == 0x1f && ((b[k + 2] >> 3) & 7) == 0;
}

// The largest power of two (at most `cap`) that divides `v`.
uint64_t alignment_of(uint64_t v, uint64_t cap) {
  uint64_t p = 1;
  while (p < cap && v % (p * 2) == 0)
    p *= 2;
  return p;
}

uint64_t truncate(uint64_t v, unsigned width) {
  return width >= 8 ? v : v & ((uint64_t(1) << (8 * width)) - 1);
}

// One function's comparison: original bytes (at `orig_address` in a section aligned to
// `orig_align`) against the image's, under the mask.
//
// Byte level first: same size, equal bytes outside relocation fields, objtool's NOP at a NOP
// site. Then every relocation field is checked to hold what the linker writes for the original's
// symbol (S + A, or S + A - P), when the resolver knows where the symbol is in the image: masking
// alone would accept a call to any function.
//
// When the bytes differ, instruction by instruction: the assembler encodes a jmp/jcc whose target
// is in the same section with the shortest displacement that reaches it, and only a relocated one
// (target in another section) always with 4 bytes. An object built with -ffunction-sections has
// every function in its own section, so its tail calls and branches to other functions are
// relocated rel32 jumps, where a normal build, with the whole translation unit in one .text, may
// have 2-byte ones; the function then shrinks, jumps inside it that cross the shrunk ones may
// shrink in turn, and explicit alignment (`.p2align` in inline asm) pads with other NOPs. Pairs
// instructions one by one and accepts:
//   - equal bytes outside relocation fields, whose values are checked as above (or objtool's NOP
//     at a NOP site);
//   - a direct jmp/jcc against one of the same kind and condition, of either size: if the
//     original's target is relocated, the image's must be the relocation's symbol (as far as the
//     resolver knows it); if it is inside the function, the image instruction corresponding to
//     the original's target;
//   - a run of NOPs against a run of NOPs of another length (or none), when both runs end at
//     the same alignment, at least 4 (padding, not code).
class Comparison {
public:
  Comparison(Bytes orig, uint64_t orig_address, uint64_t orig_align, const ImageCode &img,
             const Mask &m, const Resolver *resolve, FunctionMatch &res)
      : orig_(orig), orig_address_(orig_address), orig_align_(orig_align), img_(img), m_(m),
        resolve_(resolve), res_(res) {}

  // The first difference, or nullopt; fills res_.image_size, relaxed, nop_sites, references.
  std::optional<Difference> run() {
    res_.size = orig_.size();
    res_.masked = std::count(m_.masked.begin(), m_.masked.end(), 1);
    bool same_size = img_.size ? *img_.size == orig_.size() : img_.bytes.size() >= orig_.size();
    if (same_size && byte_level()) {
      res_.image_size = orig_.size();
      return fields_at_same_offsets();
    }
    reset_counts();
    return instruction_level();
  }

private:
  void reset_counts() {
    res_.nop_sites = res_.relaxed = 0;
    res_.references_checked = res_.references_unchecked = 0;
  }

  // Whether the image holds objtool's NOP at `site` (offsets in the image from `at`).
  bool image_has_nop(const NopSite &site, uint64_t at) const {
    Bytes nop = nop_of(site.len);
    return at + site.len <= img_.bytes.size() &&
           std::equal(nop.begin(), nop.end(), img_.bytes.begin() + at);
  }

  static Bytes nop_of(unsigned len) {
    static constexpr uint8_t kNop2[] = {0x66, 0x90};                   // BYTES_NOP2
    static constexpr uint8_t kNop5[] = {0x0f, 0x1f, 0x44, 0x00, 0x00}; // BYTES_NOP5
    return len == 2 ? Bytes(kNop2) : len == 5 ? Bytes(kNop5) : Bytes();
  }

  bool byte_level() {
    Bytes image = img_.bytes;
    size_t next = 0;
    for (uint64_t i = 0; i < orig_.size(); i++) {
      while (next < m_.nops.size() && m_.nops[next].offset + m_.nops[next].len <= i)
        next++;
      if (m_.masked[i] || img_.is_masked(i) || orig_[i] == image[i])
        continue;
      if (next < m_.nops.size() && m_.nops[next].offset <= i &&
          image_has_nop(m_.nops[next], m_.nops[next].offset)) {
        i = m_.nops[next].offset + m_.nops[next].len - 1;
        continue;
      }
      return false;
    }
    return true;
  }

  bool in_taken_nop_site(const Field &f) const {
    for (const NopSite &s : m_.nops)
      if (f.offset >= s.offset && f.offset < s.offset + s.len && image_has_nop(s, s.offset))
        return true;
    return false;
  }

  std::optional<Difference> fields_at_same_offsets() {
    for (const Field &f : m_.fields) {
      if (in_taken_nop_site(f)) {
        res_.nop_sites++;
        continue;
      }
      if (auto d = check_field(f, f.offset))
        return d;
    }
    // Count each taken site once (a site holds at most one field).
    for (const NopSite &s : m_.nops)
      if (image_has_nop(s, s.offset) &&
          std::none_of(m_.fields.begin(), m_.fields.end(), [&](const Field &f) {
            return f.offset >= s.offset && f.offset < s.offset + s.len;
          }))
        res_.nop_sites++;
    return std::nullopt;
  }

  const std::vector<uint64_t> *candidates(const Field &f) {
    if (!resolve_)
      return nullptr;
    auto it = cache_.find(f.sym);
    if (it == cache_.end())
      it = cache_.emplace(f.sym, (*resolve_)(*f.sym)).first;
    return it->second.empty() ? nullptr : &it->second;
  }

  static std::string symbol_text(const Field &f) {
    std::string s = f.sym->name.empty() ? "(unnamed)" : f.sym->name;
    return s;
  }

  // Checks the value of field `f` found at image offset `at` (from the function's start).
  std::optional<Difference> check_field(const Field &f, uint64_t at) {
    const std::vector<uint64_t> *cands = candidates(f);
    if (!cands || at + f.width > img_.bytes.size()) {
      res_.references_unchecked++;
      return std::nullopt;
    }
    uint64_t value = 0;
    std::memcpy(&value, img_.bytes.data() + at, f.width);
    uint64_t p = img_.address + at;
    for (uint64_t s : *cands)
      if (truncate(s + f.addend - (f.pcrel ? p : 0), f.width) == value) {
        res_.references_checked++;
        return std::nullopt;
      }
    // What the image's field points at instead (sign-extended 32-bit fields as the CPU does).
    uint64_t ext = f.width == 4 ? (uint64_t)(int64_t)(int32_t)value : value;
    uint64_t actual = ext + (f.pcrel ? p : 0) - f.addend;
    Difference d;
    d.offset = f.offset;
    d.text = "its reference to '" + symbol_text(f) + "' resolves to " + hex(actual) +
             " in the image, where '" + symbol_text(f) + "' is at " + hex(cands->front());
    return d;
  }

  std::optional<Difference> instruction_level();

  Difference bytes_difference(const Insn &o, const Insn *i) const {
    Difference d;
    d.offset = o.offset;
    d.text = "expected " + hex_bytes(o.raw(), &m_.masked, o.offset) + ", found " +
             (i ? hex_bytes(i->raw(), nullptr, 0) : std::string("the end of the function"));
    return d;
  }

  Bytes orig_;
  uint64_t orig_address_, orig_align_;
  const ImageCode &img_;
  const Mask &m_;
  const Resolver *resolve_;
  FunctionMatch &res_;
  std::unordered_map<const Symbol *, std::vector<uint64_t>> cache_;
};

std::optional<Difference> Comparison::instruction_level() {
  const Disassembler &dis = Disassembler::shared();
  Bytes image = img_.bytes.subspan(
      0, std::min<uint64_t>(img_.bytes.size(), img_.size.value_or(~uint64_t(0))));
  std::vector<Insn> oi = dis.decode(orig_);
  std::vector<Insn> ii = dis.decode(image);
  std::unordered_map<uint64_t, uint64_t> map; // orig instruction start -> image one
  struct InnerBranch {
    size_t orig_index, image_index;
    uint64_t orig_target, image_target;
  };
  std::vector<InnerBranch> inner;
  auto masked_any = [&](uint64_t from, uint64_t n) {
    for (uint64_t k = from; k < from + n && k < m_.masked.size(); k++)
      if (m_.masked[k])
        return true;
    return false;
  };
  auto nop_site_at = [&](uint64_t off, unsigned len) {
    return std::any_of(m_.nops.begin(), m_.nops.end(),
                       [&](const NopSite &s) { return s.offset == off && s.len == len; });
  };
  auto fields_in = [&](const Insn &o) {
    auto lo = std::lower_bound(m_.fields.begin(), m_.fields.end(), o.offset,
                               [](const Field &f, uint64_t off) { return f.offset < off; });
    auto hi = lo;
    while (hi != m_.fields.end() && hi->offset < o.end())
      ++hi;
    return std::make_pair(lo, hi);
  };
  auto inner_target = [&](const Insn &o, const DirectBranch &br) {
    return !masked_any(o.offset + br.disp_offset, br.disp_size) && br.target >= 0 &&
           (uint64_t)br.target <= orig_.size();
  };

  size_t a = 0, b = 0;
  while (a < oi.size()) {
    const Insn &o = oi[a];
    if (b == ii.size())
      return bytes_difference(o, nullptr);
    const Insn &i = ii[b];
    map[o.offset] = i.offset;
    Bytes ob = o.raw(), ib = i.raw();
    // Same length: bytes under the masks and the fields' values, or objtool's NOP.
    if (o.size == i.size) {
      bool same = true;
      for (unsigned k = 0; k < o.size && same; k++)
        same = m_.masked[o.offset + k] || img_.is_masked(i.offset + k) || ob[k] == ib[k];
      if (same) {
        auto [lo, hi] = fields_in(o);
        for (auto f = lo; f != hi; ++f)
          if (auto d = check_field(*f, i.offset + (f->offset - o.offset)))
            return d;
        if (auto br = direct_branch(o); br && inner_target(o, *br))
          inner.push_back({a, b, (uint64_t)br->target, (uint64_t)direct_branch(i)->target});
        a++, b++;
        continue;
      }
      if (nop_site_at(o.offset, o.size) && image_has_nop({0, o.size}, i.offset)) {
        res_.nop_sites++;
        a++, b++;
        continue;
      }
    }
    auto obr = direct_branch(o), ibr = direct_branch(i);
    if (obr && ibr && obr->conditional == ibr->conditional && obr->cc == ibr->cc) {
      bool relocated = masked_any(o.offset + obr->disp_offset, obr->disp_size);
      if (relocated) {
        // Where the original's relocation sends the branch: S + A + (end of insn - field).
        auto [lo, hi] = fields_in(o);
        const Field *f = lo != hi ? &*lo : nullptr;
        const std::vector<uint64_t> *cands = f ? candidates(*f) : nullptr;
        if (cands) {
          uint64_t dest = img_.address + (uint64_t)ibr->target;
          bool ok = std::any_of(cands->begin(), cands->end(), [&](uint64_t s) {
            return s + f->addend + (o.end() - f->offset) == dest;
          });
          if (!ok) {
            Difference d;
            d.offset = o.offset;
            d.text = "its jump to '" + symbol_text(*f) + "' goes to " + hex(dest) +
                     " in the image, where '" + symbol_text(*f) + "' is at " + hex(cands->front());
            return d;
          }
          res_.references_checked++;
        } else {
          res_.references_unchecked++;
        }
        res_.relaxed += o.size != i.size;
        a++, b++;
        continue;
      }
      if (inner_target(o, *obr)) {
        res_.relaxed += o.size != i.size;
        inner.push_back({a, b, (uint64_t)obr->target, (uint64_t)ibr->target});
        a++, b++;
        continue;
      }
    }
    if (is_nop(o) || is_nop(i)) {
      size_t a2 = a, b2 = b;
      while (a2 < oi.size() && is_nop(oi[a2]))
        a2++;
      while (b2 < ii.size() && is_nop(ii[b2]))
        b2++;
      uint64_t oend = a2 < oi.size() ? oi[a2].offset : orig_.size();
      uint64_t iend = b2 < ii.size() ? ii[b2].offset : image.size();
      uint64_t p = alignment_of(orig_address_ + oend, std::min<uint64_t>(orig_align_, 64));
      if (a2 < oi.size() && p >= 4 && (img_.address + iend) % p == 0) {
        a = a2, b = b2;
        continue;
      }
    }
    return bytes_difference(o, &i);
  }
  uint64_t consumed = b < ii.size() ? ii[b].offset : image.size();
  map[orig_.size()] = consumed;
  for (const InnerBranch &br : inner) {
    auto it = map.find(br.orig_target);
    if (it == map.end() || it->second != br.image_target) {
      Difference d = bytes_difference(oi[br.orig_index], &ii[br.image_index]);
      d.text = "a jump to +" + hex(br.orig_target) + " lands at +" + hex(br.image_target) +
               " in the image" +
               (it == map.end() ? "" : " instead of the corresponding +" + hex(it->second)) + "; " +
               d.text;
      return d;
    }
  }
  res_.image_size = consumed;
  return std::nullopt;
}

// Compares the original's code with the image's; fills `res`. `size_where` names where the
// image's size came from, for the message.
void compare_code(const Symbol &sym, const ImageCode &img, const Mask &m, const Resolver *resolve,
                  const std::string &what, const std::string &name, const std::string &size_where,
                  FunctionMatch &res) {
  Bytes orig = sym.sec->bytes().subspan(sym.value, sym.size);
  Comparison cmp(orig, sym.value, std::max<uint64_t>(sym.sec->shdr.sh_addralign, 1), img, m,
                 resolve, res);
  if (auto d = cmp.run()) {
    res.matches = false;
    res.mismatch = what + " at +" + hex(d->offset) + " (" + d->text + ")";
    return;
  }
  if (img.size && res.image_size != *img.size) {
    res.matches = false;
    res.mismatch =
        "function '" + name + "' is " + std::to_string(*img.size) + " bytes " + size_where +
        " but the original build's code" +
        (res.relaxed ? " (with " + std::to_string(res.relaxed) + " branches in their short form)"
                     : std::string()) +
        " is " + std::to_string(res.image_size) + " bytes";
    return;
  }
  res.matches = true;
}

// A temporary copy of a decompressed module, for the libelf-based loaders that want a path.
class TempFile {
public:
  explicit TempFile(const std::vector<uint8_t> &data) {
    const char *dir = std::getenv("TMPDIR");
    path_ = std::string(dir && *dir ? dir : "/tmp") + "/klp-image-XXXXXX";
    UniqueFd fd(mkstemp(path_.data()));
    if (!fd)
      throw Error(path_ + ": cannot create temporary file: " + std::strerror(errno));
    size_t done = 0;
    while (done < data.size()) {
      ssize_t n = ::write(fd.get(), data.data() + done, data.size() - done);
      if (n <= 0) {
        int err = errno;
        ::unlink(path_.c_str());
        throw Error(path_ + ": write failed: " + std::strerror(err));
      }
      done += n;
    }
  }
  ~TempFile() { ::unlink(path_.c_str()); }
  const std::string &path() const { return path_; }

private:
  std::string path_;
};

const char *const kReferenceSymbols[] = {"_text", "_stext", "startup_64"};

} // namespace

// ---------------------------------------------------------------------------------------------

struct ImageMatcher::Impl {
  std::string path;
  const TargetSymtab &symtab;
  KernelImage image;
  bool module = false;
  int64_t slide = 0;

  // vmlinux
  std::unique_ptr<VmlinuxView> view;
  // module: the .ko as an object, and its own kallsyms order
  std::unique_ptr<TempFile> temp;
  std::unique_ptr<Object> ko;
  std::unique_ptr<TargetSymtab> ko_symtab;

  Impl(const std::string &p, const TargetSymtab &st) : path(p), symtab(st) {}

  FunctionMatch check_vmlinux(const ImageFunction &f, const std::string &name,
                              const std::string &what) const;
  FunctionMatch check_module(const ImageFunction &f, const std::string &name,
                             const std::string &what) const;

  // A symbol table address as a link address: KASLR moves the kernel's addresses, not the
  // absolute ones below it (per-CPU offsets, CONFIG_KALLSYMS_ABSOLUTE_PERCPU).
  uint64_t to_link(uint64_t address) const {
    return (address >> 63) ? address - (uint64_t)slide : address;
  }

  // Where a relocation's symbol is in the image, for the function `fn` at `link`: by name in the
  // symbol table (every same-named one), else in the image's own. A section symbol is its
  // bundled symbol's address minus that symbol's offset, or the function's section start.
  std::vector<uint64_t> link_addresses(const Object &obj, const Symbol &target, const Symbol &fn,
                                       uint64_t link) const {
    const Symbol *t = &target;
    uint64_t shift = 0;
    if (t->is_section()) {
      if (t->sec == fn.sec)
        return {link - fn.value};
      const Symbol *named = t->sec ? t->sec->bundled : nullptr;
      if (!named && t->sec) // an object that was not cooked: bundle.h's definition
        for (const Symbol &s : obj.symbols)
          if (s.sec == t->sec && (s.is_func() || s.is_object()) && s.value == 0 &&
              s.size == t->sec->size())
            named = &s;
      if (!named)
        return {};
      shift = named->value;
      t = named;
    }
    if (t->name.empty())
      return {};
    std::vector<uint64_t> out;
    for (const TargetSymbol *ts : symtab.find_all(t->name))
      out.push_back(to_link(ts->address) - shift);
    if (out.empty())
      if (const auto *syms = view->symbols(t->name))
        for (const ImageSymbol &s : *syms)
          out.push_back(s.value - shift);
    return out;
  }
};

ImageMatcher::ImageMatcher(const std::string &image_path, const TargetSymtab &symtab)
    : impl_(std::make_unique<Impl>(image_path, symtab)) {
  Impl &d = *impl_;
  d.image = read_kernel_image(image_path);
  auto eh = read_le<Elf64_Ehdr>(Bytes(d.image.elf), 0, image_path);
  if (eh.e_type == ET_REL) {
    d.module = true;
    if (symtab.is_vmlinux())
      throw Error(image_path + ": image is a module but the symbol table (" + symtab.source() +
                  ") is vmlinux's");
    std::string ko_path = image_path;
    if (d.image.format != "ELF") {
      d.temp = std::make_unique<TempFile>(d.image.elf);
      ko_path = d.temp->path();
    }
    d.ko = Object::load(ko_path);
    d.ko_symtab = std::make_unique<TargetSymtab>(ko_path, symtab.objname());
    return;
  }
  if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN)
    throw Error(image_path + ": ELF type " + std::to_string(eh.e_type) +
                " is neither a vmlinux nor a module");
  if (!symtab.is_vmlinux())
    throw Error(image_path + ": image is a vmlinux but the symbol table (" + symtab.source() +
                ") is module " + symtab.objname() + "'s");
  if (!symtab.has_addresses())
    throw Error(symtab.source() +
                ": symbol table has no addresses (a /proc/kallsyms read "
                "without privileges?); cannot locate functions in " +
                image_path);
  d.view = std::make_unique<VmlinuxView>(Bytes(d.image.elf), image_path);

  for (const char *ref : kReferenceSymbols) {
    const TargetSymbol *ts = symtab.find(ref, 0);
    if (!ts)
      continue;
    std::optional<uint64_t> link;
    if (const auto *syms = d.view->symbols(ref); syms && syms->size() == 1)
      link = syms->front().value;
    else
      link = d.view->text_start();
    if (!link)
      throw Error(image_path + ": image has no .text section or executable segment");
    d.slide = (int64_t)(ts->address - *link);
    return;
  }
  if (symtab.format() == TargetFormat::Kallsyms)
    throw Error(symtab.source() +
                ": none of _text, _stext, startup_64 is in the symbol table; "
                "cannot compute the KASLR offset of " +
                image_path);
  d.slide = 0; // ELF or readelf symbol table: link addresses already
}

ImageMatcher::~ImageMatcher() = default;

const std::string &ImageMatcher::image_path() const { return impl_->path; }
const std::string &ImageMatcher::image_format() const { return impl_->image.format; }
bool ImageMatcher::is_module() const { return impl_->module; }
int64_t ImageMatcher::slide() const { return impl_->slide; }

FunctionMatch ImageMatcher::check(const ImageFunction &f) const {
  if (!f.orig || !f.sym)
    throw Error(impl_->path + ": function '" + f.name + "' has no original object or symbol");
  const Symbol &sym = *f.sym;
  std::string name = f.name.empty() ? sym.name : f.name;
  std::string where = f.orig->where(sym);
  if (!sym.sec || sym.sec->type() == SHT_NOBITS)
    throw Error(where + ": function '" + sym.name + "' has no code in the original object");
  if (sym.size == 0)
    throw Error(where + ": function '" + sym.name + "' has no size in the original object");
  if (sym.value > sym.sec->data.size() || sym.sec->data.size() - sym.value < sym.size)
    throw Error(where + ": function '" + sym.name + "' extends past the end of its section");
  std::string what =
      "function '" + name + "' differs from the original build (" + f.orig->path + ")";
  return impl_->module ? impl_->check_module(f, name, what) : impl_->check_vmlinux(f, name, what);
}

namespace {

std::string sympos_suffix(unsigned long sympos) {
  return sympos ? " (sympos " + std::to_string(sympos) + ")" : "";
}

} // namespace

FunctionMatch ImageMatcher::Impl::check_vmlinux(const ImageFunction &f, const std::string &name,
                                                const std::string &what) const {
  const Symbol &sym = *f.sym;
  const TargetSymbol *ts = symtab.find(name, f.sympos);
  if (!ts)
    throw Error(symtab.source() + ": function '" + name + "'" + sympos_suffix(f.sympos) +
                " is not in the target's symbol table");
  uint64_t link = ts->address - (uint64_t)slide;
  FunctionMatch res;
  res.address = link;
  res.size = sym.size;

  // The function's size in the target, from the image's own symbol table or else the given one.
  ImageCode img;
  std::string size_where;
  if (ts->size) {
    img.size = ts->size;
    size_where = "in " + symtab.source();
  }
  if (view->has_symbols()) {
    const ImageSymbol *found = nullptr;
    if (const auto *syms = view->symbols(name))
      for (const ImageSymbol &s : *syms)
        if (s.value == link)
          found = &s;
    if (!found) {
      res.mismatch = "function '" + name + "' is not at " + hex(link) +
                     " in the image (no such symbol there): " + symtab.source() +
                     " does not describe this image";
      return res;
    }
    if (img.size && *img.size != found->size) {
      res.mismatch = "function '" + name + "' is " + std::to_string(found->size) +
                     " bytes in the image but " + std::to_string(*img.size) + " bytes in " +
                     symtab.source() + ", which does not describe this image";
      return res;
    }
    img.size = found->size;
    size_where = "in the image";
  }
  // Without a size (a kallsyms copy and a symbol-less vmlinuz), read more than the original has:
  // short branches shrink the image's function, but explicit alignment (`.p2align` in inline
  // asm) can then need more padding. The next kallsyms symbol is no bound: assembly functions
  // have labels inside them. The comparison consumes only what pairs with the original.
  uint64_t want = img.size.value_or(2 * sym.size + 64);
  std::optional<Bytes> code = view->code_at(link, want);
  if (!code)
    throw Error(path + ": function '" + name + "' at " + hex(ts->address) + " (link address " +
                hex(link) + ", KASLR offset " + hex((uint64_t)slide) +
                ") is not in the image's code; is " + symtab.source() + " from this kernel?");
  img.bytes = *code;
  if (img.size && img.bytes.size() < *img.size)
    throw Error(path + ": function '" + name + "' at " + hex(link) +
                " extends past the end of its segment");
  Mask m = original_mask(*f.orig, sym);
  img.address = link;
  Resolver resolve = [&](const Symbol &target) {
    return link_addresses(*f.orig, target, sym, link);
  };
  compare_code(sym, img, m, &resolve, what, name, size_where, res);
  return res;
}

FunctionMatch ImageMatcher::Impl::check_module(const ImageFunction &f, const std::string &name,
                                               const std::string &what) const {
  const Symbol &sym = *f.sym;
  const TargetSymbol *ts = ko_symtab->find(name, f.sympos);
  if (!ts)
    throw Error(path + ": function '" + name + "'" + sympos_suffix(f.sympos) +
                " is not in the module's symbol table");
  const Symbol *ks = nullptr;
  for (const Symbol &s : ko->symbols)
    if (s.index == ts->source_index)
      ks = &s;
  if (!ks || ks->name != name)
    throw Error(path + ": symbol table index " + std::to_string(ts->source_index) + " is not '" +
                name + "'");
  if (!ks->sec || ks->sec->type() == SHT_NOBITS || !ks->sec->is_text())
    throw Error(path + ": '" + name + "' is not a function in the module");
  if (ks->value > ks->sec->data.size() || ks->sec->data.size() - ks->value < ks->size)
    throw Error(ko->where(*ks) + ": function '" + name + "' extends past the end of its section");

  // The .ko's own relocation fields hold placeholders until the module is loaded: not compared
  // either (in image coordinates, which differ from the original's after relaxed branches).
  Mask m = original_mask(*f.orig, sym);
  Mask km;
  km.masked.assign(ks->size, 0);
  for_each_reloc(*ko, *ks->sec, [&](const Section &, const Relocation &r) {
    if (r.offset + 8 > ks->value && r.offset < ks->value + ks->size + 3)
      mask_relocation(km, ks->value, ks->size, r, ko->where(*ks->sec, r.offset));
  });
  FunctionMatch res;
  res.address = ks->value;
  res.size = sym.size;
  ImageCode img{ks->sec->bytes().subspan(ks->value, ks->size), ks->size, ks->value,
                std::move(km.masked)};
  // The .ko's fields are unresolved: they can be masked, not checked.
  compare_code(sym, img, m, nullptr, what, name, "in the module", res);
  return res;
}

void verify_functions_match(const std::string &image_path, const TargetSymtab &symtab,
                            const std::vector<ImageFunction> &funcs) {
  if (funcs.empty())
    return;
  ImageMatcher matcher(image_path, symtab);
  std::vector<FunctionMatch> bad;
  std::vector<std::string> names;
  for (const ImageFunction &f : funcs) {
    FunctionMatch r = matcher.check(f);
    if (!r.matches) {
      bad.push_back(std::move(r));
      names.push_back(f.name.empty() ? f.sym->name : f.name);
    }
  }
  if (bad.empty())
    return;
  std::string msg = image_path + ": " + bad.front().mismatch;
  if (bad.size() > 1) {
    msg += "; " + std::to_string(bad.size() - 1) + " more function" +
           (bad.size() > 2 ? "s differ: " : " differs: ");
    for (size_t i = 1; i < names.size(); i++)
      msg += (i > 1 ? ", " : "") + names[i];
  }
  msg += "; rebuild with the target's exact source, config and compiler";
  throw Error(msg);
}

} // namespace klp
