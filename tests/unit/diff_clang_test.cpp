// create-diff-object on clang-14 objects, for the cases where clang's output differs from GCC's:
//   - function-local statics are named <function>.<var> (record_event.count), not <var>.N;
//   - string literals of all functions share one mergeable .rodata.str1.1 (no per-function
//     .rodata.<func>.str1.1);
//   - __func__ is an anonymous string in .rodata.str1.1, and WARN_ONCE's flag is
//     set_rate.__warned (in .data.once);
//   - no .isra/.constprop/.cold clones.
// clang has no -mrecord-mcount on x86; diff_fixture.cpp emulates objtool --mcount.
#include <gtest/gtest.h>

#include <algorithm>

#include "diff_fixture.h"

using namespace klp;
using namespace klp::test;

namespace {

using Names = std::set<std::string>;

DiffOptions clang() { return with_cc(KLP_TEST_CLANG); }

bool has(const std::string &out, const std::string &what) {
  return out.find(what) != std::string::npos;
}

} // namespace

TEST(DiffClang, FixtureEmulatesMcountLoc) {
  DiffCase c("changed_function", clang());
  auto orig = c.orig_object();
  std::vector<std::string> t = mcount_targets(*orig);
  std::sort(t.begin(), t.end());
  EXPECT_EQ(t, (std::vector<std::string>{"changed_show", "helper", "unchanged_show"}))
      << DiffCase::dump(c.orig);
}

TEST(DiffClang, IdenticalObjectsAreNoChange) {
  DiffCase c("identical", clang());
  RunResult r = c.run();
  expect_no_output(c, r, kExitNoChange);
}

TEST(DiffClang, ChangedFunctionOnly) {
  DiffCase c("changed_function", clang());
  RunResult r = c.run();
  ASSERT_EQ(r.exit_code, kExitOk) << r.out;
  EXPECT_TRUE(has(r.out, "changed function: changed_show")) << r.out;
  auto out = c.output_object();
  EXPECT_EQ(functions(*out), Names{"changed_show"}) << context(c, r);
  expect_klp_reloc(*out, ".text.changed_show", ".klp.sym.vmlinux.helper,0");
  expect_klp_reloc(*out, ".text.changed_show", ".klp.sym.vmlinux.changed_limit,0");
  expect_plain_reloc(*out, ".text.changed_show", "printk");
  EXPECT_TRUE(contains_string(*out, "changed_show %d\n"));
  std::vector<KlpFunc> funcs = klp_funcs(*out);
  ASSERT_EQ(funcs.size(), 1u) << context(c, r);
  EXPECT_EQ(funcs[0].old_name, "changed_show");
  EXPECT_EQ(funcs[0].sympos, 0u);
  EXPECT_EQ(mcount_targets(*out), std::vector<std::string>{"changed_show"});
  expect_descriptors_complete(*out, *c.orig_object());
  expect_well_formed(*out, c);
  RunResult l = link_relocatable(c.output, c.file("linked.o"));
  EXPECT_EQ(l.exit_code, 0) << l.out;
}

// clang: one shared .rodata.str1.1 holds the __init function's "cmdline" and the format.
TEST(DiffClang, ChangedStringLiteralInSharedStringSection) {
  DiffCase c("changed_string", clang());
  auto patched = c.patched_object();
  ASSERT_EQ(patched->find_section(".rodata.cmdline_proc_show.str1.1"), nullptr);
  ASSERT_NE(patched->find_section(".rodata.str1.1"), nullptr) << DiffCase::dump(c.patched);

  RunResult r = c.run();
  ASSERT_EQ(r.exit_code, kExitOk) << r.out;
  EXPECT_TRUE(has(r.out, "changed function: cmdline_proc_show")) << r.out;
  auto out = c.output_object();
  EXPECT_EQ(functions(*out), Names{"cmdline_proc_show"}) << context(c, r);
  bool found = false;
  for (const Relocation *rel : relocs_in(*out, ".text.cmdline_proc_show"))
    if (rel->sym && string_at(*rel->sym, rel->addend) == "%s livepatch=cmdline\n")
      found = true;
  EXPECT_TRUE(found) << "no relocation of the function points at the patched format string\n"
                     << context(c, r);
  expect_klp_reloc(*out, ".text.cmdline_proc_show", ".klp.sym.vmlinux.saved_command_line,0");
  expect_descriptors_complete(*out, *c.orig_object());
  expect_well_formed(*out, c);
}

// clang names function-local statics <function>.<name>.
TEST(DiffClang, StaticLocalKeepsKernelCopy) {
  DiffCase c("static_local", clang());
  auto orig = c.orig_object();
  ASSERT_NE(orig->find_symbol("record_event.count"), nullptr) << DiffCase::dump(c.orig);

  RunResult r = c.run();
  ASSERT_EQ(r.exit_code, kExitOk) << r.out;
  EXPECT_TRUE(has(r.out, "changed function: record_event")) << r.out;
  auto out = c.output_object();
  EXPECT_EQ(functions(*out), (Names{"record_event", "count_resets"})) << context(c, r);
  expect_klp_reloc(*out, ".text.record_event", ".klp.sym.vmlinux.record_event.count,0");
  EXPECT_EQ(klp_syms(*out), Names{".klp.sym.vmlinux.record_event.count,0"});
  expect_local_reloc(*out, ".text.count_resets", "count_resets.count");
  expect_descriptors_complete(*out, *c.orig_object());
  expect_well_formed(*out, c);
}

// clang's per-call-site statics: set_rate.__warned / set_rate.__already_done in .data.once.
TEST(DiffClang, SpecialStaticsAreNewCopies) {
  DiffCase c("special_statics", clang());
  auto orig = c.orig_object();
  ASSERT_NE(orig->find_symbol("set_rate.__warned"), nullptr) << DiffCase::dump(c.orig);

  RunResult r = c.run();
  ASSERT_EQ(r.exit_code, kExitOk) << r.out;
  auto out = c.output_object();
  EXPECT_EQ(functions(*out), Names{"set_rate"}) << context(c, r);
  EXPECT_TRUE(klp_syms(*out).empty()) << ::testing::PrintToString(klp_syms(*out));
  EXPECT_NE(out->find_section(".data.once"), nullptr) << context(c, r);
  expect_descriptors_complete(*out, *c.orig_object());
  expect_well_formed(*out, c);
}

TEST(DiffClang, LineNumberOnlyChangesAreNoChange) {
  DiffCase c("line_numbers", clang());
  RunResult r = c.run();
  expect_no_output(c, r, kExitNoChange);
}

TEST(DiffClang, LineNumberChangesBesideARealChange) {
  DiffCase c("line_numbers_and_change", clang());
  RunResult r = c.run();
  ASSERT_EQ(r.exit_code, kExitOk) << r.out;
  auto out = c.output_object();
  EXPECT_EQ(functions(*out), Names{"buffer_limit"}) << context(c, r);
}
