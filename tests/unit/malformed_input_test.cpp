// Bad input, as a new user's bad day would bring it (issue 17): each case is one input of the
// malformed-input corpus (testdata/malformed/README.md), made at test time from a case the
// differ's tests compile (testdata/diff/changed_string) by one small edit of its bytes, and each
// test asserts the exact outcome: the exit status, the one-line message naming the file and
// section, and that no output file is left.
#include <gtest/gtest.h>

#include <elf.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "diff_fixture.h"
#include "kconfig.h"
#include "patch_set.h"
#include "test_util.h"

using namespace klp;
using namespace klp::test;
namespace fs = std::filesystem;

namespace {

// A shell prefix that caps the memory of the command after it at `kib` KiB: `ulimit -v`, or under
// AddressSanitizer (scripts/sanitize-test), whose shadow memory needs terabytes of address space,
// ASan's own caps: no single allocation above the limit, and the process killed past it in RSS.
std::string memory_cap(unsigned long kib) {
#if defined(__SANITIZE_ADDRESS__)
  std::string mb = std::to_string(kib / 1024);
  const char *outer = std::getenv("ASAN_OPTIONS");
  return "ASAN_OPTIONS='" + std::string(outer ? outer : "") + ":max_allocation_size_mb=" + mb +
         ":allocator_may_return_null=0:hard_rss_limit_mb=" + mb + "' ";
#else
  return "ulimit -v " + std::to_string(kib) + "; ";
#endif
}

// The bytes of an ELF file and the few edits the corpus needs.
class ElfBytes {
public:
  explicit ElfBytes(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    bytes_.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (bytes_.size() < sizeof(Elf64_Ehdr))
      throw std::runtime_error(path + ": not ELF");
  }
  void save(const std::string &path) const {
    std::ofstream(path, std::ios::binary).write(bytes_.data(), (std::streamsize)bytes_.size());
  }
  Elf64_Ehdr ehdr() const { return get<Elf64_Ehdr>(0); }
  void set_ehdr(const Elf64_Ehdr &e) { put(0, e); }
  Elf64_Shdr shdr(size_t i) const { return get<Elf64_Shdr>(shdr_offset(i)); }
  void set_shdr(size_t i, const Elf64_Shdr &sh) { put(shdr_offset(i), sh); }
  size_t index_of(const std::string &name) const {
    Elf64_Shdr names = shdr(ehdr().e_shstrndx);
    for (size_t i = 1; i < ehdr().e_shnum; i++)
      if (name == bytes_.data() + names.sh_offset + shdr(i).sh_name)
        return i;
    throw std::runtime_error("no section " + name);
  }
  std::vector<char> &bytes() { return bytes_; }

private:
  size_t shdr_offset(size_t i) const { return ehdr().e_shoff + i * sizeof(Elf64_Shdr); }
  template <typename T> T get(size_t off) const {
    T v;
    std::memcpy(&v, bytes_.data() + off, sizeof v);
    return v;
  }
  template <typename T> void put(size_t off, const T &v) {
    std::memcpy(bytes_.data() + off, &v, sizeof v);
  }
  std::vector<char> bytes_;
};

// Applies `edit` to the file at `path` in place.
template <typename F> void edit_elf(const std::string &path, F edit) {
  ElfBytes e(path);
  edit(e);
  e.save(path);
}

// The message create-diff-object printed: its only line on stderr, checked to be one line.
void expect_one_line(const RunResult &r, const std::string &text) {
  std::string out = r.out;
  if (!out.empty() && out.back() == '\n')
    out.pop_back();
  EXPECT_EQ(out.find('\n'), std::string::npos) << "more than one line:\n" << r.out;
  EXPECT_NE(out.find(text), std::string::npos) << "expected '" << text << "' in:\n" << r.out;
}

std::string kBuild = KLP_BUILD_BINARY;
std::string kDiff = KLP_DIFF_BINARY;

bool is_fifo(const std::string &path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0 && S_ISFIFO(st.st_mode);
}

// Runs `cmd` through /bin/sh with its output discarded; returns the exit status and the peak
// resident memory (KiB) of the command, which pclose() cannot give.
struct Peak {
  int exit_code = -1;
  long max_rss_kib = 0;
};
Peak run_measured(const std::string &cmd) {
  pid_t pid = fork();
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", ("exec " + cmd + " >/dev/null 2>&1").c_str(), (char *)nullptr);
    _exit(127);
  }
  Peak p;
  int status = 0;
  struct rusage ru {};
  if (pid < 0 || wait4(pid, &status, 0, &ru) != pid)
    return p;
  p.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  p.max_rss_kib = ru.ru_maxrss;
  return p;
}

