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

#include <functional>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "object.h"
#include "symvers.h"
#include "target_symtab.h"

namespace klp {

constexpr std::string_view kKlpSymPrefix = ".klp.sym.";
constexpr std::string_view kKlpRelaPrefix = ".klp.rela.";

// Where globals that neither Module.symvers nor the target's symbol table knows are defined.
struct LinkScope {
  // Globals that other objects of the same patch module define (klp-build diffs every object of
  // the patch, so a new global function defined in one and called from another is an ordinary
  // symbol of the module).
  std::unordered_set<std::string> module_globals;
  // kpatch's positional form sees one object at a time: like kpatch, it takes any such global to
  // live in another object of the patch module or to be resolved when the module loads, and
  // leaves a normal relocation (the linker and the module loader have the last word).
  bool assume_linked = false;
};

// Adds to `scope` the new globals `patched` (after inclusion) defines for the patch module: a
// multi-object patch calls them from its other objects as the module's own symbols.
void add_module_globals(LinkScope &scope, const Object &patched);

class ReferenceResolver {
public:
  // `target`: "vmlinux" or the module name. `orig` supplies the file name and neighbours used to
  // tell same-named statics apart. `symtab` may be null when every reference is exported.
  ReferenceResolver(std::string target, const Symvers *symvers, const TargetSymtab *symtab,
                    const Object &orig, const LinkScope *scope = nullptr,
                    std::function<void(const std::string &)> log = {});

  // The name the patch uses for `sym` (a symbol of the original object, or an undefined one).
  std::string name_for(const Symbol &sym) const;

  // The sympos of a function the patch replaces (for its klp_func).
  unsigned long sympos_of_function(const Symbol &orig_fn) const;

  const std::string &target() const { return target_; }

private:
  SymbolHint hint_for(const Symbol &sym) const;
  std::optional<unsigned long> sympos(const Symbol &sym) const;
  void log(const std::string &line) const {
    if (log_)
      log_(line);
  }

  // LinkScope: `sym` is a global another object of the patch module defines.
  bool defined_by_module(const Symbol &sym) const;
  // LinkScope: `sym`, found nowhere, is left to the linker and the module loader.
  bool left_to_linker(const Symbol &sym) const;

  std::string target_;
  const LinkScope *scope_;
  std::function<void(const std::string &)> log_;
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
