// Functions whose only differences are __LINE__ values (create-diff-object/line_macro.h): on
// hand-assembled bytes, and on code GCC generates with the kernel's flags from
// testdata/line_macro/line_users.c.
#include "line_macro.h"

#include <gelf.h>
#include <libelf.h>

#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace klp {
namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;

constexpr uint32_t kPlt32 = 4;   // R_X86_64_PLT32
constexpr uint32_t kAbs32S = 11; // R_X86_64_32S

// ---------------------------------------------------------------------------------------------
// Hand-assembled code.

// mov $line,%esi; mov $0x0,%rdi; call <target>; ret  (+ relocations)
struct Snippet {
  Bytes code;
  std::vector<CodeReloc> relocs;
  FunctionBytes view() const { return {code, relocs}; }
};

Bytes le32(uint32_t v) { return {uint8_t(v), uint8_t(v >> 8), uint8_t(v >> 16), uint8_t(v >> 24)}; }

Snippet might_sleep_call(uint32_t line, std::string_view callee = "__might_sleep",
                         uint8_t mov_opcode = 0xbe /* mov $imm,%esi */, Bytes between = {}) {
  Snippet s;
  s.code = {mov_opcode};
  for (uint8_t b : le32(line))
    s.code.push_back(b);
  s.code.insert(s.code.end(), between.begin(), between.end());
  const uint64_t mov_rdi = s.code.size();
  s.code.insert(s.code.end(), {0x48, 0xc7, 0xc7, 0, 0, 0, 0}); // mov $.rodata.str1.1,%rdi
  s.relocs.push_back({mov_rdi + 3, kAbs32S, ".rodata.str1.1", 0});
  const uint64_t call = s.code.size();
  s.code.insert(s.code.end(), {0xe8, 0, 0, 0, 0});
  s.relocs.push_back({call + 1, kPlt32, callee, -4});
  s.code.push_back(0xc3);
  return s;
}

TEST(LineMacroTest, SyntheticLineShiftIsIgnored) {
  const Snippet a = might_sleep_call(0x1c3);
  const Snippet b = might_sleep_call(0x1c5);
  const LineMacroResult r = check_line_macro_changes(a.view(), b.view());
  ASSERT_TRUE(r.line_only) << r.reason;
  EXPECT_TRUE(r);
  EXPECT_TRUE(only_line_macro_changes(a.view(), b.view()));
  ASSERT_EQ(r.ignored.size(), 1u);
  EXPECT_EQ(r.ignored[0].offset, 0u);
  EXPECT_EQ(r.ignored[0].orig_text, "movl $0x1c3,%esi");
  EXPECT_EQ(r.ignored[0].patched_text, "movl $0x1c5,%esi");
  EXPECT_EQ(r.ignored[0].consumer, "__might_sleep");
  EXPECT_EQ(r.ignored[0].orig_line, 0x1c3);
  EXPECT_EQ(r.ignored[0].patched_line, 0x1c5);

  // Identical code is trivially "line only", with nothing ignored.
  const LineMacroResult same = check_line_macro_changes(a.view(), a.view());
  EXPECT_TRUE(same.line_only);
  EXPECT_TRUE(same.ignored.empty());
}

TEST(LineMacroTest, SyntheticNonConsumerIsAChange) {
  const Snippet a = might_sleep_call(0x1c3, "consume");
  const Snippet b = might_sleep_call(0x1c5, "consume");
  const LineMacroResult r = check_line_macro_changes(a.view(), b.view());
  EXPECT_FALSE(r.line_only);
  EXPECT_TRUE(r.ignored.empty());
  EXPECT_NE(r.reason.find("instruction at 0x0 differs: movl $0x1c3,%esi vs movl $0x1c5,%esi"),
            std::string::npos)
      << r.reason;

  // A caller-supplied consumer makes it one.
  const LineConsumer mine[] = {{"consume", 1, -1, "test"}};
  LineMacroOptions opts;
  opts.extra_consumers = mine;
  EXPECT_TRUE(only_line_macro_changes(a.view(), b.view(), opts));
}

