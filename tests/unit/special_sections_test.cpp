// Special sections: entry sizes, which entries survive, how the bytes and relocations are
// rewritten, and the refusals. The objects come from testdata/special/ (hand-written assembly in
// the kernel's layouts, and C compiled by GCC with the kernel's flags).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <map>

#include "bundle.h"
#include "entry_size.h"
#include "special_sections.h"
#include "test_util.h"

using namespace klp;
using namespace klp::test;

namespace {

std::unique_ptr<Object> build(const ScratchDir &dir, const std::string &src,
                              const std::string &extra = "") {
  std::string out = dir.file(src.substr(0, src.find('.')) + ".o");
  compile(testdata("special/" + src), out, extra);
  auto obj = Object::load(out);
  cook(*obj);
  return obj;
}

// What the include pass would do for a changed function: the symbol, its section, its children.
void include_function(Object &obj, const std::string &name) {
  Symbol *sym = obj.find_symbol(name);
  ASSERT_NE(sym, nullptr) << name;
  ASSERT_TRUE(sym->is_func()) << name;
  sym->included = true;
  sym->sec->included = true;
  for (Symbol *child : sym->children) {
    child->included = true;
    child->sec->included = true;
  }
}

const char *type_name(uint32_t type) {
  switch (type) {
  case R_X86_64_64:
    return "64";
  case R_X86_64_PC32:
    return "PC32";
  case R_X86_64_PLT32:
    return "PLT32";
  case R_X86_64_PC64:
    return "PC64";
  case R_X86_64_32S:
    return "32S";
  }
  return "?";
}

std::string signed_hex(int64_t v) { return v < 0 ? "-" + hex(-v) : "+" + hex(v); }

// "0x4 PC32 f_b+0x20" for every relocation of the section, sorted.
std::vector<std::string> relocs_of(const Object &obj, const std::string &section) {
  Section *sec = obj.find_section(section);
  EXPECT_NE(sec, nullptr) << section;
  std::vector<std::string> v;
  if (!sec)
    return v;
  for (const Relocation &r : sec->relocations())
    v.push_back(hex(r.offset) + " " + type_name(r.type) + " " + r.sym->name + signed_hex(r.addend));
  std::sort(v.begin(), v.end());
  return v;
}

// Concatenation of [off, off+len) ranges of a saved copy of a section's bytes.
std::vector<uint8_t> slices(const std::vector<uint8_t> &data,
                            std::vector<std::pair<uint64_t, uint64_t>> ranges) {
  std::vector<uint8_t> out;
  for (auto [off, len] : ranges)
    out.insert(out.end(), data.begin() + off, data.begin() + off + len);
  return out;
}

std::map<std::string, std::vector<uint8_t>> save_special(const Object &obj) {
  std::map<std::string, std::vector<uint8_t>> saved;
  for (const Section &sec : obj.sections)
    if (is_special_section(sec))
      saved[sec.name] = sec.data;
  return saved;
}

std::map<std::string, EntrySize> sizes_by_name(const SpecialResult &res) {
  std::map<std::string, EntrySize> m;
  for (const SpecialSectionSize &s : res.sizes)
    m[s.section] = s.size;
  return m;
}

// An environment with exactly these variables.
SpecialSectionOptions with_env(std::map<std::string, std::string> env) {
  SpecialSectionOptions o;
  auto shared = std::make_shared<std::map<std::string, std::string>>(std::move(env));
  o.getenv = [shared](const char *name) -> const char * {
    auto it = shared->find(name);
    return it == shared->end() ? nullptr : it->second.c_str();
  };
  return o;
}

SpecialSectionOptions no_env() { return with_env({}); }

std::string error_of(Object &obj, const SpecialSectionOptions &o) {
  try {
    include_special_sections(obj, o);
  } catch (const Error &e) {
    return e.what();
  }
  return "(no error)";
}

// Every function of tables.S: each table then has entries to keep, so each is sized.
void include_all(Object &obj) {
  for (const char *f : {"f_a", "f_b", "f_c"})
    include_function(obj, f);
}

const std::vector<std::string> kTables = {
    "__bug_table",       "__jump_table",       ".altinstructions", "__ex_table",
    ".parainstructions", ".static_call_sites", ".smp_locks",       ".return_sites",
    "__mcount_loc",      ".orc_unwind_ip",     ".orc_unwind",      ".printk_index"};

} // namespace

