#include "source_lines.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>

#include <cstdlib>
#include <unordered_map>

namespace klp {

namespace {

struct DwflDeleter {
  void operator()(Dwfl *d) const { dwfl_end(d); }
};

// "inc/ring.h" for "/build/inc/ring.h" under /build, and for "./inc/ring.h".
std::string relative_to(std::string file, const char *comp_dir) {
  std::string dir = comp_dir ? comp_dir : "";
  while (dir.size() > 1 && dir.back() == '/')
    dir.pop_back();
  if (!dir.empty() && dir != "." && file.size() > dir.size() + 1 &&
      file.compare(0, dir.size(), dir) == 0 && file[dir.size()] == '/')
    file.erase(0, dir.size() + 1);
  while (file.compare(0, 2, "./") == 0)
    file.erase(0, 2);
  return file;
}

const char *cu_comp_dir(Dwarf_Die *die) {
  Dwarf_Die cu;
  Dwarf_Attribute attr;
  if (!dwarf_diecu(die, &cu, nullptr, nullptr))
    return nullptr;
  return dwarf_formstring(dwarf_attr(&cu, DW_AT_comp_dir, &attr));
}

} // namespace

struct SourceLines::Impl {
  std::unique_ptr<Dwfl, DwflDeleter> dwfl;
  Dwfl_Module *mod = nullptr;
  Dwarf_Addr bias = 0;
  bool has_lines = false;
  std::unordered_map<size_t, Dwarf_Addr> section_address; // by section index

  // The address libdwfl gave byte `offset` of section `index`.
  std::optional<Dwarf_Addr> address(size_t index, uint64_t offset) const {
    auto it = section_address.find(index);
    if (it == section_address.end())
      return std::nullopt;
    return it->second + offset;
  }
};

SourceLines::SourceLines(const std::string &path) : impl_(std::make_unique<Impl>()) {
  static const Dwfl_Callbacks callbacks = {
      .find_elf = dwfl_build_id_find_elf,
      .find_debuginfo = dwfl_standard_find_debuginfo,
      .section_address = dwfl_offline_section_address,
      .debuginfo_path = nullptr,
  };
  impl_->dwfl.reset(dwfl_begin(&callbacks));
  if (!impl_->dwfl)
    return;
  impl_->mod = dwfl_report_offline(impl_->dwfl.get(), "", path.c_str(), -1);
  if (!impl_->mod || dwfl_report_end(impl_->dwfl.get(), nullptr, nullptr) != 0) {
    impl_->mod = nullptr;
    return;
  }
  Dwarf_Addr dwbias = 0;
  Dwarf *dw = dwfl_module_getdwarf(impl_->mod, &dwbias);
  if (!dw)
    return;
  // libdwfl wrote the addresses it chose into the section headers of its copy of the ELF.
  Elf *elf = dwfl_module_getelf(impl_->mod, &impl_->bias);
  if (!elf)
    return;
  Elf_Scn *scn = nullptr;
  while ((scn = elf_nextscn(elf, scn))) {
    GElf_Shdr shdr;
    if (gelf_getshdr(scn, &shdr) && (shdr.sh_flags & SHF_ALLOC))
      impl_->section_address[elf_ndxscn(scn)] = shdr.sh_addr + impl_->bias;
  }
  Dwarf_Off off = 0, next = 0;
  size_t header = 0;
  while (!impl_->has_lines &&
         dwarf_nextcu(dw, off, &next, &header, nullptr, nullptr, nullptr) == 0) {
    Dwarf_Die cu;
    Dwarf_Lines *lines = nullptr;
    size_t n = 0;
    if (dwarf_offdie(dw, off + header, &cu) && dwarf_getsrclines(&cu, &lines, &n) == 0 && n > 0)
      impl_->has_lines = true;
    off = next;
  }
}

SourceLines::~SourceLines() = default;

bool SourceLines::available() const { return impl_->has_lines; }

std::optional<SourceLine> SourceLines::line_at(const Section &sec, uint64_t offset) const {
  if (!impl_->has_lines || !sec.index)
    return std::nullopt;
  std::optional<Dwarf_Addr> addr = impl_->address(sec.index, offset);
  if (!addr)
    return std::nullopt;
  Dwfl_Line *line = dwfl_module_getsrc(impl_->mod, *addr);
  if (!line)
    return std::nullopt;
  int lineno = 0;
  const char *file = dwfl_lineinfo(line, nullptr, &lineno, nullptr, nullptr, nullptr);
  if (!file || lineno <= 0)
    return std::nullopt;
  return SourceLine{relative_to(file, dwfl_line_comp_dir(line)), (unsigned)lineno};
}

std::optional<InlinedCallee> SourceLines::inlined_at(const Section &sec, uint64_t offset) const {
  if (!impl_->has_lines || !sec.index)
    return std::nullopt;
  std::optional<Dwarf_Addr> addr = impl_->address(sec.index, offset);
  if (!addr)
    return std::nullopt;
  Dwarf_Addr cubias = 0;
  Dwarf_Die *cu = dwfl_module_addrdie(impl_->mod, *addr, &cubias);
  if (!cu)
    return std::nullopt;
  Dwarf_Die *scopes = nullptr;
  int n = dwarf_getscopes(cu, *addr - cubias, &scopes);
  std::optional<InlinedCallee> found;
  // Innermost first: the first inlined subroutine before the enclosing function.
  for (int i = 0; i < n; i++) {
    int tag = dwarf_tag(&scopes[i]);
    if (tag == DW_TAG_subprogram)
      break;
    if (tag != DW_TAG_inlined_subroutine)
      continue;
    Dwarf_Die *die = &scopes[i];
    InlinedCallee c;
    const char *name = dwarf_diename(die);
    c.name = name ? name : "?";
    if (const char *file = dwarf_decl_file(die))
      c.decl_file = relative_to(file, cu_comp_dir(die));
    int line = 0;
    if (dwarf_decl_line(die, &line) == 0 && line > 0)
      c.decl_line = (unsigned)line;
    c.is_static = !dwarf_hasattr_integrate(die, DW_AT_external);
    Dwarf_Attribute attr;
    Dwarf_Word inl = 0;
    if (dwarf_formudata(dwarf_attr_integrate(die, DW_AT_inline, &attr), &inl) == 0)
      c.declared_inline = inl == DW_INL_declared_inlined || inl == DW_INL_declared_not_inlined;
    found = std::move(c);
    break;
  }
  free(scopes);
  return found;
}

} // namespace klp
