// klp-build/image_match.h and vmlinuz.h: the proof that the original build matches the target.
//
// Synthetic tests (always run) compile testdata/image_match/*.c twice, with -ffunction-sections
// (the "original" object) and without (linked with ld into the "image"), and build bzImages around
// payloads in memory. Real-kernel tests (ImageMatchKernel.*) use the test kernel
// (scripts/testkernel.sh) and skip when it has not been built.
#include <gtest/gtest.h>

#include <elf.h>
#include <gelf.h>
#include <libelf.h>
#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include "bundle.h"
#include "error.h"
#include "image_match.h"
#include "object.h"
#include "target_symtab.h"
#include "test_util.h"
#include "vmlinuz.h"

using namespace klp;
using namespace klp::test;
namespace fs = std::filesystem;

namespace {

std::vector<uint8_t> read_bytes(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)),
                              std::istreambuf_iterator<char>());
}

void write_bytes(const std::string &path, const std::vector<uint8_t> &data) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char *>(data.data()), (std::streamsize)data.size());
  ASSERT_TRUE(out.good()) << path;
}

// The error message of `f()`, or "" if it did not throw klp::Error.
template <typename F> std::string error_of(F f) {
  try {
    f();
  } catch (const Error &e) {
    return e.what();
  }
  return "";
}

// --- compressors for the round trips (the library only decompresses) ----------------------------

std::vector<uint8_t> gzip(Bytes in) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, 1, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
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

std::vector<uint8_t> xz(Bytes in, bool legacy_lzma = false) {
  std::vector<uint8_t> out(lzma_stream_buffer_bound(in.size()) + 1024);
  size_t pos = 0;
  if (!legacy_lzma) {
    EXPECT_EQ(lzma_easy_buffer_encode(1, LZMA_CHECK_CRC32, nullptr, in.data(), in.size(),
                                      out.data(), &pos, out.size()),
              LZMA_OK);
  } else {
    lzma_options_lzma opt;
    lzma_lzma_preset(&opt, 1);
    lzma_stream ls = LZMA_STREAM_INIT;
    EXPECT_EQ(lzma_alone_encoder(&ls, &opt), LZMA_OK);
    ls.next_in = in.data();
    ls.avail_in = in.size();
    ls.next_out = out.data();
    ls.avail_out = out.size();
    EXPECT_EQ(lzma_code(&ls, LZMA_FINISH), LZMA_STREAM_END);
    pos = out.size() - ls.avail_out;
    lzma_end(&ls);
  }
  out.resize(pos);
  return out;
}

// With a content checksum, as the zstd command line (and so kbuild's cmd_zstd22) writes frames.
std::vector<uint8_t> zstd(Bytes in) {
  std::vector<uint8_t> out(ZSTD_compressBound(in.size()));
  ZSTD_CCtx *cc = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, 1);
  ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1);
  size_t n = ZSTD_compress2(cc, out.data(), out.size(), in.data(), in.size());
  ZSTD_freeCCtx(cc);
  EXPECT_FALSE(ZSTD_isError(n));
  out.resize(n);
  return out;
}

// kbuild's size_append: the uncompressed size, 4 bytes little-endian, after the stream.
std::vector<uint8_t> with_size_trailer(std::vector<uint8_t> c, size_t size) {
  for (int i = 0; i < 4; i++)
    c.push_back(uint8_t(size >> (8 * i)));
  return c;
}

// A bzImage around `payload`: a boot sector and setup header (protocol 2.15, 3 setup sectors),
// then the protected-mode part with the payload at offset 0x80 of it.
std::vector<uint8_t> make_bzimage(const std::vector<uint8_t> &payload, uint16_t protocol = 0x020f) {
  const unsigned setup_sects = 3;
  std::vector<uint8_t> img((setup_sects + 1) * 512 + 0x80, 0xcc);
  img[0x1f1] = setup_sects;
  img[0x1fe] = 0x55;
  img[0x1ff] = 0xaa;
  std::memcpy(&img[0x202], "HdrS", 4);
  img[0x206] = uint8_t(protocol), img[0x207] = uint8_t(protocol >> 8);
  uint32_t off = 0x80, len = (uint32_t)payload.size();
  std::memcpy(&img[0x248], &off, 4);
  std::memcpy(&img[0x24c], &len, 4);
  size_t at = img.size();
  img.resize(at + payload.size() + 64, 0); // and the rest of the decompressor
  if (!payload.empty())
    std::memcpy(img.data() + at, payload.data(), payload.size());
  return img;
}

// The smallest thing is_x86_64_elf() accepts.
std::vector<uint8_t> tiny_elf() {
  Elf64_Ehdr eh{};
  std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
  eh.e_ident[EI_CLASS] = ELFCLASS64;
  eh.e_ident[EI_DATA] = ELFDATA2LSB;
  eh.e_ident[EI_VERSION] = EV_CURRENT;
  eh.e_type = ET_EXEC;
  eh.e_machine = EM_X86_64;
  std::vector<uint8_t> out(sizeof(eh));
  std::memcpy(out.data(), &eh, sizeof(eh));
  out.resize(4096, 0x5a); // and something to compress
  return out;
}

