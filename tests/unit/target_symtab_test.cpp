// TargetSymtab: loading vmlinux/module symbols from ELF, readelf dumps and kallsyms, and choosing
// the sympos a livepatch relocation needs.
#include <gtest/gtest.h>

#include <stdlib.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "error.h"
#include "target_symtab.h"

namespace klp {
namespace {

std::string make_temp_dir() {
  std::string tmpl = testing::TempDir() + "klp-symtab-XXXXXX";
  if (!mkdtemp(tmpl.data()))
    throw std::runtime_error("mkdtemp failed");
  return tmpl;
}

std::string write_file(const std::string &dir, const std::string &name, const std::string &text) {
  std::string path = dir + "/" + name;
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out)
    throw std::runtime_error("cannot write " + path);
  return path;
}

// Runs a shell command; returns its exit status.
int run(const std::string &cmd) { return std::system(cmd.c_str()); }

SymbolHint local_hint(std::string file = {}, std::vector<std::string> neighbours = {}) {
  SymbolHint h;
  h.binding = SymbolBinding::Local;
  h.file = std::move(file);
  h.neighbours = std::move(neighbours);
  return h;
}

SymbolHint global_hint() {
  SymbolHint h;
  h.binding = SymbolBinding::Global;
  return h;
}

// Expects `fn` to throw E whose message contains every string of `parts`.
template <typename E, typename Fn>
void expect_throw_with(Fn fn, const std::vector<std::string> &parts) {
  try {
    fn();
    ADD_FAILURE() << "no exception thrown";
  } catch (const E &e) {
    std::string msg = e.what();
    for (const std::string &p : parts)
      EXPECT_NE(msg.find(p), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
}

class TargetSymtabTest : public testing::Test {
protected:
  void SetUp() override { dir_ = make_temp_dir(); }
  void TearDown() override { run("rm -rf '" + dir_ + "'"); }
  std::string dir_;
};

// A vmlinux part of /proc/kallsyms with two local `dup_fn`, each among its own file's statics,
// plus a loaded module.
const char *const kKallsyms = "ffffffff81000000 T _text\n"
                              "ffffffff81000100 t alpha_helper\n"
                              "ffffffff81000200 t dup_fn\n"
                              "ffffffff81000300 t alpha_other\n"
                              "ffffffff81000400 T shared_name\n"
                              "ffffffff81000500 t beta_helper\n"
                              "ffffffff81000600 t dup_fn\n"
                              "ffffffff81000700 t beta_other\n"
                              "ffffffff81000800 t shared_name\n"
                              "ffffffff81000900 T unique_global\n"
                              "ffffffff81000a00 d dup_obj\n"
                              "ffffffff81000b00 t dup_obj\n"
                              "ffffffffc0001000 t dup_fn\t[my_mod]\n"
                              "ffffffffc0002000 t mod_helper\t[my_mod]\n"
                              "ffffffffc0003000 t dup_fn\t[my_mod]\n"
                              "ffffffffc0004000 T mod_only\t[my_mod]\n"
                              "ffffffffc0005000 t other_fn\t[other]\n";

TEST_F(TargetSymtabTest, KallsymsUniqueSymbolIsPositionZero) {
  TargetSymtab t(write_file(dir_, "kallsyms", kKallsyms), "vmlinux");
  EXPECT_EQ(t.format(), TargetFormat::Kallsyms);
  EXPECT_FALSE(t.has_file_info());
  EXPECT_TRUE(t.has_addresses());
  EXPECT_EQ(t.objname(), "vmlinux");
  EXPECT_EQ(t.size(), 12u); // module lines excluded
  EXPECT_EQ(t.sympos("unique_global", global_hint()), 0u);
  EXPECT_EQ(t.sympos("alpha_helper", local_hint()), 0u);
  EXPECT_EQ(t.sympos("alpha_helper", SymbolHint{}), 0u);
  EXPECT_EQ(t.sympos("no_such_symbol", local_hint()), std::nullopt);
  EXPECT_FALSE(t.contains("mod_only"));
  EXPECT_TRUE(t.contains("dup_fn"));
  EXPECT_EQ(t.address_of("unique_global", 0), 0xffffffff81000900u);
  EXPECT_EQ(t.address_of("dup_fn", 0), std::nullopt); // not unique
  EXPECT_EQ(t.address_of("dup_fn", 2), 0xffffffff81000600u);
  EXPECT_EQ(t.address_of("dup_fn", 3), std::nullopt);
  ASSERT_EQ(t.find_all("dup_fn").size(), 2u);
  EXPECT_EQ(t.find_all("dup_fn")[1]->order, 6u);
  EXPECT_EQ(t.find_all("dup_fn")[1]->source_index, 7u); // line number
}

TEST_F(TargetSymtabTest, KallsymsTypesGiveKindAndBinding) {
  TargetSymtab t(write_file(dir_, "kallsyms", kKallsyms), "vmlinux");
  const TargetSymbol *text = t.find("_text", 0);
  ASSERT_NE(text, nullptr);
  EXPECT_EQ(text->kind, SymbolKind::Function);
  EXPECT_EQ(text->binding, SymbolBinding::Global);
  const TargetSymbol *obj = t.find("dup_obj", 1);
  ASSERT_NE(obj, nullptr);
  EXPECT_EQ(obj->kind, SymbolKind::Object);
  EXPECT_EQ(obj->binding, SymbolBinding::Local);
  EXPECT_EQ(obj->size, 0u);
  EXPECT_TRUE(t.file_of(*obj).empty());
}

TEST_F(TargetSymtabTest, KallsymsDuplicateLocalChosenByNeighbours) {
  TargetSymtab t(write_file(dir_, "kallsyms", kKallsyms), "vmlinux");
  EXPECT_EQ(t.sympos("dup_fn", local_hint("a.c", {"alpha_helper", "alpha_other"})), 1u);
  EXPECT_EQ(t.sympos("dup_fn", local_hint("b.c", {"beta_other", "beta_helper", "nonexistent"})),
            2u);
  // Repeating a name does not add to its weight; the specific names still win.
  EXPECT_EQ(t.sympos("dup_fn", local_hint("", {"beta_other", "beta_helper", "alpha_helper",
                                               "alpha_helper", "alpha_helper"})),
            2u);
}

TEST_F(TargetSymtabTest, KallsymsAmbiguityThrowsWithNameAndRemedy) {
  TargetSymtab t(write_file(dir_, "kallsyms", kKallsyms), "vmlinux");
  std::string path = dir_ + "/kallsyms";
  expect_throw_with<Error>([&] { t.sympos("dup_fn", local_hint("a.c")); },
                           {path + ": ", "'dup_fn'", "ambiguous", "0xffffffff81000200",
                            "0xffffffff81000600", "readelf -s --wide"});
  // Neighbours that do not tell the candidates apart.
  expect_throw_with<Error>(
      [&] {
        t.sympos("dup_fn", local_hint("", {"alpha_helper", "beta_helper"}));
      },
      {"'dup_fn'"});
}

TEST_F(TargetSymtabTest, KallsymsNeighboursOutsideWindowDoNotCount) {
  std::ostringstream text;
  uint64_t addr = 0xffffffff81000000;
  auto line = [&](char type, const std::string &name) {
    char buf[32];
    snprintf(buf, sizeof(buf), "%016llx", (unsigned long long)addr);
    addr += 0x10;
    text << buf << ' ' << type << ' ' << name << '\n';
  };
  line('t', "near_neighbour");
  line('t', "dup_fn");
  for (size_t i = 0; i < TargetSymtab::kNeighbourWindow + 10; i++)
    line('t', "filler_" + std::to_string(i));
  line('t', "dup_fn");
  for (size_t i = 0; i < TargetSymtab::kNeighbourWindow + 10; i++)
    line('t', "pad_" + std::to_string(i));
  line('t', "far_neighbour");
  TargetSymtab t(write_file(dir_, "kallsyms", text.str()), "vmlinux");
  EXPECT_EQ(t.sympos("dup_fn", local_hint("", {"near_neighbour"})), 1u);
  // Within the window of the second dup_fn only.
  EXPECT_EQ(t.sympos("dup_fn", local_hint("", {"pad_200"})), 2u);
  // More than kNeighbourWindow entries from either candidate.
  EXPECT_THROW(t.sympos("dup_fn", local_hint("", {"far_neighbour"})), Error);
}

TEST_F(TargetSymtabTest, KallsymsGlobalAndLocalOfSameName) {
  TargetSymtab t(write_file(dir_, "kallsyms", kKallsyms), "vmlinux");
  // Two entries in total, so positions are 1-based among both.
  EXPECT_EQ(t.sympos("shared_name", global_hint()), 1u);
  EXPECT_EQ(t.sympos("shared_name", local_hint()), 2u);
  // Binding is a requirement: a global reference never resolves to a static namesake.
  EXPECT_EQ(t.sympos("alpha_helper", global_hint()), std::nullopt);
  EXPECT_EQ(t.sympos("unique_global", local_hint()), std::nullopt);
  // Without a binding both qualify.
  EXPECT_THROW(t.sympos("shared_name", SymbolHint{}), Error);
}

TEST_F(TargetSymtabTest, KallsymsKindPreferred) {
  TargetSymtab t(write_file(dir_, "kallsyms", kKallsyms), "vmlinux");
  SymbolHint h = local_hint();
  h.kind = SymbolKind::Object;
  EXPECT_EQ(t.sympos("dup_obj", h), 1u);
  h.kind = SymbolKind::Function;
  EXPECT_EQ(t.sympos("dup_obj", h), 2u);
}

TEST_F(TargetSymtabTest, KallsymsModuleLinesAndNameNormalisation) {
  std::string path = write_file(dir_, "kallsyms", kKallsyms);
  // The .ko is my-mod.ko; kallsyms calls the module my_mod.
  TargetSymtab t(path, "my-mod");
  EXPECT_EQ(t.objname(), "my_mod");
  EXPECT_FALSE(t.is_vmlinux());
  EXPECT_EQ(t.size(), 4u);
  EXPECT_FALSE(t.contains("alpha_helper"));
  EXPECT_FALSE(t.contains("other_fn"));
  EXPECT_EQ(t.sympos("mod_only", global_hint()), 0u);
  // File order is iteration order: both dup_fn are one entry away from mod_helper, a tie.
  EXPECT_THROW(t.sympos("dup_fn", local_hint("", {"mod_helper"})), Error);
  EXPECT_EQ(t.address_of("dup_fn", 2), 0xffffffffc0003000u);
  // A module without lines is an error rather than an empty table.
  expect_throw_with<Error>([&] { TargetSymtab(path, "not_loaded"); },
                           {path + ": ", "not_loaded", "loaded"});
}

TEST_F(TargetSymtabTest, KallsymsWithoutAddresses) {
  TargetSymtab t(write_file(dir_, "kallsyms",
                            "0000000000000000 T a\n0000000000000000 t b\n0000000000000000 t b\n"),
                 "vmlinux");
  EXPECT_FALSE(t.has_addresses());
  EXPECT_EQ(t.sympos("a", global_hint()), 0u);
  expect_throw_with<Error>([&] { t.sympos("b", local_hint()); }, {"'b'", "line 2", "line 3"});
}

TEST_F(TargetSymtabTest, KallsymsMalformedLineNamesTheLine) {
  std::string path =
      write_file(dir_, "kallsyms", "ffffffff81000000 T _text\n\nffffffff81000100 tt broken\n");
  expect_throw_with<Error>([&] { TargetSymtab(path, "vmlinux"); }, {path + ":3: malformed line"});
  path = write_file(dir_, "k2", "ffffffff81000000 T _text\nnot-hex T x\n");
  expect_throw_with<Error>([&] { TargetSymtab(path, "vmlinux"); }, {path + ":2: "});
  path = write_file(dir_, "k3", "ffffffff81000000 t x (mod)\n");
  expect_throw_with<Error>([&] { TargetSymtab(path, "vmlinux"); }, {path + ":1: "});
}

TEST_F(TargetSymtabTest, MissingFileAndBadObjname) {
  std::string missing = dir_ + "/missing";
  expect_throw_with<Error>([&] { TargetSymtab(missing, "vmlinux"); }, {missing + ": cannot open"});
  std::string path = write_file(dir_, "kallsyms", kKallsyms);
  EXPECT_THROW(TargetSymtab(path, "fs/ext4/ext4.ko"), Error);
  EXPECT_THROW(TargetSymtab(path, ""), Error);
  path = write_file(dir_, "x.ko.zst", std::string("\x28\xb5\x2f\xfd\0\0", 6));
  expect_throw_with<Error>([&] { TargetSymtab(path, "x"); }, {"compressed"});
}

// A readelf dump as PARENT_SYMTAB, with the columns other architectures add.
const char *const kReadelf =
    "\n"
    "Symbol table '.dynsym' contains 1 entry:\n"
    "   Num:    Value          Size Type    Bind   Vis      Ndx Name\n"
    "     0: 0000000000000000     0 NOTYPE  LOCAL  DEFAULT  UND \n"
    "\n"
    "Symbol table '.symtab' contains 12 entries:\n"
    "   Num:    Value          Size Type    Bind   Vis      Ndx Name\n"
    "     0: 0000000000000000     0 NOTYPE  LOCAL  DEFAULT  UND \n"
    "     1: 0000000000000000     0 FILE    LOCAL  DEFAULT  ABS kernel/one.c\n"
    "     2: ffffffff81000300    16 FUNC    LOCAL  DEFAULT    1 dup_fn\n"
    "     3: ffffffff81000000     0 SECTION LOCAL  DEFAULT    1 .text\n"
    "     4: ffffffff81000310 0x186a0 OBJECT  LOCAL  DEFAULT    2 big_table\n"
    "     5: 0000000000000000     0 FILE    LOCAL  DEFAULT  ABS two.c\n"
    "     6: ffffffff81000100    32 FUNC    LOCAL  DEFAULT [<localentry>: 8]     1 dup_fn\n"
    "     7: ffffffff81000200     8 FUNC    LOCAL  DEFAULT [VARIANT_PCS]     1 two_helper\n"
    "     8: 0000000000001234     0 NOTYPE  LOCAL  DEFAULT  ABS abs_sym\n"
    "     9: ffffffff81000400    12 <OS specific>: 10 GLOBAL DEFAULT 1 os_typed\n"
    "    10: 0000000000000000     0 NOTYPE  GLOBAL DEFAULT  UND undefined_sym\n"
    "    11: ffffffff81000500     4 FUNC    WEAK   DEFAULT    1 weak_fn\n";

TEST_F(TargetSymtabTest, ReadelfDumpParsedWithFileBlocksAndAddressOrder) {
  TargetSymtab t(write_file(dir_, "vmlinux.symtab", kReadelf), "vmlinux");
  EXPECT_EQ(t.format(), TargetFormat::Readelf);
  EXPECT_TRUE(t.has_file_info());
  // Kept: dup_fn x2, big_table, two_helper, os_typed, weak_fn (no FILE, SECTION, ABS, UND).
  EXPECT_EQ(t.size(), 6u);
  EXPECT_FALSE(t.contains("abs_sym"));
  EXPECT_FALSE(t.contains("undefined_sym"));
  EXPECT_FALSE(t.contains(".text"));
  // vmlinux: kallsyms order is address order, so two.c's dup_fn (lower address) comes first.
  EXPECT_EQ(t.symbols().front().name, "dup_fn");
  EXPECT_EQ(t.file_of(t.symbols().front()), "two.c");
  EXPECT_EQ(t.sympos("dup_fn", local_hint("two.c")), 1u);
  EXPECT_EQ(t.sympos("dup_fn", local_hint("kernel/one.c")), 2u);
  EXPECT_EQ(t.sympos("dup_fn", local_hint("one.c")), 2u);     // basename of the FILE symbol
  EXPECT_EQ(t.sympos("dup_fn", local_hint("x/y/two.c")), 1u); // basename of the hint
  EXPECT_EQ(t.sympos("dup_fn", local_hint("", {"two_helper"})), 1u);
  const TargetSymbol *big = t.find("big_table", 0);
  ASSERT_NE(big, nullptr);
  EXPECT_EQ(big->size, 100000u);
  EXPECT_EQ(big->kind, SymbolKind::Object);
  EXPECT_EQ(t.file_of(*big), "kernel/one.c");
  const TargetSymbol *weak = t.find("weak_fn", 0);
  ASSERT_NE(weak, nullptr);
  EXPECT_EQ(weak->binding, SymbolBinding::Global);
  EXPECT_TRUE(t.file_of(*weak).empty()); // globals belong to no file block
  EXPECT_EQ(t.address_of("os_typed", 0), 0xffffffff81000400u);
  expect_throw_with<Error>([&] { t.sympos("dup_fn", local_hint("three.c")); },
                           {"'dup_fn'", "ambiguous", "two.c", "kernel/one.c"});

  // The same dump read as a module keeps symtab order.
  TargetSymtab m(dir_ + "/vmlinux.symtab", "some_mod");
  EXPECT_EQ(m.sympos("dup_fn", local_hint("one.c")), 1u);
  EXPECT_EQ(m.sympos("dup_fn", local_hint("two.c")), 2u);
}

TEST_F(TargetSymtabTest, ReadelfMalformedInput) {
  std::string text = kReadelf;
  std::string bad = text;
  bad.replace(bad.find("     7: ffffffff81000200"), 25, "     7: zzzzzzzzzzzzzzzz");
  std::string path = write_file(dir_, "bad.symtab", bad);
  expect_throw_with<Error>([&] { TargetSymtab(path, "vmlinux"); }, {path + ":15: malformed line"});

  std::string truncated = text.substr(0, text.find("    11:"));
  path = write_file(dir_, "short.symtab", truncated);
  expect_throw_with<Error>([&] { TargetSymtab(path, "vmlinux"); },
                           {path + ":6: ", "12 entries", "11"});

  std::string narrow = text;
  narrow.replace(narrow.find("two_helper"), 10, "two_hel[...]");
  path = write_file(dir_, "narrow.symtab", narrow);
  expect_throw_with<Error>([&] { TargetSymtab(path, "vmlinux"); }, {":15: ", "--wide"});

  path = write_file(dir_, "dyn.symtab", text.substr(0, text.find("\nSymbol table '.symtab'")));
  expect_throw_with<Error>([&] { TargetSymtab(path, "vmlinux"); }, {"no '.symtab'"});
}

TEST_F(TargetSymtabTest, FromTextDetectsFormat) {
  EXPECT_EQ(TargetSymtab::from_text(kReadelf, "mem", "vmlinux").format(), TargetFormat::Readelf);
  TargetSymtab k = TargetSymtab::from_text(kKallsyms, "mem", "vmlinux");
  EXPECT_EQ(k.format(), TargetFormat::Kallsyms);
  EXPECT_EQ(k.source(), "mem");
  expect_throw_with<Error>([&] { TargetSymtab::from_text("x y\n", "mem", "vmlinux"); },
                           {"mem:1: malformed line"});
}

TEST_F(TargetSymtabTest, LazyTableIsReadOnFirstLookup) {
  std::string missing = dir_ + "/missing";
  expect_throw_with<Error>([&] { TargetSymtab::open_lazily(missing, "vmlinux"); },
                           {missing + ": cannot open"});
  EXPECT_THROW(TargetSymtab::open_lazily(write_file(dir_, "k", kKallsyms), "a/b"), Error);

  // Nothing looked up: a broken table is never read, so never reported.
  std::string path =
      write_file(dir_, "broken", "ffffffff81000000 T _text\nffffffff81000100 t x y z w\n");
  TargetSymtab lazy = TargetSymtab::open_lazily(path, "vmlinux");
  EXPECT_EQ(lazy.source(), path);
  EXPECT_TRUE(lazy.is_vmlinux());
  // The first lookup reads it, and says where it is broken; so does the next one.
  expect_throw_with<Error>([&] { lazy.sympos("_text", global_hint()); },
                           {path + ":2: malformed line"});
  expect_throw_with<Error>([&] { lazy.contains("_text"); }, {path + ":2: malformed line"});

  TargetSymtab good = TargetSymtab::open_lazily(write_file(dir_, "good", kKallsyms), "vmlinux");
  EXPECT_EQ(good.sympos("dup_fn", local_hint("", {"beta_helper"})), 2u);
  EXPECT_EQ(good.size(), 12u);
  TargetSymtab moved = std::move(good);
  EXPECT_EQ(moved.find("unique_global", 0)->address, 0xffffffff81000900u);
}

// Reads `path` lazily with `expected` announced, and checks that every lookup of those names
// answers as the whole table does: the entries, their kallsyms positions and file blocks, and
// the sympos of each with neither hint and with a local one naming the others as neighbours.
void expect_same_answers_for(const std::string &path, std::string_view objname,
                             const std::vector<std::string> &expected) {
  TargetSymtab whole(path, objname);
  TargetSymtab some = TargetSymtab::open_lazily(path, objname);
  some.expect_lookups(expected);
  EXPECT_EQ(some.format(), whole.format());
  EXPECT_EQ(some.has_file_info(), whole.has_file_info());
  EXPECT_EQ(some.has_addresses(), whole.has_addresses());
  for (const std::string &name : expected) {
    SCOPED_TRACE(path + " " + std::string(objname) + " " + name);
    std::vector<const TargetSymbol *> a = some.find_all(name), b = whole.find_all(name);
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); i++) {
      EXPECT_EQ(a[i]->order, b[i]->order);
      EXPECT_EQ(a[i]->address, b[i]->address);
      EXPECT_EQ(a[i]->source_index, b[i]->source_index);
      EXPECT_EQ(some.file_of(*a[i]), whole.file_of(*b[i]));
    }
    auto sympos = [&](const TargetSymtab &t, const SymbolHint &h) -> std::string {
      try {
        std::optional<unsigned long> p = t.sympos(name, h);
        return p ? std::to_string(*p) : "none";
      } catch (const std::exception &e) {
        return e.what();
      }
    };
    SymbolHint any, local = local_hint("", expected);
    EXPECT_EQ(sympos(some, any), sympos(whole, any));
    EXPECT_EQ(sympos(some, local), sympos(whole, local));
  }
  // Another name: the whole table is read, and answers.
  EXPECT_EQ(some.size(), whole.size());
}

// Aliases at one address (kallsyms keeps them in symtab order) and an address order unlike the
// symtab's, so that the expected names' positions must be counted among all entries.
const char *const kAliases = "Symbol table '.symtab' contains 10 entries:\n"
                             "   Num:    Value          Size Type    Bind   Vis      Ndx Name\n"
                             "     0: 0000000000000000     0 NOTYPE  LOCAL  DEFAULT  UND \n"
                             "     1: 0000000000000000     0 FILE    LOCAL  DEFAULT  ABS a.c\n"
                             "     2: ffffffff81000300    16 FUNC    LOCAL  DEFAULT    1 dup_fn\n"
                             "     3: ffffffff81000100    16 FUNC    LOCAL  DEFAULT    1 a_helper\n"
                             "     4: ffffffff81000300    16 FUNC    LOCAL  DEFAULT    1 alias_a\n"
                             "     5: 0000000000000000     0 FILE    LOCAL  DEFAULT  ABS b.c\n"
                             "     6: ffffffff81000200    16 FUNC    LOCAL  DEFAULT    1 dup_fn\n"
                             "     7: ffffffff81000300    16 FUNC    LOCAL  DEFAULT    1 alias_b\n"
                             "     8: ffffffff81000000    16 FUNC    GLOBAL DEFAULT    1 _text\n"
                             "     9: ffffffff81000300    16 FUNC    GLOBAL DEFAULT    1 dup_fn\n";

// scripts/kallsyms and mksysmap leave some names out of vmlinux's kallsyms; names that only
// resemble them stay.
TEST_F(TargetSymtabTest, KallsymsIgnoredNamesAreLeftOut) {
  std::vector<std::string> ignored = {"__crc_printk",
                                      "__kstrtab_printk",
                                      "__kstrtabns_printk",
                                      "_SDA_BASE_",
                                      "kallsyms_names",
                                      "kallsyms_offsets",
                                      "$x",
                                      ".Lfoo",
                                      "L0",
                                      "__kvm_nvhe_$d",
                                      "__kvm_nvhe_.Lx",
                                      "__kcfi_typeid_f",
                                      "__efistub_x",
                                      "f_veneer",
                                      "a.long_branch.b",
                                      "g_from_thumb",
                                      "__LA25Thunk_x"};
  std::vector<std::string> kept = {"__cr",
                                   "__crc",
                                   "_SDA_BASE",
                                   "kallsyms_namesx",
                                   "L01",
                                   "__kvm_nvhe_x",
                                   "__kcfi_typeid",
                                   "f_veneerx",
                                   "a.long_branchb",
                                   "__kstrtabx",
                                   "__microLA25Thunk",
                                   "_"};
  std::string text = "Symbol table '.symtab' contains " +
                     std::to_string(ignored.size() + kept.size()) + " entries:\n";
  size_t n = 0;
  for (const auto *names : {&ignored, &kept})
    for (const std::string &name : *names) {
      text += "  " + std::to_string(n) + ": ffffffff81000" + std::to_string(100 + n) +
              "     8 FUNC    GLOBAL DEFAULT    1 " + name + "\n";
      n++;
    }
  TargetSymtab vmlinux = TargetSymtab::from_text(text, "mem", "vmlinux");
  for (const std::string &name : ignored)
    EXPECT_FALSE(vmlinux.contains(name)) << name;
  for (const std::string &name : kept)
    EXPECT_TRUE(vmlinux.contains(name)) << name;
  EXPECT_EQ(vmlinux.size(), kept.size());
  // A module's kallsyms has no such rule.
  EXPECT_EQ(TargetSymtab::from_text(text, "mem", "m").size(), ignored.size() + kept.size());
}

TEST_F(TargetSymtabTest, ExpectedNamesAnswerAsTheWholeTable) {
  std::string aliases = write_file(dir_, "aliases.symtab", kAliases);
  std::string readelf = write_file(dir_, "vmlinux.symtab", kReadelf);
  std::string kallsyms = write_file(dir_, "kallsyms", kKallsyms);
  for (const char *objname : {"vmlinux", "some_mod"}) {
    expect_same_answers_for(aliases, objname, {"dup_fn", "alias_b", "_text"});
    expect_same_answers_for(aliases, objname, {"alias_a", "alias_b", "a_helper"});
    expect_same_answers_for(readelf, objname, {"dup_fn", "two_helper", "weak_fn", "abs_sym"});
  }
  expect_same_answers_for(kallsyms, "vmlinux", {"dup_fn", "beta_helper", "shared_name"});
  expect_same_answers_for(kallsyms, "my_mod", {"dup_fn", "mod_helper", "nowhere"});

  // The one pass checks every line as the whole table's does.
  std::string path =
      write_file(dir_, "broken", "ffffffff81000000 T _text\nffffffff81000100 t x y z w\n");
  TargetSymtab lazy = TargetSymtab::open_lazily(path, "vmlinux");
  lazy.expect_lookups({"_text"});
  expect_throw_with<Error>([&] { lazy.contains("_text"); }, {path + ":2: malformed line"});
}

TEST_F(TargetSymtabTest, LinesLongerThanTheReadBufferAndOtherLineEnds) {
  // A name far longer than the reader's 64 KiB buffer, CRLF line ends, blank lines and a last
  // line without a newline.
  std::string long_name(600 * 1024, 'n');
  std::string text = "ffffffff81000000 T _text\r\n\n\n" + std::string("ffffffff81000100 t ") +
                     long_name + "\nffffffff81000200 t after_long\r\nffffffff81000300 T last";
  TargetSymtab t(write_file(dir_, "kallsyms", text), "vmlinux");
  EXPECT_EQ(t.size(), 4u);
  EXPECT_EQ(t.address_of(long_name, 0), 0xffffffff81000100u);
  EXPECT_EQ(t.address_of("after_long", 0), 0xffffffff81000200u);
  EXPECT_EQ(t.address_of("last", 0), 0xffffffff81000300u);
  EXPECT_EQ(t.find("last", 0)->source_index, 6u); // line numbers count the blank lines

  // The same past a long line: an error names the right line.
  std::string bad = text + "\nffffffff81000400 t\n";
  std::string path = write_file(dir_, "bad", bad);
  expect_throw_with<Error>([&] { TargetSymtab(path, "vmlinux"); }, {path + ":7: malformed line"});
  // And the same text parsed from memory.
  expect_throw_with<Error>([&] { TargetSymtab::from_text(bad, "mem", "vmlinux"); },
                           {"mem:7: malformed line"});
}

TEST_F(TargetSymtabTest, ReadelfColumnsAndHeaders) {
  const std::string header = "\n\nSymbol table '.symtab' contains 4 entries:\n"
                             "   Num:    Value          Size Type    Bind   Vis      Ndx Name\n";
  // Leading blank lines, "OS [0xff20]" and "PRC[0xff00]" indices (not sections), a hex size.
  std::string text = header +
                     "     0: 0000000000000000     0 NOTYPE  LOCAL  DEFAULT  UND \n"
                     "     1: ffffffff81000000 0x10 FUNC    GLOBAL DEFAULT    1 f\n"
                     "     2: ffffffff81000010     4 OBJECT  GLOBAL DEFAULT OS [0xff20] os_sym\n"
                     "     3: ffffffff81000020     4 OBJECT  GLOBAL DEFAULT PRC[0xff00] prc_sym\n";
  TargetSymtab t = TargetSymtab::from_text(text, "dump", "vmlinux");
  EXPECT_EQ(t.format(), TargetFormat::Readelf);
  EXPECT_EQ(t.size(), 1u);
  EXPECT_EQ(t.find("f", 0)->size, 16u);
  EXPECT_FALSE(t.contains("os_sym"));
  EXPECT_FALSE(t.contains("prc_sym"));

  auto error_at = [&](const std::string &dump, const std::string &where) {
    expect_throw_with<Error>([&] { TargetSymtab::from_text(dump, "dump", "vmlinux"); },
                             {"dump:" + where});
  };
  error_at("Symbol table '.symtab' contains many entries:\n", "1: malformed symbol table header");
  error_at(header + "     0: 0000000000000000     0 NOTYPE  LOCAL  DEFAULT\n",
           "5: malformed line (missing section index)");
  error_at(header + "     0: 0000000000000000     0 NOTYPE  LOCAL  DEFAULT [VARIANT_PCS 1 x\n",
           "5: malformed line (unterminated '[')");
  error_at(header + "     0: 0000000000000000     x NOTYPE  LOCAL  DEFAULT 1 x\n",
           "5: malformed line (bad size)");
  error_at(header + "     0: 0000000000000000\n", "5: malformed line (too few columns)");
  error_at(header + "     x: 0000000000000000     0 NOTYPE  LOCAL  DEFAULT 1 x\n",
           "5: malformed line (expected 'Num: Value Size Type Bind Vis Ndx Name')");
  error_at(text + "\nSymbol table '.symtab' contains 1 entry:\n", "10: more than one '.symtab'");
}

// Fixtures compiled at test time: a.c and b.c each define `static int dup_fn(void)`; b.c puts its
// copy in .text.unlikely, which the default linker script places before .text, and a.c has a
// function there too so that the linker still emits a.c's symbols first. In the linked file
// dup_fn from b.c thus has the lower address but the later symtab entry. d1/util.c and d2/util.c
// have the same STT_FILE name "util.c" and differ only in their neighbours. i.c has a dup_fn in
// .init.text.
class TargetSymtabElfTest : public testing::Test {
protected:
  static void SetUpTestSuite() {
    if (run("gcc --version >/dev/null 2>&1") != 0 || run("ld --version >/dev/null 2>&1") != 0) {
      skip_ = true;
      return;
    }
    dir_ = make_temp_dir();
    run("mkdir -p '" + dir_ + "/d1' '" + dir_ + "/d2'");
    write_file(dir_, "a.c",
               "__attribute__((section(\".text.unlikely\"), used, noinline))\n"
               "static int alpha_cold(void) { return 7; }\n"
               "static int __attribute__((used, noinline)) dup_fn(void) { return 1; }\n"
               "static int __attribute__((used, noinline)) alpha_helper(void) {\n"
               "  return dup_fn() + 2;\n"
               "}\n"
               "static int alpha_counter __attribute__((used)) = 5;\n"
               "int shared_name(void) { return alpha_helper() + alpha_counter; }\n");
    write_file(dir_, "b.c",
               "__attribute__((section(\".text.unlikely\"), used, noinline))\n"
               "static int dup_fn(void) { return 2; }\n"
               "static int __attribute__((used, noinline)) beta_helper(void) {\n"
               "  return dup_fn() + 3;\n"
               "}\n"
               "static int __attribute__((used, noinline)) shared_name(void) {\n"
               "  return beta_helper();\n"
               "}\n"
               "int b_entry(void) { return shared_name(); }\n");
    for (const char *d : {"d1", "d2"}) {
      std::string p = d[1] == '1' ? "gamma" : "delta";
      write_file(dir_, std::string(d) + "/util.c",
                 "static int __attribute__((used, noinline)) dup_fn(void) { return " +
                     std::to_string(d[1] - '0') +
                     "; }\n"
                     "static int __attribute__((used, noinline)) " +
                     p + "_one(void) { return dup_fn(); }\n" +
                     "static int __attribute__((used, noinline)) " + p + "_two(void) { return " +
                     p + "_one(); }\n");
    }
    write_file(dir_, "i.c",
               "__attribute__((section(\".init.text\"), used, noinline))\n"
               "static int dup_fn(void) { return 3; }\n"
               "__attribute__((section(\".init.text\"), used, noinline))\n"
               "static int init_only_fn(void) { return 4; }\n");
    std::string cd = "cd '" + dir_ + "' && ";
    std::string cc = "gcc -O2 -fno-pic -fno-asynchronous-unwind-tables -c ";
    int rc = run(cd + cc + "a.c -o a.o && " + cc + "b.c -o b.o && " + cc +
                 "d1/util.c -o d1/util.o && " + cc + "d2/util.c -o d2/util.o && " + cc +
                 "i.c -o i.o && "
                 "ld -o linked.elf -e shared_name a.o b.o d1/util.o d2/util.o && "
                 "ld -r -o mod.ko a.o b.o d1/util.o d2/util.o && "
                 "ld -r -o init_first.ko i.o a.o && ld -r -o init_last.ko a.o i.o && "
                 "readelf -s --wide linked.elf > linked.symtab && "
                 "readelf -s --wide mod.ko > mod.symtab");
    ASSERT_EQ(rc, 0) << "building the ELF fixtures failed";
  }
  static void TearDownTestSuite() {
    if (!dir_.empty())
      run("rm -rf '" + dir_ + "'");
  }
  void SetUp() override {
    if (skip_)
      GTEST_SKIP() << "gcc or ld not available";
  }

