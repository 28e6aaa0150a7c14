// The toolchain klp-build drives for a target kernel (kconfig.h: kernel_toolchain()): gcc, or the
// installed clang whose --version matches the config, spelled as kbuild's LLVM=.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>

#include "error.h"
#include "kbuild.h"
#include "kconfig.h"
#include "test_util.h"

using namespace klp;
using namespace klp::test;
namespace fs = std::filesystem;

namespace {

const char *kClang14Config = "CONFIG_LIVEPATCH=y\n"
                             "CONFIG_CC_VERSION_TEXT=\"Debian clang version 14.0.6\"\n"
                             "CONFIG_CC_IS_CLANG=y\n"
                             "CONFIG_CLANG_VERSION=140006\n"
                             "CONFIG_AS_IS_LLVM=y\n"
                             "CONFIG_LD_IS_LLD=y\n";

// A program `dir/name` that prints `version` for --version.
void fake_program(const std::string &dir, const std::string &name, const std::string &version) {
  fs::create_directories(dir);
  write_text(dir + "/" + name, "#!/bin/sh\necho '" + version + "'\necho 'Target: x86_64'\n");
  chmod((dir + "/" + name).c_str(), 0755);
}

// clang, ld.lld and LLVM's binutils of one installation with kbuild's -NN suffix.
void fake_llvm(const std::string &dir, const std::string &suffix, const std::string &version) {
  for (const char *tool : {"clang", "ld.lld", "llvm-ar", "llvm-nm", "llvm-objcopy", "llvm-objdump",
                           "llvm-readelf", "llvm-strip"})
    fake_program(dir, tool + suffix, version);
}

std::string refusal(const KernelConfig &c, const Toolchain &tc) {
  try {
    check_config(c, tc);
  } catch (const Error &e) {
    return e.what();
  }
  return "";
}

} // namespace

TEST(Toolchain, GccConfigDrivesGccWithoutMakeArgs) {
  ScratchDir dir;
  write_text(dir.file("config"), "CONFIG_LIVEPATCH=y\nCONFIG_CC_IS_GCC=y\n"
                                 "CONFIG_CC_VERSION_TEXT=\"gcc (Imaginary) 1.0\"\n");
  Toolchain tc =
      kernel_toolchain(KernelConfig(dir.file("config")), dir.file("bin"), dir.file("lib"));
  EXPECT_EQ(tc.kind, Toolchain::Kind::Gcc);
  EXPECT_EQ(tc.cc, "gcc");
  EXPECT_TRUE(tc.make_args.empty());
}

// Debian's clang-14 (the test kernel's `make LLVM=-14`): CC_VERSION_TEXT names no program; the
// versioned clang-14 that prints it is found and driven through LLVM=-14. Before, the config was
// driven with gcc and refused with "install that compiler", which no install could satisfy.
TEST(Toolchain, ClangConfigPicksTheVersionedClangThatMatches) {
  ScratchDir dir;
  write_text(dir.file("config"), kClang14Config);
  fake_program(dir.file("bin"), "clang", "Debian clang version 16.0.6 (15)");
  fake_llvm(dir.file("bin"), "-14", "Debian clang version 14.0.6");
  KernelConfig c(dir.file("config"));
  Toolchain tc = kernel_toolchain(c, dir.file("bin"), dir.file("lib"));
  EXPECT_EQ(tc.kind, Toolchain::Kind::Clang);
  EXPECT_EQ(tc.cc, "clang-14");
  EXPECT_EQ(tc.hostcc, "clang-14");
  EXPECT_EQ(tc.make_args, std::vector<std::string>{"LLVM=-14"});
  EXPECT_EQ(tc.missing, "");
  EXPECT_EQ(refusal(c, tc), "");

  KbuildTree tree;
  tree.srctree = "/s";
  tree.objtree = "/o";
  tree.cc = tc.cc;
  tree.hostcc = tc.hostcc;
  tree.cc_make_args = tc.make_args;
  tree.launcher = "ccache";
  std::vector<std::string> argv = make_argv(tree, {"fs/a.o"});
  for (const char *want : {"CC=ccache clang-14", "LLVM=-14", "HOSTCC=ccache clang-14"})
    EXPECT_NE(std::find(argv.begin(), argv.end(), want), argv.end()) << want;
}

// The installation's own bin directory when neither name on PATH matches.
TEST(Toolchain, LlvmInstallationDirectory) {
  ScratchDir dir;
  write_text(dir.file("config"), kClang14Config);
  fake_program(dir.file("bin"), "clang-14", "Debian clang version 14.0.5");
  fake_llvm(dir.file("lib") + "/llvm-14/bin", "", "Debian clang version 14.0.6");
  Toolchain tc =
      kernel_toolchain(KernelConfig(dir.file("config")), dir.file("bin"), dir.file("lib"));
  EXPECT_EQ(tc.cc, dir.file("lib") + "/llvm-14/bin/clang");
  EXPECT_EQ(tc.make_args, std::vector<std::string>{"LLVM=" + dir.file("lib") + "/llvm-14/bin/"});
}

