#include "vmlinuz.h"

#include <elf.h>
#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>

#include "error.h"
#include "input_file.h"

namespace klp {

namespace {

bool starts_with(Bytes data, std::initializer_list<uint8_t> magic) {
  if (data.size() < magic.size())
    return false;
  return std::equal(magic.begin(), magic.end(), data.begin());
}

// Output buffer growth shared by the streaming decompressors. A kernel is tens of MiB; the
// compressed input times 4 is a good first guess.
size_t initial_capacity(size_t in) { return std::max<size_t>(in * 4, 1 << 20); }

// Refuses output beyond this: a corrupt or hostile stream must not eat the machine (a vmlinux of
// an allyesconfig kernel is under 1 GiB even with its relocation table).
constexpr uint64_t kMaxOutput = uint64_t(4) << 30;
// What a stream may decompress to without a claim of its own: as for compressed ELF sections
// (elf_file.cpp), deflate's best ratio times its size, at least 64 MiB. Real kernels and modules
// compress by 3 to 10.
constexpr uint64_t kMaxRatio = 1032;
constexpr uint64_t kMinCeiling = uint64_t(64) << 20;
// The decoders' own memory (xz's dictionary, zstd's window) as their headers ask: kbuild's
// largest are xz's 32 MiB and zstd -22's 128 MiB window.
constexpr uint64_t kMaxDecoderMemory = uint64_t(256) << 20;
constexpr int kMaxZstdWindowLog = 27;

// The output buffer of a decompressor: it grows with what the stream produces, to one byte past
// the budget, so that a stream holding more than its budget is caught after budget + 1 bytes.
class Output {
public:
  Output(size_t in, const DecompressBudget &budget) : budget_(budget) {
    out_.resize(std::min<uint64_t>(initial_capacity(in), budget_.limit + 1));
  }
  // The room to fill next, grown first when full; throws once the budget is exceeded.
  std::pair<uint8_t *, size_t> room(const std::string &where, Compression c) {
    check(where, c);
    if (done_ == out_.size())
      out_.resize(std::min<uint64_t>(out_.size() * 2, budget_.limit + 1));
    return {out_.data() + done_, out_.size() - done_};
  }
  void filled(size_t n) { done_ += n; }
  std::vector<uint8_t> take(const std::string &where, Compression c) {
    check(where, c); // the last bytes may have passed the budget
    out_.resize(done_);
    return std::move(out_);
  }

private:
  void check(const std::string &where, Compression c) const {
    if (done_ > budget_.limit)
      throw Error(where + ": " + compression_name(c) + " data decompresses to more than the " +
                  hex(budget_.limit) + " bytes " + budget_.why);
  }