  struct Query {
    std::string name;
    SymbolHint hint;
  };
  static std::vector<Query> queries() {
    return {
        {"dup_fn", local_hint("a.c")},
        {"dup_fn", local_hint("b.c")},
        {"dup_fn", local_hint("d1/util.c", {"gamma_one", "gamma_two"})},
        {"dup_fn", local_hint("util.c", {"delta_two"})},
        {"shared_name", global_hint()},
        {"shared_name", local_hint()},
        {"alpha_helper", local_hint()},
        {"b_entry", global_hint()},
    };
  }
  static std::vector<std::optional<unsigned long>> answers(const TargetSymtab &t) {
    std::vector<std::optional<unsigned long>> out;
    for (const Query &q : queries())
      out.push_back(t.sympos(q.name, q.hint));
    return out;
  }

  static inline std::string dir_;
  static inline bool skip_ = false;
};

TEST_F(TargetSymtabElfTest, VmlinuxOrderIsAddressOrder) {
  TargetSymtab t(dir_ + "/linked.elf", "vmlinux");
  EXPECT_EQ(t.format(), TargetFormat::Elf);
  EXPECT_TRUE(t.has_file_info());
  ASSERT_EQ(t.find_all("dup_fn").size(), 4u);
  // b.c's copy has the lowest address, so it is first although a.c's comes first in .symtab.
  EXPECT_EQ(t.file_of(*t.find_all("dup_fn")[0]), "b.c");
  EXPECT_GT(t.find_all("dup_fn")[0]->source_index, t.find_all("dup_fn")[1]->source_index);
  using V = std::vector<std::optional<unsigned long>>;
  // a.c, b.c, util.c by gamma, util.c by delta, shared_name global/local, alpha_helper, b_entry.
  EXPECT_EQ(answers(t), (V{2, 1, 3, 4, 1, 2, 0, 0}));
  EXPECT_EQ(t.address_of("dup_fn", 1), t.find_all("dup_fn")[0]->address);
  EXPECT_LT(*t.address_of("dup_fn", 1), *t.address_of("dup_fn", 2));
  // Linker-defined symbols are global and outside any file block.
  ASSERT_TRUE(t.contains("_end"));
  EXPECT_TRUE(t.file_of(*t.find("_end", 0)).empty());
  const TargetSymbol *counter = t.find("alpha_counter", 0);
  ASSERT_NE(counter, nullptr);
  EXPECT_EQ(counter->kind, SymbolKind::Object);
  EXPECT_EQ(counter->size, 4u);
  EXPECT_EQ(t.file_of(*counter), "a.c");
}

TEST_F(TargetSymtabElfTest, ModuleOrderIsSymtabOrder) {
  // The same linked file taken as a module: positions follow .symtab, not addresses.
  TargetSymtab t(dir_ + "/linked.elf", "fake-mod");
  EXPECT_EQ(t.objname(), "fake_mod");
  using V = std::vector<std::optional<unsigned long>>;
  EXPECT_EQ(answers(t), (V{1, 2, 3, 4, 2, 1, 0, 0}));

  // A relocatable module (section-relative values, so address order would be meaningless).
  TargetSymtab m(dir_ + "/mod.ko", "mod");
  EXPECT_EQ(answers(m), (V{1, 2, 3, 4, 2, 1, 0, 0}));
}

TEST_F(TargetSymtabElfTest, ReadelfDumpGivesSameAnswersAsElf) {
  TargetSymtab elf(dir_ + "/linked.elf", "vmlinux");
  TargetSymtab dump(dir_ + "/linked.symtab", "vmlinux");
  EXPECT_EQ(dump.format(), TargetFormat::Readelf);
  EXPECT_EQ(answers(dump), answers(elf));
  ASSERT_EQ(dump.size(), elf.size());
  for (size_t i = 0; i < elf.size(); i++) {
    EXPECT_EQ(dump.symbols()[i].name, elf.symbols()[i].name) << i;
    EXPECT_EQ(dump.symbols()[i].address, elf.symbols()[i].address) << i;
    EXPECT_EQ(dump.file_of(dump.symbols()[i]), elf.file_of(elf.symbols()[i])) << i;
  }
  TargetSymtab mod_elf(dir_ + "/mod.ko", "mod");
  TargetSymtab mod_dump(dir_ + "/mod.symtab", "mod");
  EXPECT_EQ(answers(mod_dump), answers(mod_elf));
}

TEST_F(TargetSymtabElfTest, ExpectedNamesAnswerAsTheWholeTable) {
  std::vector<std::string> names = {"dup_fn",       "gamma_one",   "gamma_two",
                                    "delta_two",    "b_entry",     "shared_name",
                                    "alpha_helper", "beta_helper", "alpha_cold"};
  for (const char *file : {"linked.elf", "linked.symtab", "mod.ko", "mod.symtab"})
    for (const char *objname : {"vmlinux", "mod"})
      expect_same_answers_for(dir_ + "/" + file, objname, names);
  for (const char *file : {"init_first.ko", "init_last.ko"})
    expect_same_answers_for(dir_ + "/" + file, "m", {"dup_fn", "init_only_fn", "alpha_helper"});
}

TEST_F(TargetSymtabElfTest, SameFileNameWithoutNeighboursIsAmbiguous) {
  TargetSymtab t(dir_ + "/linked.elf", "vmlinux");
  expect_throw_with<Error>([&] { t.sympos("dup_fn", local_hint("util.c")); },
                           {"'dup_fn'", "ambiguous", "util.c"});
}

TEST_F(TargetSymtabElfTest, ModuleInitSectionSymbols) {
  // After init the module's kallsyms has no .init symbols, while it loads it has all of them.
  TargetSymtab first(dir_ + "/init_first.ko", "m");
  EXPECT_FALSE(first.contains("init_only_fn"));
  EXPECT_EQ(first.sympos("init_only_fn", local_hint()), std::nullopt);
  ASSERT_EQ(first.find_all("dup_fn").size(), 1u);
  // i.c's dup_fn precedes a.c's in .symtab: position 1 after init, 2 while loading.
  expect_throw_with<Unpatchable>([&] { first.sympos("dup_fn", local_hint("a.c")); },
                                 {"'dup_fn'", "load"});
  // When it follows, the position is 1 either way, but 0 would be ambiguous while loading.
  TargetSymtab last(dir_ + "/init_last.ko", "m");
  EXPECT_EQ(last.sympos("dup_fn", local_hint("a.c")), 1u);
  EXPECT_EQ(last.sympos("alpha_helper", local_hint("a.c")), 0u);

  // vmlinux keeps .init.text symbols in kallsyms.
  TargetSymtab vm(dir_ + "/init_first.ko", "vmlinux");
  EXPECT_TRUE(vm.contains("init_only_fn"));
  EXPECT_EQ(vm.find_all("dup_fn").size(), 2u);
}

} // namespace
} // namespace klp
