// Feature tests of create-diff-object: one testdata/diff/<case>/ per behaviour, built with GCC 12
// (and clang-14 in diff_clang_test.cpp), diffed by the real binary, and checked on the output
// object's functions, relocations, descriptors and special sections. See diff_fixture.h for how a
// case is built.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "bundle.h"
#include "diff_fixture.h"

using namespace klp;
using namespace klp::test;

namespace {

using Names = std::set<std::string>;

bool has(const std::string &out, const std::string &what) {
  return out.find(what) != std::string::npos;
}

} // namespace

// The query helpers themselves, on a hand-written object shaped like the tool's output, so that
// a failing feature test points at the tool and not at the decoding.
TEST(DiffFixture, QueriesDecodeAHandWrittenOutput) {
  ScratchDir dir;
  write_text(dir.file("gold.s"), R"(	.section .text.changed_show,"ax",@progbits
	.globl changed_show
	.type changed_show,@function
changed_show:
1:	call __fentry__
	call ".klp.sym.vmlinux.helper,2"
	movq $.LC0, %rdi
	call printk
	movl changed_limit_ref(%rip), %eax
	ret
	.size changed_show, .-changed_show
	.pushsection __mcount_loc,"a",@progbits
	.quad 1b
	.popsection
	.set changed_limit_ref, ".klp.sym.vmlinux.changed_limit,0"
	.section .rodata.changed_show.str1.1,"aMS",@progbits,1
.LC0:	.string "changed_show %d\n"
	.section .rodata.klp_strings,"a",@progbits
.Lname:	.string "changed_show"
.Lobj:	.string "vmlinux"
	.section __klp_funcs,"aw",@progbits
	.quad changed_show
	.quad .Lname
	.quad .Lobj
	.quad 2
	.globl ".klp.sym.vmlinux.helper,2"
	.globl ".klp.sym.vmlinux.changed_limit,0"
)");
  RunResult as = run("as -o " + dir.file("gold.o") + " " + dir.file("gold.s"));
  ASSERT_EQ(as.exit_code, 0) << as.out;
  auto obj = Object::load(dir.file("gold.o"));
  EXPECT_EQ(functions(*obj), Names{"changed_show"});
  EXPECT_EQ(klp_syms(*obj),
            (Names{".klp.sym.vmlinux.helper,2", ".klp.sym.vmlinux.changed_limit,0"}));
  EXPECT_EQ(plain_undefined(*obj), (Names{"__fentry__", "printk"}));
  EXPECT_EQ(reloc_targets(*obj, ".text.changed_show"),
            (Names{"__fentry__", ".klp.sym.vmlinux.helper,2", ".rodata.changed_show.str1.1",
                   "printk", ".klp.sym.vmlinux.changed_limit,0"}));
  expect_klp_reloc(*obj, ".text.changed_show", ".klp.sym.vmlinux.helper,2");
  expect_plain_reloc(*obj, ".text.changed_show", "printk");
  EXPECT_TRUE(contains_string(*obj, "changed_show %d\n"));
  bool str = false;
  for (const Relocation *r : relocs_in(*obj, ".text.changed_show"))
    str |= r->sym && string_at(*r->sym, r->addend) == "changed_show %d\n";
  EXPECT_TRUE(str);
  std::vector<KlpFunc> f = klp_funcs(*obj);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].new_func, "changed_show");
  EXPECT_EQ(f[0].old_name, "changed_show");
  EXPECT_EQ(f[0].objname, "vmlinux");
  EXPECT_EQ(f[0].sympos, 2u);
  EXPECT_EQ(mcount_targets(*obj), std::vector<std::string>{"changed_show"});
  EXPECT_EQ(link_relocatable(dir.file("gold.o"), dir.file("linked.o")).exit_code, 0);
}

// 1. Nothing differs: exit 3, no output.
TEST(DiffFeatures, IdenticalObjectsAreNoChange) {
  DiffCase c("identical");
  RunResult r = c.run();
  expect_no_output(c, r, kExitNoChange);
}

// 2. One changed function: only it, its descriptor, and references to the running kernel.
TEST(DiffFeatures, ChangedFunctionOnly) {
  DiffCase c("changed_function");
  RunResult r = c.run();
  ASSERT_EQ(r.exit_code, kExitOk) << r.out;
  EXPECT_TRUE(has(r.out, "changed function: changed_show")) << r.out;
  EXPECT_FALSE(has(r.out, "changed function: unchanged_show")) << r.out;
  EXPECT_FALSE(has(r.out, "changed function: helper")) << r.out;
  auto out = c.output_object();

  EXPECT_EQ(functions(*out), Names{"changed_show"}) << context(c, r);
  EXPECT_NE(out->find_section(".text.changed_show"), nullptr);
  EXPECT_EQ(out->find_section(".text.unchanged_show"), nullptr);
  EXPECT_EQ(out->find_section(".text.helper"), nullptr);
  Symbol *fn = out->find_symbol("changed_show");
  ASSERT_NE(fn, nullptr);
  EXPECT_TRUE(fn->is_func());
  EXPECT_EQ(fn->sec, out->find_section(".text.changed_show"));

  // The unchanged static helper and the non-exported global stay in the running kernel.
  expect_klp_reloc(*out, ".text.changed_show", ".klp.sym.vmlinux.helper,0");
  expect_klp_reloc(*out, ".text.changed_show", ".klp.sym.vmlinux.changed_limit,0");
  // Exported symbols stay ordinary undefined symbols.
  expect_plain_reloc(*out, ".text.changed_show", "printk");
  expect_plain_reloc(*out, ".text.changed_show", "__fentry__");
  EXPECT_EQ(klp_syms(*out),
            (Names{".klp.sym.vmlinux.helper,0", ".klp.sym.vmlinux.changed_limit,0"}));
  EXPECT_FALSE(klp_syms(*out).count(".klp.sym.vmlinux.printk,0"));
  // No copy of the helper's state or of the helper itself.
  EXPECT_EQ(out->find_symbol("helper"), nullptr);
  EXPECT_EQ(out->find_symbol("nr_shown"), nullptr);
  // The string the function prints is carried along.
  EXPECT_TRUE(contains_string(*out, "changed_show %d\n"));
  expect_descriptors_complete(*out, *c.orig_object());
  expect_well_formed(*out, c);

  std::vector<KlpFunc> funcs = klp_funcs(*out);
  ASSERT_EQ(funcs.size(), 1u) << context(c, r);
  EXPECT_EQ(funcs[0].new_func, "changed_show");
  EXPECT_EQ(funcs[0].old_name, "changed_show");
  EXPECT_EQ(funcs[0].objname, "vmlinux");
  EXPECT_EQ(funcs[0].sympos, 0u);
}

