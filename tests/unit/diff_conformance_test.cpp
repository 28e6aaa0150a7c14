// Constructs of real fixes that the differ must see through, each built from source with GCC 12
// and the kernel's flags (diff_fixture.h): the kinds kpatch's unit corpus
// (../shared/kpatch-unit-objs, run by ctest as conformance.kpatch-unit-objs) showed us failing.
#include <gtest/gtest.h>

#include "diff_fixture.h"

using namespace klp;
using namespace klp::test;

namespace {

using Names = std::set<std::string>;

bool has(const std::string &out, const std::string &what) {
  return out.find(what) != std::string::npos;
}

// The data objects of the output that live in section `section`.
Names objects_in(const Object &obj, const std::string &section) {
  Names out;
  for (const Symbol &s : obj.symbols)
    if (s.is_object() && s.sec && s.sec->name == section)
      out.insert(s.name);
  return out;
}

} // namespace

// kpatch's positional form sees one object at a time: a global that neither Module.symvers nor
// the symbol table knows is another object's of the patch module (or the loader's), a normal
// relocation, said under --debug. The named form, which klp-build uses, stays strict.
TEST(DiffConformance, PositionalFormLeavesUnknownGlobalsToTheLinker) {
  DiffOptions o;
  o.not_exported = {"printk"};
  DiffCase c("changed_function", o);
  RunResult strict = c.run();
  EXPECT_EQ(strict.exit_code, kExitError) << strict.out;
  EXPECT_TRUE(has(strict.out, "'printk' is neither exported")) << strict.out;
  EXPECT_FALSE(c.output_exists());

  RunResult r = create_diff_object(c.positional_args() + " --debug");
  ASSERT_EQ(r.exit_code, kExitOk) << r.out;
  EXPECT_TRUE(has(r.out, "reference: 'printk' is neither exported nor in the symbol table of "
                         "vmlinux; left to the linker and the module loader"))
      << r.out;
  auto out = c.output_object();
  expect_plain_reloc(*out, ".text.changed_show", "printk");
  // Locals of the target are still livepatch relocations.
  expect_klp_reloc(*out, ".text.changed_show", ".klp.sym.vmlinux.helper,0");
}

// pr_debug(): quiet_op's descriptor records a shifted __LINE__, which is no change; loud_op
// changed and carries a fresh descriptor, with the jump label keyed by it, even for a module
// target (the key is the patch's own).
TEST(DiffConformance, DynamicDebugDescriptorsGoWithTheirFunction) {
  for (const char *target : {"vmlinux", "klp_test_mod"}) {
    DiffCase c("dyndbg", with_target(target));
    RunResult r = c.run();
    ASSERT_EQ(r.exit_code, kExitOk) << target << "\n" << r.out;
    EXPECT_TRUE(has(r.out, "changed function: loud_op")) << r.out;
    auto out = c.output_object();
    EXPECT_EQ(functions(*out), Names{"loud_op"}) << context(c, r);
    Names ddebug = objects_in(*out, "__dyndbg");
    ASSERT_EQ(ddebug.size(), 1u) << context(c, r);
    // It is loud_op's descriptor: its function field names loud_op.
    const Symbol *desc = out->find_symbol(*ddebug.begin());
    bool names_loud_op = false;
    for (const Relocation &rel : desc->sec->relocations())
      if (rel.offset == desc->value + 8)
        names_loud_op = string_at(*rel.sym, rel.addend) == "loud_op";
    EXPECT_TRUE(names_loud_op) << context(c, r);
    std::vector<JumpEntry> j = jump_entries(*out);
    ASSERT_EQ(j.size(), 1u) << context(c, r);
    EXPECT_EQ(j[0].code, "loud_op");
    EXPECT_EQ(j[0].key, *ddebug.begin());
    expect_well_formed(*out, c);
  }
}

// WARN_ON(): the __bug_table entry's file name is GCC's string label .LC0, which the patch
// carries as the string itself; the entry of the unchanged function is dropped.
TEST(DiffConformance, BugTableFileStringLabel) {
  DiffCase c("bug_table_string");
  ASSERT_NE(c.patched_object()->find_symbol(".LC0"), nullptr)
      << "GCC no longer leaves the label in the symbol table\n"
      << DiffCase::dump(c.patched);
  RunResult r = c.run();
  ASSERT_EQ(r.exit_code, kExitOk) << r.out;
  auto out = c.output_object();
  EXPECT_EQ(functions(*out), Names{"checked_op"}) << context(c, r);
  std::vector<const Relocation *> bug = relocs_in(*out, "__bug_table");
  ASSERT_EQ(bug.size(), 2u) << context(c, r);
  EXPECT_EQ(reloc_target(*out, *out->find_section("__bug_table"), *bug[0]), "checked_op");
  EXPECT_EQ(string_at(*bug[1]->sym, bug[1]->addend), c.file("src/bug_table_string.c"));
  EXPECT_TRUE(klp_syms(*out).empty()) << context(c, r);
  expect_well_formed(*out, c);
}

// __init code whose string moved in a shared string section is unchanged (strings compare by
// content), so only the changed function is patched and nothing is refused. This held before
// kpatch's corpus was run; the test keeps it so (its oot-issue-928 object has the same shape).
TEST(DiffConformance, MovedStringIsNoChange) {
  DiffOptions o;
  o.extra_cflags = "-fno-data-sections";
  DiffCase c("string_moved", o);
  RunResult r = c.run("--debug");
  ASSERT_EQ(r.exit_code, kExitOk) << r.out;
  EXPECT_FALSE(has(r.out, "setup_thing: changed")) << r.out;
  auto out = c.output_object();
  EXPECT_EQ(functions(*out), Names{"changed_op"}) << context(c, r);
  EXPECT_TRUE(contains_string(*out, "new\n"));
}

