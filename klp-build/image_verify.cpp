#include "image_verify.h"

#include "error.h"
#include "image_match.h"
#include "target_modules.h"
#include "verify.h"

namespace klp {

void verify_against_image(const std::string &image, const std::string &modules_dir,
                          const std::vector<DiffedObject> &diffed, const Reporter &report) {
  std::vector<ImageFunction> vmlinux_funcs;
  const TargetSymtab *vmlinux_symtab = nullptr;
  size_t modules = 0, unchecked = 0;
  for (const DiffedObject &d : diffed) {
    const DiffSession *s = d.session.get();
    std::vector<ImageFunction> funcs;
    for (const Symbol &sym : s->patched->symbols)
      if (needs_klp_func(sym))
        for (const PatchedFunction &f : d.functions)
          if (f.name == sym.twin->name)
            funcs.push_back({f.name, f.sympos, s->orig.get(), sym.twin});
    if (funcs.empty() || !s->symtab)
      continue;
    if (s->symtab->is_vmlinux()) {
      vmlinux_symtab = s->symtab.get();
      vmlinux_funcs.insert(vmlinux_funcs.end(), funcs.begin(), funcs.end());
    } else if (s->symtab->format() == TargetFormat::Elf) {
      verify_functions_match(s->symtab->source(), *s->symtab, funcs);
      modules += funcs.size();
    } else if (!modules_dir.empty()) {
      // A copy of kallsyms names the module's functions; its .ko holds their code.
      std::string ko = find_module_file(modules_dir, s->symtab->objname());
      if (ko.empty())
        throw Error(modules_dir + ": no " + s->symtab->objname() + ".ko for the match proof of " +
                    funcs.front().name + "; pass the target's /lib/modules/RELEASE");
      verify_functions_match(ko, *s->symtab, funcs);
      modules += funcs.size();
    } else {
      unchecked += funcs.size();
    }
  }
  if (vmlinux_symtab)
    verify_functions_match(image, *vmlinux_symtab, vmlinux_funcs);
  report.info("the original build matches the target: " + std::to_string(vmlinux_funcs.size()) +
              " function(s) in " + image +
              (modules ? ", " + std::to_string(modules) + " in module files" : ""));
  if (unchecked)
    report.info("not checked: " + std::to_string(unchecked) +
                " function(s) of modules (pass --modules with the target's /lib/modules/RELEASE)");
}

} // namespace klp
