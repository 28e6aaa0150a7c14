// Recompiling patched units by kbuild's recorded commands (klp-build/replay.h): what a record's
// command is, which records a replay may use, and the replay itself on a small tree; and when
// the module's link may be replayed (module_relink.h), and the cancelling of the early module
// build that runs beside them.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include "error.h"
#include "module_build.h"
#include "module_relink.h"
#include "process.h"
#include "replay.h"
#include "test_util.h"

using namespace klp;
using namespace klp::test;
namespace fs = std::filesystem;

namespace {

// The shape of a 6.1 record (fs/proc/.cmdline.o.cmd), shortened.
const char *kRecord61 =
    "cmd_fs/proc/cmdline.o := gcc-12 -Wp,-MMD,fs/proc/.cmdline.o.d -nostdinc -pg "
    "-mrecord-mcount -mfentry -DKBUILD_MODNAME='\"proc\"' -c -o fs/proc/cmdline.o "
    "/src/fs/proc/cmdline.c   ; ./tools/objtool/objtool --hacks=jump_label --orc --retpoline "
    "fs/proc/cmdline.o\n"
    "\n"
    "source_fs/proc/cmdline.o := /src/fs/proc/cmdline.c\n"
    "\n"
    "deps_fs/proc/cmdline.o := \\\n"
    "  /src/include/linux/kconfig.h \\\n"
    "\n"
    "fs/proc/cmdline.o: $(deps_fs/proc/cmdline.o)\n";

// A build directory with a .config of a kernel without objtool.
struct ReplayTree {
  ScratchDir dir;
  KbuildTree tree;
  ReplayTree() {
    tree.objtree = dir.file("build");
    tree.jobs = 2;
    fs::create_directories(tree.objtree + "/sub");
    write_text(tree.objtree + "/.config", "CONFIG_LIVEPATCH=y\n");
  }
};

} // namespace

TEST(KlpBuildReplay, RecordedCommandUndoesMakesEscapes) {
  EXPECT_EQ(recorded_command("cmd_a.o := gcc -DX='\"$$HOME\"' -DH=$(pound)1 -DD=$$$$ -c a.c\n"
                             "\nsource_a.o := a.c\n",
                             "a.o"),
            "gcc -DX='\"$HOME\"' -DH=#1 -DD=$$ -c a.c");
  // The line must be the object's own.
  EXPECT_EQ(recorded_command("cmd_b.o := gcc -c b.c\n", "a.o"), "");
  EXPECT_EQ(recorded_command("", "a.o"), "");
  // kbuild 6.3 and later (Debian's 6.12) name the variable savedcmd_<target>.
  EXPECT_EQ(recorded_command("savedcmd_a.o := gcc -DH=$(pound)1 -c a.c\n", "a.o"),
            "gcc -DH=#1 -c a.c");
  EXPECT_EQ(recorded_command("savedcmd_b.o := gcc -c b.c\n", "a.o"), "");
}

TEST(KlpBuildReplay, OnlyRecordsWhoseCommandIsTheWholeRule) {
  std::string obj = "fs/proc/cmdline.o";
  EXPECT_TRUE(is_replayable(kRecord61, obj, true));
  // genksyms ran after the compile (the object exports symbols).
  EXPECT_FALSE(
      is_replayable(std::string(kRecord61) + "#SYMVER saved_command_line 0x12345678\n", obj, true));
  // Before 5.19 objtool was a step of its own: the command lacks it.
  std::string no_objtool = "cmd_" + obj + " := gcc -pg -mrecord-mcount -c -o " + obj + " x.c\n";
  EXPECT_FALSE(is_replayable(no_objtool, obj, true));
  EXPECT_TRUE(is_replayable(no_objtool, obj, false));
  // -pg without -mrecord-mcount: scripts/recordmcount runs after the compile; objtool --mcount
  // in the command records them instead.
  std::string pg = "cmd_" + obj + " := gcc -pg -c -o " + obj + " x.c";
  EXPECT_FALSE(is_replayable(pg + "\n", obj, false));
  EXPECT_TRUE(is_replayable(pg + " ; objtool --mcount " + obj + "\n", obj, true));
  EXPECT_FALSE(is_replayable("", obj, false));
}