TEST(SpecialSections, RecognisesTheKernelsSectionsOnly) {
  ScratchDir dir;
  auto obj = build(dir, "tables.S");
  for (const std::string &name : kTables)
    EXPECT_TRUE(is_special_section(*obj->find_section(name))) << name;
  for (const char *name : {".altinstr_replacement", ".altinstr_aux", ".fixup", ".ibt_endbr_seal"})
    EXPECT_TRUE(is_special_section(*obj->find_section(name))) << name;
  for (const char *name :
       {".text.f_b", ".rodata.str1.1", ".rela__jump_table", ".rodata._entry_f_b"})
    EXPECT_FALSE(is_special_section(*obj->find_section(name))) << name;
}

// Every table of tables.S sized by what the layout itself tells: inference from the relocation
// pattern, the fixed sizes of one-field tables, and .orc_unwind from its partner.
TEST(SpecialSections, SizesFromLayout) {
  ScratchDir dir;
  auto obj = build(dir, "tables.S");
  include_all(*obj);
  std::vector<std::string> log;
  SpecialSectionOptions o = no_env();
  o.log = [&](const std::string &l) { log.push_back(l); };
  SpecialResult res = include_special_sections(*obj, o);
  auto sizes = sizes_by_name(res);
  auto expect = [&](const std::string &sec, uint64_t size, SizeMethod m) {
    ASSERT_TRUE(sizes.count(sec)) << sec;
    EXPECT_EQ(sizes[sec].size, size) << sec;
    EXPECT_EQ(size_method_name(sizes[sec].method), std::string(size_method_name(m))) << sec;
  };
  expect("__bug_table", 12, SizeMethod::Inferred);
  expect("__jump_table", 16, SizeMethod::Inferred);
  expect(".altinstructions", 12, SizeMethod::Inferred);
  expect("__ex_table", 12, SizeMethod::Inferred);
  expect(".parainstructions", 16, SizeMethod::Inferred);
  expect(".static_call_sites", 8, SizeMethod::Inferred);
  expect(".smp_locks", 4, SizeMethod::Fixed);
  expect(".return_sites", 4, SizeMethod::Fixed);
  expect("__mcount_loc", 8, SizeMethod::Fixed);
  expect(".orc_unwind_ip", 4, SizeMethod::Fixed);
  expect(".orc_unwind", 6, SizeMethod::Paired);
  expect(".printk_index", 8, SizeMethod::Fixed);
  EXPECT_NE(
      std::find(log.begin(), log.end(), obj->path + ":(__jump_table): entry size 16 (inferred)"),
      log.end());
}

// Two PC32 relocations per 8-byte entry: only the kind of target (code, then a key) tells the
// fields apart; the 4-byte period of offset and type alone must not win.
TEST(SpecialSections, InferenceNeedsTheTargetKind) {
  ScratchDir dir;
  auto obj = build(dir, "tables.S");
  EXPECT_EQ(infer_entry_size(*obj->find_section(".static_call_sites"), 1), 8u);
  EXPECT_EQ(infer_entry_size(*obj->find_section("__bug_table"), 1), 12u);
  // .orc_unwind has no relocations to infer from.
  EXPECT_EQ(infer_entry_size(*obj->find_section(".orc_unwind"), 1), std::nullopt);
}

