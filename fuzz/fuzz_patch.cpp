// The patch parser: a unified diff (plain or git format), the files it touches and the module
// name klp-build derives from it.
#include "error.h"
#include "fuzz_util.h"
#include "patch_set.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  try {
    std::vector<klp::PatchFile> patches{klp::read_patch(klp::fuzz::as_file(data, size))};
    (void)klp::touched_files(patches);
    (void)klp::module_name_for("", patches);
  } catch (const klp::Error &) {
  }
  return 0;
}
