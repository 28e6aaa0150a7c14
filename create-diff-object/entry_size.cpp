#include "entry_size.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>

#include <algorithm>
#include <charconv>
#include <memory>
#include <tuple>
#include <vector>

namespace klp {

const char *size_method_name(SizeMethod m) {
  switch (m) {
  case SizeMethod::Environment:
    return "environment";
  case SizeMethod::Entsize:
    return "sh_entsize";
  case SizeMethod::Dwarf:
    return "dwarf";
  case SizeMethod::Fixed:
    return "fixed";
  case SizeMethod::Paired:
    return "paired";
  case SizeMethod::Inferred:
    return "inferred";
  }
  return "?";
}

// ---- DWARF ----------------------------------------------------------------------------------

namespace {

struct DwflDeleter {
  void operator()(Dwfl *d) const { dwfl_end(d); }
};

// A top-level `struct name { ... }` with a size (not a declaration).
void record_struct(Dwarf_Die *die, std::map<std::string, uint64_t, std::less<>> &sizes) {
  if (dwarf_tag(die) != DW_TAG_structure_type || dwarf_hasattr(die, DW_AT_declaration))
    return;
  const char *name = dwarf_diename(die);
  Dwarf_Attribute attr;
  Dwarf_Word size;
  if (!name || !dwarf_attr(die, DW_AT_byte_size, &attr) || dwarf_formudata(&attr, &size) != 0)
    return;
  sizes.emplace(name, size);
}

} // namespace

void DwarfStructSizes::load() {
  loaded_ = true;
  static const Dwfl_Callbacks callbacks = {
      .find_elf = dwfl_build_id_find_elf,
      .find_debuginfo = dwfl_standard_find_debuginfo,
      .section_address = dwfl_offline_section_address,
      .debuginfo_path = nullptr,
  };
  std::unique_ptr<Dwfl, DwflDeleter> dwfl(dwfl_begin(&callbacks));
  if (!dwfl)
    return;
  // An offline module applies the relocations of an ET_REL file's .debug_* sections, without
  // which every DW_FORM_strp name of a .o reads as offset 0.
  Dwfl_Module *mod = dwfl_report_offline(dwfl.get(), "", path_.c_str(), -1);
  if (!mod || dwfl_report_end(dwfl.get(), nullptr, nullptr) != 0)
    return;
  Dwarf_Addr bias;
  Dwarf *dw = dwfl_module_getdwarf(mod, &bias);
  if (!dw)
    return; // no debug info
  Dwarf_Off off = 0, next;
  size_t header_size;
  while (dwarf_nextcu(dw, off, &next, &header_size, nullptr, nullptr, nullptr) == 0) {
    Dwarf_Die cu, child;
    if (dwarf_offdie(dw, off + header_size, &cu) && dwarf_child(&cu, &child) == 0) {
      do
        record_struct(&child, sizes_);
      while (dwarf_siblingof(&child, &child) == 0);
    }
    off = next;
  }
}

std::optional<uint64_t> DwarfStructSizes::size_of(std::string_view name) {
  if (!loaded_)
    load();
  auto it = sizes_.find(name);
  if (it == sizes_.end())
    return std::nullopt;
  return it->second;
}

// ---- inference ------------------------------------------------------------------------------

namespace {

// Coarse target kind for the relocation pattern; see infer_entry_size().
bool targets_code(const Relocation &r) { return r.sym->sec && r.sym->sec->is_text(); }

using PatternItem = std::tuple<uint64_t, uint32_t, bool>; // offset in entry, type, code?

bool pattern_repeats(const Section &sec, uint64_t s) {
  const std::vector<Relocation> &relocs = sec.relocations();
  std::vector<std::vector<PatternItem>> entries(sec.size() / s);
  for (const Relocation &r : relocs) {
    uint64_t in = r.offset % s;
    if (in + reloc_width(r.type, sec.name) > s)
      return false; // a field would straddle two entries
    entries[r.offset / s].emplace_back(in, r.type, targets_code(r));
  }
  for (auto &e : entries)
    std::sort(e.begin(), e.end());
  return std::all_of(entries.begin(), entries.end(),
                     [&](const std::vector<PatternItem> &e) { return e == entries.front(); });
}

constexpr uint64_t kMaxInferredSize = 64;

} // namespace

std::optional<uint64_t> infer_entry_size(const Section &sec, uint64_t min_size) {
  const std::vector<Relocation> &relocs = sec.relocations();
  if (relocs.empty() || sec.size() == 0)
    return std::nullopt;
  uint64_t lo = std::max<uint64_t>(min_size, 1);
  for (const Relocation &r : relocs) {
    if (r.offset >= sec.size())
      return std::nullopt;
    lo = std::max<uint64_t>(lo, reloc_width(r.type, sec.name));
  }
  for (uint64_t s = lo; s <= std::min(sec.size(), kMaxInferredSize); s++)
    if (sec.size() % s == 0 && pattern_repeats(sec, s))
      return s;
  return std::nullopt;
}

// ---- the decision ---------------------------------------------------------------------------

namespace {

// kpatch reads its variables with atoi(); we are stricter: a positive decimal number.
uint64_t parse_override(const Object &obj, const Section &sec, const char *var, const char *val) {
  std::string_view s(val);
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || v == 0 || v > 4096)
    throw Error(obj.where(sec) + ": invalid " + var + "='" + std::string(s) +
                "': expected the entry size in bytes (a positive decimal number)");
  return v;
}

void check_divides(const Object &obj, const Section &sec, uint64_t size, const std::string &from,
                   const EntrySizeRule &rule) {
  if (sec.size() % size == 0)
    return;
  std::string fix = rule.env_var ? std::string("; set ") + rule.env_var : std::string();
  throw Error(obj.where(sec) + ": section size " + hex(sec.size()) + " is not a multiple of the " +
              "entry size " + std::to_string(size) + " from " + from + fix);
}

} // namespace

