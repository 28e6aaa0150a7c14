// klp-build's driver logic: patch parsing and application, module naming, the shadow tree,
// config checks, kbuild records, templates and the post-link conversion.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "elf_writer.h"
#include "error.h"
#include "inputs.h"
#include "kbuild.h"
#include "kconfig.h"
#include "klp_build.h"
#include "klp_reloc.h"
#include "module_gen.h"
#include "object.h"
#include "patch_set.h"
#include "shadow_tree.h"
#include "test_util.h"

using namespace klp;
using namespace klp::test;
namespace fs = std::filesystem;

namespace {

const char *kPatch = R"(Subject: two files

diff --git a/fs/a.c b/fs/a.c
--- a/fs/a.c
+++ b/fs/a.c
@@ -1,3 +1,3 @@
 int a(void)
 {
-	return 1;
+	return 2;
 }
--- /dev/null
+++ b/include/new.h	2024-01-01 00:00:00
@@ -0,0 +1 @@
+#define NEW 1
)";

// A minimal tree that looks like a kernel source tree, with build outputs in it.
void make_tree(const std::string &root) {
  fs::create_directories(root + "/fs");
  fs::create_directories(root + "/include/config");
  write_text(root + "/Makefile", "# kernel\n");
  write_text(root + "/Kconfig", "# kconfig\n");
  write_text(root + "/fs/a.c", "int a(void)\n{\n\treturn 1;\n}\n");
  write_text(root + "/fs/a.o", "object");
  write_text(root + "/fs/.a.o.cmd", "cmd");
  write_text(root + "/.config", "CONFIG_X=y\n");
  write_text(root + "/include/config/auto.conf", "x");
}

} // namespace

TEST(KlpBuildPatch, ReadsTouchedFilesFromPlainAndGitDiffs) {
  ScratchDir dir;
  write_text(dir.file("p.patch"), kPatch);
  PatchFile p = read_patch(dir.file("p.patch"));
  ASSERT_EQ(p.files.size(), 2u);
  EXPECT_EQ(p.files[0].path, "fs/a.c");
  EXPECT_FALSE(p.files[0].created);
  EXPECT_EQ(p.files[0].hunks.size(), 1u);
  EXPECT_EQ(p.files[1].path, "include/new.h");
  EXPECT_TRUE(p.files[1].created);
  EXPECT_EQ(touched_files({p}), (std::vector<std::string>{"fs/a.c", "include/new.h"}));
}

TEST(KlpBuildPatch, RejectsTextWithoutChanges) {
  ScratchDir dir;
  write_text(dir.file("empty.patch"), "just words\n");
  try {
    read_patch(dir.file("empty.patch"));
    FAIL();
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("empty.patch: no file changes"), std::string::npos);
  }
}

TEST(KlpBuildPatch, FailedApplyNamesFileAndShowsRejectedHunk) {
  ScratchDir dir;
  make_tree(dir.file("tree"));
  write_text(dir.file("tree/fs/a.c"), "int a(void)\n{\n\treturn 7;\n}\n");
  write_text(dir.file("p.patch"), kPatch);
  PatchFile p = read_patch(dir.file("p.patch"));
  try {
    apply_patch(p, dir.file("tree"));
    FAIL() << "patch applied to a tree it does not fit";
  } catch (const Error &e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("p.patch: does not apply to fs/a.c"), std::string::npos) << msg;
    EXPECT_NE(msg.find("-\treturn 1;"), std::string::npos) << msg;
  }
}

TEST(KlpBuildPatch, ModuleNamesAreSanitisedAndBounded) {
  PatchFile p;
  p.path = "/x/fix-CVE-2024.1234.patch";
  EXPECT_EQ(module_name_for("", {p}), "livepatch-fix-CVE-2024");
  EXPECT_EQ(module_name_for("my fix!", {p}), "livepatch-my_fix_");
  EXPECT_EQ(module_name_for("livepatch-x", {p}), "livepatch-x");
  EXPECT_EQ(module_name_for(std::string(100, 'a'), {p}).size(), 55u);
}