TEST(LineMacroTest, SyntheticWrongArgumentRegisterIsAChange) {
  // mov $imm,%edx: __might_sleep takes the line in its second argument (%esi), not the third.
  const Snippet a = might_sleep_call(0x1c3, "__might_sleep", 0xba);
  const Snippet b = might_sleep_call(0x1c5, "__might_sleep", 0xba);
  EXPECT_FALSE(only_line_macro_changes(a.view(), b.view()));
  // _printk is variadic from its second argument: %edx may well hold a line.
  const Snippet c = might_sleep_call(0x1c3, "_printk", 0xba);
  const Snippet d = might_sleep_call(0x1c5, "_printk", 0xba);
  EXPECT_TRUE(only_line_macro_changes(c.view(), d.view()));
  // ...but not its first (the format, %edi).
  const Snippet e = might_sleep_call(0x1c3, "_printk", 0xbf);
  const Snippet f = might_sleep_call(0x1c5, "_printk", 0xbf);
  EXPECT_FALSE(only_line_macro_changes(e.view(), f.view()));
}

TEST(LineMacroTest, SyntheticCallsToClonesAndSectionSymbols) {
  // GCC's IPA-CP clone of a static consumer, called through its function section's symbol
  // (-ffunction-sections), with __func__ propagated away: the line moves to the second argument.
  const LineConsumer mine[] = {{"check_validity", 2, -1, "test"}};
  LineMacroOptions opts;
  opts.extra_consumers = mine;
  const Snippet a = might_sleep_call(0x27d, ".text.check_validity.constprop.0");
  const Snippet b = might_sleep_call(0x280, ".text.check_validity.constprop.0");
  const LineMacroResult r = check_line_macro_changes(a.view(), b.view(), opts);
  ASSERT_TRUE(r.line_only) << r.reason;
  EXPECT_EQ(r.ignored[0].consumer, "check_validity");
  // Not a clone: the slot must match the declared one.
  const Snippet c = might_sleep_call(0x27d, "check_validity");
  const Snippet d = might_sleep_call(0x280, "check_validity");
  EXPECT_FALSE(only_line_macro_changes(c.view(), d.view(), opts));
  // A section symbol without clone suffix is the function itself.
  const Snippet e = might_sleep_call(0x27d, ".text.__might_sleep");
  const Snippet f = might_sleep_call(0x280, ".text.__might_sleep");
  EXPECT_TRUE(only_line_macro_changes(e.view(), f.view()));
}

// mov $line,%r8d; mov %r15,%rdi; mov $<func>,%rcx; call <callee>; ret
Snippet func_line_call(uint32_t line, std::string_view func_target, uint8_t func_reg = 0xc1,
                       std::string_view callee = "my_check_inode") {
  Snippet s;
  s.code = {0x41, 0xb8};
  for (uint8_t b : le32(line))
    s.code.push_back(b);
  s.code.insert(s.code.end(), {0x4c, 0x89, 0xff});                 // mov %r15,%rdi
  s.code.insert(s.code.end(), {0x48, 0xc7, func_reg, 0, 0, 0, 0}); // mov $0x0,%rcx (c1) / %rdx (c2)
  s.relocs.push_back({s.code.size() - 4, kAbs32S, func_target, 0});
  s.code.insert(s.code.end(), {0xe8, 0, 0, 0, 0});
  s.relocs.push_back({s.code.size() - 4, kPlt32, callee, -4});
  s.code.push_back(0xc3);
  return s;
}

