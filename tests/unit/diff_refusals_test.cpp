// create-diff-object refusals (exit 2: the difference cannot be live-patched; no output) and bad
// input (exit 1: a one-line message naming the file).
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <sstream>

#include "diff_fixture.h"

using namespace klp;
using namespace klp::test;

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// The first output line mentioning `what`, or "".
std::string line_with(const std::string &out, const std::string &what) {
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line))
    if (line.find(what) != std::string::npos)
      return line;
  return "";
}

} // namespace

// 12a. A global's initial value changed.
TEST(DiffRefusals, ChangedInitialValueOfGlobal) {
  DiffCase c("refuse_data_value");
  ASSERT_NE(c.orig_object()->find_symbol("max_sessions"), nullptr);
  RunResult r = c.run();
  expect_no_output(c, r, kExitUnpatchable);
  std::string l = lower(line_with(r.out, "max_sessions"));
  ASSERT_FALSE(l.empty()) << "the message must name the symbol\n" << r.out;
  EXPECT_TRUE(l.find("shadow") != std::string::npos || l.find("callback") != std::string::npos)
      << "the message must suggest shadow variables or callbacks: " << l;
}

// 12b. A static array's size changed.
TEST(DiffRefusals, ResizedStaticArray) {
  DiffCase c("refuse_data_size");
  auto orig = c.orig_object();
  auto patched = c.patched_object();
  Symbol *o = orig->find_symbol("slot_owner");
  Symbol *p = patched->find_symbol("slot_owner");
  ASSERT_TRUE(o && p) << "GCC dropped the array";
  ASSERT_EQ(o->size, 16u);
  ASSERT_EQ(p->size, 32u);
  RunResult r = c.run();
  expect_no_output(c, r, kExitUnpatchable);
  std::string l = line_with(r.out, "slot_owner");
  ASSERT_FALSE(l.empty()) << "the message must name the symbol\n" << r.out;
  l = lower(l);
  EXPECT_TRUE(l.find("shadow") != std::string::npos || l.find("callback") != std::string::npos)
      << "the message must suggest shadow variables or callbacks: " << l;
}

// 12c. An __init function changed.
TEST(DiffRefusals, ChangedInitFunction) {
  DiffCase c("refuse_init");
  ASSERT_NE(c.patched_object()->find_section(".init.text"), nullptr);
  RunResult r = c.run();
  expect_no_output(c, r, kExitUnpatchable);
  EXPECT_TRUE(r.out.find("setup_table") != std::string::npos ||
              r.out.find(".init.text") != std::string::npos)
      << "the message must name the function or its section\n"
      << r.out;
}

// 12c'. A COMDAT section group gained a member: refused, naming the group and the remedy.
TEST(DiffRefusals, ChangedSectionGroup) {
  DiffCase c("refuse_group");
  ASSERT_NE(c.patched_object()->find_section(".rodata.klp_grp"), nullptr);
  RunResult r = c.run();
  expect_no_output(c, r, kExitUnpatchable);
  std::string l = line_with(r.out, "section group 'klp_grp'");
  ASSERT_FALSE(l.empty()) << "the message must name the group\n" << r.out;
  EXPECT_NE(l.find("(.group)"), std::string::npos) << "the message must name the section: " << l;
  EXPECT_NE(l.find("make the change in a function outside the group"), std::string::npos)
      << "the message must say what to do: " << l;
}

// 12d. A notrace function (no __fentry__ call, no __mcount_loc entry) changed.
TEST(DiffRefusals, ChangedNotraceFunction) {
  DiffCase c("refuse_notrace");
  auto patched = c.patched_object();
  for (const std::string &t : mcount_targets(*patched))
    ASSERT_NE(t, "read_clock") << "read_clock is traced after all";
  ASSERT_TRUE(relocs_to(*patched, ".text.read_clock", "__fentry__").empty());
  RunResult r = c.run();
  expect_no_output(c, r, kExitUnpatchable);
  EXPECT_FALSE(line_with(r.out, "read_clock").empty()) << "the message must name the function\n"
                                                       << r.out;
}

// 12e. A jump label whose key lives in the target module.
TEST(DiffRefusals, JumpLabelWithModuleKey) {
  DiffCase c("jump_label", with_target("klp_test_mod"));
  RunResult r = c.run();
  expect_no_output(c, r, kExitUnpatchable);
  EXPECT_FALSE(line_with(r.out, "trace_enabled").empty() && line_with(r.out, "traced_op").empty())
      << "the message must name the key or the function\n"
      << r.out;
}

// 12f. The refusal also holds through the positional form.
TEST(DiffRefusals, PositionalFormRefusesToo) {
  DiffCase c("refuse_data_value");
  RunResult r = c.run_positional();
  expect_no_output(c, r, kExitUnpatchable);
}

// 13a. A missing input file: exit 1, naming it.
TEST(DiffInput, MissingOrigObject) {
  DiffCase c("changed_function");
  std::filesystem::remove(c.orig);
  RunResult r = c.run();
  EXPECT_EQ(r.exit_code, kExitError) << r.out;
  EXPECT_FALSE(c.output_exists());
  EXPECT_NE(r.out.find(c.orig), std::string::npos) << "the message must name the file\n" << r.out;
}

TEST(DiffInput, MissingPatchedObject) {
  DiffCase c("changed_function");
  std::filesystem::remove(c.patched);
  RunResult r = c.run();
  EXPECT_EQ(r.exit_code, kExitError) << r.out;
  EXPECT_FALSE(c.output_exists());
  EXPECT_NE(r.out.find("patched.o"), std::string::npos) << r.out;
}

TEST(DiffInput, MissingSymvers) {
  DiffCase c("changed_function");
  std::filesystem::remove(c.symvers);
  RunResult r = c.run();
  EXPECT_EQ(r.exit_code, kExitError) << r.out;
  EXPECT_FALSE(c.output_exists());
  EXPECT_NE(r.out.find("Module.symvers"), std::string::npos) << r.out;
}

// 13b. A non-ELF input: exit 1, naming it.
TEST(DiffInput, NonElfPatchedObject) {
  DiffCase c("changed_function");
  write_text(c.patched, "this is not an ELF object\n");
  RunResult r = c.run();
  EXPECT_EQ(r.exit_code, kExitError) << r.out;
  EXPECT_FALSE(c.output_exists());
  EXPECT_NE(r.out.find(c.patched), std::string::npos) << "the message must name the file\n"
                                                      << r.out;
}

TEST(DiffInput, NonElfOrigObjectPositional) {
  DiffCase c("changed_function");
  write_text(c.orig, "garbage");
  RunResult r = c.run_positional();
  EXPECT_EQ(r.exit_code, kExitError) << r.out;
  EXPECT_FALSE(c.output_exists());
  EXPECT_NE(r.out.find(c.orig), std::string::npos) << r.out;
}

// Bad input messages are one line (the tool may print decision lines before, but the error
// itself names the file on the line that reports it).
TEST(DiffInput, ErrorMessageIsOneLine) {
  DiffCase c("changed_function");
  write_text(c.orig, "garbage");
  RunResult r = c.run();
  ASSERT_EQ(r.exit_code, kExitError) << r.out;
  std::string l = line_with(r.out, c.orig);
  EXPECT_FALSE(l.empty()) << r.out;
  size_t lines = std::count(r.out.begin(), r.out.end(), '\n');
  EXPECT_LE(lines, 1u) << r.out;
}