// Debian's 6.12 (CONFIG_X86_KERNEL_IBT) runs objtool on vmlinux.o and on each module's linked
// object: a unit's record without objtool is the whole rule there, and not on 6.1's config.
TEST(KlpBuildReplay, ObjtoolDelayedToTheLinkIsNotMissing) {
  ScratchDir dir;
  auto config = [&](const std::string &text) {
    write_text(dir.file("config"), text);
    return KernelConfig(dir.file("config"));
  };
  EXPECT_TRUE(
      config_runs_objtool(config("CONFIG_OBJTOOL=y\n# CONFIG_X86_KERNEL_IBT is not set\n")));
  EXPECT_TRUE(config_runs_objtool(config("CONFIG_STACK_VALIDATION=y\n")));
  EXPECT_FALSE(config_runs_objtool(config("CONFIG_OBJTOOL=y\nCONFIG_X86_KERNEL_IBT=y\n")));
  EXPECT_FALSE(config_runs_objtool(config("CONFIG_OBJTOOL=y\nCONFIG_LTO_CLANG=y\n")));
  EXPECT_FALSE(config_runs_objtool(config("CONFIG_LIVEPATCH=y\n# CONFIG_OBJTOOL is not set\n")));
}

TEST(KlpBuildReplay, CompilesByTheRecordAndLeavesExportersToMake) {
  ReplayTree t;
  write_text(t.dir.file("a.c"), "int a(void) { return 1; }\n");
  write_text(t.dir.file("exp.c"), "int x; int __ksymtab_x;\n");
  // The record's "$(pound)" becomes '#', and the depfile is gone afterwards as after fixdep.
  write_text(record_path(t.tree.objtree, "sub/a.o"),
             "cmd_sub/a.o := gcc -Wp,-MMD,sub/.a.o.d -DH='\"$(pound)\"' -c -o sub/a.o " +
                 t.dir.file("a.c") + "\n");
  write_text(record_path(t.tree.objtree, "sub/exp.o"),
             "cmd_sub/exp.o := gcc -c -o sub/exp.o " + t.dir.file("exp.c") + "\n");
  write_text(record_path(t.tree.objtree, "sub/crc.o"),
             "cmd_sub/crc.o := gcc -c -o sub/crc.o " + t.dir.file("a.c") + "\n#SYMVER a 0x1\n");
  std::vector<std::string> rest = replay_objects(t.tree, {"sub/a.o", "sub/exp.o", "sub/crc.o"});
  EXPECT_EQ(rest, (std::vector<std::string>{"sub/crc.o", "sub/exp.o"}));
  EXPECT_TRUE(fs::exists(t.tree.objtree + "/sub/a.o"));
  EXPECT_FALSE(exports_symbols(t.tree.objtree + "/sub/a.o"));
  EXPECT_FALSE(fs::exists(t.tree.objtree + "/sub/.a.o.d"));
  // The exporter is removed, so make builds it again with genksyms; the record with CRCs was
  // never replayed.
  EXPECT_FALSE(fs::exists(t.tree.objtree + "/sub/exp.o"));
  EXPECT_FALSE(fs::exists(t.tree.objtree + "/sub/crc.o"));
}

TEST(KlpBuildReplay, AFailedCompileNamesTheObjectAndTheCommand) {
  ReplayTree t;
  write_text(t.dir.file("bad.c"), "int b(void) { return }\n");
  write_text(record_path(t.tree.objtree, "sub/bad.o"),
             "cmd_sub/bad.o := gcc -c -o sub/bad.o " + t.dir.file("bad.c") + "\n");
  try {
    replay_objects(t.tree, {"sub/bad.o"});
    FAIL() << "a failing compile was not reported";
  } catch (const Error &e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("compiling sub/bad.o failed"), std::string::npos) << msg;
    EXPECT_NE(msg.find("bad.c"), std::string::npos) << msg;
  }
}

