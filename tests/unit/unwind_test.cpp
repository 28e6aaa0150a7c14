// How the create-diff-object binary's unwinder finds a frame's unwind information when an
// exception is thrown (CLI11's --version and --help, every refused change): by binary search in
// the .eh_frame_hdr table, not by first sorting every FDE of the binary into a heap array, which
// a static link's crtbeginT.o asks for by registering .eh_frame (create-diff-object/
// CMakeLists.txt). The sort cost a refused change's run 20 M instructions and 0.4 MiB of peak RSS.
#include <gtest/gtest.h>

#include <string>

#include "test_util.h"

using namespace klp::test;

namespace {

TEST(Unwind, CreateDiffObjectHasAnEhFrameHeader) {
  const RunResult r = run(std::string("readelf -lW ") + KLP_CREATE_DIFF_OBJECT);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("GNU_EH_FRAME"), std::string::npos) << r.out;
}

TEST(Unwind, CreateDiffObjectRegistersNoFrames) {
  // frame_dummy runs before main: crtbeginT.o's calls __register_frame_info, crtbegin.o's and
  // crtbeginS.o's do not.
  const RunResult r = run(std::string("objdump -d --no-show-raw-insn --disassemble=frame_dummy ") +
                          KLP_CREATE_DIFF_OBJECT);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  ASSERT_NE(r.out.find("<frame_dummy>:"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("__register_frame_info"), std::string::npos) << r.out;
}

} // namespace