// --- synthetic "kernel": an object built two ways
// --------------------------------------------------

constexpr uint64_t kTextBase = 0xffffffff81000000ull;

std::string kernel_flags(bool function_sections) {
  std::string f = kKernelCFlags;
  if (!function_sections) {
    const std::string fs_flags = " -ffunction-sections -fdata-sections";
    auto pos = f.find(fs_flags);
    if (pos != std::string::npos)
      f.erase(pos, fs_flags.size());
  }
  return f;
}

struct Built {
  std::string orig;  // -ffunction-sections object
  std::string image; // normal build linked at kTextBase
};

Built build_case(const ScratchDir &dir, const std::string &src_name,
                 const std::string &image_src_name = "") {
  Built b;
  std::string src = testdata("image_match/" + src_name);
  std::string image_src =
      testdata("image_match/" + (image_src_name.empty() ? src_name : image_src_name));
  b.orig = dir.file("orig.o");
  b.image = dir.file("image");
  std::string normal = dir.file("normal.o");
  RunResult r = run("gcc " + kernel_flags(true) + " -o " + b.orig + " " + src);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  r = run("gcc " + kernel_flags(false) + " -o " + normal + " " + image_src);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  r = run("ld -o " + b.image + " -Ttext=" + hex(kTextBase) +
          " -e 0 --defsym=__fentry__=0xffffffff80000000 " + normal);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  return b;
}

ImageFunction function_of(const Object &obj, const std::string &name, unsigned long sympos = 0) {
  const Symbol *s = obj.find_symbol(name);
  EXPECT_NE(s, nullptr) << name;
  return ImageFunction{name, sympos, &obj, s};
}

// File offset of link address `addr` in an ELF executable (through its PT_LOAD headers).
uint64_t file_offset(const std::string &path, uint64_t addr) {
  elf_version(EV_CURRENT);
  int fd = open(path.c_str(), O_RDONLY);
  Elf *e = elf_begin(fd, ELF_C_READ, nullptr);
  size_t n = 0;
  elf_getphdrnum(e, &n);
  uint64_t off = 0;
  for (size_t i = 0; i < n; i++) {
    GElf_Phdr ph;
    gelf_getphdr(e, (int)i, &ph);
    if (ph.p_type == PT_LOAD && addr >= ph.p_vaddr && addr < ph.p_vaddr + ph.p_filesz)
      off = ph.p_offset + (addr - ph.p_vaddr);
  }
  elf_end(e);
  close(fd);
  EXPECT_NE(off, 0u) << hex(addr) << " not in " << path;
  return off;
}

// `nm`-style kallsyms text for an ELF with every kernel-half address moved by `slide`.
std::string kallsyms_of(const std::string &elf, uint64_t slide, bool add_text) {
  RunResult r = run("nm -n " + elf);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  std::istringstream in(r.out);
  std::ostringstream out;
  if (add_text)
    out << std::hex << (kTextBase + slide) << " T _text\n";
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string addr, type, name;
    if (!(ls >> addr >> type >> name) || addr.size() != 16)
      continue;
    uint64_t a = std::stoull(addr, nullptr, 16);
    if (a >> 63)
      a += slide;
    char buf[17];
    snprintf(buf, sizeof buf, "%016llx", (unsigned long long)a);
    out << buf << " " << type << " " << name << "\n";
  }
  return out.str();
}

} // namespace

// --- vmlinuz.h --------------------------------------------------------------------------------

TEST(ImageMatchCompression, DetectsTheKernelsCompressionMagics) {
  auto d = [](std::initializer_list<uint8_t> b) {
    std::vector<uint8_t> v(b);
    v.resize(16, 0);
    return detect_compression(v);
  };
  EXPECT_EQ(d({0x1f, 0x8b, 0x08}), Compression::Gzip);
  EXPECT_EQ(d({0xfd, '7', 'z', 'X', 'Z', 0}), Compression::Xz);
  EXPECT_EQ(d({0x28, 0xb5, 0x2f, 0xfd}), Compression::Zstd);
  EXPECT_EQ(d({0x5d, 0, 0}), Compression::Lzma);
  EXPECT_EQ(d({'B', 'Z', 'h'}), Compression::Bzip2);
  EXPECT_EQ(d({0x89, 'L', 'Z', 'O', 0, 0x0d, 0x0a, 0x1a, 0x0a}), Compression::Lzo);
  EXPECT_EQ(d({0x02, 0x21, 0x4c, 0x18}), Compression::Lz4);
  EXPECT_EQ(d({0x7f, 'E', 'L', 'F'}), Compression::None);
  EXPECT_TRUE(compression_supported(Compression::Xz));
  EXPECT_TRUE(compression_supported(Compression::Gzip));
  EXPECT_TRUE(compression_supported(Compression::Zstd));
  EXPECT_FALSE(compression_supported(Compression::Lz4));
}

