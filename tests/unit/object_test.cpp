// The ELF layers: reading a compiler's object, writing it back, and refusing malformed input.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "elf_writer.h"
#include "object.h"
#include "test_util.h"

using namespace klp;
using namespace klp::test;

namespace {

std::unique_ptr<Object> compile_simple(const ScratchDir &dir, const std::string &extra = "") {
  std::string out = dir.file("simple.o");
  compile(testdata("elf/simple.c"), out, extra);
  return Object::load(out);
}

// Everything that identifies a relocation except indices.
std::vector<std::string> describe_relocs(const Object &obj) {
  std::vector<std::string> v;
  for (const Section &sec : obj.sections)
    for (const Relocation &r : sec.relocs)
      v.push_back(sec.base->name + "+" + hex(r.offset) + " " + std::to_string(r.type) + " " +
                  r.sym->name + std::to_string(r.addend));
  std::sort(v.begin(), v.end());
  return v;
}

void flip_bytes(const std::string &path, size_t offset, const std::vector<uint8_t> &bytes) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(offset);
  f.write((const char *)bytes.data(), bytes.size());
}

} // namespace

TEST(Object, ReadsSectionsSymbolsAndRelocations) {
  ScratchDir dir;
  auto obj = compile_simple(dir);
  Section *text = obj->find_section(".text.simple_entry");
  ASSERT_NE(text, nullptr);
  EXPECT_TRUE(text->is_text());
  ASSERT_NE(text->rela, nullptr);
  EXPECT_EQ(text->rela->base, text);
  Symbol *entry = obj->find_symbol("simple_entry");
  ASSERT_NE(entry, nullptr);
  EXPECT_TRUE(entry->is_func());
  EXPECT_EQ(entry->sec, text);
  EXPECT_EQ(entry->bind, STB_GLOBAL);
  // The call to __fentry__ is the first relocation of every traced function.
  bool has_fentry = false;
  for (const Relocation &r : text->relocations())
    has_fentry |= r.sym->name == "__fentry__" && r.offset == 1;
  EXPECT_TRUE(has_fentry);
  EXPECT_EQ(obj->source_file(), "simple.c");
  bool found = false;
  for (Section &s : obj->sections) {
    std::string_view contents((const char *)s.data.data(), s.data.size());
    if (s.is_string() && s.is_alloc())
      found |= contents.find("simple %d %s\n") != std::string_view::npos;
  }
  EXPECT_TRUE(found);
}

TEST(Object, WriteReadRoundTripKeepsEverything) {
  ScratchDir dir;
  auto obj = compile_simple(dir);
  write_object(*obj, dir.file("copy.o"));
  auto copy = Object::load(dir.file("copy.o"));
  EXPECT_EQ(describe_relocs(*obj), describe_relocs(*copy));
  for (const Section &sec : obj->sections) {
    if (sec.type() == SHT_SYMTAB || sec.type() == SHT_STRTAB || sec.is_rela())
      continue;
    Section *twin = copy->find_section(sec.name);
    ASSERT_NE(twin, nullptr) << sec.name;
    EXPECT_EQ(sec.data, twin->data) << sec.name;
    EXPECT_EQ(sec.size(), twin->size()) << sec.name;
    EXPECT_EQ(sec.flags(), twin->flags()) << sec.name;
  }
  for (const Symbol &sym : obj->symbols) {
    if (sym.is_section())
      continue;
    Symbol *twin = copy->find_symbol(sym.name);
    ASSERT_NE(twin, nullptr) << sym.name;
    EXPECT_EQ(sym.value, twin->value);
    EXPECT_EQ(sym.size, twin->size);
    EXPECT_EQ(sym.bind, twin->bind);
    EXPECT_EQ(sym.type, twin->type);
    EXPECT_EQ(sym.sec ? sym.sec->name : "", twin->sec ? twin->sec->name : "");
  }
  // The system linker accepts what we wrote.
  RunResult ld = run("ld -r -o " + dir.file("linked.o") + " " + dir.file("copy.o"));
  EXPECT_EQ(ld.exit_code, 0) << ld.out;
}