// f_b (with f_b.cold) included: exactly its entries remain, at the front of each table, with
// their bytes and relocations; everything of f_a and f_c is gone.
TEST(SpecialSections, KeepsTheEntriesOfIncludedFunctions) {
  ScratchDir dir;
  auto obj = build(dir, "tables.S");
  include_function(*obj, "f_b");
  ASSERT_TRUE(obj->find_symbol("f_b.cold")->included);
  auto before = save_special(*obj);
  SpecialResult res = include_special_sections(*obj, no_env());

  auto sec = [&](const char *n) -> Section & { return *obj->find_section(n); };
  // __bug_table: f_b's entry (0xc) and f_b.cold's (0x18), 12 bytes each.
  EXPECT_EQ(sec("__bug_table").data, slices(before["__bug_table"], {{0xc, 12}, {0x18, 12}}));
  EXPECT_EQ(relocs_of(*obj, "__bug_table"),
            (std::vector<std::string>{"0x0 PC32 f_b+0x0", "0x10 PC32 .rodata.str1.1+0x0",
                                      "0x4 PC32 .rodata.str1.1+0x0", "0xc PC32 f_b.cold+0x0"}));
  // __jump_table: code, target and key of f_b's entry.
  EXPECT_EQ(sec("__jump_table").data, slices(before["__jump_table"], {{0x10, 16}}));
  EXPECT_EQ(
      relocs_of(*obj, "__jump_table"),
      (std::vector<std::string>{"0x0 PC32 f_b+0x2", "0x4 PC32 f_b+0x20", "0x8 PC64 my_key+0x1"}));
  // __ex_table, .parainstructions, .static_call_sites, the one-field tables.
  EXPECT_EQ(sec("__ex_table").data, slices(before["__ex_table"], {{0xc, 12}}));
  EXPECT_EQ(sec(".parainstructions").data, slices(before[".parainstructions"], {{0x10, 16}}));
  EXPECT_EQ(relocs_of(*obj, ".parainstructions"), (std::vector<std::string>{"0x0 64 f_b+0x7"}));
  EXPECT_EQ(relocs_of(*obj, ".static_call_sites"),
            (std::vector<std::string>{"0x0 PC32 f_b+0xa", "0x4 PC32 __SCK__my_call+0x0"}));
  EXPECT_EQ(relocs_of(*obj, ".smp_locks"), (std::vector<std::string>{"0x0 PC32 f_b+0x11"}));
  EXPECT_EQ(relocs_of(*obj, ".return_sites"), (std::vector<std::string>{"0x0 PC32 f_b+0x24"}));
  EXPECT_EQ(relocs_of(*obj, "__mcount_loc"), (std::vector<std::string>{"0x0 64 f_b+0x0"}));
  EXPECT_EQ(relocs_of(*obj, ".printk_index"), (std::vector<std::string>{"0x0 64 _entry_f_b+0x0"}));
  // ORC: f_b's start, ret and end-of-section terminator, then f_b.cold's two; .orc_unwind
  // keeps entries 3..7 in lockstep.
  EXPECT_EQ(
      relocs_of(*obj, ".orc_unwind_ip"),
      (std::vector<std::string>{"0x0 PC32 f_b+0x0", "0x10 PC32 f_b.cold+0x2", "0x4 PC32 f_b+0x24",
                                "0x8 PC32 f_b+0x25", "0xc PC32 f_b.cold+0x0"}));
  EXPECT_EQ(sec(".orc_unwind").data, slices(before[".orc_unwind"], {{3 * 6, 5 * 6}}));
  EXPECT_EQ(sec(".orc_unwind").data[6], 0x20); // f_b's sp byte, entry "ret"
  EXPECT_EQ(sec(".orc_unwind").data[7], 11);
  // .ibt_endbr_seal is never carried.
  EXPECT_TRUE(sec(".ibt_endbr_seal").data.empty());
  EXPECT_FALSE(sec(".ibt_endbr_seal").included);
  EXPECT_TRUE(relocs_of(*obj, ".ibt_endbr_seal").empty());

  for (const std::string &name : kTables) {
    EXPECT_TRUE(sec(name.c_str()).included) << name;
    EXPECT_EQ(sec(name.c_str()).shdr.sh_size, sec(name.c_str()).data.size()) << name;
  }
  // The explain record: section, input offset, new offset and owner.
  auto kept_in = [&](const std::string &s) {
    std::vector<std::string> v;
    for (const KeptEntry &k : res.kept)
      if (k.section == s)
        v.push_back(hex(k.offset) + "->" + hex(k.new_offset) + " " +
                    (k.function ? k.function->name : "-"));
    return v;
  };
  EXPECT_EQ(kept_in("__bug_table"),
            (std::vector<std::string>{"0xc->0x0 f_b", "0x18->0xc f_b.cold"}));
  EXPECT_EQ(kept_in(".printk_index"), (std::vector<std::string>{"0x8->0x0 f_b"}));
  EXPECT_EQ(kept_in(".altinstr_aux"), (std::vector<std::string>{"0x12->0x0 f_b"}));
  EXPECT_EQ(kept_in(".fixup"), (std::vector<std::string>{"0xa->0x0 f_b"}));
}