TEST(ImageMatchCompression, DecompressesTheFirstStreamAndIgnoresTheSizeTrailer) {
  std::vector<uint8_t> data(300000);
  for (size_t i = 0; i < data.size(); i++)
    data[i] = uint8_t((i * 2654435761u) >> 13) & 0x3f; // compressible, not trivial
  struct Case {
    Compression c;
    std::vector<uint8_t> stream;
  } cases[] = {
      {Compression::Gzip, gzip(data)},
      {Compression::Xz, xz(data)},
      {Compression::Lzma, xz(data, true)},
      {Compression::Zstd, zstd(data)},
  };
  for (auto &c : cases) {
    std::vector<uint8_t> in = with_size_trailer(c.stream, data.size());
    EXPECT_EQ(detect_compression(in), c.c) << compression_name(c.c);
    EXPECT_EQ(decompress(in, c.c, "t"), data) << compression_name(c.c);
  }
}

TEST(ImageMatchCompression, CorruptOrTruncatedStreamsAreErrors) {
  std::vector<uint8_t> data(100000, 7);
  for (size_t i = 0; i < data.size(); i += 3)
    data[i] = uint8_t(i);
  for (Compression c : {Compression::Gzip, Compression::Xz, Compression::Zstd}) {
    std::vector<uint8_t> s = c == Compression::Gzip ? gzip(data)
                             : c == Compression::Xz ? xz(data)
                                                    : zstd(data);
    std::vector<uint8_t> truncated(s.begin(), s.begin() + s.size() / 2);
    EXPECT_NE(error_of([&] { decompress(truncated, c, "img"); }), "") << compression_name(c);
    std::vector<uint8_t> corrupt = s;
    for (size_t i = s.size() / 3; i < s.size() / 3 + 16; i++)
      corrupt[i] ^= 0xa5;
    std::string e = error_of([&] { decompress(corrupt, c, "img"); });
    EXPECT_NE(e, "") << compression_name(c);
    EXPECT_EQ(e.rfind("img: ", 0), 0u) << e;
  }
}

TEST(ImageMatchBzImage, ExtractsTheVmlinuxFromEachSupportedCompression) {
  std::vector<uint8_t> elf = tiny_elf();
  for (auto [name, payload] : {std::pair{"gzip", gzip(elf)}, std::pair{"xz", xz(elf)},
                               std::pair{"lzma", xz(elf, true)}, std::pair{"zstd", zstd(elf)}}) {
    std::vector<uint8_t> img = make_bzimage(with_size_trailer(payload, elf.size()));
    ASSERT_TRUE(is_bzimage(img));
    BzImageHeader h = parse_bzimage(img, "bz");
    EXPECT_EQ(h.protocol, 0x020f);
    EXPECT_EQ(h.payload_offset, 4 * 512 + 0x80u);
    EXPECT_STREQ(compression_name(h.compression), name);
    EXPECT_EQ(extract_vmlinux(img, "bz"), elf) << name;
  }
}

TEST(ImageMatchBzImage, UnsupportedCompressionIsAClearError) {
  for (auto magic :
       {std::vector<uint8_t>{0x02, 0x21, 0x4c, 0x18}, std::vector<uint8_t>{'B', 'Z', 'h', '9'},
        std::vector<uint8_t>{0x89, 'L', 'Z', 'O', 0, 0x0d, 0x0a, 0x1a, 0x0a}}) {
    magic.resize(200, 0x11);
    std::vector<uint8_t> img = make_bzimage(magic);
    std::string e = error_of([&] { extract_vmlinux(img, "vmlinuz-x"); });
    EXPECT_NE(e.find("vmlinuz-x: bzImage payload ("), std::string::npos) << e;
    EXPECT_NE(e.find("compression is not supported (supported: gzip, xz, lzma, zstd)"),
              std::string::npos)
        << e;
  }
  std::vector<uint8_t> unknown(200, 0x11);
  EXPECT_NE(error_of([&] {
              extract_vmlinux(make_bzimage(unknown), "v");
            }).find("is in an unknown compression format"),
            std::string::npos);
}

TEST(ImageMatchBzImage, PayloadThatIsNotAnElfIsAnError) {
  std::vector<uint8_t> text(5000, 'x');
  std::vector<uint8_t> img = make_bzimage(with_size_trailer(gzip(text), text.size()));
  EXPECT_EQ(error_of([&] { extract_vmlinux(img, "vmlinuz"); }),
            "vmlinuz: bzImage payload (gzip) is not an ELF file, not a vmlinux");
}

TEST(ImageMatchBzImage, OldOrInconsistentHeadersAreErrors) {
  std::vector<uint8_t> payload = gzip(tiny_elf());
  EXPECT_NE(error_of([&] {
              parse_bzimage(make_bzimage(payload, 0x0206), "v");
            }).find("boot protocol 2.6 has no payload fields"),
            std::string::npos);
  std::vector<uint8_t> img = make_bzimage(payload);
  uint32_t huge = 0x7fffffff;
  std::memcpy(&img[0x24c], &huge, 4);
  EXPECT_NE(error_of([&] { parse_bzimage(img, "v"); }).find("lies outside the file"),
            std::string::npos);
  std::vector<uint8_t> not_bz(4096, 0);
  EXPECT_FALSE(is_bzimage(not_bz));
}