TEST(Object, ReadsCompressedSections) {
  ScratchDir dir;
  for (std::string kind : {"zlib", "zstd"}) {
    std::string out = dir.file("dbg-" + kind + ".o");
    std::string plain = dir.file("dbg-plain.o");
    compile(testdata("elf/simple.c"), plain, "-g");
    RunResult r = run("objcopy --compress-debug-sections=" + kind + " " + plain + " " + out);
    ASSERT_EQ(r.exit_code, 0) << "objcopy cannot make " << kind << " sections here: " << r.out;
    auto a = Object::load(plain), b = Object::load(out);
    Section *info_a = a->find_section(".debug_info"), *info_b = b->find_section(".debug_info");
    ASSERT_NE(info_a, nullptr);
    ASSERT_NE(info_b, nullptr);
    EXPECT_EQ(info_a->data, info_b->data) << kind;
    EXPECT_FALSE(info_b->flags() & SHF_COMPRESSED);
  }
}

TEST(Object, RejectsNonElfWithFileName) {
  ScratchDir dir;
  write_text(dir.file("junk.o"), "this is not an object\n");
  try {
    Object::load(dir.file("junk.o"));
    FAIL() << "junk accepted";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("junk.o"), std::string::npos) << e.what();
  }
}

TEST(Object, RejectsTruncatedObject) {
  ScratchDir dir;
  compile_simple(dir);
  std::string path = dir.file("simple.o");
  std::string bytes = read_text(path);
  for (size_t keep : {size_t(10), size_t(64), bytes.size() / 2, bytes.size() - 1}) {
    write_text(dir.file("cut.o"), bytes.substr(0, keep));
    EXPECT_THROW(Object::load(dir.file("cut.o")), Error) << "kept " << keep;
  }
}

TEST(Object, RejectsRelocationWithBadSymbolIndex) {
  ScratchDir dir;
  auto obj = compile_simple(dir);
  Section *rela = obj->find_section(".rela.text.simple_entry");
  ASSERT_NE(rela, nullptr);
  // r_info of the first relocation: symbol index in the high 32 bits.
  size_t at = rela->shdr.sh_offset + offsetof(Elf64_Rela, r_info) + 4;
  flip_bytes(dir.file("simple.o"), at, {0xff, 0xff, 0x00, 0x00});
  try {
    Object::load(dir.file("simple.o"));
    FAIL() << "bad symbol index accepted";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("(.text.simple_entry)+0x"), std::string::npos) << e.what();
  }
}

TEST(Object, RejectsSectionOffsetPastEndOfFile) {
  ScratchDir dir;
  auto obj = compile_simple(dir);
  Section *text = obj->find_section(".text.simple_entry");
  ASSERT_NE(text, nullptr);
  size_t shdr_at = obj->ehdr.e_shoff + text->index * sizeof(Elf64_Shdr);
  uint64_t huge = 0x7fffffff0000ull;
  std::vector<uint8_t> b((uint8_t *)&huge, (uint8_t *)&huge + 8);
  flip_bytes(dir.file("simple.o"), shdr_at + offsetof(Elf64_Shdr, sh_offset), b);
  EXPECT_THROW(Object::load(dir.file("simple.o")), Error);
}

TEST(Object, WriteFailureLeavesNoPartialFile) {
  ScratchDir dir;
  auto obj = compile_simple(dir);
  // A symbol whose section is not part of the object cannot be written.
  Section orphan;
  orphan.name = ".text.orphan";
  Symbol sym;
  sym.name = "orphan";
  sym.type = STT_FUNC;
  sym.sec = &orphan;
  obj->add_symbol(sym);
  EXPECT_THROW(write_object(*obj, dir.file("out.o")), Error);
  EXPECT_FALSE(std::filesystem::exists(dir.file("out.o")));
  for (auto &e : std::filesystem::directory_iterator(dir.path()))
    EXPECT_EQ(e.path().filename().string().find("out.o.tmp"), std::string::npos);
}