TEST(LineMacroTest, SyntheticFuncLinePairsAreInferred) {
  // f(..., __func__, __LINE__) with an unknown f: __func__ in %rcx (4th), the line in %r8d (5th).
  const Snippet a = func_line_call(0x129d, ".rodata.__func__.9");
  const Snippet b = func_line_call(0x12a0, ".rodata.__func__.9");
  const LineMacroResult r = check_line_macro_changes(a.view(), b.view());
  ASSERT_TRUE(r.line_only) << r.reason;
  EXPECT_EQ(r.ignored[0].consumer, "my_check_inode");
  EXPECT_EQ(r.ignored[0].orig_text, "movl $0x129d,%r8d");
  // The same through a local clone, and with the __func__.N symbol instead of its section.
  EXPECT_TRUE(
      only_line_macro_changes(func_line_call(0x10, "__func__.3", 0xc1, ".text.f.isra.0").view(),
                              func_line_call(0x11, "__func__.3", 0xc1, ".text.f.isra.0").view()));
  // Can be turned off.
  LineMacroOptions off;
  off.infer_func_line_pairs = false;
  EXPECT_FALSE(only_line_macro_changes(a.view(), b.view(), off));
  // An ordinary string is not __func__.
  EXPECT_FALSE(only_line_macro_changes(func_line_call(0x129d, ".rodata.str1.1").view(),
                                       func_line_call(0x12a0, ".rodata.str1.1").view()));
  // __func__ two slots before (%rdx): not adjacent.
  EXPECT_FALSE(only_line_macro_changes(func_line_call(0x129d, ".rodata.__func__.9", 0xc2).view(),
                                       func_line_call(0x12a0, ".rodata.__func__.9", 0xc2).view()));
}

TEST(LineMacroTest, SyntheticClobberedOrInterruptedLoadIsAChange) {
  // mov %eax,%esi overwrites the line before the call.
  const Snippet a = might_sleep_call(0x1c3, "__might_sleep", 0xbe, {0x89, 0xc6});
  const Snippet b = might_sleep_call(0x1c5, "__might_sleep", 0xbe, {0x89, 0xc6});
  EXPECT_FALSE(only_line_macro_changes(a.view(), b.view()));
  // mov %eax,%ebx does not.
  const Snippet c = might_sleep_call(0x1c3, "__might_sleep", 0xbe, {0x89, 0xc3});
  const Snippet d = might_sleep_call(0x1c5, "__might_sleep", 0xbe, {0x89, 0xc3});
  EXPECT_TRUE(only_line_macro_changes(c.view(), d.view()));
  // An indirect call in between ends the search.
  const Snippet e = might_sleep_call(0x1c3, "__might_sleep", 0xbe, {0xff, 0xd0});
  const Snippet f = might_sleep_call(0x1c5, "__might_sleep", 0xbe, {0xff, 0xd0});
  EXPECT_FALSE(only_line_macro_changes(e.view(), f.view()));
  // A ret in between too.
  const Snippet g = might_sleep_call(0x1c3, "__might_sleep", 0xbe, {0xc3});
  const Snippet h = might_sleep_call(0x1c5, "__might_sleep", 0xbe, {0xc3});
  EXPECT_FALSE(only_line_macro_changes(g.view(), h.view()));
}

TEST(LineMacroTest, SyntheticLookaheadIsBounded) {
  const Bytes nops(40, 0x90);
  const Snippet a = might_sleep_call(0x1c3, "__might_sleep", 0xbe, nops);
  const Snippet b = might_sleep_call(0x1c5, "__might_sleep", 0xbe, nops);
  EXPECT_FALSE(only_line_macro_changes(a.view(), b.view()));
  LineMacroOptions opts;
  opts.max_lookahead = 50;
  EXPECT_TRUE(only_line_macro_changes(a.view(), b.view(), opts));
}

TEST(LineMacroTest, SyntheticFollowsJumpToColdPath) {
  // mov $line,%esi; jmp +1; int3; call __might_sleep; ret
  auto make = [](uint32_t line) {
    Snippet s;
    s.code = {0xbe};
    for (uint8_t b : le32(line))
      s.code.push_back(b);
    s.code.insert(s.code.end(), {0xeb, 0x01, 0xcc, 0xe8, 0, 0, 0, 0, 0xc3});
    s.relocs.push_back({9, kPlt32, "__might_sleep", -4});
    return s;
  };
  const Snippet a = make(10), b = make(12);
  EXPECT_TRUE(only_line_macro_changes(a.view(), b.view()));
}

TEST(LineMacroTest, SyntheticImplausibleLineIsAChange) {
  const Snippet a = might_sleep_call(0);
  const Snippet b = might_sleep_call(1);
  EXPECT_FALSE(only_line_macro_changes(a.view(), b.view()));
  const Snippet c = might_sleep_call(10);
  const Snippet d = might_sleep_call(0x7fffffff);
  EXPECT_FALSE(only_line_macro_changes(c.view(), d.view()));
}