TEST(ImageMatchImage, ReadsElfBzImageAndCompressedElfAndRejectsTheRest) {
  ScratchDir dir;
  std::vector<uint8_t> elf = tiny_elf();
  write_bytes(dir.file("vmlinux"), elf);
  write_bytes(dir.file("vmlinuz"), make_bzimage(with_size_trailer(xz(elf), elf.size())));
  write_bytes(dir.file("mod.ko.zst"), zstd(elf));
  write_bytes(dir.file("text"), std::vector<uint8_t>(100, 'a'));
  write_bytes(dir.file("text.gz"), gzip(std::vector<uint8_t>(100, 'a')));
  KernelImage a = read_kernel_image(dir.file("vmlinux"));
  EXPECT_EQ(a.format, "ELF");
  EXPECT_EQ(a.elf, elf);
  KernelImage b = read_kernel_image(dir.file("vmlinuz"));
  EXPECT_EQ(b.format, "bzImage (xz)");
  EXPECT_EQ(b.elf, elf);
  KernelImage c = read_kernel_image(dir.file("mod.ko.zst"));
  EXPECT_EQ(c.format, "zstd-compressed ELF");
  EXPECT_EQ(c.elf, elf);
  EXPECT_EQ(error_of([&] { read_kernel_image(dir.file("text")); }),
            dir.file("text") + ": not a kernel image (expected a vmlinux or module ELF, a "
                               "bzImage or a gzip/xz/lzma/zstd-compressed ELF)");
  EXPECT_EQ(error_of([&] { read_kernel_image(dir.file("text.gz")); }),
            dir.file("text.gz") + ": decompressed gzip data is not an ELF file");
  EXPECT_NE(error_of([&] { read_kernel_image(dir.file("missing")); }).find("cannot open"),
            std::string::npos);
}

// --- image_match.h on synthetic objects --------------------------------------------------------

TEST(ImageMatchSynthetic, ShortBranchesOfTheNormalBuildMatchTheFunctionSectionsObject) {
  ScratchDir dir;
  Built b = build_case(dir, "relax.c");
  auto orig = Object::load(b.orig);
  cook(*orig);
  TargetSymtab symtab(b.image, "vmlinux");
  ImageMatcher m(b.image, symtab);
  EXPECT_FALSE(m.is_module());
  EXPECT_EQ(m.slide(), 0);

  FunctionMatch r = m.check(function_of(*orig, "tail_call"));
  EXPECT_TRUE(r.matches) << r.mismatch;
  EXPECT_EQ(r.relaxed, 3u); // three tail calls: jmp rel32 + relocation vs jmp rel8
  EXPECT_LT(r.image_size, r.size);
  EXPECT_GT(r.references_checked, 3u); // __fentry__, counter, and the jumps' targets
  EXPECT_EQ(r.address, *symtab.address_of("tail_call", 0));

  for (const char *f : {"helper", "helper2", "plain"}) {
    FunctionMatch p = m.check(function_of(*orig, f));
    EXPECT_TRUE(p.matches) << f << ": " << p.mismatch;
    EXPECT_EQ(p.relaxed, 0u) << f;
    EXPECT_EQ(p.image_size, p.size) << f;
  }
  std::vector<ImageFunction> all;
  for (const char *f : {"helper", "helper2", "plain", "tail_call"})
    all.push_back(function_of(*orig, f));
  EXPECT_NO_THROW(verify_functions_match(b.image, symtab, all));
}

TEST(ImageMatchSynthetic, KallsymsWithAKaslrSlideMatches) {
  ScratchDir dir;
  Built b = build_case(dir, "relax.c");
  auto orig = Object::load(b.orig);
  cook(*orig);
  const uint64_t slide = 0x2a600000; // KASLR moves the kernel in 2 MiB steps
  TargetSymtab symtab =
      TargetSymtab::from_text(kallsyms_of(b.image, slide, true), "kallsyms", "vmlinux");
  ASSERT_EQ(symtab.format(), TargetFormat::Kallsyms);
  ImageMatcher m(b.image, symtab);
  EXPECT_EQ(m.slide(), (int64_t)slide);
  for (const char *f : {"helper", "helper2", "plain", "tail_call"}) {
    FunctionMatch r = m.check(function_of(*orig, f));
    EXPECT_TRUE(r.matches) << f << ": " << r.mismatch;
    EXPECT_GT(r.references_checked, 0u) << f;
  }

  // Without a reference symbol the slide cannot be known.
  TargetSymtab no_ref =
      TargetSymtab::from_text(kallsyms_of(b.image, slide, false), "kallsyms", "vmlinux");
  EXPECT_EQ(error_of([&] { ImageMatcher(b.image, no_ref); }),
            "kallsyms: none of _text, _stext, startup_64 is in the symbol table; cannot compute "
            "the KASLR offset of " +
                b.image);
  // Unprivileged /proc/kallsyms: all zeros.
  TargetSymtab zeros = TargetSymtab::from_text(
      "0000000000000000 T _text\n0000000000000000 T plain\n", "kallsyms", "vmlinux");
  EXPECT_NE(error_of([&] { ImageMatcher(b.image, zeros); }).find("has no addresses"),
            std::string::npos);
}