TEST(KlpBuildShadow, LeavesBuildOutputsOutAndNeverWritesTheSource) {
  ScratchDir dir;
  std::string src = dir.file("src"), shadow = dir.file("shadow");
  make_tree(src);
  make_shadow_tree(src, shadow);
  EXPECT_TRUE(fs::exists(shadow + "/fs/a.c"));
  EXPECT_TRUE(fs::exists(shadow + "/Makefile"));
  EXPECT_FALSE(fs::exists(shadow + "/fs/a.o"));
  EXPECT_FALSE(fs::exists(shadow + "/fs/.a.o.cmd"));
  EXPECT_FALSE(fs::exists(shadow + "/.config"));
  EXPECT_FALSE(fs::exists(shadow + "/include/config"));
  // Hard links share the inode until a file is unshared; writing the copy leaves the source.
  struct stat a, b;
  stat((src + "/fs/a.c").c_str(), &a);
  stat((shadow + "/fs/a.c").c_str(), &b);
  EXPECT_EQ(a.st_ino, b.st_ino);
  unshare_files(shadow, {"fs/a.c", "include/new.h"});
  stat((shadow + "/fs/a.c").c_str(), &b);
  EXPECT_NE(a.st_ino, b.st_ino);
  write_text(dir.file("p.patch"), kPatch);
  apply_patch(read_patch(dir.file("p.patch")), shadow);
  EXPECT_EQ(read_text(shadow + "/fs/a.c"), "int a(void)\n{\n\treturn 2;\n}\n");
  EXPECT_EQ(read_text(src + "/fs/a.c"), "int a(void)\n{\n\treturn 1;\n}\n");
  EXPECT_FALSE(fs::exists(src + "/include/new.h"));
}

// The tree cache's key: any change to a source file's path, size or mtime changes it; build
// outputs and the order a file system lists a directory in do not.
TEST(KlpBuildShadow, FingerprintFollowsSourcesOnly) {
  ScratchDir dir;
  std::string src = dir.file("src");
  make_tree(src);
  for (int i = 0; i < 40; i++)
    write_text(src + "/fs/f" + std::to_string(i) + ".c", "int f" + std::to_string(i) + ";\n");
  uint64_t base = fingerprint_tree(src);
  EXPECT_EQ(fingerprint_tree(src), base);
  // Build outputs come and go with every build.
  write_text(src + "/fs/a.o", "another object");
  write_text(src + "/fs/.f1.o.cmd", "cmd");
  fs::create_directories(src + "/include/generated");
  EXPECT_EQ(fingerprint_tree(src), base);
  // A copy with the same times, whose directories list their entries in another order.
  ASSERT_EQ(run("cp -a " + src + " " + dir.file("copy")).exit_code, 0);
  EXPECT_EQ(fingerprint_tree(dir.file("copy")), base);
  // An edit, even one that keeps the size.
  auto t = fs::last_write_time(src + "/fs/f7.c");
  fs::last_write_time(src + "/fs/f7.c", t + std::chrono::seconds(1));
  uint64_t touched = fingerprint_tree(src);
  EXPECT_NE(touched, base);
  fs::last_write_time(src + "/fs/f7.c", t);
  EXPECT_EQ(fingerprint_tree(src), base);
  // A new source file (the directory's mtime is put back: the path alone must count).
  auto dir_time = fs::last_write_time(src + "/fs");
  write_text(src + "/fs/zz.h", "");
  fs::last_write_time(src + "/fs", dir_time);
  EXPECT_NE(fingerprint_tree(src), base);
}

TEST(KlpBuildShadow, RefusesSomethingThatIsNotAKernelTree) {
  ScratchDir dir;
  fs::create_directories(dir.file("notakernel"));
  EXPECT_THROW(make_shadow_tree(dir.file("notakernel"), dir.file("s")), Error);
}

TEST(KlpBuildConfig, RequiresLivepatch) {
  ScratchDir dir;
  write_text(dir.file("config"), "CONFIG_MODULES=y\n# CONFIG_LIVEPATCH is not set\n");
  KernelConfig c(dir.file("config"));
  try {
    check_config(c, "gcc");
    FAIL();
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("CONFIG_LIVEPATCH is not set"), std::string::npos);
  }
}