// 2b. A global of the object that the target exports is referenced by its plain name.
TEST(DiffFeatures, ExportedGlobalOfTheObjectStaysPlain) {
  DiffOptions o;
  o.extra_exports = {"changed_limit"};
  DiffCase c("changed_function", o);
  RunResult r = c.run();
  ASSERT_EQ(r.exit_code, kExitOk) << r.out;
  auto out = c.output_object();
  expect_plain_reloc(*out, ".text.changed_show", "changed_limit");
  EXPECT_EQ(out->find_symbol("changed_limit")->bind, STB_GLOBAL);
  EXPECT_EQ(klp_syms(*out), Names{".klp.sym.vmlinux.helper,0"});
  expect_descriptors_complete(*out, *c.orig_object());
  expect_well_formed(*out, c);
}

// 3. /proc/cmdline: only a string literal changes.
TEST(DiffFeatures, ChangedStringLiteral) {
  DiffCase c("changed_string");
  RunResult r = c.run();
  ASSERT_EQ(r.exit_code, kExitOk) << r.out;
  EXPECT_TRUE(has(r.out, "changed function: cmdline_proc_show")) << r.out;
  auto out = c.output_object();
  EXPECT_EQ(functions(*out), Names{"cmdline_proc_show"}) << context(c, r);
  EXPECT_EQ(out->find_section(".init.text"), nullptr) << "the unchanged __init caller is included";

  // GCC 12 keeps the function's strings in their own section; it is carried with the new text.
  Section *str = out->find_section(".rodata.cmdline_proc_show.str1.1");
  ASSERT_NE(str, nullptr) << context(c, r);
  std::string_view contents((const char *)str->data.data(), str->data.size());
  EXPECT_NE(contents.find("%s livepatch=cmdline\n"), std::string_view::npos);

  // The format argument points at the new string.
  bool found = false;
  for (const Relocation *rel : relocs_in(*out, ".text.cmdline_proc_show"))
    if (rel->sym && string_at(*rel->sym, rel->addend) == "%s livepatch=cmdline\n")
      found = true;
  EXPECT_TRUE(found) << "no relocation of the function points at the patched format string\n"
                     << context(c, r);

  expect_klp_reloc(*out, ".text.cmdline_proc_show", ".klp.sym.vmlinux.saved_command_line,0");
  expect_plain_reloc(*out, ".text.cmdline_proc_show", "seq_printf");
  expect_descriptors_complete(*out, *c.orig_object());
  expect_well_formed(*out, c);
  auto f = klp_func(*out, "cmdline_proc_show");
  ASSERT_TRUE(f) << context(c, r);
  EXPECT_EQ(f->new_func, "cmdline_proc_show");
  EXPECT_EQ(f->objname, "vmlinux");
  EXPECT_EQ(f->sympos, 0u);
  EXPECT_EQ(klp_funcs(*out).size(), 1u);
}

// 4. A new static function called by the changed one.
TEST(DiffFeatures, NewFunctionIsIncludedWithoutDescriptor) {
  DiffCase c("new_function");
  RunResult r = c.run();
  ASSERT_EQ(r.exit_code, kExitOk) << r.out;
  EXPECT_TRUE(has(r.out, "changed function: submit_request")) << r.out;
  EXPECT_TRUE(has(r.out, "new function: validate_request")) << r.out;
  auto out = c.output_object();
  EXPECT_EQ(functions(*out), (Names{"submit_request", "validate_request"})) << context(c, r);
  EXPECT_NE(out->find_section(".text.validate_request"), nullptr);

  // The call is resolved inside the patch module.
  expect_local_reloc(*out, ".text.submit_request", "validate_request");
  for (const std::string &k : klp_syms(*out))
    EXPECT_EQ(k.find("validate_request"), std::string::npos) << k;
  EXPECT_TRUE(klp_syms(*out).empty()) << ::testing::PrintToString(klp_syms(*out));

  std::vector<KlpFunc> funcs = klp_funcs(*out);
  ASSERT_EQ(funcs.size(), 1u) << context(c, r);
  EXPECT_EQ(funcs[0].old_name, "submit_request");
  EXPECT_EQ(funcs[0].new_func, "submit_request");
  expect_descriptors_complete(*out, *c.orig_object());
  expect_well_formed(*out, c);
}