TEST(ImageMatchSynthetic, AChangedFunctionIsNamedAndOthersStillMatch) {
  ScratchDir dir;
  Built b = build_case(dir, "relax.c", "relax_changed.c");
  auto orig = Object::load(b.orig);
  cook(*orig);
  TargetSymtab symtab(b.image, "vmlinux");
  ImageMatcher m(b.image, symtab);
  FunctionMatch r = m.check(function_of(*orig, "helper"));
  EXPECT_FALSE(r.matches);
  EXPECT_NE(
      r.mismatch.find("function 'helper' differs from the original build (" + b.orig + ") at +0x"),
      std::string::npos)
      << r.mismatch;
  EXPECT_TRUE(m.check(function_of(*orig, "helper2")).matches);

  std::vector<ImageFunction> all{function_of(*orig, "helper2"), function_of(*orig, "helper"),
                                 function_of(*orig, "plain")};
  std::string e = error_of([&] { verify_functions_match(b.image, symtab, all); });
  EXPECT_EQ(e.rfind(b.image + ": function 'helper' differs from the original build", 0), 0u) << e;
  EXPECT_NE(e.find("(expected "), std::string::npos) << e;
  EXPECT_NE(e.find("; rebuild with the target's exact source, config and compiler"),
            std::string::npos)
      << e;
}

TEST(ImageMatchSynthetic, ACallToAnotherFunctionIsCaughtDespiteTheMask) {
  ScratchDir dir;
  Built b = build_case(dir, "relax.c");
  auto orig = Object::load(b.orig);
  cook(*orig);
  TargetSymtab symtab(b.image, "vmlinux");
  // Redirect plain()'s call to helper() to helper2(): same bytes outside the relocation field.
  const Symbol *plain = orig->find_symbol("plain");
  const Relocation *call = nullptr;
  for (const Relocation &r : plain->sec->rela->relocs)
    if (r.sym->name == "helper")
      call = &r;
  ASSERT_NE(call, nullptr);
  uint64_t field = *symtab.address_of("plain", 0) + call->offset - plain->value;
  int32_t v = (int32_t)(*symtab.address_of("helper2", 0) + call->addend - field);
  std::vector<uint8_t> img = read_bytes(b.image);
  std::memcpy(&img[file_offset(b.image, field)], &v, 4);
  std::string bad = dir.file("redirected");
  write_bytes(bad, img);

  ImageMatcher m(bad, symtab);
  FunctionMatch r = m.check(function_of(*orig, "plain"));
  EXPECT_FALSE(r.matches);
  EXPECT_NE(r.mismatch.find("its reference to 'helper' resolves to " +
                            hex(*symtab.address_of("helper2", 0)) + " in the image"),
            std::string::npos)
      << r.mismatch;
}

TEST(ImageMatchSynthetic, ObjtoolsJumpLabelNopIsAcceptedAndNothingElse) {
  ScratchDir dir;
  Built b = build_case(dir, "jump_label.c");
  auto orig = Object::load(b.orig);
  cook(*orig);
  TargetSymtab symtab(b.image, "vmlinux");
  ImageFunction f = function_of(*orig, "jl_user");
  {
    ImageMatcher m(b.image, symtab);
    FunctionMatch r = m.check(f);
    EXPECT_TRUE(r.matches) << r.mismatch;
    EXPECT_EQ(r.nop_sites, 0u);
  }
  // The site, from the object's __jump_table: code field -> jl_user + offset.
  const Section *jt = orig->find_section("__jump_table");
  ASSERT_NE(jt, nullptr);
  const Relocation &code = jt->rela->relocs.at(0);
  ASSERT_EQ(code.offset, 0u);
  uint64_t site = code.sym->value + code.addend - f.sym->value;
  ASSERT_EQ(f.sym->sec->data[f.sym->value + site], 0xeb); // jmp rel8
  uint64_t at = file_offset(b.image, *symtab.address_of("jl_user", 0) + site);

  std::vector<uint8_t> img = read_bytes(b.image);
  img[at] = 0x66, img[at + 1] = 0x90; // objtool's 2-byte NOP
  write_bytes(dir.file("nopped"), img);
  ImageMatcher nopped(dir.file("nopped"), symtab);
  FunctionMatch r = nopped.check(f);
  EXPECT_TRUE(r.matches) << r.mismatch;
  EXPECT_EQ(r.nop_sites, 1u);

  img[at] = 0x90, img[at + 1] = 0x90; // NOPs, but not objtool's: a different build
  write_bytes(dir.file("other"), img);
  ImageMatcher other(dir.file("other"), symtab);
  r = other.check(f);
  EXPECT_FALSE(r.matches);
  EXPECT_NE(r.mismatch.find("at +" + hex(site)), std::string::npos) << r.mismatch;
}