// Adds a .debug_info section with SHF_COMPRESSED to `obj`: an Elf64_Chdr of `type` claiming
// `claim` bytes, then `payload`.
void add_compressed_debug_info(DiffCase &c, const std::string &obj, uint32_t type, uint64_t claim,
                               const std::string &payload) {
  Elf64_Chdr ch{};
  ch.ch_type = type;
  ch.ch_size = claim;
  ch.ch_addralign = 1;
  std::string bytes(reinterpret_cast<const char *>(&ch), sizeof ch);
  bytes += payload;
  write_text(c.file("section.bin"), bytes);
  RunResult r = run("objcopy --add-section .debug_info=" + c.file("section.bin") + " " + obj);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  edit_elf(obj, [](ElfBytes &e) {
    size_t i = e.index_of(".debug_info");
    Elf64_Shdr sh = e.shdr(i);
    sh.sh_flags |= SHF_COMPRESSED;
    e.set_shdr(i, sh);
  });
}

std::string zstd_of(const std::string &data) {
  std::string out(ZSTD_compressBound(data.size()), '\0');
  size_t n = ZSTD_compress(out.data(), out.size(), data.data(), data.size(), 19);
  if (ZSTD_isError(n))
    throw std::runtime_error("ZSTD_compress failed");
  out.resize(n);
  return out;
}

std::string zlib_of(const std::string &data) {
  uLongf n = compressBound(data.size());
  std::string out(n, '\0');
  if (compress2(reinterpret_cast<Bytef *>(out.data()), &n,
                reinterpret_cast<const Bytef *>(data.data()), data.size(), 9) != Z_OK)
    throw std::runtime_error("compress2 failed");
  out.resize(n);
  return out;
}

} // namespace

// 1. Two files that differ only where no structural comparison looks are not "identical".
TEST(Malformed, KlpDiffComparesBytesFirst) {
  DiffCase c("changed_string");
  std::string a = c.file("a.ko"), swapped = c.file("swapped.ko"), phoff = c.file("phoff.ko");
  fs::copy_file(c.orig, a);
  fs::copy_file(c.orig, swapped);
  fs::copy_file(c.orig, phoff);
  // Two section headers swapped: by name, every section, symbol and relocation is the same.
  edit_elf(swapped, [](ElfBytes &e) {
    size_t x = e.index_of(".comment"), y = e.index_of(".note.GNU-stack");
    Elf64_Shdr sx = e.shdr(x), sy = e.shdr(y);
    e.set_shdr(x, sy);
    e.set_shdr(y, sx);
  });
  // e_phoff from 0 to 255: a header field the header comparison does not look at.
  edit_elf(phoff, [](ElfBytes &e) {
    Elf64_Ehdr h = e.ehdr();
    h.e_phoff = 255;
    e.set_ehdr(h);
  });
  RunResult r = run(kDiff + " " + a + " " + swapped);
  EXPECT_EQ(r.exit_code, 4) << r.out;
  EXPECT_NE(r.out.find("bytes differ outside the parts compared: section header table at 0x"),
            std::string::npos)
      << r.out;
  r = run(kDiff + " " + a + " " + phoff);
  EXPECT_EQ(r.exit_code, 4) << r.out;
  EXPECT_NE(r.out.find("bytes differ outside the parts compared: file header at 0x20"),
            std::string::npos)
      << r.out;
  r = run(kDiff + " --json " + a + " " + phoff);
  EXPECT_EQ(r.exit_code, 4) << r.out;
  EXPECT_NE(r.out.find("\"kind\": \"bytes\""), std::string::npos) << r.out;
  // The same bytes are identical.
  fs::copy_file(c.orig, c.file("a2.ko"));
  r = run(kDiff + " " + a + " " + c.file("a2.ko"));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("are identical (byte for byte)"), std::string::npos) << r.out;
}