// 5. New static and global data.
TEST(DiffFeatures, NewDataIsIncluded) {
  DiffCase c("new_data");
  RunResult r = c.run();
  ASSERT_EQ(r.exit_code, kExitOk) << r.out;
  EXPECT_TRUE(has(r.out, "changed function: do_transfer")) << r.out;
  auto out = c.output_object();
  EXPECT_EQ(functions(*out), Names{"do_transfer"}) << context(c, r);

  Section *bss = out->find_section(".bss.nr_retries");
  Section *data = out->find_section(".data.retry_budget");
  ASSERT_NE(bss, nullptr) << context(c, r);
  ASSERT_NE(data, nullptr) << context(c, r);
  EXPECT_EQ(bss->type(), (uint32_t)SHT_NOBITS);
  EXPECT_EQ(bss->size(), 8u);
  ASSERT_EQ(data->size(), 4u);
  EXPECT_EQ(data->data[0], 8) << "initial value of retry_budget";
  Symbol *nr = out->find_symbol("nr_retries");
  Symbol *budget = out->find_symbol("retry_budget");
  ASSERT_NE(nr, nullptr);
  ASSERT_NE(budget, nullptr);
  EXPECT_EQ(nr->sec, bss);
  EXPECT_EQ(budget->sec, data);
  EXPECT_TRUE(nr->is_object());
  EXPECT_TRUE(budget->is_object());

  expect_local_reloc(*out, ".text.do_transfer", "nr_retries");
  expect_local_reloc(*out, ".text.do_transfer", "retry_budget");
  EXPECT_TRUE(klp_syms(*out).empty()) << ::testing::PrintToString(klp_syms(*out));
  EXPECT_EQ(klp_funcs(*out).size(), 1u);
  expect_descriptors_complete(*out, *c.orig_object());
  expect_well_formed(*out, c);
}

// 6. A stateful function-local static keeps the running kernel's copy, by the orig name.
TEST(DiffFeatures, StaticLocalUsesOriginalNumbering) {
  DiffCase c("static_local");
  // Make sure GCC still numbers the statics the way the case relies on.
  auto orig = c.orig_object();
  auto patched = c.patched_object();
  ASSERT_NE(orig->find_symbol("count.0"), nullptr) << DiffCase::dump(c.orig);
  ASSERT_NE(patched->find_symbol("count.1"), nullptr) << DiffCase::dump(c.patched);
  ASSERT_EQ(orig->find_symbol("peeks.1") != nullptr, true);
  ASSERT_EQ(patched->find_symbol("peeks.2") != nullptr, true);
  ASSERT_FALSE(relocs_to(*patched, ".text.record_event", "count.1").empty());

  RunResult r = c.run();
  ASSERT_EQ(r.exit_code, kExitOk) << r.out;
  EXPECT_TRUE(has(r.out, "changed function: record_event")) << r.out;
  EXPECT_TRUE(has(r.out, "new function: count_resets")) << r.out;
  EXPECT_FALSE(has(r.out, "peek_events")) << "renumbered peeks.1 -> peeks.2 is not a change\n"
                                          << r.out;
  auto out = c.output_object();
  EXPECT_EQ(functions(*out), (Names{"record_event", "count_resets"})) << context(c, r);

  // record_event's count is the kernel's count.0, whatever the patched object calls it.
  expect_klp_reloc(*out, ".text.record_event", ".klp.sym.vmlinux.count.0,0");
  EXPECT_FALSE(klp_syms(*out).count(".klp.sym.vmlinux.count.1,0"));
  EXPECT_EQ(klp_syms(*out), Names{".klp.sym.vmlinux.count.0,0"});
  // count_resets' own static is new data, referenced locally.
  const Section *site = out->find_section(".text.count_resets");
  ASSERT_NE(site, nullptr);
  bool local_count = false;
  for (const Relocation *rel : relocs_in(*out, ".text.count_resets")) {
    const Symbol *s = reloc_target_symbol(*out, *site, *rel);
    EXPECT_FALSE(s && is_klp_sym(*s)) << "count_resets refers to " << s->name;
    if (s && s->sec && s->is_object() && s->name.rfind("count.", 0) == 0)
      local_count = true;
  }
  EXPECT_TRUE(local_count) << context(c, r);

  std::vector<KlpFunc> funcs = klp_funcs(*out);
  ASSERT_EQ(funcs.size(), 1u) << context(c, r);
  EXPECT_EQ(funcs[0].old_name, "record_event");
  expect_descriptors_complete(*out, *c.orig_object());
  expect_well_formed(*out, c);
}

namespace {

// 6b. __UNIQUE_ID_ (__COUNTER__) names shift when a use is added earlier; statics are paired by
// the functions using them, and the changed function keeps its ORIGINAL counter. GCC names the
// counters __UNIQUE_ID_callsN.M, clang <function>.__UNIQUE_ID_callsN.
void check_unique_id_case(const std::string &cc) {
  DiffCase c("unique_id", with_cc(cc));
  auto orig = c.orig_object();
  auto patched = c.patched_object();
  // The counter each function refers to, as the compiler named it.
  auto counter_of = [](const Object &obj, const std::string &fn) {
    Names n;
    for (const std::string &t : reloc_targets(obj, ".text." + fn))
      if (t.find("__UNIQUE_ID_calls") != std::string::npos)
        n.insert(t);
    return n.size() == 1 ? *n.begin() : std::string("?");
  };
  // Its __COUNTER__ value.
  auto number = [](const std::string &name) {
    size_t p = name.find("__UNIQUE_ID_calls");
    return p == std::string::npos ? -1 : atoi(name.c_str() + p + 17);
  };
  std::string orig_open = counter_of(*orig, "open_dev"),
              orig_close = counter_of(*orig, "close_dev");
  std::string new_probe = counter_of(*patched, "probe_dev");
  std::string new_open = counter_of(*patched, "open_dev");
  ASSERT_NE(orig_close, "?") << DiffCase::dump(c.orig);
  ASSERT_NE(new_probe, "?") << DiffCase::dump(c.patched);
  // The case relies on the shift: open_dev's counter in patched has close_dev's orig number.
  ASSERT_NE(number(orig_open), number(new_open)) << orig_open << " " << new_open;
  ASSERT_EQ(number(new_open), number(orig_close)) << orig_close << " " << new_open;

  RunResult r = c.run();
  ASSERT_EQ(r.exit_code, kExitOk) << r.out;
  EXPECT_TRUE(has(r.out, "changed function: close_dev")) << r.out;
  EXPECT_TRUE(has(r.out, "new function: probe_dev")) << r.out;
  EXPECT_FALSE(has(r.out, "changed function: open_dev")) << r.out;
  auto out = c.output_object();
  EXPECT_EQ(functions(*out), (Names{"probe_dev", "close_dev"})) << context(c, r);
  // close_dev keeps the running kernel's counter, by its orig name.
  expect_klp_reloc(*out, ".text.close_dev", ".klp.sym.vmlinux." + orig_close + ",0");
  EXPECT_EQ(klp_syms(*out), Names{".klp.sym.vmlinux." + orig_close + ",0"});
  // probe_dev's counter is new.
  expect_local_reloc(*out, ".text.probe_dev", new_probe);
  expect_descriptors_complete(*out, *orig);
  expect_well_formed(*out, c);
}

} // namespace