TEST(ImageMatchSynthetic, SymbolTableOfTheWrongObjectOrMissingFunctionIsAnError) {
  ScratchDir dir;
  Built b = build_case(dir, "relax.c");
  auto orig = Object::load(b.orig);
  TargetSymtab module_symtab(b.image, "some_module");
  EXPECT_NE(error_of([&] {
              ImageMatcher(b.image, module_symtab);
            }).find("image is a vmlinux but the symbol table"),
            std::string::npos);
  TargetSymtab symtab(b.image, "vmlinux");
  ImageMatcher m(b.image, symtab);
  ImageFunction f = function_of(*orig, "plain");
  f.name = "no_such_function";
  EXPECT_EQ(error_of([&] { m.check(f); }),
            b.image + ": function 'no_such_function' is not in the target's symbol table");
}

// --- the test kernel ---------------------------------------------------------------------------

namespace {

std::string testkernel_dir() {
  const char *cache = std::getenv("KLP_CACHE");
  return (cache && *cache ? std::string(cache) : std::string(KLP_SOURCE_DIR) + "/build/cache") +
         "/testkernel";
}

class ImageMatchKernel : public ::testing::Test {
protected:
  void SetUp() override {
    k_ = testkernel_dir();
    if (!fs::exists(k_ + "/boot/vmlinux") || !fs::exists(k_ + "/fsections/fs/proc/cmdline.o"))
      GTEST_SKIP() << "test kernel not built (" << k_
                   << "/boot/vmlinux missing): run scripts/testkernel.sh";
  }
  std::string boot(const std::string &rel) const { return k_ + "/boot/" + rel; }
  std::string fsec(const std::string &rel) const { return k_ + "/fsections/" + rel; }
  std::string bzimage() const { return boot("arch/x86/boot/bzImage"); }

  std::unique_ptr<Object> cmdline_orig(const std::string &path = "") const {
    auto o = Object::load(path.empty() ? fsec("fs/proc/cmdline.o") : path);
    cook(*o);
    return o;
  }

  // Compiles fs/proc/cmdline.c after `sed_expr` with the command kbuild recorded for the
  // -ffunction-sections build (tests/kernel/lib.sh compile_like_kbuild).
  std::string compile_variant(const ScratchDir &dir, const std::string &sed_expr) const {
    std::string src = dir.file("cmdline.c"), out = dir.file("cmdline.o");
    RunResult r = run("sed -e '" + sed_expr + "' " + k_ + "/src/fs/proc/cmdline.c > " + src);
    EXPECT_EQ(r.exit_code, 0) << r.out;
    r = run("bash -c 'source " + std::string(KLP_SOURCE_DIR) +
            "/tests/kernel/lib.sh && compile_like_kbuild " + fsec("") + " fs/proc/cmdline.o " +
            src + " " + out + "'");
    EXPECT_EQ(r.exit_code, 0) << r.out;
    return out;
  }

  std::string k_;
};

} // namespace

TEST_F(ImageMatchKernel, CmdlineProcShowMatchesTheVmlinux) {
  auto orig = cmdline_orig();
  TargetSymtab symtab(boot("vmlinux"), "vmlinux");
  ImageMatcher m(boot("vmlinux"), symtab);
  EXPECT_EQ(m.image_format(), "ELF");
  EXPECT_EQ(m.slide(), 0);
  FunctionMatch r = m.check(function_of(*orig, "cmdline_proc_show"));
  EXPECT_TRUE(r.matches) << r.mismatch;
  EXPECT_EQ(r.image_size, r.size);
  EXPECT_GT(r.masked, 0u);
  EXPECT_GE(r.references_checked, 3u); // __fentry__, saved_command_line, seq_puts, seq_putc
  EXPECT_NO_THROW(
      verify_functions_match(boot("vmlinux"), symtab, {function_of(*orig, "cmdline_proc_show")}));
}

TEST_F(ImageMatchKernel, CmdlineProcShowMatchesTheBzImage) {
  auto orig = cmdline_orig();
  TargetSymtab symtab(boot("vmlinux"), "vmlinux");
  ImageMatcher m(bzimage(), symtab);
  EXPECT_EQ(m.image_format(), "bzImage (xz)"); // the test kernel's CONFIG_KERNEL_XZ, as Debian's
  EXPECT_EQ(m.slide(), 0);
  FunctionMatch r = m.check(function_of(*orig, "cmdline_proc_show"));
  EXPECT_TRUE(r.matches) << r.mismatch;
  EXPECT_GE(r.references_checked, 3u);
}

