// Module.symvers: parse, then look up the first names as the differ does.
#include <string_view>

#include "error.h"
#include "symvers.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string_view text(reinterpret_cast<const char *>(data), size);
  try {
    klp::Symvers s = klp::Symvers::from_text(text, "fuzz");
    size_t n = 0;
    for (const klp::Export &e : s.exports()) {
      if (n++ == 8)
        break;
      (void)s.find(e.name);
      (void)e.objname();
      (void)s.exported_by_vmlinux(e.name);
    }
  } catch (const klp::Error &) {
  }
  return 0;
}
