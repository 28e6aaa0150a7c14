// Building single objects by kbuild's descent (klp-build/descend.h): the MAKEFLAGS a direct
// descent gets, the recorded environment, and a descent through a stand-in Makefile.build.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "descend.h"
#include "error.h"
#include "test_util.h"

using namespace klp;
using namespace klp::test;
namespace fs = std::filesystem;

TEST(KlpBuildDescend, MakeflagsLoseTheJobserverAndTheCapture) {
  std::string recorded = "rRs -I/src -j2 --jobserver-auth=3,4 --no-print-directory "
                         "--eval=.:\\ .klp-build-record-descend "
                         "--eval=.klp-build-record-descend:\\ prepare\\ ;\\ @env\\ -0 -- "
                         "O=/build KCFLAGS=-ffunction-sections\\ -fdata-sections CC=gcc-12";
  EXPECT_EQ(descend_makeflags(recorded), "rRs -I/src --no-print-directory -- O=/build "
                                         "KCFLAGS=-ffunction-sections\\ -fdata-sections CC=gcc-12");
  EXPECT_EQ(descend_makeflags("rR -j4"), "rR");
}

// A tree whose top Makefile descends as 6.1's does, with a Makefile.build that writes what it
// sees into the goal.
struct DescendTree {
  ScratchDir dir;
  KbuildTree tree;
  DescendTree() {
    tree.srctree = dir.file("src");
    tree.objtree = dir.file("build");
    tree.jobs = 2;
    fs::create_directories(tree.srctree + "/scripts");
    fs::create_directories(tree.objtree + "/sub");
    write_text(tree.srctree + "/Makefile",
               "$(build-dir): prepare\n"
               "\t$(Q)$(MAKE) $(build)=$@ need-builtin=1 need-modorder=1 $(single-goals)\n");
    write_text(tree.srctree + "/scripts/Makefile.build",
               "%.o: FORCE\n\t@echo '$(obj) $(KLP_MADE) $(KLP_CMDLINE) [$(KLP_OWN)]' > $@\n"
               "FORCE:\n");
  }
};

TEST(KlpBuildDescend, RecordsTheDifferenceAndDescendsWithIt) {
  DescendTree t;
  // Without a recorded environment there is no descent.
  EXPECT_FALSE(descend_objects(t.tree, {"sub/a.o"}));
  EXPECT_FALSE(fs::exists(t.tree.objtree + "/sub/a.o"));

  // What the capture rule wrote: a variable the top Makefile exports, its command-line
  // variables in MAKEFLAGS, and no KLP_OWN (the top Makefile unexported it).
  setenv("KLP_OWN", "mine", 1);
  std::string raw = std::string("KLP_MADE=made") + '\0' +
                    "MAKEFLAGS=rR -j2 --jobserver-auth=3,4 -- KLP_CMDLINE=cmd" + '\0' +
                    "MFLAGS=-rR -j2" + '\0' + "PATH=" + getenv("PATH") + '\0';
  write_text(t.tree.objtree + "/.klp-build-descend.raw", raw);
  record_descend_env(t.tree);
  EXPECT_FALSE(fs::exists(t.tree.objtree + "/.klp-build-descend.raw"));
  std::string delta = read_text(t.tree.objtree + "/.klp-build-descend");
  EXPECT_NE(delta.find(std::string("+KLP_MADE=made") + '\0'), std::string::npos);
  EXPECT_NE(delta.find(std::string("+MAKEFLAGS=rR -- KLP_CMDLINE=cmd") + '\0'), std::string::npos);
  EXPECT_NE(delta.find(std::string("-KLP_OWN") + '\0'), std::string::npos);
  EXPECT_EQ(delta.find("MFLAGS=-rR"), std::string::npos);
  EXPECT_EQ(delta.find("+PATH="), std::string::npos); // the same as klp-build's own

  ASSERT_TRUE(descend_objects(t.tree, {"sub/a.o"}));
  EXPECT_EQ(read_text(t.tree.objtree + "/sub/a.o"), ". made cmd []\n");
  unsetenv("KLP_OWN");

  // A top Makefile that descends another way (5.10's per-directory build-dirs).
  write_text(t.tree.srctree + "/Makefile", "$(build-dirs): prepare\n\t$(Q)$(MAKE) $(build)=$@\n");
  EXPECT_FALSE(descend_objects(t.tree, {"sub/b.o"}));
}
