#include "klp_reloc.h"

#include <map>

#include "names.h"

namespace klp {

ReferenceResolver::ReferenceResolver(std::string target, const Symvers *symvers,
                                     const TargetSymtab *symtab, const Object &orig,
                                     const LinkScope *scope,
                                     std::function<void(const std::string &)> log)
    : target_(kallsyms_module_name(target)), scope_(scope), log_(std::move(log)), symvers_(symvers),
      symtab_(symtab), file_(orig.source_file()) {
  if (target == "vmlinux")
    target_ = "vmlinux";
  for (const Symbol &s : orig.symbols)
    if (s.is_local() && (s.is_func() || s.is_object()) && s.sec)
      neighbours_.push_back(s.name);
}

void add_module_globals(LinkScope &scope, const Object &patched) {
  for (const Symbol &sym : patched.symbols)
    if (sym.included && sym.status == Status::New && !sym.is_local() && sym.sec)
      scope.module_globals.insert(sym.name);
}

SymbolHint ReferenceResolver::hint_for(const Symbol &sym) const {
  SymbolHint hint;
  hint.binding = sym.is_local() ? SymbolBinding::Local : SymbolBinding::Global;
  if (sym.is_func())
    hint.kind = SymbolKind::Function;
  else if (sym.is_object())
    hint.kind = SymbolKind::Object;
  if (sym.is_local()) {
    hint.file = file_;
    hint.neighbours = neighbours_;
  }
  return hint;
}

std::optional<unsigned long> ReferenceResolver::sympos(const Symbol &sym) const {
  if (!symtab_)
    throw Error("'" + sym.name + "' is not exported, and no symbol table of " + target_ +
                " was given to compute its sympos; pass --symtab");
  return symtab_->sympos(sym.name, hint_for(sym));
}

bool ReferenceResolver::defined_by_module(const Symbol &sym) const {
  return scope_ && !sym.is_local() && sym.is_undefined() && scope_->module_globals.count(sym.name);
}

bool ReferenceResolver::left_to_linker(const Symbol &sym) const {
  return scope_ && scope_->assume_linked && !sym.is_local() && sym.is_undefined();
}

std::string ReferenceResolver::name_for(const Symbol &sym) const {
  if (const Export *e = symvers_ ? symvers_->find(sym.name) : nullptr) {
    // A module's own exports cannot be linked against: the module may load after the patch.
    if (target_ == "vmlinux" || e->objname() != target_)
      return sym.name;
  }
  if (defined_by_module(sym)) {
    log("reference: '" + sym.name + "' is defined by another object of the patch module");
    return sym.name;
  }
  std::optional<unsigned long> pos = symtab_ || !left_to_linker(sym) ? sympos(sym) : std::nullopt;
  if (pos)
    return std::string(kKlpSymPrefix) + target_ + "." + sym.name + "," + std::to_string(*pos);
  if (left_to_linker(sym)) {
    log("reference: '" + sym.name + "' is neither exported nor in the symbol table of " + target_ +
        "; left to the linker and the module loader");
    return sym.name;
  }
  throw Error("'" + sym.name + "' is neither exported (" +
              (symvers_ ? symvers_->source() : std::string("no Module.symvers given")) +
              ") nor in the symbol table of " + target_ + " (" + symtab_->source() +
              "); is that table from the kernel being patched?");
}

unsigned long ReferenceResolver::sympos_of_function(const Symbol &orig_fn) const {
  std::optional<unsigned long> pos = sympos(orig_fn);
  if (!pos)
    throw Error("function '" + orig_fn.name + "' is not in the symbol table of " + target_ + " (" +
                symtab_->source() + "); is that table from the kernel being patched?");
  return *pos;
}

std::optional<KlpSymName> parse_klp_sym_name(std::string_view name) {
  if (!name.starts_with(kKlpSymPrefix))
    return std::nullopt;
  std::string_view rest = name.substr(kKlpSymPrefix.size());
  size_t dot = rest.find('.');
  size_t comma = rest.rfind(',');
  if (dot == std::string_view::npos || comma == std::string_view::npos || comma < dot || dot == 0 ||
      comma == dot + 1 || comma + 1 == rest.size())
    return std::nullopt;
  KlpSymName k;
  k.object = std::string(rest.substr(0, dot));
  k.name = std::string(rest.substr(dot + 1, comma - dot - 1));
  for (char c : rest.substr(comma + 1)) {
    if (c < '0' || c > '9')
      return std::nullopt;
    k.sympos = k.sympos * 10 + (c - '0');
  }
  return k;
}

size_t convert_klp_relocations(Object &module) {
  size_t moved = 0;
  // One .klp.rela section per (object, relocated section), created on demand.
  std::map<std::pair<std::string, Section *>, Section *> klp_relas;
  std::vector<Section *> relas;
  for (Section &sec : module.sections)
    if (sec.is_rela() && sec.base && !(sec.flags() & SHF_RELA_LIVEPATCH))
      relas.push_back(&sec);
  for (Section *rela : relas) {
    std::vector<Relocation> keep;
    for (const Relocation &r : rela->relocs) {
      std::optional<KlpSymName> k = parse_klp_sym_name(r.sym->name);
      if (!k) {
        keep.push_back(r);
        continue;
      }
      if (!r.sym->is_undefined() && r.sym->shndx != SHN_LIVEPATCH)
        throw Error(module.where(*rela->base, r.offset) + ": livepatch symbol '" + r.sym->name +
                    "' is defined in the module");
      Section *&klp = klp_relas[{k->object, rela->base}];
      if (!klp) {
        Section s;
        s.name = std::string(kKlpRelaPrefix) + k->object + "." + rela->base->name;
        s.shdr.sh_type = SHT_RELA;
        s.shdr.sh_flags = SHF_ALLOC | SHF_INFO_LINK | SHF_RELA_LIVEPATCH;
        s.shdr.sh_addralign = 8;
        s.shdr.sh_entsize = sizeof(Elf64_Rela);
        s.base = rela->base;
        klp = &module.add_section(std::move(s));
      }
      klp->relocs.push_back(r);
      moved++;
    }
    rela->relocs = std::move(keep);
  }
  for (Symbol &sym : module.symbols)
    if (parse_klp_sym_name(sym.name) && sym.is_undefined()) {
      sym.shndx = SHN_LIVEPATCH;
      sym.bind = STB_GLOBAL;
    }
  module.reindex();
  return moved;
}

} // namespace klp
