// Bad kernel images (issue 14): each case is one hand-made input of the malformed-input corpus
// (testdata/malformed/README.md), written to a scratch file and read as klp-build reads
// --kernel-image and a stock module (read_kernel_image). Each asserts the one-line message naming
// the file and what is wrong, and that no stream is decompressed past what it may give: a bzImage
// by its size trailer, any other stream by 1032 times its size (at least 64 MiB), and the
// decoders' own memory by what kbuild's compressors use.
#include <gtest/gtest.h>

#include <elf.h>
#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include <cstring>
#include <fstream>

#include "error.h"
#include "test_util.h"
#include "vmlinuz.h"

using namespace klp;
using namespace klp::test;

namespace {

std::vector<uint8_t> zstd_stream(size_t zeros, const std::vector<uint8_t> &head = {}) {
  ZSTD_CCtx *cc = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, 1);
  std::vector<uint8_t> out(1 << 20), chunk(1 << 20, 0);
  size_t pos = 0;
  auto feed = [&](const uint8_t *p, size_t n, ZSTD_EndDirective end) {
    ZSTD_inBuffer ib{p, n, 0};
    for (;;) {
      if (out.size() - pos < ZSTD_CStreamOutSize())
        out.resize(out.size() * 2);
      ZSTD_outBuffer ob{out.data(), out.size(), pos};
      size_t left = ZSTD_compressStream2(cc, &ob, &ib, end);
      EXPECT_FALSE(ZSTD_isError(left));
      pos = ob.pos;
      if (ZSTD_isError(left) || (ib.pos == ib.size && (end == ZSTD_e_continue || left == 0)))
        break;
    }
  };
  feed(head.data(), head.size(), ZSTD_e_continue);
  for (size_t done = 0; done < zeros;) {
    size_t n = std::min(chunk.size(), zeros - done);
    done += n;
    feed(chunk.data(), n, done == zeros ? ZSTD_e_end : ZSTD_e_continue);
  }
  if (zeros == 0)
    feed(nullptr, 0, ZSTD_e_end);
  ZSTD_freeCCtx(cc);
  out.resize(pos);
  return out;
}

std::vector<uint8_t> gzip_of(const std::vector<uint8_t> &in) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::vector<uint8_t> out(deflateBound(&zs, in.size()) + 64);
  zs.next_in = const_cast<Bytef *>(in.data());
  zs.avail_in = (uInt)in.size();
  zs.next_out = out.data();
  zs.avail_out = (uInt)out.size();
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

std::vector<uint8_t> xz_of(const std::vector<uint8_t> &in, bool legacy = false) {
  std::vector<uint8_t> out(lzma_stream_buffer_bound(in.size()) + 1024);
  lzma_stream ls = LZMA_STREAM_INIT;
  lzma_options_lzma opt;
  lzma_lzma_preset(&opt, 0);
  EXPECT_EQ(legacy ? lzma_alone_encoder(&ls, &opt) : lzma_easy_encoder(&ls, 0, LZMA_CHECK_CRC32),
            LZMA_OK);
  ls.next_in = in.data();
  ls.avail_in = in.size();
  ls.next_out = out.data();
  ls.avail_out = out.size();
  EXPECT_EQ(lzma_code(&ls, LZMA_FINISH), LZMA_STREAM_END);
  out.resize(ls.total_out);
  lzma_end(&ls);
  return out;
}

// The smallest thing read_kernel_image() takes for a vmlinux, and something to compress.
std::vector<uint8_t> tiny_elf(size_t size = 65536) {
  Elf64_Ehdr eh{};
  std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
  eh.e_ident[EI_CLASS] = ELFCLASS64;
  eh.e_ident[EI_DATA] = ELFDATA2LSB;
  eh.e_ident[EI_VERSION] = EV_CURRENT;
  eh.e_type = ET_EXEC;
  eh.e_machine = EM_X86_64;
  std::vector<uint8_t> out(sizeof(eh));
  std::memcpy(out.data(), &eh, sizeof(eh));
  out.resize(size, 0x5a);
  return out;
}

std::vector<uint8_t> with_size_trailer(std::vector<uint8_t> c, uint32_t size) {
  for (int i = 0; i < 4; i++)
    c.push_back(uint8_t(size >> (8 * i)));
  return c;
}

// A bzImage (protocol 2.15, 3 setup sectors) with `payload` at offset 0x80 of its
// protected-mode part.
std::vector<uint8_t> bzimage(const std::vector<uint8_t> &payload) {
  std::vector<uint8_t> img(4 * 512 + 0x80, 0xcc);
  img[0x1f1] = 3;
  img[0x1fe] = 0x55;
  img[0x1ff] = 0xaa;
  std::memcpy(&img[0x202], "HdrS", 4);
  img[0x206] = 0x0f, img[0x207] = 0x02;
  uint32_t off = 0x80, len = (uint32_t)payload.size();
  std::memcpy(&img[0x248], &off, 4);
  std::memcpy(&img[0x24c], &len, 4);
  size_t at = img.size();
  img.resize(at + payload.size() + 64, 0); // and the rest of the decompressor
  std::memcpy(img.data() + at, payload.data(), payload.size());
  return img;
}

