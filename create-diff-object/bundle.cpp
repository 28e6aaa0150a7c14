#include "bundle.h"

#include <algorithm>

#include "disasm.h"
#include "names.h"

namespace klp {

namespace {

// -ffunction-sections / -fdata-sections name a symbol's section "<prefix>.<symbol>". GCC puts a
// function's cold part `foo.cold` into ".text.unlikely.foo".
bool section_named_for(const Section &sec, const Symbol &sym) {
  std::string_view name = sec.name;
  std::string_view sname = sym.name;
  if (is_cold_part(sname))
    sname = child_parent_name(sname);
  return name.size() > sname.size() + 1 && name.ends_with(sname) &&
         name[name.size() - sname.size() - 1] == '.';
}

} // namespace

// `__pfx_foo` must end where foo starts, in foo's section: a symbol of that name anywhere else
// is not objtool's padding.
void find_prefixes(Object &obj) {
  for (Symbol &pfx : obj.symbols) {
    std::string_view fn_name = prefixed_function_name(pfx.name);
    if (!pfx.is_func() || !pfx.sec || fn_name.empty())
      continue;
    for (Symbol *fn : obj.symbols_named(fn_name)) {
      if (fn->is_func() && fn->sec == pfx.sec && fn->value == pfx.value + pfx.size && !fn->prefix) {
        fn->prefix = &pfx;
        pfx.prefix_of = fn;
        break;
      }
    }
  }
}

namespace {

// CONFIG_CALL_PADDING (6.2+) compiles with -fpatchable-function-entry=16,16: each function's
// section starts with 16 single-byte NOPs, the function symbol at +0x10. objtool names them
// __pfx_<function> (find_prefixes()), but a 6.12 kernel with IBT runs objtool only on vmlinux.o
// and at the module link, so the objects klp-build diffs have the padding without a symbol.
// clang pads with int3. At most 64 bytes (FUNCTION_PADDING_BYTES).
bool is_function_padding(const Section &sec, uint64_t size) {
  if (!sec.is_text() || size > 64 || size > sec.data.size())
    return false;
  return std::all_of(sec.data.begin(), sec.data.begin() + size,
                     [](uint8_t b) { return b == 0x90 || b == 0xcc; });
}

} // namespace

void bundle_sections(Object &obj) {
  std::unordered_map<Section *, int> candidates;
  for (Symbol &sym : obj.symbols)
    if ((sym.is_func() || sym.is_object()) && sym.sec && !sym.prefix_of)
      candidates[sym.sec]++;
  for (Symbol &sym : obj.symbols) {
    if (!(sym.is_func() || sym.is_object()) || !sym.sec || sym.prefix_of)
      continue;
    // The symbol starts its section, or follows its prefix or unnamed padding there.
    if (sym.prefix ? sym.prefix->value != 0
                   : sym.value != 0 && !(sym.is_func() && is_function_padding(*sym.sec, sym.value)))
      continue;
    Section &sec = *sym.sec;
    if (sec.bundled || sec.is_rela())
      continue;
    // One symbol alone in a section named after it is the -f*-sections layout. A section with
    // several objects (an explicit __section() shared by many variables) is not bundled.
    if (candidates[&sec] == 1 && section_named_for(sec, sym))
      sec.bundled = &sym;
  }
}

int64_t reloc_target_offset(const Section &site, const Relocation &r) {
  return wrapping_add(r.addend, r.pc_bias);
}

namespace {

// In code, `lea sym(%rip)` stores sym - 4 because the CPU adds the address of the next
// instruction; `cmpb $0x0,sym(%rip)` stores sym - 5 because an immediate follows. The bias is
// the distance from the field to the end of the instruction, which only decoding tells.
void compute_pc_bias(Object &obj) {
  for (Section &rela : obj.sections) {
    if (!rela.is_rela() || !rela.base || !rela.base->is_text() || rela.base->type() == SHT_NOBITS)
      continue;
    bool needed = false;
    for (const Relocation &r : rela.relocs)
      needed |= reloc_is_pc_relative(r.type);
    if (!needed)
      continue;
    std::vector<InsnExtent> insns = Disassembler::shared().extents(rela.base->bytes());
    for (Relocation &r : rela.relocs) {
      if (!reloc_is_pc_relative(r.type))
        continue;
      auto it = std::upper_bound(insns.begin(), insns.end(), r.offset,
                                 [](uint64_t off, const InsnExtent &i) { return off < i.offset; });
      uint64_t width = reloc_width(r.type, rela.name);
      uint64_t end = r.offset + width;
      if (it != insns.begin() && std::prev(it)->valid && std::prev(it)->end() >= end)
        end = std::prev(it)->end();
      r.pc_bias = (uint8_t)(end - r.offset);
    }
  }
}

// The named symbol of `sec` that covers `offset`, if exactly one does.
Symbol *symbol_covering(const std::vector<Symbol *> &syms, int64_t offset) {
  Symbol *found = nullptr;
  for (Symbol *s : syms) {
    if (offset < (int64_t)s->value ||
        offset >= (int64_t)(s->value + std::max<uint64_t>(s->size, 1)))
      continue;
    if (found)
      return nullptr;
    found = s;
  }
  return found;
}

// GCC names string literals with local labels (.LC0, .LC1, ...) in mergeable string sections.
// The assembler normally spells a reference to one as section + offset, but keeps the label as a
// symbol of its own in some objects: the file name of a WARN_ON()'s __bug_table entry in
// kernel/exit.o (gcc 12, 6.1) is `.LC3 + 0`. Both spellings mean the same bytes, and only the
// section form compares strings by content (compare.h).
bool is_string_label(const Symbol &sym) {
  return sym.is_local() && sym.type == STT_NOTYPE && sym.sec && sym.sec->is_string();
}

} // namespace

void replace_section_symbols(Object &obj) {
  std::unordered_map<const Section *, std::vector<Symbol *>> named;
  for (Symbol &sym : obj.symbols)
    if ((sym.is_func() || sym.is_object()) && sym.sec)
      named[sym.sec].push_back(&sym);

  for (Section &rela : obj.sections) {
    if (!rela.is_rela() || !rela.base)
      continue;
    for (Relocation &r : rela.relocs) {
      if (is_string_label(*r.sym)) {
        r.addend = wrapping_add(r.addend, (int64_t)r.sym->value);
        r.sym = &obj.section_symbol(*r.sym->sec);
        continue;
      }
      if (!r.sym->is_section())
        continue;
      Section *target = r.sym->sec;
      if (target->bundled) {
        r.addend = wrapping_add(r.addend, -(int64_t)target->bundled->value);
        r.sym = target->bundled;
        continue;
      }
      // Mergeable strings and anonymous constants have no symbols; they stay section-relative.
      auto it = named.find(target);
      if (it == named.end() || target->is_string())
        continue;
      int64_t off = reloc_target_offset(*rela.base, r);
      if (Symbol *s = symbol_covering(it->second, off)) {
        r.addend = wrapping_add(r.addend, -(int64_t)s->value);
        r.sym = s;
      }
    }
  }
}

void find_children(Object &obj) {
  for (Symbol &sym : obj.symbols) {
    if (!sym.is_func())
      continue;
    std::string_view parent_name = child_parent_name(sym.name);
    if (parent_name.empty())
      continue;
    for (Symbol *p : obj.symbols_named(parent_name)) {
      if (p->is_func() && p != &sym) {
        sym.parent = p;
        p->children.push_back(&sym);
        break;
      }
    }
  }
}

void cook(Object &obj) {
  compute_pc_bias(obj);
  find_prefixes(obj);
  bundle_sections(obj);
  replace_section_symbols(obj);
  find_children(obj);
}

} // namespace klp