// UBSAN's source locations record __LINE__: a shifted __init function is unchanged, and the
// changed function carries fresh copies of its location and type data.
TEST(DiffConformance, UbsanDataIsPerCallSite) {
  DiffOptions o;
  o.extra_cflags = "-fsanitize=shift";
  o.not_exported = {"scale"};
  DiffCase c("ubsan_data", o);
  RunResult r = c.run();
  ASSERT_EQ(r.exit_code, kExitOk) << r.out;
  auto out = c.output_object();
  // GCC moves the check's handler call into the cold part, which the output holds inside
  // scaled_op (cold_parts.h).
  EXPECT_EQ(functions(*out), Names{"scaled_op"}) << context(c, r);
  EXPECT_EQ(out->find_section(".text.unlikely.scaled_op"), nullptr) << context(c, r);
  bool data = false;
  for (const std::string &t : reloc_targets(*out, ".text.scaled_op"))
    data |= t.rfind(".data..Lubsan_data", 0) == 0;
  EXPECT_TRUE(data) << context(c, r);
  EXPECT_NE(out->find_section(".data..Lubsan_type0"), nullptr) << context(c, r);
  expect_well_formed(*out, c);
}

// KPATCH_IGNORE_SECTION / KPATCH_IGNORE_FUNCTION as kpatch's own macros emit them, and
// klp-build's KLP_IGNORE_SECTION: what they name is not patched, whatever changed there.
TEST(DiffConformance, IgnoreDirectivesOfKpatch) {
  DiffCase c("kpatch_ignore");
  RunResult r = c.run("--debug");
  ASSERT_EQ(r.exit_code, kExitOk) << r.out;
  EXPECT_TRUE(has(r.out, "setup_thing: unchanged: in .init.text, which KPATCH_IGNORE_SECTION "
                         "ignores"))
      << r.out;
  EXPECT_TRUE(has(r.out, "noisy_op: unchanged: KLP_IGNORE_FUNCTION")) << r.out;
  auto out = c.output_object();
  EXPECT_EQ(functions(*out), Names{"real_op"}) << context(c, r);
  EXPECT_EQ(out->find_section(".kpatch.ignore.functions"), nullptr);
  EXPECT_EQ(out->find_section("__klp_ignore_sections"), nullptr);
}

// Function padding (6.2+): __pfx_ symbols are bundled, correlated and included with their
// function, never patched or reported on their own.
TEST(DiffConformance, PrefixSymbolsGoWithTheirFunction) {
  DiffCase c("prefix_symbols");
  RunResult r = c.run();
  ASSERT_EQ(r.exit_code, kExitOk) << r.out;
  EXPECT_TRUE(has(r.out, "changed function: pfx_a")) << r.out;
  EXPECT_TRUE(has(r.out, "new function: pfx_new")) << r.out;
  EXPECT_FALSE(has(r.out, "__pfx_")) << r.out;
  auto out = c.output_object();
  EXPECT_EQ(functions(*out), (Names{"__pfx_pfx_a", "pfx_a", "__pfx_pfx_new", "pfx_new"}))
      << context(c, r);
  Symbol *fn = out->find_symbol("pfx_a"), *pfx = out->find_symbol("__pfx_pfx_a");
  ASSERT_TRUE(fn && pfx);
  EXPECT_EQ(fn->sec, pfx->sec);
  EXPECT_EQ(pfx->value, 0u);
  EXPECT_EQ(fn->value, 16u);
  std::vector<KlpFunc> f = klp_funcs(*out);
  ASSERT_EQ(f.size(), 1u) << context(c, r);
  EXPECT_EQ(f[0].new_func, "pfx_a");
  EXPECT_EQ(mcount_targets(*out), (std::vector<std::string>{"pfx_a", "pfx_new"}));
  expect_local_reloc(*out, ".text.pfx_a", "pfx_new");
  expect_well_formed(*out, c);
}

// A 6.12 distribution kernel's code generation (call padding without __pfx_ symbols, IBT,
// return thunks, retpolines): the function at +0x10 of its section is bundled with the padding,
// __patchable_function_entries stays behind, the thunks are plain exported references.
TEST(DiffConformance, CallPaddingWithoutPrefixSymbols) {
  DiffOptions o;
  o.extra_cflags = "-fpatchable-function-entry=16,16 -fcf-protection=branch "
                   "-mfunction-return=thunk-extern -mindirect-branch=thunk-extern "
                   "-mindirect-branch-register -mindirect-branch-cs-prefix";
  DiffCase c("call_padding", o);
  ASSERT_EQ(c.patched_object()->find_symbol("changed_op")->value, 16u) << DiffCase::dump(c.patched);
  RunResult r = c.run();
  ASSERT_EQ(r.exit_code, kExitOk) << r.out;
  auto out = c.output_object();
  EXPECT_EQ(functions(*out), Names{"changed_op"}) << context(c, r);
  EXPECT_EQ(out->find_symbol("changed_op")->value, 16u);
  EXPECT_EQ(out->find_section("__patchable_function_entries"), nullptr) << context(c, r);
  expect_plain_reloc(*out, ".text.changed_op", "__x86_return_thunk");
  std::vector<KlpFunc> f = klp_funcs(*out);
  ASSERT_EQ(f.size(), 1u) << context(c, r);
  EXPECT_EQ(f[0].new_func, "changed_op");
  EXPECT_EQ(mcount_targets(*out), std::vector<std::string>{"changed_op"});
  expect_well_formed(*out, c);
}