// .altinstr_replacement keeps the replacements of kept alternatives, and every relocation into
// it (repl_offset) or inside it (the replacement's call) follows the bytes.
TEST(SpecialSections, SlicesAltinstrReplacement) {
  ScratchDir dir;
  auto obj = build(dir, "tables.S");
  include_function(*obj, "f_a");
  include_function(*obj, "f_c");
  auto before = save_special(*obj);
  include_special_sections(*obj, no_env());
  Section &repl = *obj->find_section(".altinstr_replacement");
  // Each replacement is 7 bytes (nop2; call repl_f*): f_a's at 0, f_c's at 0xe.
  EXPECT_TRUE(repl.included);
  EXPECT_EQ(repl.data, slices(before[".altinstr_replacement"], {{0, 7}, {0xe, 7}}));
  EXPECT_EQ(relocs_of(*obj, ".altinstr_replacement"),
            (std::vector<std::string>{"0x3 PLT32 repl_f_a-0x4", "0xa PLT32 repl_f_c-0x4"}));
  EXPECT_EQ(relocs_of(*obj, ".altinstructions"),
            (std::vector<std::string>{"0x0 PC32 f_a+0x7", "0x10 PC32 .altinstr_replacement+0x7",
                                      "0x4 PC32 .altinstr_replacement+0x0", "0xc PC32 f_c+0x7"}));
  EXPECT_EQ(obj->find_section(".altinstructions")->data,
            slices(before[".altinstructions"], {{0, 12}, {0x18, 12}}));
}

// .altinstr_aux and .fixup are cut at the offsets referred to; the included function's jump
// into .altinstr_aux and __ex_table's fixup field are rewritten to the new offsets.
TEST(SpecialSections, SlicesCodeIslands) {
  ScratchDir dir;
  auto obj = build(dir, "tables.S");
  include_function(*obj, "f_c");
  auto before = save_special(*obj);
  include_special_sections(*obj, no_env());
  // Each static_cpu_has() slow path is 18 bytes, f_c's at 0x24; each fixup 10 bytes, at 0x14.
  Section &aux = *obj->find_section(".altinstr_aux");
  EXPECT_TRUE(aux.included);
  EXPECT_EQ(aux.data, slices(before[".altinstr_aux"], {{0x24, 18}}));
  EXPECT_EQ(relocs_of(*obj, ".altinstr_aux"),
            (std::vector<std::string>{"0x2 PC32 boot_cpu_data-0x2", "0x9 PC32 f_c+0x1c",
                                      "0xe PC32 f_c+0x20"}));
  EXPECT_EQ(
      relocs_of(*obj, ".text.f_c"),
      (std::vector<std::string>{"0x17 PC32 .rodata.str1.1+0x19", "0x1c PC32 .altinstr_aux-0x4",
                                "0xb PLT32 __SCT__my_call-0x4"}));
  EXPECT_EQ(obj->find_section(".fixup")->data, slices(before[".fixup"], {{0x14, 10}}));
  EXPECT_EQ(relocs_of(*obj, "__ex_table"),
            (std::vector<std::string>{"0x0 PC32 f_c+0xf", "0x4 PC32 .fixup+0x0"}));
  EXPECT_EQ(relocs_of(*obj, ".fixup"), (std::vector<std::string>{"0x6 PC32 f_c+0x20"}));
  // Functions that were not included keep their relocations untouched.
  EXPECT_EQ(relocs_of(*obj, ".text.f_a"),
            (std::vector<std::string>{"0x17 PC32 .rodata.str1.1+0x5", "0x1c PC32 .altinstr_aux-0x4",
                                      "0xb PLT32 __SCT__my_call-0x4"}));
}