TEST(DiffFeatures, UniqueIdStaticsArePairedByTheirUsers) { check_unique_id_case("gcc"); }
TEST(DiffClang, UniqueIdStaticsArePairedByTheirUsers) { check_unique_id_case(KLP_TEST_CLANG); }

// 7. A changed static inline of a header changes every caller.
TEST(DiffFeatures, ChangedHeaderInlineChangesEveryCaller) {
  DiffCase c("header_inline");
  RunResult r = c.run();
  ASSERT_EQ(r.exit_code, kExitOk) << r.out;
  EXPECT_TRUE(has(r.out, "changed function: ring_can_push")) << r.out;
  EXPECT_TRUE(has(r.out, "changed function: ring_report")) << r.out;
  EXPECT_FALSE(has(r.out, "ring_reset")) << r.out;
  auto out = c.output_object();
  EXPECT_EQ(functions(*out), (Names{"ring_can_push", "ring_report"})) << context(c, r);
  Names described;
  for (const KlpFunc &f : klp_funcs(*out))
    described.insert(f.old_name);
  EXPECT_EQ(described, (Names{"ring_can_push", "ring_report"}));
  expect_descriptors_complete(*out, *c.orig_object());
  expect_well_formed(*out, c);
}

// 8. GCC IPA clones (.isra.N, .constprop.N) are patched under their clone names.
TEST(DiffFeatures, IpaClonesArePatchedByCloneName) {
  DiffCase c("ipa_clone");
  Names orig_funcs = functions(*c.orig_object());
  ASSERT_TRUE(orig_funcs.count("dev_weight.isra.0")) << DiffCase::dump(c.orig);
  ASSERT_TRUE(orig_funcs.count("scale.constprop.0")) << DiffCase::dump(c.orig);

  RunResult r = c.run();
  ASSERT_EQ(r.exit_code, kExitOk) << r.out;
  EXPECT_TRUE(has(r.out, "changed function: dev_weight.isra.0")) << r.out;
  EXPECT_TRUE(has(r.out, "changed function: scale.constprop.0")) << r.out;
  auto out = c.output_object();
  EXPECT_EQ(functions(*out), (Names{"dev_weight.isra.0", "scale.constprop.0"})) << context(c, r);
  EXPECT_NE(out->find_section(".text.dev_weight.isra.0"), nullptr);
  EXPECT_NE(out->find_section(".text.scale.constprop.0"), nullptr);

  auto isra = klp_func(*out, "dev_weight.isra.0");
  auto cprop = klp_func(*out, "scale.constprop.0");
  ASSERT_TRUE(isra) << context(c, r);
  ASSERT_TRUE(cprop) << context(c, r);
  EXPECT_EQ(isra->new_func, "dev_weight.isra.0");
  EXPECT_EQ(cprop->new_func, "scale.constprop.0");
  EXPECT_EQ(isra->sympos, 0u);
  EXPECT_EQ(klp_funcs(*out).size(), 2u);
  expect_descriptors_complete(*out, *c.orig_object());
  expect_well_formed(*out, c);
}

// 9. GCC hot/cold splitting: foo and foo.cold travel together, foo.cold as code inside foo (see
// 9a); only foo is described.
TEST(DiffFeatures, ColdPartTravelsWithItsParent) {
  DiffCase c("cold_part");
  auto patched = c.patched_object();
  ASSERT_NE(patched->find_symbol("parse_header.cold"), nullptr)
      << "GCC did not split the cold path\n"
      << DiffCase::dump(c.patched);
  ASSERT_NE(patched->find_section(".text.unlikely.parse_header"), nullptr);

  RunResult r = c.run();
  ASSERT_EQ(r.exit_code, kExitOk) << r.out;
  EXPECT_TRUE(has(r.out, "changed function: parse_header")) << r.out;
  auto out = c.output_object();
  EXPECT_EQ(functions(*out), Names{"parse_header"}) << context(c, r);
  EXPECT_EQ(out->find_symbol("parse_header.cold"), nullptr) << context(c, r);
  EXPECT_EQ(out->find_section(".text.unlikely.parse_header"), nullptr) << context(c, r);

  // Parent and child reach each other inside the function; the child's call stays a call.
  expect_local_reloc(*out, ".text.parse_header", "parse_header");
  expect_plain_reloc(*out, ".text.parse_header", "printk");
  EXPECT_TRUE(klp_syms(*out).empty()) << ::testing::PrintToString(klp_syms(*out));

  std::vector<KlpFunc> funcs = klp_funcs(*out);
  ASSERT_EQ(funcs.size(), 1u) << context(c, r);
  EXPECT_EQ(funcs[0].old_name, "parse_header");
  EXPECT_EQ(mcount_targets(*out), std::vector<std::string>{"parse_header"});
  expect_descriptors_complete(*out, *c.orig_object());
  expect_well_formed(*out, c);
}