// Writes `bytes` as `name` in `dir` and returns read_kernel_image()'s message ("" if none).
std::string error_reading(const ScratchDir &dir, const std::string &name,
                          const std::vector<uint8_t> &bytes) {
  std::string path = dir.file(name);
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char *>(bytes.data()), (std::streamsize)bytes.size());
  try {
    read_kernel_image(path);
  } catch (const Error &e) {
    std::string msg = e.what();
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    return msg;
  }
  return "";
}

} // namespace

// A bzImage whose size trailer claims 4 GiB from a few bytes: refused before decompressing.
TEST(MalformedImage, SizeTrailerClaimingMoreThanThePayloadCanGiveIsRefused) {
  ScratchDir dir;
  std::vector<uint8_t> payload = with_size_trailer(zstd_stream(0, tiny_elf()), 0xfffffff0);
  char size[32];
  snprintf(size, sizeof size, "0x%zx", payload.size());
  EXPECT_EQ(error_reading(dir, "bzimage-trailer-claims-4gib", bzimage(payload)),
            dir.file("bzimage-trailer-claims-4gib") + ": bzImage payload (zstd) of " + size +
                " bytes claims 0xfffffff0 decompressed bytes in its size trailer, more than the "
                "0x4000000 it may have");
}

// Each decompressor stops at the size trailer's claim: a stream holding more is corrupt.
TEST(MalformedImage, StreamHoldingMoreThanItsSizeTrailerIsRefused) {
  ScratchDir dir;
  std::vector<uint8_t> elf = tiny_elf();
  struct Case {
    const char *name, *format;
    std::vector<uint8_t> stream;
  } cases[] = {{"bzimage-gzip-longer-than-trailer", "gzip", gzip_of(elf)},
               {"bzimage-xz-longer-than-trailer", "xz", xz_of(elf)},
               {"bzimage-lzma-longer-than-trailer", "lzma", xz_of(elf, true)},
               {"bzimage-zstd-longer-than-trailer", "zstd", zstd_stream(0, elf)}};
  for (const Case &c : cases) {
    std::string e = error_reading(dir, c.name, bzimage(with_size_trailer(c.stream, 4096)));
    EXPECT_EQ(e, dir.file(c.name) + ": bzImage payload (" + c.format + "): " + c.format +
                     " data decompresses to more than the 0x1000 bytes its size trailer claims");
    // The same stream with its true size is a vmlinux.
    EXPECT_EQ(error_reading(dir, c.name, bzimage(with_size_trailer(c.stream, elf.size()))), "")
        << c.name;
  }
}

// A bzImage whose payload is too short to hold its size trailer.
TEST(MalformedImage, PayloadShorterThanItsTrailerIsRefused) {
  ScratchDir dir;
  std::string e = error_reading(dir, "bzimage-payload-3-bytes", bzimage({0x1f, 0x8b, 0x08}));
  EXPECT_EQ(e, dir.file("bzimage-payload-3-bytes") +
                   ": bzImage payload at 0x880 is only 0x3 bytes, too short for its size trailer");
}

// A compressed file with no claim of its own (a .ko.zst, a bare compressed vmlinux): 200 MiB of
// zeros from 6 KiB is stopped at 64 MiB, not decompressed whole.
TEST(MalformedImage, DecompressionBombIsStoppedAtItsBudget) {
  ScratchDir dir;
  std::vector<uint8_t> bomb = zstd_stream(size_t(200) << 20, tiny_elf(4096));
  ASSERT_LT(bomb.size(), 16384u);
  std::string e = error_reading(dir, "zstd-200mib-of-zeros.ko.zst", bomb);
  char size[32];
  snprintf(size, sizeof size, "0x%zx", bomb.size());
  EXPECT_EQ(e, dir.file("zstd-200mib-of-zeros.ko.zst") +
                   ": zstd data decompresses to more than the 0x4000000 bytes that " + size +
                   " compressed bytes may give");
}

// The decoders' own memory: an .lzma header asking for a 4 GiB dictionary, a zstd frame for a
// 2 GiB window. Neither is allocated.
TEST(MalformedImage, DecoderMemoryClaimsAreBounded) {
  ScratchDir dir;
  std::vector<uint8_t> lzma = xz_of(tiny_elf(), true);
  lzma[3] = 0, lzma[4] = 0xff; // dictionary size 0xff000000 (bytes 1 and 2 are the magic's)
  EXPECT_EQ(error_reading(dir, "lzma-dictionary-4gib", lzma),
            dir.file("lzma-dictionary-4gib") + ": lzma asks for a dictionary larger than 256 MiB");
  // A zstd frame header with no content size and a window descriptor of 2^31 (exponent 21).
  std::vector<uint8_t> zst = {0x28, 0xb5, 0x2f, 0xfd, 0x00, 21 << 3};
  zst.resize(64, 0);
  std::string e = error_reading(dir, "zstd-window-2gib", zst);
  EXPECT_EQ(e.rfind(dir.file("zstd-window-2gib") + ": zstd data is corrupt (", 0), 0u) << e;
  EXPECT_NE(e.find("too much memory"), std::string::npos) << e;
}
