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

// ---- fitting and inference ------------------------------------------------------------------

namespace {

// Coarse target kind for the relocation pattern; see infer_entry_size().
bool targets_code(const Relocation &r) { return r.sym->sec && r.sym->sec->is_text(); }

using PatternItem = std::tuple<uint64_t, uint32_t, bool>; // offset in entry, type, code?
using Pattern = std::vector<PatternItem>;

// The relocation pattern of every entry of `size` bytes (the last one possibly short); nullopt
// when a relocated field straddles two entries or the end of the section.
std::optional<std::vector<Pattern>> patterns(const Section &sec, uint64_t size, std::string *why) {
  std::vector<Pattern> entries((sec.size() + size - 1) / size);
  for (const Relocation &r : sec.relocations()) {
    uint64_t in = r.offset % size, width = reloc_width(r.type, sec.name);
    if (r.offset >= sec.size() || in + width > size || r.offset + width > sec.size()) {
      if (why)
        *why = "the relocated field at " + hex(r.offset) + " would straddle two entries";
      return std::nullopt;
    }
    entries[r.offset / size].emplace_back(in, r.type, targets_code(r));
  }
  for (Pattern &e : entries)
    std::sort(e.begin(), e.end());
  return entries;
}

constexpr uint64_t kMaxInferredSize = 64;

} // namespace

bool fits_entries(const Section &sec, uint64_t size, std::string *why) {
  if (size == 0)
    return false;
  // A short last entry lacks its alignment padding, never more: entries larger than the whole
  // section and then some are a corrupt size (copying each would allocate that much).
  if (size > sec.size() + 8) {
    if (why)
      *why = "the section holds only " + hex(sec.size()) + " bytes";
    return false;
  }
  std::optional<std::vector<Pattern>> p = patterns(sec, size, why);
  if (!p)
    return false;
  if (sec.size() % size != 0 && !p->empty() && p->back() != p->front()) {
    if (why)
      *why = "section size " + hex(sec.size()) + " is not a multiple of " + std::to_string(size) +
             " and its last entry is not a whole one";
    return false;
  }
  return true;
}

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
  for (uint64_t s = lo; s <= std::min(sec.size(), kMaxInferredSize); s++) {
    std::optional<std::vector<Pattern>> p = patterns(sec, s, nullptr);
    if (p && std::all_of(p->begin(), p->end(), [&](const Pattern &e) { return e == p->front(); }))
      return s;
  }
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

std::string fix_for(const EntrySizeRule &rule) {
  return rule.env_var ? std::string("; set ") + rule.env_var : std::string();
}

void check_fits(const Object &obj, const Section &sec, uint64_t size, const std::string &from,
                const EntrySizeRule &rule) {
  std::string why;
  if (fits_entries(sec, size, &why))
    return;
  throw Error(obj.where(sec) + ": entries of " + std::to_string(size) + " bytes (from " + from +
              ") do not fit: " + why + fix_for(rule));
}

// What the object shows about its entry size, by methods 2-6 of the header.
std::optional<EntrySize> from_object(const Object &obj, const Section &sec,
                                     const EntrySizeRule &rule, DwarfStructSizes &dwarf,
                                     std::optional<uint64_t> paired_count) {
  if (sec.shdr.sh_entsize != 0) {
    check_fits(obj, sec, sec.shdr.sh_entsize, "sh_entsize", rule);
    return EntrySize{sec.shdr.sh_entsize, SizeMethod::Entsize};
  }
  if (rule.dwarf_struct) {
    if (auto v = dwarf.size_of(rule.dwarf_struct); v && *v > 0) {
      check_fits(obj, sec, *v, std::string("the dwarf of struct ") + rule.dwarf_struct, rule);
      return EntrySize{*v, SizeMethod::Dwarf};
    }
  }
  if (rule.fixed) {
    check_fits(obj, sec, rule.fixed, "its fixed layout", rule);
    return EntrySize{rule.fixed, SizeMethod::Fixed};
  }
  if (paired_count) {
    if (*paired_count == 0 || sec.size() % *paired_count != 0)
      throw Error(obj.where(sec) + ": section size " + hex(sec.size()) + " does not hold " +
                  std::to_string(*paired_count) + " entries like its paired section");
    return EntrySize{sec.size() / *paired_count, SizeMethod::Paired};
  }
  if (auto v = infer_entry_size(sec, rule.min_size))
    return EntrySize{*v, SizeMethod::Inferred};
  return std::nullopt;
}

} // namespace

EntrySize entry_size(const Object &obj, const Section &sec, const EntrySizeRule &rule,
                     const GetEnvFn &getenv, DwarfStructSizes &dwarf,
                     std::optional<uint64_t> paired_count,
                     const std::function<void(const std::string &)> &warn) {
  const char *val = rule.env_var && getenv ? getenv(rule.env_var) : nullptr;
  if (!val) {
    if (auto v = from_object(obj, sec, rule, dwarf, paired_count))
      return *v;
    throw Error(obj.where(sec) + ": cannot determine the entry size" + fix_for(rule));
  }
  uint64_t v = parse_override(obj, sec, rule.env_var, val);
  // The object contradicts the variable when it says otherwise itself, or cannot hold such
  // entries.
  std::string why;
  std::optional<uint64_t> shown;
  if (sec.shdr.sh_entsize != 0)
    shown = sec.shdr.sh_entsize;
  else if (rule.dwarf_struct)
    shown = dwarf.size_of(rule.dwarf_struct);
  if (shown && *shown != v)
    why = "the object says " + std::to_string(*shown);
  else if (fits_entries(sec, v, &why))
    return {v, SizeMethod::Environment};
  std::string var = std::string(rule.env_var) + "=" + std::to_string(v);
  std::optional<EntrySize> object = from_object(obj, sec, rule, dwarf, paired_count);
  if (!object)
    throw Error(obj.where(sec) + ": " + var + " does not fit the section (" + why +
                ") and the object shows no entry size of its own; set " + rule.env_var +
                " for this object's kernel");
  if (warn)
    warn(obj.where(sec) + ": " + var + " does not fit the section (" + why + "); using " +
         std::to_string(object->size) + " (" + size_method_name(object->method) + ") instead");
  return *object;
}

} // namespace klp