// 9a. In the patch object the cold part is code of its parent, not a function of its own: the
// kernel's livepatch stack check covers [new_func, next symbol of the module), so a task sleeping
// in a separate parse_header.cold would not count as running the patch (issue 19).
TEST(DiffFeatures, ColdPartIsMergedIntoItsParent) {
  DiffCase c("cold_part");
  auto patched = c.patched_object();
  cook(*patched);
  const Symbol *cold = patched->find_symbol("parse_header.cold");
  ASSERT_NE(cold, nullptr) << "GCC did not split the cold path\n" << DiffCase::dump(c.patched);
  const Section &cold_sec = *cold->sec;

  RunResult r = c.run("--debug");
  ASSERT_EQ(r.exit_code, kExitOk) << r.out;
  EXPECT_TRUE(has(r.out, "parse_header.cold: included: inside parse_header at +0x")) << r.out;
  auto out = c.output_object();
  EXPECT_EQ(functions(*out), Names{"parse_header"}) << context(c, r);
  EXPECT_EQ(out->find_symbol("parse_header.cold"), nullptr) << context(c, r);
  EXPECT_EQ(out->find_section(".text.unlikely.parse_header"), nullptr) << context(c, r);
  const Symbol *fn = out->find_symbol("parse_header");
  ASSERT_NE(fn, nullptr);
  ASSERT_NE(fn->sec, nullptr);
  const Section &text = *fn->sec;
  EXPECT_EQ(text.name, ".text.parse_header");

  // The cold code, byte for byte, inside the function's range, aligned as its section was.
  auto begin = text.data.begin() + (long)patched->find_symbol("parse_header")->sec->size();
  auto it = std::search(begin, text.data.end(), cold_sec.data.begin(), cold_sec.data.end());
  ASSERT_NE(it, text.data.end()) << context(c, r);
  uint64_t at = (uint64_t)(it - text.data.begin());
  EXPECT_EQ(at % std::max<uint64_t>(cold_sec.shdr.sh_addralign, 1), 0u);
  EXPECT_LE(fn->value, at);
  EXPECT_GE(fn->value + fn->size, at + cold->value + cold->size) << context(c, r);
  EXPECT_EQ(text.size(), at + cold_sec.size());

  // Relocations intact: the cold part's, shifted by `at`; the parent's jumps into the cold part,
  // now to parse_header + the same distance.
  auto shifted = [&](const Relocation &rel, uint64_t by) {
    const Symbol *t = rel.sym;
    int64_t addend = rel.addend;
    if (t == cold) {
      t = cold->parent;
      addend += (int64_t)(at + cold->value);
    }
    std::string name = t->is_section() ? t->sec->name : t->name;
    return hex(rel.offset + by) + " " + std::to_string(rel.type) + " " + name + " " +
           std::to_string(addend);
  };
  std::vector<std::string> want, got;
  for (const Relocation &rel : cold->parent->sec->relocations())
    want.push_back(shifted(rel, 0));
  for (const Relocation &rel : cold_sec.relocations())
    want.push_back(shifted(rel, at));
  for (const Relocation &rel : text.relocations()) {
    ASSERT_NE(rel.sym, nullptr);
    std::string name = rel.sym->is_section() ? rel.sym->sec->name : rel.sym->name;
    got.push_back(hex(rel.offset) + " " + std::to_string(rel.type) + " " + name + " " +
                  std::to_string(rel.addend));
  }
  std::sort(want.begin(), want.end());
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, want) << context(c, r);
  EXPECT_EQ(relocs_to(*out, ".text.parse_header", "parse_header").size(), 2u) << context(c, r);
  expect_plain_reloc(*out, ".text.parse_header", "printk");

  std::vector<KlpFunc> funcs = klp_funcs(*out);
  ASSERT_EQ(funcs.size(), 1u) << context(c, r);
  EXPECT_EQ(funcs[0].new_func, "parse_header");
  EXPECT_EQ(mcount_targets(*out), std::vector<std::string>{"parse_header"});
  expect_well_formed(*out, c);
  // It links.
  EXPECT_EQ(link_relocatable(c.output, c.file("linked.o")).exit_code, 0);
}

// 9a'. The kernel's tables that point into a cold part (__bug_table, __ex_table with its fixup,
// .altinstructions, __jump_table, .static_call_sites, .return_sites, ORC) still point at the same
// instructions once the cold part is inside its parent; entries of unchanged functions are gone.
TEST(DiffFeatures, ColdPartMergeKeepsSpecialSectionEntries) {
  DiffCase c("cold_special");
  RunResult r = c.run();
  ASSERT_EQ(r.exit_code, kExitOk) << r.out;
  auto out = c.output_object();
  EXPECT_EQ(functions(*out), Names{"cold_b"}) << context(c, r);
  const Symbol *fn = out->find_symbol("cold_b");
  ASSERT_NE(fn, nullptr);
  // cold_b is 0x13 bytes, its cold part (0x1c bytes, alignment 1) follows at once.
  EXPECT_EQ(fn->value, 0u);
  EXPECT_EQ(fn->size, 0x13u + 0x1cu) << context(c, r);
  EXPECT_EQ(fn->sec->size(), 0x13u + 0x1cu);
  auto relocs = [&](const std::string &sec) {
    std::vector<std::string> v;
    for (const Relocation *rel : relocs_in(*out, sec))
      v.push_back(hex(rel->offset) + " " + reloc_target(*out, *out->find_section(sec), *rel) +
                  (rel->addend < 0 ? "-" + hex(-rel->addend) : "+" + hex(rel->addend)));
    std::sort(v.begin(), v.end());
    return v;
  };
  using V = std::vector<std::string>;
  // The jump into the cold part (cold_b.cold - 4) and, from the cold part at +0x13, the static
  // call and the jump back to +0x12.
  EXPECT_EQ(relocs(".text.cold_b"), (V{"0x1 __fentry__-0x4", "0x20 __SCT__my_call-0x4",
                                       "0x25 cold_b+0xe", "0x9 cold_b+0xf"}))
      << context(c, r);
  // ud2 at cold +0x0, the faulting load at +0x2 and its fixup at +0x16, the alternative at +0x4,
  // the jump label at +0x7, the static call at +0xc, the ret at +0x1b, the end at +0x1c.
  EXPECT_EQ(relocs("__bug_table"), (V{"0x0 cold_b+0x13", "0x4 .rodata.str1.1+0x0"}));
  EXPECT_EQ(relocs("__ex_table"), (V{"0x0 cold_b+0x15", "0x4 cold_b+0x29"}));
  EXPECT_EQ(relocs(".altinstructions").front(), "0x0 cold_b+0x17");
  EXPECT_EQ(relocs("__jump_table"), (V{"0x0 cold_b+0x1a", "0x4 cold_b+0x12", "0x8 my_key+0x1"}));
  EXPECT_EQ(relocs(".static_call_sites"), (V{"0x0 cold_b+0x1f", "0x4 __SCK__my_call+0x0"}));
  EXPECT_EQ(relocs(".return_sites"), (V{"0x0 cold_b+0x12", "0x4 cold_b+0x2e"}));
  EXPECT_EQ(relocs(".orc_unwind_ip"),
            (V{"0x0 cold_b+0x0", "0x4 cold_b+0x13", "0x8 cold_b+0x13", "0xc cold_b+0x2f"}));
  ASSERT_NE(out->find_section(".orc_unwind"), nullptr);
  EXPECT_EQ(out->find_section(".orc_unwind")->size(), 4u * 6);
  EXPECT_EQ(out->find_section(".orc_unwind")->data[0], 0x20);
  EXPECT_EQ(mcount_targets(*out), std::vector<std::string>{"cold_b"});
  expect_well_formed(*out, c);
}