TEST_F(ImageMatchKernel, CmdlineProcShowMatchesTheBzImageThroughKaslrKallsyms) {
  auto orig = cmdline_orig();
  const uint64_t slide = 0x1e00000;
  // System.map is kallsyms' format; move every kernel address as KASLR would.
  std::ifstream in(boot("System.map"));
  std::ostringstream ks;
  std::string addr, type, name;
  while (in >> addr >> type >> name) {
    uint64_t a = std::stoull(addr, nullptr, 16);
    if (a >> 63)
      a += slide;
    char buf[17];
    snprintf(buf, sizeof buf, "%016llx", (unsigned long long)a);
    ks << buf << " " << type << " " << name << "\n";
  }
  TargetSymtab symtab = TargetSymtab::from_text(ks.str(), "kallsyms", "vmlinux");
  ImageMatcher m(bzimage(), symtab);
  EXPECT_EQ(m.slide(), (int64_t)slide);
  FunctionMatch r = m.check(function_of(*orig, "cmdline_proc_show"));
  EXPECT_TRUE(r.matches) << r.mismatch;
  EXPECT_EQ(r.address, *symtab.address_of("cmdline_proc_show", 0) - slide);
  EXPECT_GE(r.references_checked, 3u);
}

TEST_F(ImageMatchKernel, GzipAndZstdBzImagesOfTheSameKernelMatch) {
  ScratchDir dir;
  auto orig = cmdline_orig();
  TargetSymtab symtab(boot("vmlinux"), "vmlinux");
  std::vector<uint8_t> vmlinux = read_bytes(boot("vmlinux"));
  for (auto [name, payload] :
       {std::pair{"gzip", gzip(vmlinux)}, std::pair{"zstd", zstd(vmlinux)}}) {
    std::string path = dir.file(std::string("vmlinuz.") + name);
    write_bytes(path, make_bzimage(with_size_trailer(payload, vmlinux.size())));
    ImageMatcher m(path, symtab);
    EXPECT_EQ(m.image_format(), std::string("bzImage (") + name + ")");
    FunctionMatch r = m.check(function_of(*orig, "cmdline_proc_show"));
    EXPECT_TRUE(r.matches) << name << ": " << r.mismatch;
  }
}

TEST_F(ImageMatchKernel, AnObjectFromPatchedSourceIsRejected) {
  ScratchDir dir;
  auto orig = cmdline_orig(compile_variant(dir, "s/seq_putc(m, .\\\\n.);/seq_putc(m, 0x20);/"));
  TargetSymtab symtab(boot("vmlinux"), "vmlinux");
  for (const std::string &image : {boot("vmlinux"), bzimage()}) {
    std::string e = error_of(
        [&] { verify_functions_match(image, symtab, {function_of(*orig, "cmdline_proc_show")}); });
    EXPECT_EQ(e.rfind(image + ": function 'cmdline_proc_show' differs from the original build (" +
                          orig->path + ") at +0x",
                      0),
              0u)
        << e;
    EXPECT_NE(e.find("rebuild with the target's exact source, config and compiler"),
              std::string::npos)
        << e;
  }
}

TEST_F(ImageMatchKernel, AnObjectBuiltWithOtherOptimisationIsRejected) {
  ScratchDir dir;
  // The same source under -O2 instead of the kernel's -Os (CONFIG_CC_OPTIMIZE_FOR_SIZE).
  auto orig =
      cmdline_orig(compile_variant(dir, "1i #pragma GCC optimize(\"O2,no-omit-frame-pointer\")"));
  TargetSymtab symtab(boot("vmlinux"), "vmlinux");
  ImageMatcher m(boot("vmlinux"), symtab);
  FunctionMatch r = m.check(function_of(*orig, "cmdline_proc_show"));
  EXPECT_FALSE(r.matches);
  EXPECT_NE(r.mismatch.find("'cmdline_proc_show'"), std::string::npos) << r.mismatch;
}

TEST_F(ImageMatchKernel, ACorruptedImageIsRejected) {
  ScratchDir dir;
  auto orig = cmdline_orig();
  TargetSymtab symtab(boot("vmlinux"), "vmlinux");
  ImageFunction f = function_of(*orig, "cmdline_proc_show");

  // Flip the last byte of the function (its `ret`, never a relocation field).
  uint64_t last = *symtab.address_of("cmdline_proc_show", 0) + f.sym->size - 1;
  std::vector<uint8_t> img = read_bytes(boot("vmlinux"));
  img[file_offset(boot("vmlinux"), last)] ^= 0x40;
  write_bytes(dir.file("vmlinux"), img);
  std::string e = error_of([&] { verify_functions_match(dir.file("vmlinux"), symtab, {f}); });
  EXPECT_EQ(e.rfind(dir.file("vmlinux") + ": function 'cmdline_proc_show' differs from the "
                                          "original build",
                    0),
            0u)
      << e;
  EXPECT_NE(e.find("at +" + hex(f.sym->size - 1) + " (expected "), std::string::npos) << e;

  // A corrupted compressed payload fails to decompress.
  std::vector<uint8_t> bz = read_bytes(bzimage());
  BzImageHeader h = parse_bzimage(bz, "bz");
  for (uint64_t i = 0; i < 64; i++)
    bz[h.payload_offset + h.payload_length / 2 + i] ^= 0x5a;
  write_bytes(dir.file("bzImage"), bz);
  e = error_of([&] { verify_functions_match(dir.file("bzImage"), symtab, {f}); });
  EXPECT_EQ(e.rfind(dir.file("bzImage") + ": bzImage payload (xz): xz ", 0), 0u) << e;
}