EntrySize entry_size(const Object &obj, const Section &sec, const EntrySizeRule &rule,
                     const GetEnvFn &getenv, DwarfStructSizes &dwarf,
                     std::optional<uint64_t> paired_count) {
  if (rule.env_var && getenv) {
    if (const char *val = getenv(rule.env_var)) {
      uint64_t v = parse_override(obj, sec, rule.env_var, val);
      check_divides(obj, sec, v, rule.env_var, rule);
      return {v, SizeMethod::Environment};
    }
  }
  if (sec.shdr.sh_entsize != 0) {
    check_divides(obj, sec, sec.shdr.sh_entsize, "sh_entsize", rule);
    return {sec.shdr.sh_entsize, SizeMethod::Entsize};
  }
  if (rule.dwarf_struct) {
    if (auto v = dwarf.size_of(rule.dwarf_struct); v && *v > 0) {
      check_divides(obj, sec, *v, std::string("the dwarf of struct ") + rule.dwarf_struct, rule);
      return {*v, SizeMethod::Dwarf};
    }
  }
  if (rule.fixed) {
    check_divides(obj, sec, rule.fixed, "its fixed layout", rule);
    return {rule.fixed, SizeMethod::Fixed};
  }
  if (paired_count) {
    if (*paired_count == 0 || sec.size() % *paired_count != 0)
      throw Error(obj.where(sec) + ": section size " + hex(sec.size()) + " does not hold " +
                  std::to_string(*paired_count) + " entries like its paired section");
    return {sec.size() / *paired_count, SizeMethod::Paired};
  }
  if (auto v = infer_entry_size(sec, rule.min_size))
    return {*v, SizeMethod::Inferred};
  std::string fix = rule.env_var ? std::string("; set ") + rule.env_var : std::string();
  throw Error(obj.where(sec) + ": cannot determine the entry size" + fix);
}

} // namespace klp