// 9b. A change only inside the cold part still changes (and patches) the parent.
TEST(DiffFeatures, ChangeInColdPartChangesParent) {
  DiffCase c("cold_child_change");
  auto orig = c.orig_object();
  ASSERT_NE(orig->find_symbol("parse_header.cold"), nullptr) << DiffCase::dump(c.orig);

  RunResult r = c.run();
  ASSERT_EQ(r.exit_code, kExitOk) << r.out;
  EXPECT_TRUE(has(r.out, "changed function: parse_header")) << r.out;
  auto out = c.output_object();
  EXPECT_EQ(functions(*out), Names{"parse_header"}) << context(c, r);
  EXPECT_EQ(out->find_symbol("parse_header.cold"), nullptr) << context(c, r);
  EXPECT_TRUE(contains_string(*out, "bad header magic %x (len %u csum %x)\n"));
  std::vector<KlpFunc> funcs = klp_funcs(*out);
  ASSERT_EQ(funcs.size(), 1u) << context(c, r);
  EXPECT_EQ(funcs[0].old_name, "parse_header");
  expect_descriptors_complete(*out, *c.orig_object());
  expect_well_formed(*out, c);
}

// 9c. GCC partial inlining: a changed foo.part.N is patched under its own name (callers that
// inlined foo's header call it directly), and travels with its parent.
TEST(DiffFeatures, PartialInliningPartIsPatchedItself) {
  DiffCase c("part_child");
  auto patched = c.patched_object();
  ASSERT_NE(patched->find_symbol("report.part.0"), nullptr) << "GCC did not split report\n"
                                                            << DiffCase::dump(c.patched);
  ASSERT_FALSE(relocs_to(*patched, ".text.scan", "report.part.0").empty())
      << "scan no longer calls the part directly";
  ASSERT_EQ(mcount_targets(*patched).size(), 3u);

  RunResult r = c.run();
  ASSERT_EQ(r.exit_code, kExitOk) << r.out;
  EXPECT_TRUE(has(r.out, "changed function: report.part.0")) << r.out;
  EXPECT_FALSE(has(r.out, "changed function: scan")) << r.out;
  auto out = c.output_object();
  EXPECT_EQ(functions(*out), (Names{"report", "report.part.0"})) << context(c, r);
  auto part = klp_func(*out, "report.part.0");
  ASSERT_TRUE(part) << context(c, r);
  EXPECT_EQ(part->new_func, "report.part.0");
  EXPECT_EQ(part->objname, "vmlinux");
  expect_local_reloc(*out, ".text.report", "report.part.0");
  expect_descriptors_complete(*out, *c.orig_object());
  expect_well_formed(*out, c);
}

// 10. __LINE__ immediates alone do not make a function changed.
TEST(DiffFeatures, LineNumberOnlyChangesAreNoChange) {
  DiffCase c("line_numbers");
  RunResult r = c.run();
  expect_no_output(c, r, kExitNoChange);
}

TEST(DiffFeatures, LineNumberChangesBesideARealChange) {
  DiffCase c("line_numbers_and_change");
  RunResult r = c.run();
  ASSERT_EQ(r.exit_code, kExitOk) << r.out;
  EXPECT_TRUE(has(r.out, "changed function: buffer_limit")) << r.out;
  for (const char *f : {"lock_mutex", "copy_to_user_checked", "report_state"})
    EXPECT_FALSE(has(r.out, std::string("changed function: ") + f)) << r.out;
  auto out = c.output_object();
  EXPECT_EQ(functions(*out), Names{"buffer_limit"}) << context(c, r);
  EXPECT_EQ(klp_funcs(*out).size(), 1u);
  expect_descriptors_complete(*out, *c.orig_object());
  expect_well_formed(*out, c);
}

