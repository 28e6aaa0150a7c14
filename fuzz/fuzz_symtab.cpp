// The target symbol table parsers: a copy of /proc/kallsyms or a `readelf -s --wide` dump (the
// format is detected from the text), for vmlinux and for a module, then the lookups the differ
// makes. fuzz-kallsyms and fuzz-readelf are this target with different seeds.
#include <string_view>

#include "error.h"
#include "target_symtab.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string_view text(reinterpret_cast<const char *>(data), size);
  for (std::string_view objname : {"vmlinux", "ext4"}) {
    try {
      klp::TargetSymtab t = klp::TargetSymtab::from_text(text, "fuzz", objname);
      size_t n = 0;
      for (const klp::TargetSymbol &s : t.symbols()) {
        if (n++ == 8)
          break;
        klp::SymbolHint hint;
        hint.binding = s.binding;
        (void)t.sympos(s.name, hint);
        (void)t.file_of(s);
      }
      (void)t.has_file_info();
      (void)t.has_addresses();
    } catch (const klp::Error &) {
    } catch (const klp::Unpatchable &) { // a sympos that differs while a module loads
    }
  }
  return 0;
}