// Pieces of .fixup stay together when one falls through into the next or jumps into another
// without a relocation.
TEST(SpecialSections, GluesIslandPiecesThatReachEachOther) {
  ScratchDir dir;
  {
    auto obj = build(dir, "fixup_glue.S");
    include_function(*obj, "g1");
    auto before = save_special(*obj);
    include_special_sections(*obj, no_env());
    EXPECT_EQ(obj->find_section(".fixup")->data, slices(before[".fixup"], {{0, 10}}));
  }
  {
    // g4's fixup (0x14) jumps into g3's (0xf), which g2's (0xa) falls into: 0xa..0x18 is one.
    auto obj = build(dir, "fixup_glue.S");
    include_function(*obj, "g4");
    auto before = save_special(*obj);
    include_special_sections(*obj, no_env());
    EXPECT_EQ(obj->find_section(".fixup")->data, slices(before[".fixup"], {{0xa, 14}}));
    EXPECT_EQ(relocs_of(*obj, "__ex_table"),
              (std::vector<std::string>{"0x0 PC32 g4+0x0", "0x4 PC32 .fixup+0xa"}));
    EXPECT_EQ(relocs_of(*obj, ".fixup"), (std::vector<std::string>{"0x6 PC32 g3-0x2"}));
  }
}

TEST(SpecialSections, NothingIncludedKeepsNothing) {
  ScratchDir dir;
  auto obj = build(dir, "tables.S");
  SpecialResult res = include_special_sections(*obj, no_env());
  EXPECT_TRUE(res.kept.empty());
  for (Section &sec : obj->sections) {
    if (!is_special_section(sec))
      continue;
    EXPECT_FALSE(sec.included) << sec.name;
    EXPECT_TRUE(sec.data.empty()) << sec.name;
    EXPECT_TRUE(sec.relocations().empty()) << sec.name;
  }
}

// GCC's own output: .printk_index entries are matched to functions through their format string
// (here loaded in p_keep.cold), and the _entry_ptr symbols in .printk_index move with their
// entries. __mcount_loc comes from -mrecord-mcount.
TEST(SpecialSections, PrintkIndexAndMcountFromGcc) {
  ScratchDir dir;
  auto obj = build(dir, "printk_index.c");
  ASSERT_NE(obj->find_symbol("p_keep.cold"), nullptr) << "GCC did not split p_keep";
  include_function(*obj, "p_keep");
  auto before = save_special(*obj);
  Symbol *kept_ptr = nullptr;
  for (Symbol &s : obj->symbols)
    if (s.name.rfind("_entry_ptr", 0) == 0 && s.value == 8)
      kept_ptr = &s;
  ASSERT_NE(kept_ptr, nullptr);
  SpecialResult res = include_special_sections(*obj, no_env());

  Section &idx = *obj->find_section(".printk_index");
  EXPECT_TRUE(idx.included);
  EXPECT_EQ(idx.data.size(), 8u);
  std::vector<std::string> r = relocs_of(*obj, ".printk_index");
  ASSERT_EQ(r.size(), 1u);
  // The entry's pi_entry is the one whose format is "\0013keep %d\n".
  const Relocation &to_entry = idx.relocations()[0];
  Section *pi = to_entry.sym->sec;
  ASSERT_NE(pi, nullptr);
  const Relocation *fmt = nullptr;
  for (const Relocation &x : pi->relocations())
    if (x.offset == 0)
      fmt = &x;
  ASSERT_NE(fmt, nullptr);
  std::string s(reinterpret_cast<const char *>(fmt->sym->sec->data.data()) + fmt->addend);
  EXPECT_EQ(s, "\0013keep %d\n");
  // _entry_ptr.N of the kept entry moved to 0; the others were emptied.
  EXPECT_EQ(kept_ptr->value, 0u);
  for (Symbol &sym : obj->symbols) {
    if (sym.sec == &idx && &sym != kept_ptr && !sym.is_section()) {
      EXPECT_EQ(sym.size, 0u) << sym.name;
    }
  }
  EXPECT_EQ(relocs_of(*obj, "__mcount_loc"), (std::vector<std::string>{"0x0 64 p_keep+0x0"}));
  bool owner_is_cold = false;
  for (const KeptEntry &k : res.kept)
    if (k.section == ".printk_index")
      owner_is_cold = k.function && k.function->name == "p_keep.cold";
  EXPECT_TRUE(owner_is_cold);
}