TEST(LineMacroTest, SyntheticRelocationsAreCompared) {
  Snippet a = might_sleep_call(0x1c3);
  Snippet b = might_sleep_call(0x1c5);
  b.relocs[0].addend = 8; // a different string
  LineMacroResult r = check_line_macro_changes(a.view(), b.view());
  EXPECT_FALSE(r.line_only);
  EXPECT_EQ(r.reason, "relocation at 0x8 differs: .rodata.str1.1 vs .rodata.str1.1+0x8");
  // The caller may know better (e.g. both addends point at equal strings).
  LineMacroOptions opts;
  opts.same_reloc = [](const CodeReloc &x, const CodeReloc &y) { return x.target == y.target; };
  EXPECT_TRUE(only_line_macro_changes(a.view(), b.view(), opts));

  Snippet c = might_sleep_call(0x1c3);
  c.relocs.pop_back();
  r = check_line_macro_changes(c.view(), b.view());
  EXPECT_FALSE(r.line_only);
  EXPECT_EQ(r.reason, "relocation count differs (1 vs 2)");

  Snippet d = might_sleep_call(0x1c3);
  d.code.push_back(0xcc);
  r = check_line_macro_changes(d.view(), b.view());
  EXPECT_FALSE(r.line_only);
  EXPECT_EQ(r.reason, "code size differs (0x13 vs 0x12)");
}

TEST(LineMacroTest, ConsumerTable) {
  std::set<std::string_view> names;
  for (const LineConsumer &c : line_consumers()) {
    EXPECT_TRUE(names.insert(c.name).second) << "duplicate " << c.name;
    EXPECT_TRUE(c.line_arg >= 0 || c.first_variadic >= 0) << c.name;
    EXPECT_FALSE(c.api.empty()) << c.name;
  }
  auto find = [](std::string_view name) -> const LineConsumer * {
    for (const LineConsumer &c : line_consumers())
      if (c.name == name)
        return &c;
    return nullptr;
  };
  ASSERT_TRUE(find("__might_sleep"));
  EXPECT_EQ(find("__might_sleep")->line_arg, 1);
  ASSERT_TRUE(find("__might_resched"));
  EXPECT_EQ(find("__might_resched")->line_arg, 1);
  ASSERT_TRUE(find("_printk"));
  EXPECT_EQ(find("_printk")->line_arg, -1);
  EXPECT_EQ(find("_printk")->first_variadic, 1);
  ASSERT_TRUE(find("__ext4_error"));
  EXPECT_EQ(find("__ext4_error")->line_arg, 2);
  // Removed long before 5.10; x86 WARN() keeps its line in __bug_table.
  EXPECT_FALSE(find("warn_slowpath_null"));
}

// ---------------------------------------------------------------------------------------------
// GCC-generated code.

// kbuild's x86_64 code-generation flags that shape function text (Debian 12's 6.1 builds with
// retpolines, return thunks and SLS hardening).
constexpr const char *kKernelFlags =
    "-O2 -mcmodel=kernel -fno-pic -ffunction-sections -fdata-sections -mno-red-zone "
    "-fno-asynchronous-unwind-tables -pg -mfentry -mrecord-mcount -fno-jump-tables "
    "-mindirect-branch=thunk-extern -mindirect-branch-register -mfunction-return=thunk-extern "
    "-mharden-sls=all -nostdinc -w";

// One function of an object file: its .text.<name> bytes and .rela.text.<name> entries.
struct ObjFunction {
  Bytes code;
  std::deque<std::string> names; // storage for CodeReloc::target
  std::vector<CodeReloc> relocs;
  FunctionBytes view() const { return {code, relocs}; }
};

using ObjFunctions = std::map<std::string, ObjFunction>;