// 11. Per-call-site statics (__warned, __already_done, __func__) are new copies, never .klp.sym.
TEST(DiffFeatures, SpecialStaticsAreNewCopies) {
  DiffCase c("special_statics");
  RunResult r = c.run();
  ASSERT_EQ(r.exit_code, kExitOk) << r.out;
  EXPECT_TRUE(has(r.out, "changed function: set_rate")) << r.out;
  auto out = c.output_object();
  EXPECT_EQ(functions(*out), Names{"set_rate"}) << context(c, r);
  EXPECT_TRUE(klp_syms(*out).empty())
      << "special statics must not be correlated: " << ::testing::PrintToString(klp_syms(*out));

  // GCC 12 names them __warned.N, __already_done.N (both in .data.once) and __func__.N.
  bool warned = false, done = false, func = false;
  for (const std::string &d : data_objects(*out)) {
    warned |= d.rfind("__warned", 0) == 0;
    done |= d.rfind("__already_done", 0) == 0;
    func |= d.rfind("__func__", 0) == 0;
  }
  EXPECT_TRUE(warned && done && func) << context(c, r);
  EXPECT_NE(out->find_section(".data.once"), nullptr);

  // Every data reference of set_rate lands inside the patch module.
  const Section *site = out->find_section(".text.set_rate");
  ASSERT_NE(site, nullptr);
  for (const Relocation *rel : relocs_in(*out, ".text.set_rate")) {
    const Symbol *s = reloc_target_symbol(*out, *site, *rel);
    ASSERT_NE(s, nullptr);
    if (s->is_undefined()) {
      EXPECT_TRUE(c.exports().count(s->name)) << "set_rate refers to undefined " << s->name;
    }
  }
  EXPECT_TRUE(contains_string(*out, "set_rate")) << "__func__ contents";
  expect_descriptors_complete(*out, *c.orig_object());
  expect_well_formed(*out, c);
}

// 14. kpatch's positional command line behaves like the named options.
TEST(DiffFeatures, PositionalFormMatchesNamedOptions) {
  DiffCase c("changed_function");
  RunResult named = c.run();
  ASSERT_EQ(named.exit_code, kExitOk) << named.out;
  auto a = c.output_object();
  std::filesystem::remove(c.output);

  RunResult pos = c.run_positional();
  ASSERT_EQ(pos.exit_code, kExitOk) << pos.out;
  auto b = c.output_object();
  EXPECT_EQ(functions(*a), functions(*b));
  EXPECT_EQ(klp_syms(*a), klp_syms(*b));
  EXPECT_EQ(reloc_targets(*a, ".text.changed_show"), reloc_targets(*b, ".text.changed_show"));
  std::vector<KlpFunc> fa = klp_funcs(*a), fb = klp_funcs(*b);
  ASSERT_EQ(fa.size(), fb.size());
  for (size_t i = 0; i < fa.size(); i++) {
    EXPECT_EQ(fa[i].old_name, fb[i].old_name);
    EXPECT_EQ(fa[i].objname, fb[i].objname);
    EXPECT_EQ(fa[i].sympos, fb[i].sympos);
  }
  EXPECT_TRUE(has(pos.out, "changed function: changed_show")) << pos.out;
}

// 14a. ... except for .cold parts: kpatch's form keeps kpatch's layout (foo.cold a function of its
// own, in its own section), which kpatch-build's later steps and kpatch's unit tests expect.
TEST(DiffFeatures, PositionalFormKeepsColdPartsAsKpatchDoes) {
  DiffCase c("cold_part");
  RunResult r = c.run_positional();
  ASSERT_EQ(r.exit_code, kExitOk) << r.out;
  auto out = c.output_object();
  EXPECT_EQ(functions(*out), (Names{"parse_header", "parse_header.cold"})) << context(c, r);
  const Symbol *cold = out->find_symbol("parse_header.cold");
  ASSERT_NE(cold, nullptr);
  ASSERT_NE(cold->sec, nullptr);
  EXPECT_EQ(cold->sec->name, ".text.unlikely.parse_header");
  expect_local_reloc(*out, ".text.parse_header", "parse_header.cold");
  expect_local_reloc(*out, ".text.unlikely.parse_header", "parse_header");
  std::vector<KlpFunc> funcs = klp_funcs(*out);
  ASSERT_EQ(funcs.size(), 1u) << context(c, r);
  EXPECT_EQ(funcs[0].old_name, "parse_header");
}

TEST(DiffFeatures, PositionalFormReportsNoChange) {
  DiffCase c("identical");
  RunResult r = c.run_positional();
  expect_no_output(c, r, kExitNoChange);
}

// --debug is accepted and does not change the result.
TEST(DiffFeatures, DebugFlagKeepsResult) {
  DiffCase c("changed_function");
  RunResult r = c.run("--debug");
  ASSERT_EQ(r.exit_code, kExitOk) << r.out;
  EXPECT_EQ(functions(*c.output_object()), Names{"changed_show"});
  // One line per decision, each naming the object and the symbol: correlation, comparison,
  // inclusion, special-section entries and references out of the patch.
  for (const char *want : {"patched.o:unchanged_show = ", "patched.o: changed_show: changed: size",
                           "patched.o: changed_show: included: changed",
                           "patched.o:(__mcount_loc): kept 1 of 3 entries",
                           "patched.o: helper: referenced as .klp.sym.vmlinux.helper,0"})
    EXPECT_NE(r.out.find(want), std::string::npos) << "no '" << want << "' in\n" << r.out;
  // Without --debug none of it.
  RunResult quiet = c.run();
  ASSERT_EQ(quiet.exit_code, kExitOk) << quiet.out;
  EXPECT_EQ(quiet.out.find("correlate: "), std::string::npos) << quiet.out;
}

// 15. __mcount_loc keeps one entry per included traced function.
TEST(DiffFeatures, McountLocHasOnlyIncludedFunctions) {
  DiffCase c("changed_function");
  ASSERT_EQ(mcount_targets(*c.patched_object()).size(), 3u) << DiffCase::dump(c.patched);
  RunResult r = c.run();
  ASSERT_EQ(r.exit_code, kExitOk) << r.out;
  auto out = c.output_object();
  Section *mc = out->find_section("__mcount_loc");
  ASSERT_NE(mc, nullptr) << context(c, r);
  EXPECT_EQ(mc->size(), 8u);
  EXPECT_EQ(mcount_targets(*out), std::vector<std::string>{"changed_show"}) << context(c, r);
  // The entry points at the __fentry__ call site, the function's first instruction.
  std::vector<const Relocation *> rs = relocs_in(*out, "__mcount_loc");
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0]->type, (uint32_t)R_X86_64_64);
  int64_t at = (int64_t)rs[0]->sym->value + rs[0]->addend;
  Symbol *fn = out->find_symbol("changed_show");
  ASSERT_NE(fn, nullptr);
  EXPECT_EQ(rs[0]->sym->sec, fn->sec);
  EXPECT_EQ(at, (int64_t)fn->value);
}