// 2. A FIFO as any input is refused at once instead of blocking in open().
TEST(Malformed, FifoInputsAreRefused) {
  DiffCase c("changed_string");
  std::string fifo = c.file("fifo.o");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0644), 0);
  std::string t = "timeout 20 ";
  auto expect_refused = [&](const std::string &cmd, const std::string &tool,
                            const std::string &path) {
    RunResult r = run(t + cmd + " 2>&1");
    EXPECT_EQ(r.exit_code, 1) << cmd << "\n" << r.out;
    expect_one_line(r, tool + ": " + path + ": not a regular file (a FIFO)");
    EXPECT_FALSE(c.output_exists());
  };
  DiffCase &d = c;
  std::string orig = d.orig;
  d.orig = fifo;
  expect_refused(std::string(KLP_CREATE_DIFF_OBJECT) + " " + d.named_args(), "create-diff-object",
                 fifo);
  d.orig = orig;
  d.symtab = fifo;
  expect_refused(std::string(KLP_CREATE_DIFF_OBJECT) + " " + d.named_args(), "create-diff-object",
                 fifo);
  d.symtab = c.file("symtab");
  std::string symvers = d.symvers;
  d.symvers = fifo;
  expect_refused(std::string(KLP_CREATE_DIFF_OBJECT) + " " + d.named_args(), "create-diff-object",
                 fifo);
  d.symvers = symvers;
  fs::create_symlink(fifo, c.file("fifo.ko"));
  expect_refused(kDiff + " " + c.file("fifo.ko") + " " + c.file("fifo.ko"), "klp-diff",
                 c.file("fifo.ko"));
  expect_refused(kDiff + " " + fifo + " " + d.patched, "klp-diff", fifo);
  // klp-build: a patch, --config, --kallsyms, --symvers.
  ScratchDir dir;
  fs::create_directories(dir.file("linux"));
  write_text(dir.file("fix.patch"), "--- a/fs/a.c\n+++ b/fs/a.c\n@@ -1 +1 @@\n-a\n+b\n");
  write_text(dir.file("kallsyms"), "ffffffff81000000 T _text\n");
  write_text(dir.file("config"), "CONFIG_LIVEPATCH=y\nCONFIG_CC_VERSION_TEXT=\"" +
                                     compiler_version_text("gcc") + "\"\n");
  expect_refused(kBuild + " --sourcedir " + dir.file("linux") + " " + fifo, "klp-build", fifo);
  expect_refused(kBuild + " --sourcedir " + dir.file("linux") + " --kallsyms " +
                     dir.file("kallsyms") + " --config " + fifo + " " + dir.file("fix.patch"),
                 "klp-build", fifo);
  expect_refused(kBuild + " --sourcedir " + dir.file("linux") + " --kallsyms " + fifo +
                     " --config " + dir.file("config") + " --symvers " + d.symvers + " --headers " +
                     dir.file("linux") + " " + dir.file("fix.patch"),
                 "klp-build", fifo);
}

// 3. A section libelf cannot read: its own message, not "no error".
TEST(Malformed, LibelfErrorsKeepTheirMessage) {
  DiffCase c("changed_string");
  // A symbol table whose size is no multiple of its entry size.
  edit_elf(c.patched, [](ElfBytes &e) {
    size_t i = e.index_of(".symtab");
    Elf64_Shdr sh = e.shdr(i);
    sh.sh_size += 1;
    e.set_shdr(i, sh);
  });
  RunResult r = c.run("2>&1");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  expect_one_line(r, c.patched + ":(.symtab): cannot read section data: ");
  EXPECT_EQ(r.out.find("no error"), std::string::npos) << r.out;
  EXPECT_FALSE(c.output_exists());
}

// 4. Foreign ELF: big-endian, another machine, a 32-bit class. Each is named.
TEST(Malformed, ForeignElfIsRefused) {
  DiffCase c("changed_string");
  std::string patched = c.patched;
  std::string be = c.file("be.o"), arm = c.file("arm.o");
  // A big-endian EM_X86_64 object: the header as a big-endian ELF file holds it.
  fs::copy_file(patched, be);
  edit_elf(be, [](ElfBytes &e) {
    Elf64_Ehdr h = e.ehdr();
    h.e_ident[EI_DATA] = ELFDATA2MSB;
    h.e_type = __builtin_bswap16(h.e_type);
    h.e_machine = __builtin_bswap16(h.e_machine);
    h.e_version = __builtin_bswap32(h.e_version);
    h.e_shoff = __builtin_bswap64(h.e_shoff);
    h.e_ehsize = __builtin_bswap16(h.e_ehsize);
    h.e_shentsize = __builtin_bswap16(h.e_shentsize);
    h.e_shnum = __builtin_bswap16(h.e_shnum);
    h.e_shstrndx = __builtin_bswap16(h.e_shstrndx);
    e.set_ehdr(h);
  });
  fs::copy_file(patched, arm);
  edit_elf(arm, [](ElfBytes &e) {
    Elf64_Ehdr h = e.ehdr();
    h.e_machine = EM_AARCH64;
    e.set_ehdr(h);
  });
  c.patched = be;
  RunResult r = c.run("2>&1");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  expect_one_line(r, be + ": not a little-endian ELF file (EI_DATA 2, big-endian)");
  EXPECT_FALSE(c.output_exists());
  c.patched = arm;
  r = c.run("2>&1");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  expect_one_line(r, arm + ": not an x86_64 ELF file (e_machine 183)");
  EXPECT_FALSE(c.output_exists());
  // klp-diff refuses them too.
  fs::copy_file(be, c.file("be.ko"));
  fs::copy_file(patched, c.file("p.ko"));
  r = run(kDiff + " " + c.file("p.ko") + " " + c.file("be.ko") + " 2>&1");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  expect_one_line(r, "be.ko: not a little-endian ELF file");
}