// A Debian 13 kernel (gcc-14) on a host without that gcc: the remedy names the trixie root. (A
// version no real gcc-14 prints, so that the test means the same inside that root.)
TEST(KlpBuildConfig, TrixieCompilerNamesTheTrixieRoot) {
  ScratchDir dir;
  write_text(dir.file("config"), "CONFIG_LIVEPATCH=y\nCONFIG_CC_VERSION_TEXT=\"gcc-14 (Debian "
                                 "14.0.0-0) 14.0.0\"\n");
  try {
    check_config(KernelConfig(dir.file("config")), "gcc");
    FAIL();
  } catch (const Error &e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("built with 'gcc-14 (Debian 14.0.0-0) 14.0.0' but gcc is '"),
              std::string::npos)
        << msg;
    EXPECT_NE(msg.find("trixie) root, which has that compiler: scripts/trixie-root.sh run "
                       "klp-build"),
              std::string::npos)
        << msg;
  }
  EXPECT_EQ(compiler_remedy("gcc-12 (Debian 12.2.0-14) 12.2.0").find("trixie"), std::string::npos);
}

TEST(KlpBuildConfig, RefusesAnotherCompiler) {
  ScratchDir dir;
  write_text(dir.file("config"),
             "CONFIG_LIVEPATCH=y\nCONFIG_CC_VERSION_TEXT=\"gcc (Imaginary) 1.0\"\n");
  KernelConfig c(dir.file("config"));
  EXPECT_EQ(c.get("CC_VERSION_TEXT"), "gcc (Imaginary) 1.0");
  try {
    check_config(c, "gcc");
    FAIL();
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("gcc (Imaginary) 1.0"), std::string::npos) << e.what();
  }
  write_text(dir.file("ok"), "CONFIG_LIVEPATCH=y\nCONFIG_CC_VERSION_TEXT=\"" +
                                 compiler_version_text("gcc") + "\"\n");
  EXPECT_NO_THROW(check_config(KernelConfig(dir.file("ok")), "gcc"));
}

// Debian's 6.12 config was made without rustc; a build machine with one gets CONFIG_RUSTC_VERSION
// and friends from olddefconfig. Nothing of a config without CONFIG_RUST=y uses them.
TEST(KlpBuildConfig, ToleratesProbesOfUnusedTools) {
  std::string before = "CONFIG_CC_VERSION_TEXT=\"gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0\"\n"
                       "CONFIG_GCC_VERSION=120200\n"
                       "CONFIG_RUSTC_VERSION=0\n"
                       "CONFIG_RUSTC_LLVM_VERSION=0\n"
                       "CONFIG_PAHOLE_VERSION=124\n"
                       "CONFIG_LIVEPATCH=y\n"
                       "CONFIG_DEBUG_INFO_BTF=y\n";
  std::string after = "# comment of another kconfig\n"
                      "CONFIG_CC_VERSION_TEXT=\"gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0\"\n"
                      "CONFIG_GCC_VERSION=120200\n"
                      "CONFIG_RUSTC_VERSION=109500\n"
                      "CONFIG_RUSTC_LLVM_VERSION=200100\n"
                      "CONFIG_PAHOLE_VERSION=0\n"
                      "CONFIG_RUST_IS_AVAILABLE=y\n"
                      "CONFIG_LIVEPATCH=y\n"
                      "# CONFIG_RUST is not set\n"
                      "# CONFIG_DEBUG_INFO_BTF is not set\n"
                      "CONFIG_BUILD_SALT=\"\"\n";
  ConfigChanges c = compare_olddefconfig(before, after);
  EXPECT_FALSE(c.changed()) << c.first_before << " / " << c.first_after;
  EXPECT_EQ(
      c.tolerated,
      (std::vector<std::string>{
          "CONFIG_DEBUG_INFO_BTF: 'y' became '' (pahole, which only makes BTF at link time)",
          "CONFIG_PAHOLE_VERSION: '124' became '0' (pahole, which only makes BTF at link time)",
          "CONFIG_RUSTC_LLVM_VERSION: '0' became '200100' (rustc, which this config does "
          "not use)",
          "CONFIG_RUSTC_VERSION: '0' became '109500' (rustc, which this config does not use)",
          "CONFIG_RUST_IS_AVAILABLE: '' became 'y' (rustc, which this config does not use)",
      }));
  // Nothing changed, nothing tolerated.
  c = compare_olddefconfig(before, before);
  EXPECT_FALSE(c.changed());
  EXPECT_TRUE(c.tolerated.empty());
}

