#include "vmlinuz.h"

#include <elf.h>
#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include <cstring>
#include <fstream>
#include <iterator>

#include "error.h"
#include "input_file.h"

namespace klp {

namespace {

bool starts_with(Bytes data, std::initializer_list<uint8_t> magic) {
  if (data.size() < magic.size()) return false;
  return std::equal(magic.begin(), magic.end(), data.begin());
}

// Output buffer growth shared by the streaming decompressors. A kernel is tens of MiB; the
// compressed input times 4 is a good first guess.
size_t initial_capacity(size_t in) {
  return std::max<size_t>(in * 4, 1 << 20);
}

// Refuses output beyond this: a corrupt or hostile stream must not eat the machine (a vmlinux of
// an allyesconfig kernel is under 1 GiB even with its relocation table).
constexpr size_t kMaxOutput = size_t(4) << 30;

[[noreturn]] void too_large(const std::string &where, Compression c) {
  throw Error(where + ": " + compression_name(c) + " data decompresses to more than " +
              std::to_string(kMaxOutput >> 30) + " GiB");
}

std::vector<uint8_t> gunzip(Bytes in, const std::string &where) {
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
    throw Error(where + ": zlib initialisation failed");
  std::vector<uint8_t> out(initial_capacity(in.size()));
  zs.next_in = const_cast<Bytef *>(in.data());
  zs.avail_in = 0;
  size_t in_done = 0, out_done = 0;
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    if (out_done == out.size()) {
      if (out.size() >= kMaxOutput) {
        inflateEnd(&zs);
        too_large(where, Compression::Gzip);
      }
      out.resize(out.size() * 2);
    }
    // zlib counts in uInt; feed and drain in chunks below 4 GiB.
    size_t in_chunk = std::min<size_t>(in.size() - in_done, 1u << 30);
    size_t out_chunk = std::min<size_t>(out.size() - out_done, 1u << 30);
    zs.next_in = const_cast<Bytef *>(in.data() + in_done);
    zs.avail_in = (uInt)in_chunk;
    zs.next_out = out.data() + out_done;
    zs.avail_out = (uInt)out_chunk;
    rc = inflate(&zs, Z_NO_FLUSH);
    in_done += in_chunk - zs.avail_in;
    out_done += out_chunk - zs.avail_out;
    if (rc == Z_STREAM_END) break;
    if (rc == Z_BUF_ERROR && in_done == in.size()) {
      inflateEnd(&zs);
      throw Error(where + ": gzip data is truncated");
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      std::string msg = zs.msg ? zs.msg : "error " + std::to_string(rc);
      inflateEnd(&zs);
      throw Error(where + ": gzip data is corrupt (" + msg + ")");
    }
  }
  inflateEnd(&zs);
  out.resize(out_done);
  return out;
}

const char *lzma_message(lzma_ret rc) {
  switch (rc) {
  case LZMA_MEM_ERROR:
    return "out of memory";
  case LZMA_MEMLIMIT_ERROR:
    return "memory limit reached";
  case LZMA_FORMAT_ERROR:
    return "not in the expected format";
  case LZMA_OPTIONS_ERROR:
    return "unsupported options";
  case LZMA_DATA_ERROR:
    return "data is corrupt";
  case LZMA_BUF_ERROR:
    return "data is truncated";
  default:
    return "internal error";
  }
}

// xz (lzma_stream_decoder) or legacy .lzma (lzma_alone_decoder). Without LZMA_CONCATENATED the
// decoder reports LZMA_STREAM_END at the end of the first stream and reads no further.
std::vector<uint8_t> unlzma(Bytes in, Compression c, const std::string &where) {
  lzma_stream ls = LZMA_STREAM_INIT;
  lzma_ret rc = c == Compression::Xz ? lzma_stream_decoder(&ls, UINT64_MAX, 0)
                                     : lzma_alone_decoder(&ls, UINT64_MAX);
  if (rc != LZMA_OK)
    throw Error(where + ": liblzma initialisation failed (" + lzma_message(rc) + ")");
  std::vector<uint8_t> out(initial_capacity(in.size()));
  ls.next_in = in.data();
  ls.avail_in = in.size();
  size_t out_done = 0;
  for (;;) {
    if (out_done == out.size()) {
      if (out.size() >= kMaxOutput) {
        lzma_end(&ls);
        too_large(where, c);
      }
      out.resize(out.size() * 2);
    }
    ls.next_out = out.data() + out_done;
    ls.avail_out = out.size() - out_done;
    rc = lzma_code(&ls, ls.avail_in ? LZMA_RUN : LZMA_FINISH);
    out_done = out.size() - ls.avail_out;
    if (rc == LZMA_STREAM_END) break;
    if (rc != LZMA_OK) {
      lzma_end(&ls);
      throw Error(where + ": " + compression_name(c) + " " + lzma_message(rc));
    }
  }
  lzma_end(&ls);
  out.resize(out_done);
  return out;
}

std::vector<uint8_t> unzstd(Bytes in, const std::string &where) {
  ZSTD_DStream *ds = ZSTD_createDStream();
  if (!ds) throw Error(where + ": libzstd initialisation failed");
  // kbuild compresses with `zstd -22 --ultra` (window up to 128 MiB); allow any window.
  ZSTD_DCtx_setParameter(ds, ZSTD_d_windowLogMax, 31); // ZSTD_WINDOWLOG_MAX_64
  std::vector<uint8_t> out(initial_capacity(in.size()));
  ZSTD_inBuffer ib{in.data(), in.size(), 0};
  size_t out_done = 0;
  for (;;) {
    if (out_done == out.size()) {
      if (out.size() >= kMaxOutput) {
        ZSTD_freeDStream(ds);
        too_large(where, Compression::Zstd);
      }
      out.resize(out.size() * 2);
    }
    ZSTD_outBuffer ob{out.data(), out.size(), out_done};
    size_t rc = ZSTD_decompressStream(ds, &ob, &ib);
    out_done = ob.pos;
    if (ZSTD_isError(rc)) {
      std::string msg = ZSTD_getErrorName(rc);
      ZSTD_freeDStream(ds);
      throw Error(where + ": zstd data is corrupt (" + msg + ")");
    }
    if (rc == 0) break; // end of the first frame
    if (ib.pos == ib.size && ob.pos < ob.size) {
      ZSTD_freeDStream(ds);
      throw Error(where + ": zstd data is truncated");
    }
  }
  ZSTD_freeDStream(ds);
  out.resize(out_done);
  return out;
}

uint16_t le16(Bytes d, size_t off) {
  return uint16_t(d[off] | d[off + 1] << 8);
}
uint32_t le32(Bytes d, size_t off) {
  return uint32_t(d[off]) | uint32_t(d[off + 1]) << 8 | uint32_t(d[off + 2]) << 16 |
         uint32_t(d[off + 3]) << 24;
}

// Setup header offsets (Documentation/x86/boot.rst).
constexpr size_t kSetupSects = 0x1f1;
constexpr size_t kBootFlag = 0x1fe;    // 0xaa55
constexpr size_t kHeaderMagic = 0x202; // "HdrS"
constexpr size_t kVersion = 0x206;
constexpr size_t kPayloadOffset = 0x248; // protocol 2.08+
constexpr size_t kPayloadLength = 0x24c;

} // namespace