  DecompressBudget budget_;
  uint64_t done_ = 0;
  std::vector<uint8_t> out_;
};

std::vector<uint8_t> gunzip(Bytes in, const std::string &where, const DecompressBudget &budget) {
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
    throw Error(where + ": zlib initialisation failed");
  std::unique_ptr<z_stream, int (*)(z_stream *)> guard(&zs, inflateEnd);
  Output out(in.size(), budget);
  size_t in_done = 0;
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    auto [buf, len] = out.room(where, Compression::Gzip);
    // zlib counts in uInt; feed and drain in chunks below 4 GiB.
    size_t in_chunk = std::min<size_t>(in.size() - in_done, 1u << 30);
    size_t out_chunk = std::min<size_t>(len, 1u << 30);
    zs.next_in = const_cast<Bytef *>(in.data() + in_done);
    zs.avail_in = (uInt)in_chunk;
    zs.next_out = buf;
    zs.avail_out = (uInt)out_chunk;
    rc = inflate(&zs, Z_NO_FLUSH);
    in_done += in_chunk - zs.avail_in;
    out.filled(out_chunk - zs.avail_out);
    if (rc == Z_STREAM_END)
      break;
    if (rc == Z_BUF_ERROR && (in_done == in.size() || zs.avail_in == in_chunk))
      throw Error(where + ": gzip data is truncated");
    if (rc != Z_OK && rc != Z_BUF_ERROR)
      throw Error(where + ": gzip data is corrupt (" +
                  (zs.msg ? zs.msg : "error " + std::to_string(rc)) + ")");
  }
  return out.take(where, Compression::Gzip);
}

const char *lzma_message(lzma_ret rc) {
  switch (rc) {
  case LZMA_MEM_ERROR:
    return "out of memory";
  case LZMA_MEMLIMIT_ERROR:
    return "asks for a dictionary larger than 256 MiB";
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
std::vector<uint8_t> unlzma(Bytes in, Compression c, const std::string &where,
                            const DecompressBudget &budget) {
  lzma_stream ls = LZMA_STREAM_INIT;
  lzma_ret rc = c == Compression::Xz ? lzma_stream_decoder(&ls, kMaxDecoderMemory, 0)
                                     : lzma_alone_decoder(&ls, kMaxDecoderMemory);
  if (rc != LZMA_OK)
    throw Error(where + ": liblzma initialisation failed (" + lzma_message(rc) + ")");
  std::unique_ptr<lzma_stream, void (*)(lzma_stream *)> guard(&ls, lzma_end);
  Output out(in.size(), budget);
  ls.next_in = in.data();
  ls.avail_in = in.size();
  for (;;) {
    auto [buf, len] = out.room(where, c);
    ls.next_out = buf;
    ls.avail_out = len;
    rc = lzma_code(&ls, ls.avail_in ? LZMA_RUN : LZMA_FINISH);
    out.filled(len - ls.avail_out);
    if (rc == LZMA_STREAM_END)
      break;
    if (rc != LZMA_OK)
      throw Error(where + ": " + compression_name(c) + " " + lzma_message(rc));
  }
  return out.take(where, c);
}

std::vector<uint8_t> unzstd(Bytes in, const std::string &where, const DecompressBudget &budget) {
  std::unique_ptr<ZSTD_DStream, size_t (*)(ZSTD_DStream *)> ds(ZSTD_createDStream(),
                                                               ZSTD_freeDStream);
  if (!ds)
    throw Error(where + ": libzstd initialisation failed");
  // The window is allocated as the frame header asks: no larger than kbuild's `zstd -22 --ultra`
  // (2^27; it compresses from a pipe, so the frame does not say its size).
  ZSTD_DCtx_setParameter(ds.get(), ZSTD_d_windowLogMax, kMaxZstdWindowLog);
  Output out(in.size(), budget);
  ZSTD_inBuffer ib{in.data(), in.size(), 0};
  for (;;) {
    auto [buf, len] = out.room(where, Compression::Zstd);
    ZSTD_outBuffer ob{buf, len, 0};
    size_t in_before = ib.pos;
    size_t rc = ZSTD_decompressStream(ds.get(), &ob, &ib);
    out.filled(ob.pos);
    if (ZSTD_isError(rc))
      throw Error(where + ": zstd data is corrupt (" + ZSTD_getErrorName(rc) + ")");
    if (rc == 0)
      break; // end of the first frame
    if (ib.pos == ib.size && ob.pos < ob.size && (ob.pos == 0 || ib.pos == in_before))
      throw Error(where + ": zstd data is truncated");
  }
  return out.take(where, Compression::Zstd);
}

uint16_t le16(Bytes d, size_t off) { return uint16_t(d[off] | d[off + 1] << 8); }
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
  if (starts_with(d, {0x1f, 0x8b, 0x08}))
    return Compression::Gzip;
  if (starts_with(d, {0xfd, '7', 'z', 'X', 'Z', 0x00}))
    return Compression::Xz;
  if (starts_with(d, {0x28, 0xb5, 0x2f, 0xfd}))
    return Compression::Zstd;
  if (starts_with(d, {'B', 'Z', 'h'}))
    return Compression::Bzip2;
  if (starts_with(d, {0x5d, 0x00, 0x00}))
    return Compression::Lzma;
  if (starts_with(d, {0x89, 'L', 'Z', 'O', 0x00, 0x0d, 0x0a, 0x1a, 0x0a}))
    return Compression::Lzo;
  if (starts_with(d, {0x02, 0x21, 0x4c, 0x18}) || starts_with(d, {0x04, 0x22, 0x4d, 0x18}))
    return Compression::Lz4;
  return Compression::None;
}

bool compression_supported(Compression c) {
  return c == Compression::Gzip || c == Compression::Xz || c == Compression::Lzma ||
         c == Compression::Zstd;
}

DecompressBudget default_budget(Bytes data) {
  uint64_t limit = data.size() > kMaxOutput / kMaxRatio
                       ? kMaxOutput
                       : std::max(kMinCeiling, data.size() * kMaxRatio);
  return {std::min(limit, kMaxOutput), "that " + hex(data.size()) + " compressed bytes may give"};
}

std::vector<uint8_t> decompress(Bytes data, Compression c, const std::string &where) {
  return decompress(data, c, where, default_budget(data));
}

std::vector<uint8_t> decompress(Bytes data, Compression c, const std::string &where,
                                const DecompressBudget &budget) {
  switch (c) {
  case Compression::Gzip:
    return gunzip(data, where, budget);
  case Compression::Xz:
  case Compression::Lzma:
    return unlzma(data, c, where, budget);
  case Compression::Zstd:
    return unzstd(data, where, budget);
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
  if (!is_bzimage(d))
    throw Error(where + ": not a bzImage (no \"HdrS\" setup header)");
  if (d.size() < kPayloadLength + 4)
    throw Error(where + ": bzImage setup header is truncated");
  BzImageHeader h;
  h.protocol = le16(d, kVersion);
  if (h.protocol < 0x0208)
    throw Error(where + ": bzImage boot protocol " + std::to_string(h.protocol >> 8) + "." +
                std::to_string(h.protocol & 0xff) +
                " has no payload fields (2.08 or later needed)");
  unsigned sects = d[kSetupSects];
  if (sects == 0)
    sects = 4; // "if the field is 0, the real value is 4"
  h.setup_size = uint64_t(sects + 1) * 512;
  h.payload_offset = h.setup_size + le32(d, kPayloadOffset);
  h.payload_length = le32(d, kPayloadLength);
  if (h.payload_length == 0 || h.payload_offset > d.size() ||
      d.size() - h.payload_offset < h.payload_length)
    throw Error(where + ": bzImage payload (offset " + hex(h.payload_offset) + ", length " +
                hex(h.payload_length) + ") lies outside the file (size " + hex(d.size()) + ")");
  if (h.payload_length < 4)
    throw Error(where + ": bzImage payload at " + hex(h.payload_offset) + " is only " +
                hex(h.payload_length) + " bytes, too short for its size trailer");
  h.claimed_size = le32(d, h.payload_offset + h.payload_length - 4);
  h.compression = detect_compression(d.subspan(h.payload_offset, h.payload_length));
  return h;
}

bool is_x86_64_elf(Bytes d) {
  if (d.size() < sizeof(Elf64_Ehdr) || std::memcmp(d.data(), ELFMAG, SELFMAG) != 0)
    return false;
  Elf64_Ehdr eh;
  std::memcpy(&eh, d.data(), sizeof(eh));
  return eh.e_ident[EI_CLASS] == ELFCLASS64 && eh.e_ident[EI_DATA] == ELFDATA2LSB &&
         eh.e_machine == EM_X86_64;
}

namespace {

std::string elf_kind(Bytes d) {
  if (d.size() < SELFMAG || std::memcmp(d.data(), ELFMAG, SELFMAG) != 0)
    return "not an ELF file";
  return "an ELF file, but not a 64-bit little-endian x86_64 one";
}

} // namespace

std::vector<uint8_t> extract_vmlinux(Bytes bzimage, const std::string &where) {
  BzImageHeader h = parse_bzimage(bzimage, where);
  Bytes payload = bzimage.subspan(h.payload_offset, h.payload_length);
  if (h.compression == Compression::None) {
    // CONFIG_KERNEL_UNCOMPRESSED (s390 only upstream) would put the ELF here directly.
    if (is_x86_64_elf(payload))
      return std::vector<uint8_t>(payload.begin(), payload.end());
    throw Error(where + ": bzImage payload at " + hex(h.payload_offset) +
                " is in an unknown compression format");
  }
  std::string pwhere = where + ": bzImage payload (" + compression_name(h.compression) + ")";
  // kbuild's size trailer says what the stream holds: checked against what its size may give
  // before decompressing, then the budget the stream is held to.
  DecompressBudget most = default_budget(payload);
  if (compression_supported(h.compression) && h.claimed_size > most.limit)
    throw Error(pwhere + " of " + hex(payload.size()) + " bytes claims " + hex(h.claimed_size) +
                " decompressed bytes in its size trailer, more than the " + hex(most.limit) +
                " it may have");
  std::vector<uint8_t> elf =
      decompress(payload, h.compression, pwhere, {h.claimed_size, "its size trailer claims"});
  if (!is_x86_64_elf(elf))
    throw Error(pwhere + " is " + elf_kind(elf) + ", not a vmlinux");
  return elf;
}

KernelImage read_kernel_image(const std::string &path) {
  check_regular_file(path);
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw Error(path + ": cannot open: " + std::strerror(errno));
  std::vector<uint8_t> data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad())
    throw Error(path + ": read failed");
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
