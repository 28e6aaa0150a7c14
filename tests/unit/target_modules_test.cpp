// The target's module files: a module's symbols from its stock .ko, .ko.xz, .ko.zst or .ko.gz
// when the copy of /proc/kallsyms was taken without it loaded (Debian's 6.12 ships .ko.xz).
#include <gtest/gtest.h>

#include <filesystem>

#include "target_modules.h"
#include "target_symtab.h"
#include "test_util.h"

namespace fs = std::filesystem;
using namespace klp;
using namespace klp::test;

namespace {

// A relocatable object with two same-named static functions, as a module's .ko is.
std::string make_module(const ScratchDir &dir) {
  write_text(dir.file("a.c"), "static int helper(int x) { return x + 1; }\n"
                              "int mod_a(int x) { return helper(x); }\n");
  write_text(dir.file("b.c"), "static int helper(int x) { return x * 3; }\n"
                              "int mod_b(int x) { return helper(x); }\n");
  compile(dir.file("a.c"), dir.file("a.o"), "-fno-inline");
  compile(dir.file("b.c"), dir.file("b.o"), "-fno-inline");
  RunResult r = run("ld -r -o " + dir.file("mod.o") + " " + dir.file("a.o") + " " +
                    dir.file("b.o") + " 2>&1");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  return dir.file("mod.o");
}

} // namespace

TEST(TargetModules, FindsAndDecompressesEveryShippedForm) {
  ScratchDir dir;
  std::string ko = make_module(dir);
  TargetSymtab plain(ko, "klp_mod");
  struct Form {
    const char *suffix, *compress;
  };
  for (Form f : {Form{".ko", ""}, Form{".ko.xz", "xz -c"}, Form{".ko.zst", "zstd -q -c"},
                 Form{".ko.gz", "gzip -n -c"}}) {
    SCOPED_TRACE(f.suffix);
    std::string tree = dir.file(std::string("lib") + f.suffix);
    fs::create_directories(tree + "/kernel/drivers/misc");
    // Named with '-' as many module files are; the kernel's name has '_'.
    std::string file = tree + "/kernel/drivers/misc/klp-mod" + f.suffix;
    if (*f.compress) {
      RunResult r = run(std::string(f.compress) + " " + ko + " >" + file);
      ASSERT_EQ(r.exit_code, 0) << r.out;
    } else {
      fs::copy_file(ko, file);
    }
    EXPECT_EQ(find_module_file(tree, "klp_mod"), file);
    EXPECT_EQ(find_module_file(tree, "other_mod"), "");
    std::string elf = uncompressed_module(file, dir.file(std::string("scratch") + f.suffix));
    if (!*f.compress)
      EXPECT_EQ(elf, file);
    else
      EXPECT_EQ(elf, dir.file(std::string("scratch") + f.suffix + "/klp-mod.ko"));
    EXPECT_EQ(read_text(elf), read_text(ko));
    // The symbols, and their positions among same-named ones, are the module's.
    TargetSymtab t(elf, "klp_mod");
    EXPECT_EQ(t.size(), plain.size());
    EXPECT_TRUE(t.contains("mod_a"));
    EXPECT_EQ(t.find_all("helper").size(), 2u);
  }
}

TEST(TargetModules, ACorruptCompressedModuleIsAnError) {
  ScratchDir dir;
  write_text(dir.file("bad.ko.xz"), "not xz at all");
  EXPECT_ANY_THROW(uncompressed_module(dir.file("bad.ko.xz"), dir.file("scratch")));
}

TEST(TargetModules, KallsymsNamesTheLoadedModules) {
  ScratchDir dir;
  write_text(dir.file("kallsyms"), "ffffffff81000000 T _text\n"
                                   "ffffffffc0000000 t bm_status_read\t[binfmt_misc]\n"
                                   "ffffffffc0001000 t xfs_foo\t[xfs]\n"
                                   "ffffffffc0001010 t xfs_bar\t[xfs]\n");
  EXPECT_EQ(kallsyms_modules(dir.file("kallsyms")), (std::set<std::string>{"binfmt_misc", "xfs"}));
}
