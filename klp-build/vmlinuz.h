// Reading a kernel image from disk into memory as an ELF file: a vmlinux or module ELF as is, a
// bzImage (vmlinuz) by decompressing the vmlinux it carries, a compressed ELF (.ko.xz, .ko.zst,
// .ko.gz, or a bare compressed vmlinux) by decompressing it whole.
//
// A bzImage (arch/x86/boot/header.S, Documentation/x86/boot.rst) starts with the real-mode setup
// code, (setup_sects + 1) * 512 bytes, followed by the protected-mode part: the decompressor stub
// with the compressed vmlinux embedded at payload_offset (relative to that part), payload_length
// bytes long. Both fields exist from boot protocol 2.08 on. The payload is what
// arch/x86/boot/compressed/Makefile compressed: `objcopy -R .comment -S vmlinux` (an ELF without
// symbols, but with its program and section headers), followed on CONFIG_X86_NEED_RELOCS kernels
// by the relocation table for KASLR, then the 4-byte uncompressed size kbuild appends
// (size_append). The decompressors below stop at the end of the first compressed stream, so both
// trailers are simply not read.
//
// Supported compressions: gzip (zlib), xz and legacy lzma (liblzma), zstd (libzstd). Debian 12's
// 6.1 kernels use xz (CONFIG_KERNEL_XZ=y). bzip2, lzo and lz4 are recognised and refused with a
// clear error.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "elf_file.h"

namespace klp {

enum class Compression { None, Gzip, Bzip2, Lzma, Xz, Lzo, Lz4, Zstd };

// "gzip", "xz", ...; "none" for None.
const char *compression_name(Compression c);
// Recognises, by its magic, a stream in one of the formats kbuild can compress the kernel with
// (CONFIG_KERNEL_*), or module compression; None if it is none of them.
Compression detect_compression(Bytes data);
// Whether decompress() can handle `c`.
bool compression_supported(Compression c);
// How much a stream may decompress to, and why (for the message): "its size trailer claims".
struct DecompressBudget {
  uint64_t limit = 0;
  std::string why;
};
// The budget of a stream with no claim of its own: 1032 times its size (deflate's best ratio), at
// least 64 MiB, at most 4 GiB.
DecompressBudget default_budget(Bytes data);
// Decompresses the first stream of `data` (format `c`); anything after the end of that stream is
// ignored. The output buffer grows with the output, never past the budget (default_budget() if
// none is given); the decoders' own memory is bounded too (xz dictionary 256 MiB, zstd window
// 128 MiB). Throws Error "<where>: ..." for an unsupported format, corrupt data or output beyond
// the budget.
std::vector<uint8_t> decompress(Bytes data, Compression c, const std::string &where);
std::vector<uint8_t> decompress(Bytes data, Compression c, const std::string &where,
                                const DecompressBudget &budget);

// The setup header fields of a bzImage that locate the compressed kernel.
struct BzImageHeader {
  uint16_t protocol = 0;       // boot protocol version, 0x020f for 2.15
  uint64_t setup_size = 0;     // bytes of real-mode code before the protected-mode part
  uint64_t payload_offset = 0; // absolute offset of the compressed vmlinux in the file
  uint64_t payload_length = 0; // its length, including kbuild's 4-byte size trailer
  uint32_t claimed_size = 0;   // that trailer: the size of the decompressed stream
  Compression compression = Compression::None;
};

// Whether `data` carries the boot-sector signature and the "HdrS" setup header magic.
bool is_bzimage(Bytes data);
// Parses the setup header; throws Error if it is truncated, too old (protocol < 2.08) or its
// payload lies outside the file.
BzImageHeader parse_bzimage(Bytes data, const std::string &where);
// Decompresses the vmlinux a bzImage carries and checks that it is an x86_64 ELF.
std::vector<uint8_t> extract_vmlinux(Bytes bzimage, const std::string &where);

// Whether `data` starts like a 64-bit little-endian x86_64 ELF file.
bool is_x86_64_elf(Bytes data);

// A kernel image read into memory.
struct KernelImage {
  std::string path;
  // How it was stored: "ELF", "bzImage (xz)", "xz-compressed ELF", ...
  std::string format;
  std::vector<uint8_t> elf; // the ELF file itself
};

// Reads `path`: an ELF file is taken as is, a bzImage has its vmlinux extracted, a compressed
// file is decompressed and must be an ELF. Throws Error naming `path` for anything else.
KernelImage read_kernel_image(const std::string &path);

} // namespace klp