TEST(KlpBuildRelink, OnlyAPlainObjectListAndAllFourRecords) {
  EXPECT_TRUE(is_mod_list("/m/a.o\n/m/b.o\n", {"/m/a.o", "/m/b.o"}));
  // Before 6.0 the .mod file held the objects on one line and the undefined symbols on a second.
  EXPECT_FALSE(is_mod_list("/m/a.o /m/b.o\n\n", {"/m/a.o", "/m/b.o"}));
  EXPECT_FALSE(is_mod_list("/m/a.o\n", {"/m/a.o", "/m/b.o"}));

  // A module directory make never linked (no records): the link goes to make.
  ScratchDir dir;
  ModuleSpec spec;
  spec.name = "livepatch-x";
  spec.data_dir = KLP_SOURCE_DIR;
  spec.kbuild_dir = dir.file("kbuild");
  fs::create_directories(spec.kbuild_dir);
  write_module_dir(spec, dir.file("mod"));
  EXPECT_EQ(relink_module(spec, dir.file("mod")), "");
}

// The early module build runs on another thread; a pipeline that fails first cancels it
// instead of waiting for it (process.h: Command::cancel).
TEST(KlpBuildProcess, ACancelledCommandStopsAtOnce) {
  std::atomic<bool> cancel{false};
  Command cmd{{"sh", "-c", "sleep 20"}, "", {}};
  cmd.cancel = &cancel;
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    cancel = true;
  });
  try {
    run_command(cmd);
    ADD_FAILURE() << "a cancelled command returned normally";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("cancelled while running sh"), std::string::npos)
        << e.what();
  }
  canceller.join();
  // Without the flag set, the same command runs to its end.
  std::atomic<bool> never{false};
  Command quick{{"sh", "-c", "exit 3"}, "", {}};
  quick.cancel = &never;
  EXPECT_EQ(run_command(quick).exit_code, 3);
}

// The runtime objects that compile alike for every module of a tree are compiled by the first
// module's template and copied by the next: only the descriptors (the name) are compiled again,
// and a store missing an object, or none given, compiles everything.
TEST(KlpBuildRelink, RuntimeObjectsCompiledOncePerTemplate) {
  ScratchDir dir;
  auto module_template = [&](const std::string &name) {
    LinkTemplate t;
    t.dir = dir.file(name);
    t.name = name;
    t.compiles = 3;
    for (size_t i = 0; i < t.compiles; i++) {
      std::string object = template_compile_object(i);
      // A compile that says which module compiled it, and logs that it ran.
      t.commands.push_back("echo " + name + " > " + t.dir + "/" + object + " && echo " + object +
                           " >> " + dir.file("compiled"));
    }
    fs::create_directories(t.dir);
    return t;
  };
  ModuleSpec spec;
  spec.kbuild_dir = dir.path();
  spec.jobs = 2;
  std::string store = dir.file("links/key.objects/runtime");
  auto compiled = [&] {
    std::string log = read_text(dir.file("compiled"));
    std::vector<std::string> objects;
    for (size_t pos = 0, end; (end = log.find('\n', pos)) != std::string::npos; pos = end + 1)
      objects.push_back(log.substr(pos, end - pos));
    std::sort(objects.begin(), objects.end());
    fs::remove(dir.file("compiled"));
    return objects;
  };

  LinkTemplate first = module_template("first");
  ASSERT_TRUE(compile_runtime(first, spec, first.dir, store, nullptr));
  EXPECT_EQ(compiled(),
            (std::vector<std::string>{".module-common.o", "klp_patch_info.o", "klp_runtime.o"}));
  EXPECT_EQ(read_text(store + "/klp_runtime.o"), "first\n");
  EXPECT_EQ(read_text(store + "/.module-common.o"), "first\n");
  EXPECT_FALSE(fs::exists(store + "/klp_patch_info.o"));
  // modpost reads each object's record for its CRCs: written empty.
  EXPECT_TRUE(fs::exists(first.dir + "/.klp_runtime.o.cmd"));

  LinkTemplate second = module_template("second");
  ASSERT_TRUE(compile_runtime(second, spec, second.dir, store, nullptr));
  EXPECT_EQ(compiled(), std::vector<std::string>{"klp_patch_info.o"});
  EXPECT_EQ(read_text(second.dir + "/klp_runtime.o"), "first\n");
  EXPECT_EQ(read_text(second.dir + "/.module-common.o"), "first\n");
  EXPECT_EQ(read_text(second.dir + "/klp_patch_info.o"), "second\n");

  fs::remove(store + "/klp_runtime.o");
  LinkTemplate third = module_template("third");
  ASSERT_TRUE(compile_runtime(third, spec, third.dir, store, nullptr));
  EXPECT_EQ(compiled(), (std::vector<std::string>{"klp_patch_info.o", "klp_runtime.o"}));
  EXPECT_EQ(read_text(store + "/klp_runtime.o"), "third\n");
  EXPECT_EQ(read_text(store + "/.module-common.o"), "first\n"); // kept, not written again

  LinkTemplate fourth = module_template("fourth");
  ASSERT_TRUE(compile_runtime(fourth, spec, fourth.dir, "", nullptr));
  EXPECT_EQ(compiled().size(), 3u);

  // A failed compile: false, and nothing of it stored.
  LinkTemplate failing = module_template("failing");
  failing.commands[0] = "exit 1";
  fs::remove_all(store);
  EXPECT_FALSE(compile_runtime(failing, spec, failing.dir, store, nullptr));
  EXPECT_FALSE(fs::exists(store + "/klp_runtime.o"));
}