// Reads every .text.<name> section of a relocatable object with libelf.
ObjFunctions read_functions(const std::string &path) {
  ObjFunctions out;
  elf_version(EV_CURRENT);
  const int fd = open(path.c_str(), O_RDONLY);
  if (fd < 0)
    throw std::runtime_error("cannot open " + path);
  Elf *elf = elf_begin(fd, ELF_C_READ, nullptr);
  size_t shstrndx = 0;
  if (!elf || elf_getshdrstrndx(elf, &shstrndx) != 0) {
    close(fd);
    throw std::runtime_error("not an elf file: " + path);
  }
  auto section_name = [&](size_t idx) -> std::string {
    Elf_Scn *scn = elf_getscn(elf, idx);
    GElf_Shdr sh;
    if (!scn || !gelf_getshdr(scn, &sh))
      return {};
    const char *n = elf_strptr(elf, shstrndx, sh.sh_name);
    return n ? n : "";
  };
  // Section index -> function name, for the .text.* sections.
  std::map<size_t, std::string> text_sections;
  Elf_Scn *symtab = nullptr;
  for (Elf_Scn *scn = elf_nextscn(elf, nullptr); scn; scn = elf_nextscn(elf, scn)) {
    GElf_Shdr sh;
    gelf_getshdr(scn, &sh);
    const std::string name = section_name(elf_ndxscn(scn));
    if (sh.sh_type == SHT_SYMTAB)
      symtab = scn;
    if (sh.sh_type == SHT_PROGBITS && name.rfind(".text.", 0) == 0) {
      const std::string fn = name.substr(6);
      Elf_Data *data = elf_getdata(scn, nullptr);
      auto *p = static_cast<const uint8_t *>(data->d_buf);
      out[fn].code.assign(p, p + data->d_size);
      text_sections[elf_ndxscn(scn)] = fn;
    }
  }
  GElf_Shdr symtab_sh;
  gelf_getshdr(symtab, &symtab_sh);
  Elf_Data *syms = elf_getdata(symtab, nullptr);
  for (Elf_Scn *scn = elf_nextscn(elf, nullptr); scn; scn = elf_nextscn(elf, scn)) {
    GElf_Shdr sh;
    gelf_getshdr(scn, &sh);
    if (sh.sh_type != SHT_RELA)
      continue;
    const auto target = text_sections.find(sh.sh_info);
    if (target == text_sections.end())
      continue;
    ObjFunction &fn = out[target->second];
    Elf_Data *data = elf_getdata(scn, nullptr);
    for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; ++i) {
      GElf_Rela rela;
      gelf_getrela(data, int(i), &rela);
      GElf_Sym sym;
      gelf_getsym(syms, int(GELF_R_SYM(rela.r_info)), &sym);
      std::string name = GELF_ST_TYPE(sym.st_info) == STT_SECTION
                             ? section_name(sym.st_shndx)
                             : elf_strptr(elf, symtab_sh.sh_link, sym.st_name);
      fn.names.push_back(std::move(name));
      fn.relocs.push_back(
          {rela.r_offset, uint32_t(GELF_R_TYPE(rela.r_info)), fn.names.back(), rela.r_addend});
    }
  }
  elf_end(elf);
  close(fd);
  return out;
}