TEST(DiffFeatures, McountLocCoversNewFunctions) {
  DiffCase c("new_function");
  RunResult r = c.run();
  ASSERT_EQ(r.exit_code, kExitOk) << r.out;
  std::vector<std::string> t = mcount_targets(*c.output_object());
  std::sort(t.begin(), t.end());
  EXPECT_EQ(t, (std::vector<std::string>{"submit_request", "validate_request"})) << context(c, r);
}

// 16. The output is a valid relocatable object for the linker.
TEST(DiffFeatures, OutputLinksWithLdR) {
  for (const char *name : {"changed_function", "changed_string", "new_function", "new_data",
                           "static_local", "cold_part", "ipa_clone", "special_statics"}) {
    SCOPED_TRACE(name);
    DiffCase c(name);
    RunResult r = c.run();
    if (r.exit_code != kExitOk) {
      ADD_FAILURE() << "exit " << r.exit_code << "\n" << r.out;
      continue;
    }
    RunResult l = link_relocatable(c.output, c.file("linked.o"));
    EXPECT_EQ(l.exit_code, 0) << l.out << "\n" << DiffCase::dump(c.output);
  }
}

// A module target: livepatch symbols and descriptors name the module.
TEST(DiffFeatures, ModuleTargetNamesTheModule) {
  DiffCase c("changed_function", with_target("klp_test_mod"));
  RunResult r = c.run();
  ASSERT_EQ(r.exit_code, kExitOk) << r.out;
  auto out = c.output_object();
  EXPECT_EQ(functions(*out), Names{"changed_show"});
  expect_klp_reloc(*out, ".text.changed_show", ".klp.sym.klp_test_mod.helper,0");
  expect_klp_reloc(*out, ".text.changed_show", ".klp.sym.klp_test_mod.changed_limit,0");
  expect_plain_reloc(*out, ".text.changed_show", "printk");
  std::vector<KlpFunc> funcs = klp_funcs(*out);
  ASSERT_EQ(funcs.size(), 1u) << context(c, r);
  EXPECT_EQ(funcs[0].objname, "klp_test_mod");
  EXPECT_EQ(funcs[0].sympos, 0u);
  expect_descriptors_complete(*out, *c.orig_object());
  expect_well_formed(*out, c);
}

// Same-named symbols in the target: sympos is the 1-based kallsyms position of the right one,
// for .klp.sym names and for the descriptor.
TEST(DiffFeatures, DuplicateNamesUseKallsymsPositions) {
  // A vmlinux kallsyms: another file's static `changed_show` and static `helper` come first, far
  // (> TargetSymtab::kNeighbourWindow entries) from each other and from this object's run, which
  // has its other local, nr_shown, next to its helper.
  std::string k;
  uint64_t addr = 0xffffffff81000000;
  auto line = [&](char type, const std::string &name) {
    char buf[32];
    snprintf(buf, sizeof buf, "%016llx", (unsigned long long)addr);
    addr += 0x10;
    k += std::string(buf) + " " + type + " " + name + "\n";
  };
  line('T', "_stext");
  line('t', "changed_show"); // another file's static of the same name
  for (int i = 0; i < 600; i++)
    line('t', "filler_" + std::to_string(i));
  line('t', "other_file_probe");
  line('t', "helper"); // another file's static helper
  line('t', "other_file_remove");
  for (int i = 0; i < 600; i++)
    line('t', "middle_filler_" + std::to_string(i));
  line('t', "helper"); // ours
  line('T', "changed_show");
  line('T', "unchanged_show");
  line('b', "nr_shown");
  line('D', "changed_limit");
  for (int i = 0; i < 600; i++)
    line('t', "late_filler_" + std::to_string(i));
  line('T', "_etext");

  DiffCase c("changed_function", with_symtab(k));
  RunResult r = c.run();
  ASSERT_EQ(r.exit_code, kExitOk) << r.out;
  auto out = c.output_object();
  expect_klp_reloc(*out, ".text.changed_show", ".klp.sym.vmlinux.helper,2");
  expect_klp_reloc(*out, ".text.changed_show", ".klp.sym.vmlinux.changed_limit,0");
  std::vector<KlpFunc> funcs = klp_funcs(*out);
  ASSERT_EQ(funcs.size(), 1u) << context(c, r);
  EXPECT_EQ(funcs[0].old_name, "changed_show");
  EXPECT_EQ(funcs[0].sympos, 2u) << "the global changed_show is the 2nd of its name";
}

// Special sections: __jump_table keeps the entries of included functions (vmlinux key: fine).
TEST(DiffFeatures, JumpTableKeepsIncludedEntriesForVmlinux) {
  DiffCase c("jump_label");
  ASSERT_EQ(jump_entries(*c.patched_object()).size(), 2u) << DiffCase::dump(c.patched);
  RunResult r = c.run();
  ASSERT_EQ(r.exit_code, kExitOk) << r.out;
  auto out = c.output_object();
  EXPECT_EQ(functions(*out), Names{"traced_op"}) << context(c, r);
  std::vector<JumpEntry> j = jump_entries(*out);
  ASSERT_EQ(j.size(), 1u) << context(c, r);
  EXPECT_EQ(j[0].code, "traced_op");
  EXPECT_EQ(j[0].target, "traced_op");
  EXPECT_EQ(j[0].key, ".klp.sym.vmlinux.trace_enabled,0");
  expect_descriptors_complete(*out, *c.orig_object());
  expect_well_formed(*out, c);
}