// The runtime objects are kept per compiler and runtime source, and only for a runtime that
// pins KBUILD_MODNAME (this project's does): an older data directory's runtime, which takes the
// module's name from kbuild, is compiled for every module.
TEST(KlpBuildRelink, RuntimeKeptOnlyWhenItPinsTheModuleName) {
  ScratchDir dir;
  ModuleSpec spec;
  spec.cc_version = "gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0";
  write_text(dir.file("klp_build.h"), "struct klp_build_patch_info;\n");
  write_text(dir.file("klp_runtime.c"),
             read_text(std::string(KLP_SOURCE_DIR) + "/runtime/klp_runtime.c"));
  std::string kept = runtime_store_path(dir.file("links/key"), spec, dir.path());
  EXPECT_TRUE(kept.starts_with(dir.file("links/key.objects/"))) << kept;
  spec.cc_version = "gcc-12 (Debian 12.2.0-14+deb12u2) 12.2.0";
  EXPECT_NE(runtime_store_path(dir.file("links/key"), spec, dir.path()), kept);
  write_text(dir.file("klp_runtime.c"), "#define pr_fmt(fmt) KBUILD_MODNAME \": \" fmt\n");
  EXPECT_EQ(runtime_store_path(dir.file("links/key"), spec, dir.path()), "");
}

// "" is runtime_store_path()'s answer for a runtime that does not pin the name: nothing is
// kept anywhere (the store's paths are "" + "/klp_runtime.o", the file system's root).
TEST(KlpBuildRelink, NoStoreKeepsNothing) {
  ScratchDir dir;
  write_text(dir.file("klp_runtime.o"), "runtime object\n");
  LinkTemplate t;
  t.compiles = 2;
  std::error_code ec;
  bool existed = fs::exists("/klp_runtime.o", ec);
  store_runtime_objects(t, dir.path(), "");
  bool exists = fs::exists("/klp_runtime.o", ec);
  if (exists && !existed)
    fs::remove("/klp_runtime.o", ec);
  EXPECT_EQ(exists, existed) << "the runtime object was written to /klp_runtime.o";
}