std::string read_file(const std::string &path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class LineMacroGccTest : public ::testing::Test {
protected:
  void SetUp() override {
    if (std::system("gcc --version >/dev/null 2>&1") != 0)
      GTEST_SKIP() << "gcc not found";
    source_ = read_file(std::string(KLP_TESTDATA_DIR) + "/line_macro/line_users.c");
    ASSERT_FALSE(source_.empty());
    std::string tmpl = ::testing::TempDir() + "klp-line-macro-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    if (!dir_.empty() && !HasFailure())
      fs::remove_all(dir_);
  }

  // Compiles `source` as line_users.c in its own directory (so file names are identical) and
  // returns its functions.
  ObjFunctions build(const std::string &variant, const std::string &source,
                     const std::string &extra = "") {
    const fs::path d = fs::path(dir_) / variant;
    fs::create_directories(d);
    std::ofstream(d / "line_users.c") << source;
    const std::string cmd = "cd '" + d.string() + "' && gcc " + kKernelFlags + " " + extra +
                            " -c line_users.c -o line_users.o >gcc.log 2>&1";
    if (std::system(cmd.c_str()) != 0)
      throw std::runtime_error("gcc failed: " + read_file((d / "gcc.log").string()));
    return read_functions((d / "line_users.o").string());
  }

  std::string shifted(int lines) const { return std::string(size_t(lines), '\n') + source_; }
  std::string with_inside(int lines, const std::string &base) const {
    std::string s = base;
    const size_t at = s.find("/* INSERT-HERE */");
    EXPECT_NE(at, std::string::npos);
    s.replace(at, 17, std::string(size_t(lines), '\n'));
    return s;
  }

  std::string source_;
  std::string dir_;
};

TEST_F(LineMacroGccTest, BlankLinesAboveChangeOnlyLineNumbers) {
  const ObjFunctions orig = build("orig", source_);
  const ObjFunctions moved = build("shifted", shifted(3));
  struct Expect {
    const char *fn;
    std::vector<std::string_view> consumers;
  };
  const Expect expects[] = {
      {"sleeper", {"__might_sleep"}},
      {"reporter", {"_printk"}},
      {"stack_reporter", {"_printk"}},
      {"ext4_user", {"__ext4_error"}},
      {"rescheduler", {"__might_resched"}},
      {"callee_changer", {"__might_sleep"}},
      {"two_lines", {"__might_sleep", "_printk", "__might_sleep"}},
      {"func_line_user", {"my_check_inode"}},
  };
  for (const Expect &e : expects) {
    SCOPED_TRACE(e.fn);
    ASSERT_TRUE(orig.count(e.fn) && moved.count(e.fn));
    const ObjFunction &a = orig.at(e.fn);
    const ObjFunction &b = moved.at(e.fn);
    ASSERT_NE(a.code, b.code) << "the line shift should change the code";
    const LineMacroResult r = check_line_macro_changes(a.view(), b.view());
    ASSERT_TRUE(r.line_only) << r.reason;
    // In code order, which need not be source order (GCC moves unlikely paths out of line).
    std::multiset<std::string_view> consumers;
    for (const IgnoredInsn &ig : r.ignored) {
      consumers.insert(ig.consumer);
      EXPECT_EQ(ig.patched_line, ig.orig_line + 3);
      EXPECT_NE(ig.orig_text, ig.patched_text);
    }
    EXPECT_EQ(consumers, std::multiset<std::string_view>(e.consumers.begin(), e.consumers.end()));
  }
  // The pushed seventh printk argument and the register loads.
  EXPECT_EQ(
      check_line_macro_changes(orig.at("stack_reporter").view(), moved.at("stack_reporter").view())
          .ignored[0]
          .orig_text.rfind("pushq $0x", 0),
      0u);
  const LineMacroResult sleeper =
      check_line_macro_changes(orig.at("sleeper").view(), moved.at("sleeper").view());
  EXPECT_EQ(sleeper.ignored[0].orig_text.rfind("movl $0x", 0), 0u);
  EXPECT_NE(sleeper.ignored[0].orig_text.find(",%esi"), std::string::npos);

  // x86 WARN(): the line is in __bug_table, the text does not change at all.
  EXPECT_EQ(orig.at("warner").code, moved.at("warner").code);
  const LineMacroResult warner =
      check_line_macro_changes(orig.at("warner").view(), moved.at("warner").view());
  EXPECT_TRUE(warner.line_only);
  EXPECT_TRUE(warner.ignored.empty());

  // Functions without __LINE__ are untouched.
  EXPECT_EQ(orig.at("constant_user").code, moved.at("constant_user").code);

  // A LineMapFn from the patch's hunks confirms or refutes each shift.
  LineMacroOptions good, bad;
  good.line_map = [](int64_t o, int64_t p) { return p == o + 3; };
  bad.line_map = [](int64_t o, int64_t p) { return p == o + 4; };
  EXPECT_TRUE(only_line_macro_changes(orig.at("sleeper").view(), moved.at("sleeper").view(), good));
  EXPECT_FALSE(only_line_macro_changes(orig.at("sleeper").view(), moved.at("sleeper").view(), bad));
}

TEST_F(LineMacroGccTest, RealChangesAreNotLineNumbers) {
  const ObjFunctions orig = build("orig", source_);
  const ObjFunctions real = build("real", source_, "-DREAL_CHANGE");
  const ObjFunctions both = build("both", shifted(3), "-DREAL_CHANGE");

  // __might_resched(__FILE__, __LINE__, OFFSETS): OFFSETS changes in %edx, not the line (%esi).
  ASSERT_NE(orig.at("rescheduler").code, real.at("rescheduler").code);
  LineMacroResult r =
      check_line_macro_changes(orig.at("rescheduler").view(), real.at("rescheduler").view());
  EXPECT_FALSE(r.line_only);
  EXPECT_NE(r.reason.find("%edx"), std::string::npos) << r.reason;
  EXPECT_FALSE(
      only_line_macro_changes(orig.at("rescheduler").view(), both.at("rescheduler").view()));

  // consume(5) -> consume(6): an immediate, but not a line number argument.
  ASSERT_NE(orig.at("constant_user").code, real.at("constant_user").code);
  r = check_line_macro_changes(orig.at("constant_user").view(), real.at("constant_user").view());
  EXPECT_FALSE(r.line_only);
  EXPECT_NE(r.reason.find("not passed to a line-number consumer"), std::string::npos) << r.reason;

  // The callee changes: the relocation differs, with or without a line shift.
  r = check_line_macro_changes(orig.at("callee_changer").view(), real.at("callee_changer").view());
  EXPECT_FALSE(r.line_only);
  EXPECT_NE(r.reason.find("consume_other"), std::string::npos) << r.reason;
  EXPECT_FALSE(
      only_line_macro_changes(orig.at("callee_changer").view(), both.at("callee_changer").view()));

  // Functions the variant does not touch still shift only lines.
  EXPECT_TRUE(only_line_macro_changes(orig.at("sleeper").view(), both.at("sleeper").view()));
}

TEST_F(LineMacroGccTest, LinesInsertedInsideAFunction) {
  const ObjFunctions orig = build("orig", source_);
  // Only the last __might_sleep() in two_lines() moves.
  const ObjFunctions inside = build("inside", with_inside(2, source_));
  LineMacroResult r =
      check_line_macro_changes(orig.at("two_lines").view(), inside.at("two_lines").view());
  ASSERT_TRUE(r.line_only) << r.reason;
  ASSERT_EQ(r.ignored.size(), 1u);
  EXPECT_EQ(r.ignored[0].patched_line, r.ignored[0].orig_line + 2);

  // Lines above and inside: the shifts differ (3, 3, 5), which is taken as a real change unless
  // the caller allows it.
  const ObjFunctions mixed = build("mixed", with_inside(2, shifted(3)));
  r = check_line_macro_changes(orig.at("two_lines").view(), mixed.at("two_lines").view());
  EXPECT_FALSE(r.line_only);
  EXPECT_NE(r.reason.find("shift by 5 here but by 3 before"), std::string::npos) << r.reason;
  LineMacroOptions opts;
  opts.require_uniform_delta = false;
  r = check_line_macro_changes(orig.at("two_lines").view(), mixed.at("two_lines").view(), opts);
  ASSERT_TRUE(r.line_only) << r.reason;
  EXPECT_EQ(r.ignored.size(), 3u);
}

TEST_F(LineMacroGccTest, ImmediateWidthChangeIsNotLineOnly) {
  // The pushed line in stack_reporter() is below 128: "push $imm8". 100 more lines need
  // "push $imm32", which changes the code layout; that is conservatively reported as a change.
  const ObjFunctions orig = build("orig", source_);
  const ObjFunctions far = build("far", shifted(100));
  const LineMacroResult r =
      check_line_macro_changes(orig.at("stack_reporter").view(), far.at("stack_reporter").view());
  EXPECT_FALSE(r.line_only);
  EXPECT_FALSE(r.reason.empty());
  // Register loads are always imm32 and keep working.
  EXPECT_TRUE(only_line_macro_changes(orig.at("sleeper").view(), far.at("sleeper").view()));
}

} // namespace
} // namespace klp