// 5. An input's fault is reported against the input: a string section of type SHT_NULL.
TEST(Malformed, SectionTypesAreCheckedWhenReading) {
  DiffCase c("changed_string");
  edit_elf(c.patched, [](ElfBytes &e) {
    size_t i = e.index_of(".rodata.cmdline_proc_show.str1.1");
    Elf64_Shdr sh = e.shdr(i);
    sh.sh_type = SHT_NULL;
    e.set_shdr(i, sh);
  });
  RunResult r = c.run("2>&1");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  expect_one_line(r, c.patched + ":(.rodata.cmdline_proc_show.str1.1): symbol "
                                 "'.rodata.cmdline_proc_show.str1.1' is defined in a section of "
                                 "type SHT_NULL");
  EXPECT_FALSE(c.output_exists());
  EXPECT_EQ(r.out.find(c.output), std::string::npos) << r.out;
}

// 6. -o onto something that is not a regular file: refused, and left as it was.
TEST(Malformed, OutputOverANonRegularFileIsRefused) {
  DiffCase c("changed_string");
  std::string fifo = c.file("out.fifo"), link = c.file("null.o");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0644), 0);
  fs::create_symlink("/dev/null", link);
  auto run_cdo = [&] {
    return run("(" + std::string(KLP_CREATE_DIFF_OBJECT) + " " + c.named_args() +
               " 2>&1 >/dev/null)");
  };
  c.output = fifo;
  RunResult r = run_cdo();
  EXPECT_EQ(r.exit_code, 1) << r.out;
  expect_one_line(r, fifo + ": not a regular file (a FIFO); refusing to replace it");
  EXPECT_TRUE(is_fifo(fifo));
  c.output = link;
  r = run_cdo();
  EXPECT_EQ(r.exit_code, 1) << r.out;
  expect_one_line(r, link + ": not a regular file (a character device); refusing to replace it");
  EXPECT_TRUE(fs::is_symlink(link));
  EXPECT_TRUE(fs::is_character_file("/dev/null"));
  // Nothing is left beside them either.
  for (const auto &entry : fs::directory_iterator(c.file("")))
    EXPECT_EQ(entry.path().filename().string().find(".tmp."), std::string::npos) << entry.path();
}

// 8. A compressed section claiming 2 GiB from a few hundred bytes: refused before allocating.
TEST(Malformed, CompressedSizeBombIsRefusedBeforeAllocating) {
  DiffCase c("changed_string");
  // The payload: a zstd frame of 4 KiB of zeros, behind a header that claims 2 GiB.
  std::vector<char> zeros(4096, 0), frame(ZSTD_compressBound(zeros.size()));
  size_t n = ZSTD_compress(frame.data(), frame.size(), zeros.data(), zeros.size(), 19);
  ASSERT_FALSE(ZSTD_isError(n));
  Elf64_Chdr ch{};
  ch.ch_type = 2; // ELFCOMPRESS_ZSTD
  ch.ch_size = 2ull << 30;
  ch.ch_addralign = 1;
  std::string payload(reinterpret_cast<const char *>(&ch), sizeof ch);
  payload.append(frame.data(), n);
  write_text(c.file("bomb.bin"), payload);
  RunResult r = run("objcopy --add-section .debug_info=" + c.file("bomb.bin") + " " + c.patched);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  edit_elf(c.patched, [](ElfBytes &e) {
    size_t i = e.index_of(".debug_info");
    Elf64_Shdr sh = e.shdr(i);
    sh.sh_flags |= SHF_COMPRESSED;
    e.set_shdr(i, sh);
  });
  // With 1 GiB of address space the 2 GiB buffer cannot even be tried.
  std::string cmd =
      memory_cap(1048576) + std::string(KLP_CREATE_DIFF_OBJECT) + " " + c.named_args() + " 2>&1";
  r = run(cmd);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  expect_one_line(r, c.patched + ":(.debug_info): compressed section of 0x");
  EXPECT_NE(r.out.find("claims 0x80000000 inflated bytes, more than the 0x4000000 it may have"),
            std::string::npos)
      << r.out;
  EXPECT_FALSE(c.output_exists());
}

