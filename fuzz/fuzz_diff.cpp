// The differ on a pair: a fixed original (fuzz/seeds.sh compiles testdata/diff/changed_string)
// and the fuzzed object as the patched one, with the fixed case's symbol table and
// Module.symvers; the patch object is written when the differ finds a change.
#include <unistd.h>

#include "diff.h"
#include "error.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const std::string out = "/tmp/klp-fuzz-diff-" + std::to_string(getpid()) + ".o";
  klp::DiffOptions opts;
  opts.orig_path = klp::fuzz::fixed_file("orig.o");
  opts.patched_path = klp::fuzz::as_file(data, size);
  opts.symtab_path = klp::fuzz::fixed_file("symtab.txt");
  opts.symvers_path = klp::fuzz::fixed_file("Module.symvers");
  opts.patch_name = "fuzz";
  try {
    auto session = klp::analyze(opts);
    if (session->has_changes && !session->refusal)
      klp::write_patch(*session, opts, out);
  } catch (const klp::Error &) {
  } catch (const klp::Unpatchable &) {
  }
  unlink(out.c_str());
  return 0;
}
