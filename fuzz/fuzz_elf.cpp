// The ELF layer: open one object and cook it (sections, symbols, relocations, groups), then read
// every section's bytes (compressed ones are inflated) as the differ and klp-diff do.
#include "elf_file.h"
#include "error.h"
#include "fuzz_util.h"
#include "object.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string &path = klp::fuzz::as_file(data, size);
  try {
    auto obj = klp::Object::load(path);
    size_t bytes = 0;
    for (const auto &sec : obj->sections)
      bytes += sec.data.size();
    (void)bytes;
  } catch (const klp::Error &) {
  }
  try {
    klp::ElfFile elf(path);
    for (size_t i = 1; i < elf.section_count(); i++)
      (void)elf.section_bytes(i);
  } catch (const klp::Error &) {
  }
  return 0;
}