// ---- entry sizes from outside the layout ------------------------------------------------------

TEST(SpecialSections, EnvironmentOverridesTheLayout) {
  ScratchDir dir;
  auto obj = build(dir, "tables.S");
  include_function(*obj, "f_b");
  auto before = save_special(*obj);
  // 24-byte "entries" pair f_a's bug entry with f_b's, and f_b.cold's with f_c's: only the
  // second pair is anchored in included code.
  SpecialResult res = include_special_sections(*obj, with_env({{"BUG_STRUCT_SIZE", "24"}}));
  auto sizes = sizes_by_name(res);
  EXPECT_EQ(sizes["__bug_table"].size, 24u);
  EXPECT_EQ(sizes["__bug_table"].method, SizeMethod::Environment);
  EXPECT_EQ(obj->find_section("__bug_table")->data, slices(before["__bug_table"], {{0x18, 24}}));
}

TEST(SpecialSections, ProcessEnvironmentIsReadByDefault) {
  ScratchDir dir;
  auto obj = build(dir, "tables.S");
  include_all(*obj);
  ASSERT_EQ(setenv("ALT_STRUCT_SIZE", "12", 1), 0);
  SpecialResult res;
  try {
    res = include_special_sections(*obj);
  } catch (...) {
    unsetenv("ALT_STRUCT_SIZE");
    throw;
  }
  unsetenv("ALT_STRUCT_SIZE");
  EXPECT_EQ(sizes_by_name(res)[".altinstructions"].method, SizeMethod::Environment);
}

TEST(SpecialSections, MalformedEnvironmentIsAnError) {
  ScratchDir dir;
  for (const char *bad : {"12abc", "0", "-12", "", "99999"}) {
    auto obj = build(dir, "tables.S");
    include_all(*obj);
    EXPECT_EQ(error_of(*obj, with_env({{"BUG_STRUCT_SIZE", bad}})),
              obj->path + ":(__bug_table): invalid BUG_STRUCT_SIZE='" + bad +
                  "': expected the entry size in bytes (a positive decimal number)")
        << bad;
    // Nothing changed.
    EXPECT_EQ(obj->find_section("__bug_table")->data.size(), 48u);
  }
}

// A variable the layout contradicts gives way to what the object shows, with a warning: kpatch's
// recipes set every variable for every object, and one meant for another kernel is a mistake.
TEST(SpecialSections, ContradictedEnvironmentGivesWay) {
  ScratchDir dir;
  struct Case {
    const char *value, *why;
  };
  for (Case c : {Case{"32", "section size 0x30 is not a multiple of 32 and its last entry is not "
                            "a whole one"},
                 // 12 divides 48, but the 8-byte key field at 8 would straddle two entries.
                 Case{"12", "the relocated field at 0x8 would straddle two entries"}}) {
    auto obj = build(dir, "tables.S");
    include_function(*obj, "f_b");
    auto before = save_special(*obj);
    SpecialSectionOptions o = with_env({{"JUMP_STRUCT_SIZE", c.value}});
    std::vector<std::string> warnings;
    o.warn = [&](const std::string &w) { warnings.push_back(w); };
    SpecialResult res = include_special_sections(*obj, o);
    EXPECT_EQ(sizes_by_name(res)["__jump_table"].size, 16u) << c.value;
    EXPECT_EQ(sizes_by_name(res)["__jump_table"].method, SizeMethod::Inferred) << c.value;
    EXPECT_EQ(obj->find_section("__jump_table")->data,
              slices(before["__jump_table"], {{0x10, 16}}));
    EXPECT_EQ(warnings, std::vector<std::string>{obj->path + ":(__jump_table): JUMP_STRUCT_SIZE=" +
                                                 c.value + " does not fit the section (" + c.why +
                                                 "); using 16 (inferred) instead"});
  }
}