const char *compression_name(Compression c) {
  switch (c) {
  case Compression::None:
    return "none";
  case Compression::Gzip:
    return "gzip";
  case Compression::Bzip2:
    return "bzip2";
  case Compression::Lzma:
    return "lzma";
  case Compression::Xz:
    return "xz";
  case Compression::Lzo:
    return "lzo";
  case Compression::Lz4:
    return "lz4";
  case Compression::Zstd:
    return "zstd";
  }
  return "unknown";
}

Compression detect_compression(Bytes d) {
  // The magics scripts/extract-vmlinux looks for.
  if (starts_with(d, {0x1f, 0x8b, 0x08})) return Compression::Gzip;
  if (starts_with(d, {0xfd, '7', 'z', 'X', 'Z', 0x00})) return Compression::Xz;
  if (starts_with(d, {0x28, 0xb5, 0x2f, 0xfd})) return Compression::Zstd;
  if (starts_with(d, {'B', 'Z', 'h'})) return Compression::Bzip2;
  if (starts_with(d, {0x5d, 0x00, 0x00})) return Compression::Lzma;
  if (starts_with(d, {0x89, 'L', 'Z', 'O', 0x00, 0x0d, 0x0a, 0x1a, 0x0a})) return Compression::Lzo;
  if (starts_with(d, {0x02, 0x21, 0x4c, 0x18}) || starts_with(d, {0x04, 0x22, 0x4d, 0x18}))
    return Compression::Lz4;
  return Compression::None;
}

bool compression_supported(Compression c) {
  return c == Compression::Gzip || c == Compression::Xz || c == Compression::Lzma ||
         c == Compression::Zstd;
}

std::vector<uint8_t> decompress(Bytes data, Compression c, const std::string &where) {
  switch (c) {
  case Compression::Gzip:
    return gunzip(data, where);
  case Compression::Xz:
  case Compression::Lzma:
    return unlzma(data, c, where);
  case Compression::Zstd:
    return unzstd(data, where);
  case Compression::None:
    throw Error(where + ": data is not compressed in any known format");
  default:
    throw Error(where + ": " + compression_name(c) +
                " compression is not supported (supported: gzip, xz, lzma, zstd); "
                "decompress the vmlinux with the kernel's scripts/extract-vmlinux and pass that");
  }
}