TEST(KlpBuildConfig, RefusesOtherCompilersAndRustWhenUsed) {
  std::string base = "CONFIG_GCC_VERSION=120200\nCONFIG_AS_VERSION=24000\nCONFIG_LIVEPATCH=y\n";
  ConfigChanges c = compare_olddefconfig(
      base, "CONFIG_GCC_VERSION=140200\nCONFIG_AS_VERSION=24000\nCONFIG_LIVEPATCH=y\n");
  EXPECT_EQ(c.first_before, "CONFIG_GCC_VERSION=120200");
  EXPECT_EQ(c.first_after, "CONFIG_GCC_VERSION=140200");
  c = compare_olddefconfig(
      base, "CONFIG_GCC_VERSION=120200\nCONFIG_AS_VERSION=24200\nCONFIG_LIVEPATCH=y\n");
  EXPECT_EQ(c.first_before, "CONFIG_AS_VERSION=24000");
  EXPECT_EQ(c.first_after, "CONFIG_AS_VERSION=24200");
  // A setting olddefconfig adds, and one it drops.
  c = compare_olddefconfig(base, base + "CONFIG_NEW_OPTION=y\n");
  EXPECT_EQ(c.first_before, "");
  EXPECT_EQ(c.first_after, "CONFIG_NEW_OPTION=y");
  c = compare_olddefconfig(base + "CONFIG_OLD_OPTION=y\n", base);
  EXPECT_EQ(c.first_before, "CONFIG_OLD_OPTION=y");
  EXPECT_EQ(c.first_after, "");
  // A setting kconfig adds between two others is the difference, not the next one off by one.
  c = compare_olddefconfig("CONFIG_A=y\n# CONFIG_C is not set\n",
                           "CONFIG_A=y\nCONFIG_B=y\n# CONFIG_C is not set\n");
  EXPECT_EQ(c.first_before, "");
  EXPECT_EQ(c.first_after, "CONFIG_B=y");
  c = compare_olddefconfig("CONFIG_A=y\nCONFIG_B=y\n# CONFIG_C is not set\n",
                           "CONFIG_A=y\n# CONFIG_C is not set\n");
  EXPECT_EQ(c.first_before, "CONFIG_B=y");
  EXPECT_EQ(c.first_after, "");
  // A kernel with Rust code uses rustc: its version is a difference.
  c = compare_olddefconfig("CONFIG_RUST=y\nCONFIG_RUSTC_VERSION=108500\n",
                           "CONFIG_RUST=y\nCONFIG_RUSTC_VERSION=109500\n");
  EXPECT_EQ(c.first_before, "CONFIG_RUSTC_VERSION=108500");
  EXPECT_TRUE(c.tolerated.empty());
  // A distro-stripped option present in the given config must stay as it is.
  c = compare_olddefconfig("CONFIG_BUILD_SALT=\"a\"\n", "CONFIG_BUILD_SALT=\"b\"\n");
  EXPECT_EQ(c.first_after, "CONFIG_BUILD_SALT=\"b\"");
}

