// A kernel .config: read it, then what klp-build asks of it; and the comparison of a config with
// what `make olddefconfig` made of it (the input split at its first NUL byte).
#include <string_view>

#include "error.h"
#include "fuzz_util.h"
#include "kconfig.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  try {
    klp::KernelConfig config(klp::fuzz::as_file(data, size));
    (void)config.enabled("LIVEPATCH");
    (void)config.get("CC_VERSION_TEXT");
  } catch (const klp::Error &) {
  }
  std::string_view text(reinterpret_cast<const char *>(data), size);
  size_t nul = text.find('\0');
  std::string before(text.substr(0, nul));
  std::string after(nul == std::string_view::npos ? "" : text.substr(nul + 1));
  try {
    (void)klp::compare_olddefconfig(before, after);
  } catch (const klp::Error &) {
  }
  return 0;
}