bool is_bzimage(Bytes d) {
  return d.size() >= kHeaderMagic + 4 && le16(d, kBootFlag) == 0xaa55 &&
         std::memcmp(d.data() + kHeaderMagic, "HdrS", 4) == 0;
}

BzImageHeader parse_bzimage(Bytes d, const std::string &where) {
  if (!is_bzimage(d)) throw Error(where + ": not a bzImage (no \"HdrS\" setup header)");
  if (d.size() < kPayloadLength + 4) throw Error(where + ": bzImage setup header is truncated");
  BzImageHeader h;
  h.protocol = le16(d, kVersion);
  if (h.protocol < 0x0208)
    throw Error(where + ": bzImage boot protocol " + std::to_string(h.protocol >> 8) + "." +
                std::to_string(h.protocol & 0xff) +
                " has no payload fields (2.08 or later needed)");
  unsigned sects = d[kSetupSects];
  if (sects == 0) sects = 4; // "if the field is 0, the real value is 4"
  h.setup_size = uint64_t(sects + 1) * 512;
  h.payload_offset = h.setup_size + le32(d, kPayloadOffset);
  h.payload_length = le32(d, kPayloadLength);
  if (h.payload_length == 0 || h.payload_offset > d.size() ||
      d.size() - h.payload_offset < h.payload_length)
    throw Error(where + ": bzImage payload (offset " + hex(h.payload_offset) + ", length " +
                hex(h.payload_length) + ") lies outside the file (size " + hex(d.size()) + ")");
  h.compression = detect_compression(d.subspan(h.payload_offset, h.payload_length));
  return h;
}

bool is_x86_64_elf(Bytes d) {
  if (d.size() < sizeof(Elf64_Ehdr) || std::memcmp(d.data(), ELFMAG, SELFMAG) != 0) return false;
  Elf64_Ehdr eh;
  std::memcpy(&eh, d.data(), sizeof(eh));
  return eh.e_ident[EI_CLASS] == ELFCLASS64 && eh.e_ident[EI_DATA] == ELFDATA2LSB &&
         eh.e_machine == EM_X86_64;
}

static std::string elf_kind(Bytes d) {
  if (d.size() < SELFMAG || std::memcmp(d.data(), ELFMAG, SELFMAG) != 0) return "not an ELF file";
  return "an ELF file, but not a 64-bit little-endian x86_64 one";
}

std::vector<uint8_t> extract_vmlinux(Bytes bzimage, const std::string &where) {
  BzImageHeader h = parse_bzimage(bzimage, where);
  Bytes payload = bzimage.subspan(h.payload_offset, h.payload_length);
  if (h.compression == Compression::None) {
    // CONFIG_KERNEL_UNCOMPRESSED (s390 only upstream) would put the ELF here directly.
    if (is_x86_64_elf(payload)) return std::vector<uint8_t>(payload.begin(), payload.end());
    throw Error(where + ": bzImage payload at " + hex(h.payload_offset) +
                " is in an unknown compression format");
  }
  std::string pwhere = where + ": bzImage payload (" + compression_name(h.compression) + ")";
  std::vector<uint8_t> elf = decompress(payload, h.compression, pwhere);
  if (!is_x86_64_elf(elf)) throw Error(pwhere + " is " + elf_kind(elf) + ", not a vmlinux");
  return elf;
}

KernelImage read_kernel_image(const std::string &path) {
  check_regular_file(path);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open: " + std::strerror(errno));
  std::vector<uint8_t> data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw Error(path + ": read failed");
  KernelImage img;
  img.path = path;
  if (is_x86_64_elf(data)) {
    img.format = "ELF";
    img.elf = std::move(data);
  } else if (is_bzimage(data)) {
    BzImageHeader h = parse_bzimage(data, path);
    img.format = std::string("bzImage (") + compression_name(h.compression) + ")";
    img.elf = extract_vmlinux(data, path);
  } else if (Compression c = detect_compression(data); c != Compression::None) {
    img.format = std::string(compression_name(c)) + "-compressed ELF";
    img.elf = decompress(data, c, path);
    if (!is_x86_64_elf(img.elf))
      throw Error(path + ": decompressed " + compression_name(c) + " data is " + elf_kind(img.elf));
  } else if (data.size() >= SELFMAG && std::memcmp(data.data(), ELFMAG, SELFMAG) == 0) {
    throw Error(path + ": " + elf_kind(data));
  } else {
    throw Error(path + ": not a kernel image (expected a vmlinux or module ELF, a bzImage or "
                       "a gzip/xz/lzma/zstd-compressed ELF)");
  }
  return img;
}

} // namespace klp