// The <name>.mod.o of a module is compiled again only when modpost writes another <name>.mod.c
// for that name (or the command differs): a revised fix importing the same symbols links with
// the object compiled for the last build, which a build without a store does not keep.
TEST(KlpBuildRelink, ModObjectKeptPerModuleName) {
  ScratchDir dir;
  std::string store = dir.file("links/key.objects/runtime");
  ModuleSpec spec;
  spec.kbuild_dir = dir.path();
  auto link = [&](const std::string &name, const std::string &imports, const std::string &run,
                  const std::string &store) {
    LinkTemplate t;
    t.dir = dir.file(run);
    t.name = name;
    t.compiles = 2;
    std::string base = t.dir + "/" + name;
    t.commands = {"true",
                  "true",
                  "true",
                  "echo '" + imports + "' > " + base + ".mod.c", // modpost
                  "cp " + base + ".mod.c " + base + ".mod.o && basename " + t.dir + " >> " +
                      dir.file("compiled"),
                  "cp " + base + ".mod.o " + base + ".ko"};
    fs::create_directories(t.dir);
    spec.name = name;
    EXPECT_EQ(link_by_template(t, spec, store), base + ".ko");
    return read_text(base + ".ko");
  };
  auto compiled = [&] {
    std::string log = read_text(dir.file("compiled"));
    fs::remove(dir.file("compiled"));
    return log;
  };
  EXPECT_EQ(link("livepatch-fix", "printk", "run1", store), "printk\n");
  EXPECT_EQ(compiled(), "run1\n");
  EXPECT_EQ(link("livepatch-fix", "printk", "run2", store), "printk\n");
  EXPECT_EQ(compiled(), "");
  EXPECT_EQ(link("livepatch-fix", "printk kmalloc", "run3", store), "printk kmalloc\n");
  EXPECT_EQ(compiled(), "run3\n");
  EXPECT_EQ(link("livepatch-other", "printk kmalloc", "run4", store), "printk kmalloc\n");
  EXPECT_EQ(compiled(), "run4\n");
  EXPECT_EQ(link("livepatch-fix", "printk kmalloc", "run5", store), "printk kmalloc\n");
  EXPECT_EQ(compiled(), "");
  EXPECT_EQ(link("livepatch-fix", "printk kmalloc", "run6", ""), "printk kmalloc\n");
  EXPECT_EQ(compiled(), "run6\n");
  // One object kept per name: the last.
  for (const char *name : {"livepatch-fix", "livepatch-other"})
    EXPECT_EQ(std::distance(fs::directory_iterator(store + "/" + name + ".mod"),
                            fs::directory_iterator()),
              1)
        << name;
}