// 8. A section of type SHT_NOBITS claiming a terabyte, which the differ split into entries.
TEST(Malformed, NobitsSizeBombIsRefusedBeforeAllocating) {
  DiffCase c("changed_string");
  edit_elf(c.patched, [](ElfBytes &e) {
    size_t i = e.index_of("__mcount_loc");
    Elf64_Shdr sh = e.shdr(i);
    sh.sh_type = SHT_NOBITS;
    sh.sh_size = 1ull << 40;
    e.set_shdr(i, sh);
  });
  RunResult r = run(memory_cap(1048576) + std::string(KLP_CREATE_DIFF_OBJECT) + " " +
                    c.named_args() + " 2>&1");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  expect_one_line(r, c.patched + ":(.rela__mcount_loc): relocates __mcount_loc, a section of "
                                 "type SHT_NOBITS, which has no bytes to relocate");
  EXPECT_FALSE(c.output_exists());
}

// 7. klp-build checks its inputs before any work, and says what is wrong.
TEST(Malformed, KlpBuildChecksInputsFirst) {
  ScratchDir dir;
  fs::create_directories(dir.file("linux"));
  write_text(dir.file("linux/Makefile"), "# not a kernel: make would fail\n");
  write_text(dir.file("fix.patch"), "--- a/fs/a.c\n+++ b/fs/a.c\n@@ -1 +1 @@\n-a\n+b\n");
  write_text(dir.file("config"), "CONFIG_LIVEPATCH=y\nCONFIG_CC_VERSION_TEXT=\"" +
                                     compiler_version_text("gcc") + "\"\n");
  fs::create_directories(dir.file("headers"));
  write_text(dir.file("Module.symvers"), "0x00000000\tprintk\tvmlinux\tEXPORT_SYMBOL\t\n");
  write_text(dir.file("kallsyms"), "ffffffff81000000 T _text\n");
  std::string base = kBuild + " --no-cache --sourcedir " + dir.file("linux") + " --config " +
                     dir.file("config") + " --headers " + dir.file("headers");
  auto expect_error = [&](const std::string &args, const std::string &text) {
    RunResult r = run(base + " " + args + " " + dir.file("fix.patch") + " 2>&1");
    EXPECT_EQ(r.exit_code, 1) << args << "\n" << r.out;
    expect_one_line(r, text);
  };
  // A garbage --kallsyms: before prepare and the compiles.
  write_text(dir.file("garbage"), std::string("\x7f\x01garbage\xff\n", 11));
  std::string symvers = " --symvers " + dir.file("Module.symvers");
  expect_error("--kallsyms " + dir.file("garbage") + symvers,
               "klp-build: " + dir.file("garbage") +
                   ":1: not a copy of /proc/kallsyms (expected 'ADDRESS TYPE NAME', read "
                   "'\\x7f\\x01garbage\\xff')");
  // A malformed Module.symvers line, echoed quoted and shortened.
  write_text(dir.file("bad.symvers"), "0x0\tx\t" + std::string(200, 'y') + "\x01\n");
  expect_error("--kallsyms " + dir.file("kallsyms") + " --symvers " + dir.file("bad.symvers"),
               "klp-build: " + dir.file("bad.symvers") + ":1: malformed line '0x0\\x09x\\x09yyy");
  RunResult r = run(base + " --kallsyms " + dir.file("kallsyms") + " --symvers " +
                    dir.file("bad.symvers") + " " + dir.file("fix.patch") + " 2>&1");
  EXPECT_NE(r.out.find("...'"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find(std::string(100, 'y')), std::string::npos) << r.out;
  // Nonexistent directories are named as such.
  r = run(kBuild + " --sourcedir " + dir.file("nolinux") + " --kallsyms " + dir.file("kallsyms") +
          " " + dir.file("fix.patch") + " 2>&1");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  expect_one_line(r, "klp-build: " + dir.file("nolinux") + ": --sourcedir DIR does not exist");
  r = run(kBuild + " --sourcedir " + dir.file("linux") + " --kallsyms " + dir.file("kallsyms") +
          " --config " + dir.file("config") + " --headers " + dir.file("nohdr") + " " +
          dir.file("fix.patch") + " 2>&1");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  expect_one_line(r, "klp-build: " + dir.file("nohdr") + ": --headers DIR does not exist");
  // -j 0 and -j -3 are no number of jobs.
  for (const char *j : {"0", "-3"}) {
    r = run(base + symvers + " --kallsyms " + dir.file("kallsyms") + " -j " + j + " " +
            dir.file("fix.patch") + " 2>&1");
    EXPECT_EQ(r.exit_code, 1) << j << "\n" << r.out;
    expect_one_line(r,
                    std::string("klp-build: -j ") + j + ": the number of jobs must be at least 1");
  }
}

// 9. A compressed section that claims less than the ceiling but holds far less: refused after the
// bytes it holds, without first zeroing a buffer of the claimed size (zstd and zlib), and with the
// peak memory of an intact run. The stream holding more than its claim, or cut short, is named.
TEST(Malformed, CompressedSectionIsInflatedWithinItsBudget) {
  const uint64_t claim = 0x3f00000; // 63 MiB: under the 64 MiB floor every section may claim
  std::string zeros(4096, '\0');
  struct Case {
    const char *name;
    uint32_t type;
    uint64_t claim;
    std::string payload;
    std::string message;
  };
  std::string z = zstd_of(zeros), zl = zlib_of(zeros);
  std::vector<Case> cases = {
      {"zstd-claims-more-than-it-holds", 2, claim, z,
       "corrupt zstd-compressed section (0x1000 bytes inflated, 0x3f00000 claimed)"},
      {"zlib-claims-more-than-it-holds", 1, claim, zl,
       "corrupt zlib-compressed section (0x1000 bytes inflated, 0x3f00000 claimed)"},
      {"zstd-holds-more-than-it-claims", 2, 1024, z,
       "zstd-compressed section inflates to more than the 0x400 bytes its header claims"},
      {"zlib-holds-more-than-it-claims", 1, 1024, zl,
       "zlib-compressed section inflates to more than the 0x400 bytes its header claims"},
      {"zstd-cut-short", 2, 4096, z.substr(0, z.size() / 2), "corrupt zstd-compressed section"},
      {"zlib-cut-short", 1, 4096, zl.substr(0, zl.size() / 2),
       "corrupt zlib-compressed section (truncated after 0x"},
  };
  for (const Case &k : cases) {
    SCOPED_TRACE(k.name);
    DiffCase c("changed_string");
    Peak intact = run_measured(std::string(KLP_CREATE_DIFF_OBJECT) + " " + c.named_args());
    ASSERT_EQ(intact.exit_code, 0);
    fs::remove(c.output);
    std::string pair = c.file(std::string(k.name) + ".ko"), orig = c.file("orig.ko");
    fs::copy_file(c.patched, pair);
    fs::copy_file(c.orig, orig);
    Peak intact_explain = run_measured(kDiff + " --explain " + orig + " " + pair);
    ASSERT_NE(intact_explain.exit_code, 1);
    add_compressed_debug_info(c, c.patched, k.type, k.claim, k.payload);
    add_compressed_debug_info(c, pair, k.type, k.claim, k.payload);
    RunResult r = c.run("2>&1");
    EXPECT_EQ(r.exit_code, 1) << r.out;
    expect_one_line(r, c.patched + ":(.debug_info): " + k.message);
    EXPECT_FALSE(c.output_exists());
    r = run(kDiff + " --explain " + orig + " " + pair + " 2>&1");
    EXPECT_EQ(r.exit_code, 1) << r.out;
    expect_one_line(r, pair + ":(.debug_info): " + k.message);
    if (k.claim != claim)
      continue;
    // Zeroing the claimed 63 MiB would show in the peak; the intact run is the yardstick.
    Peak bomb = run_measured(std::string(KLP_CREATE_DIFF_OBJECT) + " " + c.named_args());
    EXPECT_EQ(bomb.exit_code, 1);
    EXPECT_LT(bomb.max_rss_kib, intact.max_rss_kib + 16 * 1024)
        << "intact " << intact.max_rss_kib << " KiB";
    Peak explain = run_measured(kDiff + " --explain " + orig + " " + pair);
    EXPECT_EQ(explain.exit_code, 1);
    EXPECT_LT(explain.max_rss_kib, intact_explain.max_rss_kib + 16 * 1024)
        << "intact " << intact_explain.max_rss_kib << " KiB";
  }
}

// 10. Patches klp-build cannot use: each refused before any work, one line with its remedy.
TEST(Malformed, KlpBuildRefusesPatchesItCannotUse) {
  ScratchDir dir;
  fs::create_directories(dir.file("linux"));
  write_text(dir.file("config"), "CONFIG_LIVEPATCH=y\nCONFIG_CC_VERSION_TEXT=\"" +
                                     compiler_version_text("gcc") + "\"\n");
  fs::create_directories(dir.file("headers"));
  write_text(dir.file("Module.symvers"), "0x00000000\tprintk\tvmlinux\tEXPORT_SYMBOL\t\n");
  write_text(dir.file("kallsyms"), "ffffffff81000000 T _text\n");
  std::string base = kBuild + " --no-cache --sourcedir " + dir.file("linux") + " --config " +
                     dir.file("config") + " --headers " + dir.file("headers") + " --symvers " +
                     dir.file("Module.symvers") + " --kallsyms " + dir.file("kallsyms");
  struct Case {
    const char *name, *text, *message;
  } cases[] = {
      {"empty.patch", "", ": no file changes found; is it a unified diff (diff -u, git diff)?"},
      {"git-binary.patch",
       "diff --git a/fw/blob.bin b/fw/blob.bin\nindex 1..2 100644\nGIT binary patch\n"
       "literal 4\nLcmZ?wY-Q#E00000\n\n",
       ":3: binary change to 'fw/blob.bin'; a livepatch comes from source changes only: drop it "
       "from the patch"},
      {"binary-files-differ.patch",
       "--- a/fs/a.c\n+++ b/fs/a.c\n@@ -1 +1 @@\n-a\n+b\n"
       "Binary files a/fw/blob.bin and b/fw/blob.bin differ\n",
       ":6: binary change to 'fw/blob.bin'; a livepatch comes from source changes only: drop it "
       "from the patch"},
      {"dotdot.patch", "--- a/../etc/passwd\n+++ b/../etc/passwd\n@@ -1 +1 @@\n-a\n+b\n",
       ":2: file path '../etc/passwd' is outside the kernel tree; name files from the tree's top "
       "(--- a/fs/x.c, +++ b/fs/x.c)"},
      {"inner-dotdot.patch", "--- a/fs/../../x.c\n+++ b/fs/../../x.c\n@@ -1 +1 @@\n-a\n+b\n",
       ":2: file path 'fs/../../x.c' is outside the kernel tree; name files from the tree's top "
       "(--- a/fs/x.c, +++ b/fs/x.c)"},
  };
  for (const Case &c : cases) {
    write_text(dir.file(c.name), c.text);
    RunResult r = run(base + " " + dir.file(c.name) + " 2>&1");
    EXPECT_EQ(r.exit_code, 1) << c.name << "\n" << r.out;
    expect_one_line(r, "klp-build: " + dir.file(c.name) + c.message);
  }
  // "a..b" is a file name, not a way out of the tree.
  write_text(dir.file("dots.patch"), "--- a/fs/a..b.c\n+++ b/fs/a..b.c\n@@ -1 +1 @@\n-a\n+b\n");
  EXPECT_EQ(read_patch(dir.file("dots.patch")).files.at(0).path, "fs/a..b.c");
}

// 11. Found by fuzz-diff: an sh_entsize of 1 GiB on a 32-byte __mcount_loc made the differ pad
// its one "entry" to 1 GiB (35 s, 2 GB); now the entry size is refused as not fitting.
TEST(Malformed, EntrySizeLargerThanTheSectionIsRefused) {
  DiffCase c("changed_string");
  edit_elf(c.patched, [](ElfBytes &e) {
    size_t i = e.index_of("__mcount_loc");
    Elf64_Shdr sh = e.shdr(i);
    sh.sh_entsize = 0x3d000000;
    e.set_shdr(i, sh);
  });
  RunResult r = run(memory_cap(1048576) + "timeout 20 " + KLP_CREATE_DIFF_OBJECT + " " +
                    c.named_args() + " 2>&1");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  expect_one_line(r, c.patched + ":(__mcount_loc): entries of 1023410176 bytes (from sh_entsize) "
                                 "do not fit: the section holds only 0x");
  EXPECT_FALSE(c.output_exists());
}

// 13. Found by fuzz-diff: a section aligned to 2^40 bytes. libelf pads the output file to the
// alignment its sections ask for, so writing the patch object wrote a 1 TiB (sparse) file for
// minutes; an alignment that is not a power of two is as meaningless. Both are refused on reading.
TEST(Malformed, ImplausibleSectionAlignmentIsRefused) {
  for (uint64_t align : {uint64_t(1) << 40, uint64_t(24)}) {
    DiffCase c("changed_string");
    edit_elf(c.patched, [&](ElfBytes &e) {
      size_t i = e.index_of("__mcount_loc");
      Elf64_Shdr sh = e.shdr(i);
      sh.sh_addralign = align;
      e.set_shdr(i, sh);
    });
    RunResult r =
        run("timeout 20 " + std::string(KLP_CREATE_DIFF_OBJECT) + " " + c.named_args() + " 2>&1");
    EXPECT_EQ(r.exit_code, 1) << r.out;
    expect_one_line(r, c.patched + ":(__mcount_loc): section alignment " + hex(align) +
                           " is not a power of two up to 0x200000");
    EXPECT_FALSE(c.output_exists());
  }
}

// 14. Found by fuzz-diff: a call whose addend is 0x7ffffffffffffffc. Adding the call's pc bias
// to it overflowed int64_t (UBSan: signed integer overflow in bundle.cpp; a Release build wrote
// a patch whose call could never link). A 32-bit field cannot take such an addend: refused.
TEST(Malformed, AddendBeyondItsFieldIsRefused) {
  DiffCase c("changed_function");
  bool edited = false;
  edit_elf(c.patched, [&](ElfBytes &e) {
    size_t helper = e.index_of(".text.helper");
    Elf64_Shdr symtab = e.shdr(e.index_of(".symtab")),
               rela = e.shdr(e.index_of(".rela.text.changed_show"));
    for (size_t off = rela.sh_offset; off < rela.sh_offset + rela.sh_size;
         off += sizeof(Elf64_Rela)) {
      Elf64_Rela r;
      std::memcpy(&r, e.bytes().data() + off, sizeof r);
      Elf64_Sym sym;
      std::memcpy(&sym, e.bytes().data() + symtab.sh_offset + ELF64_R_SYM(r.r_info) * sizeof sym,
                  sizeof sym);
      if (sym.st_shndx != helper)
        continue;
      r.r_addend = 0x7ffffffffffffffc;
      std::memcpy(e.bytes().data() + off, &r, sizeof r);
      edited = true;
    }
  });
  ASSERT_TRUE(edited) << "no relocation of changed_show against .text.helper";
  RunResult r = run(std::string(KLP_CREATE_DIFF_OBJECT) + " " + c.named_args() + " 2>&1");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_EQ(r.out.find("runtime error"), std::string::npos) << r.out;
  expect_one_line(r, c.patched + ":(.text.changed_show)+0x");
  EXPECT_NE(r.out.find(": relocation addend 0x7ffffffffffffffc cannot fit its 32-bit field"),
            std::string::npos)
      << r.out;
  EXPECT_FALSE(c.output_exists());
}

// 15. Found by fuzz-diff: a code island (.altinstr_aux) of type SHT_NOBITS with 8 bytes. Cutting
// it into pieces sliced bytes it does not have (UBSan: offset applied to a null pointer). Here
// .note.GNU-stack is renamed in place and given that type and size.
TEST(Malformed, NobitsSpecialSectionIsRefused) {
  DiffCase c("changed_string");
  edit_elf(c.patched, [](ElfBytes &e) {
    size_t i = e.index_of(".note.GNU-stack");
    Elf64_Shdr sh = e.shdr(i);
    Elf64_Shdr names = e.shdr(e.ehdr().e_shstrndx);
    std::memcpy(e.bytes().data() + names.sh_offset + sh.sh_name, ".altinstr_aux",
                sizeof ".altinstr_aux");
    sh.sh_type = SHT_NOBITS;
    sh.sh_flags = SHF_ALLOC | SHF_EXECINSTR;
    sh.sh_size = 8;
    e.set_shdr(i, sh);
  });
  RunResult r = run(std::string(KLP_CREATE_DIFF_OBJECT) + " " + c.named_args() + " 2>&1");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  expect_one_line(r, c.patched + ":(.altinstr_aux): special section of type SHT_NOBITS has no "
                                 "bytes for its 0x8 bytes of entries");
  EXPECT_FALSE(c.output_exists());
}

// 12. Found by fuzz-kallsyms: a readelf dump whose header declares 11 million symbols in 119
// bytes reserved room for all of them (533 MB) before reading one.
TEST(Malformed, ReadelfHeaderCountIsNotTrustedForMemory) {
  ScratchDir dir;
  std::string text = "Symbol table '.symtab' contains 11110000 entries:\n"
                     "   Num:    Value          Size Type    Bind   Vis      Ndx Name\n"
                     "     0: 0000000000000000     0 NOTYPE  LOCAL  DEFAULT  UND \n";
  write_text(dir.file("symtab-claims-11m-entries.txt"), text);
  DiffCase c("changed_string");
  c.symtab = dir.file("symtab-claims-11m-entries.txt");
  RunResult r = run(memory_cap(400000) + std::string(KLP_CREATE_DIFF_OBJECT) + " " +
                    c.named_args() + " 2>&1");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find(c.symtab + ":1: symbol table declares 11110000 entries but 1 follow"),
            std::string::npos)
      << r.out;
  EXPECT_FALSE(c.output_exists());
}
