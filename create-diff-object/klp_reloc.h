// References out of the patch: how included code names what stays in the running kernel.
//
// A symbol exported to modules (Module.symvers) is reached like any module would reach it: an
// ordinary undefined symbol the module loader resolves. Everything else (non-exported globals,
// static functions and variables, and for a module target the module's own symbols, exported or
// not, since that module may not be loaded yet) becomes a livepatch symbol,
// `.klp.sym.<object>.<name>,<sympos>` (Documentation/livepatch/module-elf-format.rst), which the
// livepatch core resolves through kallsyms when the patch or the module arrives.
//
// In the object create-diff-object writes, such a symbol is an undefined global with that name,
// referenced by ordinary relocations: the intermediate form. After the module is linked,
// convert_klp_relocations() turns those relocations into `.klp.rela.<object>.<section>`
// sections (SHF_RELA_LIVEPATCH) and the symbols into SHN_LIVEPATCH ones, the form the kernel
// loads; the linker and modpost never see the final form, which they do not understand.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "object.h"
#include "symvers.h"
#include "target_symtab.h"

namespace klp {

constexpr std::string_view kKlpSymPrefix = ".klp.sym.";
constexpr std::string_view kKlpRelaPrefix = ".klp.rela.";

class ReferenceResolver {
public:
  // `target`: "vmlinux" or the module name. `orig` supplies the file name and neighbours used to
  // tell same-named statics apart. `symtab` may be null when every reference is exported.
  ReferenceResolver(std::string target, const Symvers *symvers, const TargetSymtab *symtab,
                    const Object &orig);

  // The name the patch uses for `sym` (a symbol of the original object, or an undefined one).
  std::string name_for(const Symbol &sym) const;

  // The sympos of a function the patch replaces (for its klp_func).
  unsigned long sympos_of_function(const Symbol &orig_fn) const;

  const std::string &target() const { return target_; }

private:
  SymbolHint hint_for(const Symbol &sym) const;
  std::optional<unsigned long> sympos(const Symbol &sym) const;

  std::string target_;
  const Symvers *symvers_;
  const TargetSymtab *symtab_;
  std::string file_;
  std::vector<std::string> neighbours_;
};

// "vmlinux" from ".klp.sym.vmlinux.foo,0"; nullopt if `name` is not a klp symbol name.
struct KlpSymName {
  std::string object;
  std::string name;
  unsigned long sympos = 0;
};
std::optional<KlpSymName> parse_klp_sym_name(std::string_view name);

// The post-link step: rewrites a linked module (in memory) from the intermediate form into the
// kernel's livepatch ELF format. Returns the number of relocations moved.
size_t convert_klp_relocations(Object &module);

} // namespace klp