TEST(KlpBuildKbuild, ReadsModuleAndCrcsFromTheRecord) {
  ScratchDir dir;
  fs::create_directories(dir.file("obj/fs/ext4"));
  write_text(
      dir.file("obj/fs/ext4/.inode.o.cmd"),
      "cmd_fs/ext4/inode.o := gcc -Wp,-MMD -nostdinc -DMODULE -DKBUILD_BASENAME='\"inode\"' "
      "-DKBUILD_MODNAME='\"ext4_mod\"' -D__KBUILD_MODNAME=kmod_ext4_mod -c -o "
      "fs/ext4/inode.o fs/ext4/inode.c\n\n"
      "source_fs/ext4/inode.o := fs/ext4/inode.c\n\n"
      "deps_fs/ext4/inode.o := \\\n  include/linux/fs.h \\\n  $(wildcard include/config/X) \\\n"
      "  fs/ext4/ext4.h \\\n\nfs/ext4/inode.o: $(deps_fs/ext4/inode.o)\n\n"
      "#SYMVER ext4_inode_fn 0x1a2b3c4d\n");
  KbuildTree tree;
  tree.objtree = dir.file("obj");
  ObjectRecord r = read_object_record(tree, "fs/ext4/inode.o");
  EXPECT_EQ(r.target, "ext4_mod");
  // kbuild names a module object's module, not its file: that comes from modules.order, where
  // the file may spell '_' as '-', and a module of the same name elsewhere is not it.
  EXPECT_EQ(r.modfile, "");
  EXPECT_EQ(module_path_in(tree.objtree, r), "");
  write_text(dir.file("obj/modules.order"),
             "drivers/ext4_mod.ko\nfs/ext4/ext4-mod.ko\nfs/fat/fat.ko\n");
  EXPECT_EQ(module_path_in(tree.objtree, r), "fs/ext4/ext4-mod");
  write_text(dir.file("obj/modules.order"), "fs/fat/fat.o\nfs/ext4/ext4-mod.o\n"); // 6.2+
  EXPECT_EQ(module_path_in(tree.objtree, r), "fs/ext4/ext4-mod");
  EXPECT_EQ(r.deps, (std::vector<std::string>{"include/linux/fs.h", "fs/ext4/ext4.h"}));
  ASSERT_EQ(r.crcs.count("ext4_inode_fn"), 1u);
  EXPECT_EQ(r.crcs.at("ext4_inode_fn"), 0x1a2b3c4du);

  fs::create_directories(dir.file("obj/fs/proc"));
  write_text(dir.file("obj/fs/proc/.cmdline.o.cmd"),
             "cmd_fs/proc/cmdline.o := gcc -DKBUILD_MODFILE='\"fs/proc/proc\"' -c -o x\n");
  EXPECT_EQ(read_object_record(tree, "fs/proc/cmdline.o").target, "vmlinux");
  EXPECT_EQ(object_for_source("fs/proc/cmdline.c"), "fs/proc/cmdline.o");
  EXPECT_EQ(object_for_source("arch/x86/entry/entry_64.S"), "arch/x86/entry/entry_64.o");
  EXPECT_EQ(object_for_source("fs/proc/internal.h"), "");
}

TEST(KlpBuildTemplates, RendersAndRefusesUnfilledPlaceholders) {
  ScratchDir dir;
  write_text(dir.file("t.in"), "obj-m := @MODNAME@.o # @MODNAME@\n");
  EXPECT_EQ(render_template(dir.file("t.in"), {{"MODNAME", "livepatch-x"}}),
            "obj-m := livepatch-x.o # livepatch-x\n");
  write_text(dir.file("u.in"), "x := @OTHER@\n");
  try {
    render_template(dir.file("u.in"), {{"MODNAME", "x"}});
    FAIL();
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("@OTHER@"), std::string::npos);
  }
  // The shipped templates render with the values the driver passes.
  ModuleSpec spec;
  spec.name = "livepatch-demo";
  spec.data_dir = KLP_SOURCE_DIR;
  write_module_dir(spec, dir.file("mod"));
  EXPECT_NE(read_text(dir.file("mod/Kbuild")).find("obj-m := livepatch-demo.o"), std::string::npos);
  EXPECT_NE(read_text(dir.file("mod/klp_patch_info.c")).find("\"livepatch_demo\""),
            std::string::npos);
}

// The runtime is compiled before the diff objects exist (compile_runtime_objects); writing the
// directory again with them must not touch the files that object was compiled from, or make
// would compile it again at the link.
TEST(KlpBuildTemplates, RewritingTheModuleDirKeepsUnchangedFiles) {
  ScratchDir dir;
  ModuleSpec spec;
  spec.name = "livepatch-demo";
  spec.data_dir = KLP_SOURCE_DIR;
  write_module_dir(spec, dir.file("mod"));
  auto old_time = fs::file_time_type::clock::now() - std::chrono::hours(1);
  for (const char *f : {"klp_runtime.c", "klp_build.h", "klp_patch_info.c", "Kbuild"})
    fs::last_write_time(dir.file(std::string("mod/") + f), old_time);
  write_text(dir.file("d.o"), "object");
  spec.diff_objects = {dir.file("d.o")};
  write_module_dir(spec, dir.file("mod"));
  for (const char *f : {"klp_runtime.c", "klp_build.h", "klp_patch_info.c"})
    EXPECT_EQ(fs::last_write_time(dir.file(std::string("mod/") + f)), old_time) << f;
  EXPECT_NE(fs::last_write_time(dir.file("mod/Kbuild")), old_time);
  EXPECT_NE(read_text(dir.file("mod/Kbuild")).find("diff-000.o"), std::string::npos);
  EXPECT_EQ(read_text(dir.file("mod/diff-000.o")), "object");
}

