// The module reader klp-diff uses to compare two builds: the fixed module against the fuzzed one,
// and the fuzzed one against itself; both reports are printed as text and JSON.
#include <sstream>

#include "error.h"
#include "fuzz_util.h"
#include "module_compare.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string &path = klp::fuzz::as_file(data, size);
  for (const std::string &a : {klp::fuzz::fixed_file("orig.o"), path}) {
    try {
      klp::ModuleComparison c = klp::compare_modules(a, path);
      std::ostringstream text, json;
      klp::print_comparison_text(c, text);
      klp::print_comparison_json(c, json);
    } catch (const klp::Error &) {
    }
  }
  return 0;
}