// A link template from one module serves the next: its directory and both spellings of its
// name are put in everywhere kbuild writes them, and a template whose old names occur in any
// other form is not used.
TEST(KlpBuildRelink, TemplateTakesTheNewDirectoryAndName) {
  LinkTemplate t;
  t.dir = "/tmp/a/module";
  t.name = "livepatch-fix";
  t.commands = {"gcc -Wp,-MMD,/tmp/a/module/.klp_runtime.o.d -ffile-prefix-map=/tmp/a/module/= "
                "-DKBUILD_MODNAME='\"livepatch_fix\"' -D__KBUILD_MODNAME=kmod_livepatch_fix -c -o "
                "/tmp/a/module/klp_runtime.o /tmp/a/module/klp_runtime.c",
                "gcc -c -o /tmp/a/module/klp_patch_info.o /tmp/a/module/klp_patch_info.c",
                "ld -r -o /tmp/a/module/livepatch-fix.o @/tmp/a/module/livepatch-fix.mod",
                "sed 's/ko$/o/' /tmp/a/module/modules.order | scripts/mod/modpost -o "
                "/tmp/a/module/Module.symvers",
                "gcc -Wp,-MMD,/tmp/a/module/.livepatch-fix.mod.o.d "
                "-DKBUILD_BASENAME='\"livepatch_fix.mod\"' -DKBUILD_MODNAME='\"livepatch_fix\"' "
                "-D__KBUILD_MODNAME=kmod_livepatch_fix -c -o /tmp/a/module/livepatch-fix.mod.o "
                "/tmp/a/module/livepatch-fix.mod.c",
                "ld -r -o /tmp/a/module/livepatch-fix.ko /tmp/a/module/livepatch-fix.o "
                "/tmp/a/module/livepatch-fix.mod.o;  true"};
  ScratchDir dir;
  save_link_template(t, dir.file("links/key"));
  std::optional<LinkTemplate> loaded = load_link_template(dir.file("links/key"));
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->commands, t.commands);
  EXPECT_FALSE(load_link_template(dir.file("links/none")));

  ModuleSpec spec;
  spec.name = "livepatch-fix-v2";
  std::optional<LinkTemplate> next = instantiate(*loaded, spec, "/work/b");
  ASSERT_TRUE(next);
  EXPECT_EQ(next->commands[0],
            "gcc -Wp,-MMD,/work/b/.klp_runtime.o.d -ffile-prefix-map=/work/b/= "
            "-DKBUILD_MODNAME='\"livepatch_fix_v2\"' -D__KBUILD_MODNAME=kmod_livepatch_fix_v2 "
            "-c -o /work/b/klp_runtime.o /work/b/klp_runtime.c");
  EXPECT_EQ(next->commands[4],
            "gcc -Wp,-MMD,/work/b/.livepatch-fix-v2.mod.o.d "
            "-DKBUILD_BASENAME='\"livepatch_fix_v2.mod\"' "
            "-DKBUILD_MODNAME='\"livepatch_fix_v2\"' -D__KBUILD_MODNAME=kmod_livepatch_fix_v2 "
            "-c -o /work/b/livepatch-fix-v2.mod.o /work/b/livepatch-fix-v2.mod.c");
  EXPECT_EQ(next->commands[5], "ld -r -o /work/b/livepatch-fix-v2.ko /work/b/livepatch-fix-v2.o "
                               "/work/b/livepatch-fix-v2.mod.o;  true");

  // kbuild 6.12 compiles .module-common.o beside the runtime and links it into the .ko: a
  // third compile, kept as one through saving, loading and instantiating.
  LinkTemplate common = t;
  common.compiles = 3;
  common.order_suffix = ".o"; // 6.2+ modules.order names the module's .o
  common.commands.insert(common.commands.begin() + 2,
                         "gcc -c -o /tmp/a/module/.module-common.o scripts/module-common.c");
  common.commands.back() += " /tmp/a/module/.module-common.o";
  save_link_template(common, dir.file("links/common"));
  std::optional<LinkTemplate> common_loaded = load_link_template(dir.file("links/common"));
  ASSERT_TRUE(common_loaded);
  EXPECT_EQ(common_loaded->compiles, 3u);
  EXPECT_EQ(common_loaded->order_suffix, ".o");
  EXPECT_EQ(common_loaded->commands, common.commands);
  std::optional<LinkTemplate> common_next = instantiate(*common_loaded, spec, "/work/b");
  ASSERT_TRUE(common_next);
  EXPECT_EQ(common_next->compiles, 3u);
  EXPECT_EQ(common_next->order_suffix, ".o");
  EXPECT_EQ(common_next->commands[2], "gcc -c -o /work/b/.module-common.o scripts/module-common.c");
  // A template of an earlier klp-build (format 1, no count of compiles) is not used.
  write_text(dir.file("links/v1"), "klp-build-link-template 1\ndir /tmp/a/module\nname x\n");
  EXPECT_FALSE(load_link_template(dir.file("links/v1")));

  // The old name somewhere kbuild is not known to put it: no template.
  LinkTemplate odd = t;
  odd.commands[1] += " -DEXTRA=livepatch_fix";
  EXPECT_FALSE(instantiate(odd, spec, "/work/b"));
  odd = t;
  odd.commands[3] += " /elsewhere/livepatch-fix.ko";
  EXPECT_FALSE(instantiate(odd, spec, "/work/b"));
}