// --compiler-launcher reaches the kernel's compiler and the host compiler that builds objtool
// and the other prepare tools; without it, kbuild's defaults stay.
TEST(KlpBuildKbuild, LauncherPrefixesTargetAndHostCompilers) {
  KbuildTree tree;
  tree.srctree = "/src";
  tree.objtree = "/obj";
  tree.cc = "gcc-12";
  auto has = [](const std::vector<std::string> &argv, const std::string &a) {
    return std::find(argv.begin(), argv.end(), a) != argv.end();
  };
  std::vector<std::string> plain = make_argv(tree, {"fs/proc/cmdline.o"});
  EXPECT_TRUE(has(plain, "CC=gcc-12"));
  EXPECT_FALSE(std::any_of(plain.begin(), plain.end(),
                           [](const std::string &a) { return a.rfind("HOSTCC=", 0) == 0; }));
  tree.launcher = "ccache";
  std::vector<std::string> wrapped = make_argv(tree, {"fs/proc/cmdline.o"});
  EXPECT_TRUE(has(wrapped, "CC=ccache gcc-12"));
  EXPECT_TRUE(has(wrapped, "HOSTCC=ccache gcc"));
  EXPECT_EQ(wrapped.back(), "fs/proc/cmdline.o");
}

TEST(KlpBuildConvert, MovesKlpRelocationsIntoLivepatchSections) {
  ScratchDir dir;
  write_text(dir.file("m.c"), "extern int secret_fn(int);\nextern int printk(const char *, ...);\n"
                              "int user(int x) { printk(\"x\"); return secret_fn(x); }\n");
  compile(dir.file("m.c"), dir.file("m.o"));
  auto obj = Object::load(dir.file("m.o"));
  // Rename the undefined reference the way create-diff-object names non-exported symbols.
  for (Symbol &s : obj->symbols)
    if (s.name == "secret_fn")
      s.name = ".klp.sym.vmlinux.secret_fn,2";
  obj->reindex();
  write_object(*obj, dir.file("inter.o"));
  auto mod = Object::load(dir.file("inter.o"));
  EXPECT_EQ(convert_klp_relocations(*mod), 1u);
  write_object(*mod, dir.file("final.o"));
  auto fin = Object::load(dir.file("final.o"));
  Section *klp = fin->find_section(".klp.rela.vmlinux..text.user");
  ASSERT_NE(klp, nullptr);
  EXPECT_TRUE(klp->flags() & SHF_RELA_LIVEPATCH);
  EXPECT_TRUE(klp->flags() & SHF_ALLOC);
  ASSERT_EQ(klp->relocs.size(), 1u);
  EXPECT_EQ(klp->relocs[0].sym->name, ".klp.sym.vmlinux.secret_fn,2");
  EXPECT_EQ(klp->relocs[0].sym->shndx, SHN_LIVEPATCH);
  for (const Relocation &r : fin->find_section(".rela.text.user")->relocs)
    EXPECT_EQ(r.sym->name.find(".klp.sym."), std::string::npos);
  auto k = parse_klp_sym_name(".klp.sym.ext4.ext4_foo.isra.0,3");
  ASSERT_TRUE(k);
  EXPECT_EQ(k->object, "ext4");
  EXPECT_EQ(k->name, "ext4_foo.isra.0");
  EXPECT_EQ(k->sympos, 3u);
  EXPECT_FALSE(parse_klp_sym_name(".klp.sym.vmlinux.x"));
}

