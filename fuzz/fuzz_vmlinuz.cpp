// Kernel images as klp-build reads --kernel-image and stock modules: an ELF as is, a bzImage by
// its setup header and payload, a gzip/xz/lzma/zstd stream by its decompressor. A first byte of
// 0xff..0xfc instead hands the rest to one decompressor directly, with a small budget.
#include "error.h"
#include "fuzz_util.h"
#include "vmlinuz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  using klp::Compression;
  try {
    (void)klp::read_kernel_image(klp::fuzz::as_file(data, size));
  } catch (const klp::Error &) {
  }
  if (size && data[0] >= 0xfc) {
    const Compression formats[] = {Compression::Gzip, Compression::Xz, Compression::Lzma,
                                   Compression::Zstd};
    klp::Bytes rest(data + 1, size - 1);
    try {
      (void)klp::decompress(rest, formats[data[0] - 0xfc], "fuzz", {1 << 20, "at most"});
    } catch (const klp::Error &) {
    }
  }
  return 0;
}