// Tables written by assembler macros align each entry at its start, so the last one's padding
// is never emitted: 8 16-byte .parainstructions entries make 124 bytes. A kept short entry gets
// its padding back.
TEST(SpecialSections, ShortLastEntry) {
  ScratchDir dir;
  auto obj = build(dir, "short_tail.S");
  include_function(*obj, "s_b");
  auto before = save_special(*obj);
  SpecialResult res = include_special_sections(*obj, with_env({{"PARA_STRUCT_SIZE", "16"}}));
  EXPECT_EQ(sizes_by_name(res)[".parainstructions"].size, 16u);
  EXPECT_EQ(sizes_by_name(res)[".parainstructions"].method, SizeMethod::Environment);
  std::vector<uint8_t> expect = slices(before[".parainstructions"], {{0x10, 12}});
  expect.resize(16, 0);
  EXPECT_EQ(obj->find_section(".parainstructions")->data, expect);
  EXPECT_EQ(relocs_of(*obj, ".parainstructions"), std::vector<std::string>{"0x0 64 s_b+0x1"});
  // Inference finds the same size from the short section alone.
  auto again = build(dir, "short_tail.S");
  include_function(*again, "s_b");
  res = include_special_sections(*again, no_env());
  EXPECT_EQ(sizes_by_name(res)[".parainstructions"].size, 16u);
  EXPECT_EQ(sizes_by_name(res)[".parainstructions"].method, SizeMethod::Inferred);
}

// A table no included function needs is dropped whole, whatever its size: a wrong variable for
// a table the patch does not carry is no error.
TEST(SpecialSections, UnneededTableIgnoresItsSize) {
  ScratchDir dir;
  auto obj2 = build(dir, "short_tail.S");
  include_function(*obj2, "s_none");
  SpecialResult res = include_special_sections(*obj2, with_env({{"PARA_STRUCT_SIZE", "24"}}));
  EXPECT_EQ(sizes_by_name(res).count(".parainstructions"), 0u);
  EXPECT_FALSE(obj2->find_section(".parainstructions")->included);
  EXPECT_TRUE(obj2->find_section(".parainstructions")->data.empty());
}

TEST(SpecialSections, EntsizeBeatsInference) {
  ScratchDir dir;
  auto obj = build(dir, "entsize.S");
  include_function(*obj, "e2");
  SpecialResult res = include_special_sections(*obj, no_env());
  auto sizes = sizes_by_name(res);
  EXPECT_EQ(sizes["__bug_table"].size, 24u);
  EXPECT_EQ(sizes["__bug_table"].method, SizeMethod::Entsize);
  // The one 24-byte entry is anchored in e1, which is not included.
  EXPECT_FALSE(obj->find_section("__bug_table")->included);
}

TEST(SpecialSections, DwarfBeatsInference) {
  ScratchDir dir;
  auto with_g = build(dir, "jump_dwarf.c", "-g");
  include_function(*with_g, "dw_b");
  SpecialResult res = include_special_sections(*with_g, no_env());
  EXPECT_EQ(sizes_by_name(res)["__jump_table"].size, 16u);
  EXPECT_EQ(sizes_by_name(res)["__jump_table"].method, SizeMethod::Dwarf);
  EXPECT_EQ(relocs_of(*with_g, "__jump_table").size(), 3u);
  EXPECT_EQ(relocs_of(*with_g, "__jump_table")[2], "0x8 PC64 dw_key+0x0");

  ScratchDir dir2;
  auto without = build(dir2, "jump_dwarf.c");
  include_function(*without, "dw_b");
  res = include_special_sections(*without, no_env());
  EXPECT_EQ(sizes_by_name(res)["__jump_table"].method, SizeMethod::Inferred);
  EXPECT_EQ(sizes_by_name(res)["__jump_table"].size, 16u);
}