TEST_F(ImageMatchKernel, ModuleFunctionsMatchTheirKoAlsoCompressed) {
  ScratchDir dir;
  const std::string rel = "drivers/misc/klp_test_mod/klp_test_mod";
  if (!fs::exists(boot(rel + ".ko")) || !fs::exists(fsec(rel + ".o")))
    GTEST_SKIP() << "klp_test_mod not built";
  auto orig = Object::load(fsec(rel + ".o"));
  cook(*orig);
  TargetSymtab symtab(boot(rel + ".ko"), "klp_test_mod");
  std::vector<uint8_t> ko = read_bytes(boot(rel + ".ko"));
  write_bytes(dir.file("klp_test_mod.ko.xz"), xz(ko));
  for (const std::string &image : {boot(rel + ".ko"), dir.file("klp_test_mod.ko.xz")}) {
    ImageMatcher m(image, symtab);
    EXPECT_TRUE(m.is_module());
    unsigned n = 0;
    for (const Symbol &s : orig->symbols) {
      // Init code is freed after loading: not in kallsyms, never patched.
      if (!s.is_func() || !s.size || s.sec->name.starts_with(".init"))
        continue;
      FunctionMatch r = m.check(ImageFunction{s.name, 0, orig.get(), &s});
      EXPECT_TRUE(r.matches) << image << ": " << r.mismatch;
      n++;
    }
    EXPECT_GE(n, 3u); // klp_test_mod_message, _show, _exit, cleanup_module
  }
  // vmlinux's symbol table does not describe a module.
  TargetSymtab vm(boot("vmlinux"), "vmlinux");
  EXPECT_NE(error_of([&] {
              ImageMatcher(boot(rel + ".ko"), vm);
            }).find("image is a module but the symbol table"),
            std::string::npos);
}

// The claim behind comparing a -ffunction-sections original with a normally built image: apart
// from branch encoding (see image_match.h), GCC generates the same code. Every function of every
// vmlinux object of the test kernel is checked against boot/vmlinux and against the bzImage
// through a System.map-derived table.
TEST_F(ImageMatchKernel, EveryVmlinuxFunctionOfTheFunctionSectionsBuildMatchesTheNormalImage) {
  RunResult list = run("cd " + fsec("") + " && ar t vmlinux.a");
  ASSERT_EQ(list.exit_code, 0) << list.out;
  TargetSymtab symtab(boot("vmlinux"), "vmlinux");
  ImageMatcher m(boot("vmlinux"), symtab);
  std::istringstream in(list.out);
  std::string member;
  unsigned objects = 0, functions = 0, identical = 0, relaxed_fns = 0, relaxed = 0, weak = 0,
           unresolved = 0, checked = 0, unchecked = 0;
  std::vector<std::string> mismatches;
  while (std::getline(in, member)) {
    // Thin archive members are named relative to the directory ar runs in.
    std::string path = fs::path(member).is_absolute() ? member : fsec(member);
    if (!fs::exists(path) || !path.ends_with(".o"))
      continue;
    auto obj = Object::load(path);
    cook(*obj);
    objects++;
    SymbolHint base;
    base.file = std::string(obj->source_file());
    for (const Symbol &s : obj->symbols)
      if (s.is_local() && (s.is_func() || s.is_object()))
        base.neighbours.push_back(s.name);
    for (const Symbol &s : obj->symbols) {
      if (!s.is_func() || !s.sec || !s.size || s.sec->type() == SHT_NOBITS)
        continue;
      if (s.bind == STB_WEAK) { // may be overridden by a strong definition elsewhere
        weak++;
        continue;
      }
      SymbolHint h = base;
      h.binding = s.is_local() ? SymbolBinding::Local : SymbolBinding::Global;
      h.kind = SymbolKind::Function;
      std::optional<unsigned long> pos = symtab.sympos(s.name, h);
      if (!pos) {
        unresolved++;
        continue;
      }
      FunctionMatch r = m.check(ImageFunction{s.name, *pos, obj.get(), &s});
      functions++;
      checked += r.references_checked;
      unchecked += r.references_unchecked;
      if (!r.matches)
        mismatches.push_back(r.mismatch);
      else if (r.relaxed)
        relaxed_fns++, relaxed += r.relaxed;
      else
        identical++;
    }
  }
  std::cout << "[ numbers  ] " << objects << " objects, " << functions
            << " functions: " << identical << " byte-identical under the relocation mask, "
            << relaxed_fns << " equal after " << relaxed << " short/long branch encodings, "
            << mismatches.size() << " mismatches (" << weak << " weak skipped, " << unresolved
            << " not in vmlinux); references checked " << checked << ", masked only " << unchecked
            << "\n";
  EXPECT_GT(objects, 500u);
  EXPECT_GT(functions, 10000u);
  EXPECT_EQ(unresolved, 0u);
  EXPECT_TRUE(mismatches.empty()) << mismatches.size()
                                  << " mismatches, first: " << mismatches.front();
  EXPECT_GT(relaxed_fns, 0u); // the claim "identical bytes" alone would be false
}