TEST(Toolchain, ClangOnPathIsLlvm1) {
  ScratchDir dir;
  write_text(dir.file("config"), kClang14Config);
  fake_llvm(dir.file("bin"), "", "Debian clang version 14.0.6");
  Toolchain tc =
      kernel_toolchain(KernelConfig(dir.file("config")), dir.file("bin"), dir.file("lib"));
  EXPECT_EQ(tc.cc, "clang");
  EXPECT_EQ(tc.make_args, std::vector<std::string>{"LLVM=1"});
}

// GNU as (LLVM_IAS=0) and GNU ld (no LLD: only CC is clang, no LLVM=).
TEST(Toolchain, ClangWithGnuBinutils) {
  ScratchDir dir;
  write_text(dir.file("config"), "CONFIG_LIVEPATCH=y\n"
                                 "CONFIG_CC_VERSION_TEXT=\"Debian clang version 14.0.6\"\n"
                                 "CONFIG_CC_IS_CLANG=y\nCONFIG_CLANG_VERSION=140006\n"
                                 "CONFIG_AS_IS_GNU=y\nCONFIG_LD_IS_BFD=y\n");
  fake_program(dir.file("bin"), "clang-14", "Debian clang version 14.0.6");
  Toolchain tc =
      kernel_toolchain(KernelConfig(dir.file("config")), dir.file("bin"), dir.file("lib"));
  EXPECT_EQ(tc.cc, "clang-14");
  EXPECT_EQ(tc.make_args, std::vector<std::string>{"LLVM_IAS=0"});
  EXPECT_EQ(tc.missing, "");
}

TEST(Toolchain, RefusesClangConfigWithoutMatchingClangAndSaysWhatToInstall) {
  ScratchDir dir;
  write_text(dir.file("config"), kClang14Config);
  KernelConfig c(dir.file("config"));
  // Nothing installed.
  std::string msg = refusal(c, kernel_toolchain(c, dir.file("empty"), dir.file("lib")));
  EXPECT_NE(msg.find("'Debian clang version 14.0.6' but no clang is installed (looked for clang, "
                     "clang-14, " +
                     dir.file("lib") + "/llvm-14/bin/clang)"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("apt-get install clang-14 lld-14 llvm-14"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("--compiler-launcher"), std::string::npos) << msg;
  // Another patch release of clang-14.
  fake_llvm(dir.file("bin"), "-14", "Debian clang version 14.0.5");
  msg = refusal(c, kernel_toolchain(c, dir.file("bin"), dir.file("lib")));
  EXPECT_NE(msg.find("clang-14 is 'Debian clang version 14.0.5'"), std::string::npos) << msg;
  // The right clang without lld.
  ScratchDir dir2;
  fake_program(dir2.file("bin"), "clang-14", "Debian clang version 14.0.6");
  msg = refusal(c, kernel_toolchain(c, dir2.file("bin"), dir2.file("lib")));
  EXPECT_NE(msg.find("clang-14 matches but ld.lld-14, llvm-ar-14"), std::string::npos) << msg;
}

// A clang that is no distribution's package: no apt hint, the PATH remedy.
TEST(Toolchain, RefusesUpstreamClangWithPathRemedy) {
  ScratchDir dir;
  write_text(dir.file("config"),
             "CONFIG_LIVEPATCH=y\nCONFIG_CC_IS_CLANG=y\nCONFIG_CLANG_VERSION=170000\n"
             "CONFIG_LD_IS_LLD=y\nCONFIG_AS_IS_LLVM=y\n"
             "CONFIG_CC_VERSION_TEXT=\"clang version 17.0.0 (https://github.com/llvm/llvm-project "
             "abc)\"\n");
  KernelConfig c(dir.file("config"));
  std::string msg = refusal(c, kernel_toolchain(c, dir.file("empty"), dir.file("lib")));
  EXPECT_NE(msg.find("install clang 17.0.0 with lld and LLVM's binutils and put its bin directory "
                     "first in PATH"),
            std::string::npos)
      << msg;
}

TEST(Toolchain, ClangConfigWithoutLivepatchIsRefusedForThat) {
  ScratchDir dir;
  write_text(dir.file("config"), "CONFIG_CC_IS_CLANG=y\nCONFIG_CLANG_VERSION=140006\n");
  KernelConfig c(dir.file("config"));
  EXPECT_NE(refusal(c, kernel_toolchain(c, dir.file("empty"), dir.file("lib")))
                .find("CONFIG_LIVEPATCH is not set"),
            std::string::npos);
}