TEST(SpecialSections, DwarfStructSizes) {
  ScratchDir dir;
  std::string out = dir.file("j.o");
  compile(testdata("special/jump_dwarf.c"), out, "-g");
  DwarfStructSizes dw(out);
  EXPECT_EQ(dw.size_of("jump_entry"), 16u);
  EXPECT_EQ(dw.size_of("static_key"), 4u);
  EXPECT_EQ(dw.size_of("alt_instr"), std::nullopt);
  compile(testdata("special/jump_dwarf.c"), dir.file("n.o"));
  DwarfStructSizes none(dir.file("n.o"));
  EXPECT_EQ(none.size_of("jump_entry"), std::nullopt);
}

TEST(SpecialSections, UndeterminableSizeNamesTheVariable) {
  ScratchDir dir;
  auto obj = build(dir, "no_anchor.S");
  include_function(*obj, "n1");
  EXPECT_EQ(error_of(*obj, no_env()),
            obj->path + ":(__bug_table): cannot determine the entry size; set BUG_STRUCT_SIZE");
  obj = build(dir, "no_anchor.S");
  include_function(*obj, "n1");
  EXPECT_EQ(error_of(*obj, with_env({{"BUG_STRUCT_SIZE", "12"}})),
            obj->path + ":(__bug_table)+0x3c: entry has no relocation at its anchor field (+0)");
}

// ---- refusals --------------------------------------------------------------------------------

TEST(SpecialSections, JumpLabelWithModuleKeyIsUnpatchable) {
  ScratchDir dir;
  auto obj = build(dir, "tables.S");
  include_function(*obj, "f_b");
  SpecialSectionOptions o = no_env();
  std::vector<std::string> asked;
  o.key_in_module = [&](const Symbol &key) {
    asked.push_back(key.name);
    return key.name == "my_key";
  };
  o.key_module_name = [](const Symbol &) { return std::string("mod_x"); };
  try {
    include_special_sections(*obj, o);
    FAIL() << "no refusal";
  } catch (const Unpatchable &e) {
    EXPECT_EQ(std::string(e.what()),
              obj->path + ":(__jump_table)+0x10: jump label in 'f_b' uses key 'my_key' defined " +
                  "in module 'mod_x'; use static_key_enabled() instead of static_branch_*()");
  }
  // Only kept entries are asked about, and nothing was rewritten.
  EXPECT_EQ(std::count(asked.begin(), asked.end(), "other_key"), 0);
  EXPECT_EQ(obj->find_section("__jump_table")->data.size(), 48u);
  EXPECT_EQ(obj->find_section("__jump_table")->relocations().size(), 9u);

  // f_a's jump label uses other_key, in vmlinux: fine.
  auto obj2 = build(dir, "tables.S");
  include_function(*obj2, "f_a");
  EXPECT_NO_THROW(include_special_sections(*obj2, o));
  EXPECT_TRUE(obj2->find_section("__jump_table")->included);
}

TEST(SpecialSections, StaticCallWithModuleKeyIsUnpatchable) {
  ScratchDir dir;
  auto obj = build(dir, "tables.S");
  include_function(*obj, "f_c");
  SpecialSectionOptions o = no_env();
  o.key_in_module = [](const Symbol &key) { return key.name == "__SCK__my_call"; };
  try {
    include_special_sections(*obj, o);
    FAIL() << "no refusal";
  } catch (const Unpatchable &e) {
    EXPECT_EQ(std::string(e.what()),
              obj->path + ":(.static_call_sites)+0x10: static call in 'f_c' uses key " +
                  "'__SCK__my_call' defined in a module; call static_call_query() and the " +
                  "function it returns instead");
  }
}