// A copy of another kernel's /proc/kallsyms: an export of this kernel's vmlinux is missing from
// it. It is refused before any build, naming the export, the file and how many are missing.
TEST(KlpBuildTarget, KallsymsOfAnotherKernelIsRefused) {
  ScratchDir dir;
  write_text(dir.file("config"), "CONFIG_LIVEPATCH=y\nCONFIG_KALLSYMS_ALL=y\n");
  write_text(dir.file("Module.symvers"), "0x00000000\tprintk\tvmlinux\tEXPORT_SYMBOL\t\n"
                                         "0x00000000\tjiffies\tvmlinux\tEXPORT_SYMBOL\t\n"
                                         "0x00000000\text4_foo\tfs/ext4/ext4\tEXPORT_SYMBOL\t\n");
  // Zero addresses (a copy read by a user) and module symbols are fine.
  write_text(dir.file("same"), "0000000000000000 T printk\n0000000000000000 D jiffies\n"
                               "0000000000000000 t ext4_bar\t[ext4]\n");
  write_text(dir.file("other"), "ffffffff81000000 T printk\nffffffff82000000 D jiffies_64\n");
  KernelConfig config(dir.file("config"));
  EXPECT_NO_THROW(
      check_kallsyms_matches_symvers(dir.file("same"), dir.file("Module.symvers"), config));
  try {
    check_kallsyms_matches_symvers(dir.file("other"), dir.file("Module.symvers"), config);
    FAIL();
  } catch (const Error &e) {
    EXPECT_EQ(std::string(e.what()),
              dir.file("other") +
                  ": not the symbols of the kernel being patched: 'jiffies', "
                  "exported by vmlinux (" +
                  dir.file("Module.symvers") +
                  ":2), is not in it, nor are "
                  "0 of the other 1 vmlinux exports; copy /proc/kallsyms on a machine running this "
                  "kernel");
  }
  // Both missing: the first in Module.symvers is named, the other counted.
  write_text(dir.file("none"), "ffffffff82000000 D jiffies_64\nffffffff81000000 T printk_x\n");
  try {
    check_kallsyms_matches_symvers(dir.file("none"), dir.file("Module.symvers"), config);
    FAIL();
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find(": 'printk', exported by vmlinux (" +
                                         dir.file("Module.symvers") +
                                         ":1), is not in it, nor are 1 of the other 1 vmlinux"),
              std::string::npos)
        << e.what();
  }
  // Without CONFIG_KALLSYMS_ALL no copy lists exported data: nothing to compare.
  write_text(dir.file("config"), "CONFIG_LIVEPATCH=y\n");
  EXPECT_NO_THROW(check_kallsyms_matches_symvers(dir.file("other"), dir.file("Module.symvers"),
                                                 KernelConfig(dir.file("config"))));
}

TEST(KlpBuildTarget, KallsymsDefaultsToTheRunningKernelOnly) {
  ScratchDir dir;
  write_text(dir.file("kallsyms"), "ffffffff81000000 T _text\n");
  BuildOptions o;
  // Building for the running kernel (its /boot config): its /proc/kallsyms.
  EXPECT_EQ(resolve_target_symbols(o, "/boot/config-6.1.0-56-amd64", "6.1.0-56-amd64",
                                   dir.file("kallsyms")),
            dir.file("kallsyms"));
  // ... unless it cannot be read: say so and what to pass.
  try {
    resolve_target_symbols(o, "/boot/config-6.1.0-56-amd64", "6.1.0-56-amd64", dir.file("missing"));
    FAIL();
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("pass --kallsyms"), std::string::npos) << e.what();
  }
  // Another kernel's config: the running kernel's symbols would be wrong, so none is guessed.
  try {
    resolve_target_symbols(o, "linux/.config", "6.1.0-56-amd64", dir.file("kallsyms"));
    FAIL();
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("linux/.config: pass --vmlinux or --kallsyms"),
              std::string::npos)
        << e.what();
  }
  // What was given wins.
  o.vmlinux = "vmlinux";
  EXPECT_EQ(resolve_target_symbols(o, "linux/.config", "6.1.0-56-amd64"), "");
  o.kallsyms = "copy";
  EXPECT_EQ(resolve_target_symbols(o, "/boot/config-6.1.0-56-amd64", "6.1.0-56-amd64"), "copy");
}

// A distributing launcher (distcc, icecc) compiles the kernel's units but not the host tools;
// a caching one (ccache) both. The program is found by its name, with or without a path.
TEST(KlpBuildLauncher, HostToolsGoThroughCachingLaunchersOnly) {
  EXPECT_EQ(launcher_program("/usr/bin/distcc"), "distcc");
  EXPECT_EQ(launcher_program("ccache --some-flag"), "ccache");
  EXPECT_EQ(launcher_program(""), "");
  EXPECT_TRUE(launcher_serves_host_tools("ccache"));
  EXPECT_TRUE(launcher_serves_host_tools("/opt/bench/cc-timer"));
  EXPECT_FALSE(launcher_serves_host_tools("distcc"));
  EXPECT_FALSE(launcher_serves_host_tools("/usr/bin/icecc"));
  EXPECT_FALSE(launcher_serves_host_tools(""));
}
