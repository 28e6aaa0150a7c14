// Symvers: parsing Module.symvers and looking exports up.
#include <gtest/gtest.h>

#include <stdlib.h>

#include <fstream>
#include <string>

#include "error.h"
#include "symvers.h"

namespace klp {
namespace {

class SymversTest : public testing::Test {
protected:
  void SetUp() override {
    dir_ = testing::TempDir() + "klp-symvers-XXXXXX";
    ASSERT_NE(mkdtemp(dir_.data()), nullptr);
  }
  void TearDown() override { std::system(("rm -rf '" + dir_ + "'").c_str()); }

  std::string write(const std::string &text) {
    std::string path = dir_ + "/Module.symvers";
    std::ofstream out(path, std::ios::binary);
    out << text;
    return path;
  }

  // The message of the Error that parsing `text` throws.
  std::string error_of(const std::string &text) {
    try {
      Symvers s(write(text));
    } catch (const Error &e) {
      return e.what();
    }
    ADD_FAILURE() << "no error for: " << text;
    return "";
  }

  std::string dir_;
};

// As written by 6.1's modpost: crc, symbol, module, export type, namespace (often empty).
const char *const kSymvers61 = "0x1b2c3d4e\tprintk\tvmlinux\tEXPORT_SYMBOL\t\n"
                               "0x00000000\tkmalloc_trace\tvmlinux\tEXPORT_SYMBOL_GPL\t\n"
                               "0xdeadbeef\text4_fn\tfs/ext4/ext4\tEXPORT_SYMBOL_GPL\t\n"
                               "0x0badc0de\tusb_thing\tdrivers/usb/core/usb-core\tEXPORT_SYMBOL\t"
                               "USB_STORAGE\n"
                               "\n"
                               "0x12345678\tno_ns_field\tvmlinux\tEXPORT_SYMBOL\n";

TEST_F(SymversTest, Parses61Format) {
  Symvers s(write(kSymvers61));
  EXPECT_EQ(s.size(), 5u);
  const Export *p = s.find("printk");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->crc, 0x1b2c3d4eu);
  EXPECT_EQ(p->module, "vmlinux");
  EXPECT_TRUE(p->in_vmlinux());
  EXPECT_EQ(p->module_basename(), "vmlinux");
  EXPECT_EQ(p->type, ExportType::Normal);
  EXPECT_FALSE(p->gpl_only());
  EXPECT_EQ(p->ns, "");
  EXPECT_EQ(p->line, 1u);

  const Export *e = s.find("ext4_fn");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->module, "fs/ext4/ext4");
  EXPECT_EQ(e->module_basename(), "ext4");
  EXPECT_EQ(e->objname(), "ext4");
  EXPECT_FALSE(e->in_vmlinux());
  EXPECT_EQ(e->type, ExportType::Gpl);
  EXPECT_TRUE(e->gpl_only());
  EXPECT_STREQ(export_type_name(e->type), "EXPORT_SYMBOL_GPL");

  const Export *u = s.find("usb_thing");
  ASSERT_NE(u, nullptr);
  EXPECT_EQ(u->module_basename(), "usb-core");
  EXPECT_EQ(u->objname(), "usb_core");
  EXPECT_EQ(u->ns, "USB_STORAGE");
  EXPECT_EQ(u->line, 4u);

  ASSERT_NE(s.find("no_ns_field"), nullptr);
  EXPECT_EQ(s.find("no_ns_field")->line, 6u);

  EXPECT_TRUE(s.exported_by_vmlinux("printk"));
  EXPECT_TRUE(s.exported_by_vmlinux("kmalloc_trace"));
  EXPECT_FALSE(s.exported_by_vmlinux("ext4_fn"));
  EXPECT_FALSE(s.exported_by_vmlinux("not_exported"));
  EXPECT_EQ(s.find("not_exported"), nullptr);
  EXPECT_EQ(s.exports().front().name, "printk");
}

TEST_F(SymversTest, ParsesOlderFormats) {
  // Before 5.4: four fields. 5.4 to 5.9: the namespace came third.
  Symvers s = Symvers::from_text("0x00000001\told_sym\tvmlinux\tEXPORT_SYMBOL_GPL_FUTURE\n"
                                 "0x00000002\tns_sym\tSOME_NS\tdrivers/x/x\tEXPORT_SYMBOL\n"
                                 "0x00000003\tno_ns_sym\t\tvmlinux\tEXPORT_UNUSED_SYMBOL_GPL\r\n",
                                 "old.symvers");
  EXPECT_EQ(s.source(), "old.symvers");
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s.find("old_sym")->type, ExportType::GplFuture);
  EXPECT_EQ(s.find("old_sym")->ns, "");
  EXPECT_EQ(s.find("ns_sym")->module, "drivers/x/x");
  EXPECT_EQ(s.find("ns_sym")->ns, "SOME_NS");
  EXPECT_EQ(s.find("no_ns_sym")->module, "vmlinux");
  EXPECT_TRUE(s.find("no_ns_sym")->gpl_only());
  EXPECT_TRUE(s.exported_by_vmlinux("no_ns_sym"));
}

TEST_F(SymversTest, DuplicateLinesOfTheSameExportAreAccepted) {
  Symvers s = Symvers::from_text(
      "0x1\tf\tvmlinux\tEXPORT_SYMBOL\t\n0x1\tf\tvmlinux\tEXPORT_SYMBOL\t\n", "dup");
  EXPECT_EQ(s.size(), 1u);
  EXPECT_EQ(s.find("f")->line, 1u);
}

TEST_F(SymversTest, MalformedLinesNameFileAndLine) {
  std::string path = dir_ + "/Module.symvers";
  std::string msg =
      error_of("0x1\tgood\tvmlinux\tEXPORT_SYMBOL\t\n0x2 spaces vmlinux EXPORT_SYMBOL\n");
  EXPECT_EQ(msg.rfind(path + ":2: malformed line", 0), 0u) << msg;

  msg = error_of("0xZZ\tf\tvmlinux\tEXPORT_SYMBOL\t\n");
  EXPECT_EQ(msg.rfind(path + ":1: bad crc", 0), 0u) << msg;
  msg = error_of("0x123456789\tf\tvmlinux\tEXPORT_SYMBOL\t\n");
  EXPECT_EQ(msg.rfind(path + ":1: bad crc", 0), 0u) << msg;

  msg = error_of("\n\n0x1\tf\tvmlinux\tEXPORT_SOMETHING\t\n");
  EXPECT_EQ(msg.rfind(path + ":3: unknown export type", 0), 0u) << msg;

  msg = error_of("0x1\t\tvmlinux\tEXPORT_SYMBOL\t\n");
  EXPECT_EQ(msg.rfind(path + ":1: empty symbol name", 0), 0u) << msg;

  msg = error_of("0x1\tf\t\tEXPORT_SYMBOL\t\n");
  EXPECT_EQ(msg.rfind(path + ":1: empty module name", 0), 0u) << msg;

  msg = error_of("0x1\tf\tvmlinux\tEXPORT_SYMBOL\t\t\textra\n");
  EXPECT_EQ(msg.rfind(path + ":1: malformed line", 0), 0u) << msg;

  msg = error_of("0x1\tf\tvmlinux\tEXPORT_SYMBOL\t\n0x1\tf\tfs/ext4/ext4\tEXPORT_SYMBOL\t\n");
  EXPECT_EQ(msg.rfind(path + ":2: ", 0), 0u) << msg;
  EXPECT_NE(msg.find("'f'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("line 1"), std::string::npos) << msg;
}

TEST_F(SymversTest, MissingFileIsAnError) {
  std::string path = dir_ + "/nope.symvers";
  try {
    Symvers s(path);
    ADD_FAILURE() << "no error";
  } catch (const Error &e) {
    EXPECT_EQ(std::string(e.what()).rfind(path + ": cannot open", 0), 0u) << e.what();
  }
}

TEST_F(SymversTest, LazyFileIsParsedOnFirstLookup) {
  std::string missing = dir_ + "/nope.symvers";
  EXPECT_THROW(Symvers::open_lazily(missing), Error);
  // Not parsed until asked: a malformed line is reported by the first lookup, with its line.
  std::string path = write("0x1\tf\tvmlinux\tEXPORT_SYMBOL\t\nbroken\n");
  Symvers lazy = Symvers::open_lazily(path);
  EXPECT_EQ(lazy.source(), path);
  try {
    lazy.find("f");
    ADD_FAILURE() << "no error";
  } catch (const Error &e) {
    EXPECT_EQ(std::string(e.what()).rfind(path + ":2: malformed line", 0), 0u) << e.what();
  }
  Symvers good = Symvers::open_lazily(write(kSymvers61));
  Symvers moved = std::move(good);
  ASSERT_NE(moved.find("ext4_fn"), nullptr);
  EXPECT_EQ(moved.find("ext4_fn")->objname(), "ext4");
  EXPECT_EQ(moved.size(), 5u);
}

// Thousands of exports, as a kernel's Module.symvers has: each found by name, the duplicate check
// spans them all, and what find() returned stays valid once exports() has made every Export.
TEST_F(SymversTest, ManyExportsFoundByName) {
  std::string text;
  for (int i = 0; i < 3000; i++)
    text += "0x" + std::to_string(1000 + i) + "\tsym_" + std::to_string(i) + "\t" +
            (i % 2 ? "vmlinux" : "drivers/m" + std::to_string(i)) + "\tEXPORT_SYMBOL_GPL\t\n";
  Symvers s = Symvers::from_text(text, "many");
  EXPECT_EQ(s.size(), 3000u);
  const Export *first = s.find("sym_2998");
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->module, "drivers/m2998");
  EXPECT_EQ(first->objname(), "m2998");
  EXPECT_EQ(first->crc, 0x3998u); // "0x3998"
  EXPECT_EQ(first->line, 2999u);
  EXPECT_EQ(first->type, ExportType::Gpl);
  EXPECT_EQ(s.find("sym_3000"), nullptr);
  EXPECT_EQ(s.find("sym_"), nullptr);
  for (int i = 0; i < 3000; i += 7)
    EXPECT_EQ(s.exported_by_vmlinux("sym_" + std::to_string(i)), i % 2 == 1) << i;
  ASSERT_EQ(s.exports().size(), 3000u);
  EXPECT_EQ(s.exports()[2998].name, "sym_2998");
  EXPECT_EQ(first->name, "sym_2998");
  EXPECT_EQ(s.find("sym_17")->line, 18u);

  try {
    Symvers::from_text(text + "0x1\tsym_4\tvmlinux\tEXPORT_SYMBOL\t\n", "dup");
    ADD_FAILURE() << "no error";
  } catch (const Error &e) {
    EXPECT_EQ(std::string(e.what()).rfind("dup:3001: 'sym_4' is exported by both", 0), 0u)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("(line 5)"), std::string::npos) << e.what();
  }
}

TEST_F(SymversTest, EmptyFileHasNoExports) {
  Symvers s(write(""));
  EXPECT_EQ(s.size(), 0u);
  EXPECT_EQ(s.find("printk"), nullptr);
}

} // namespace
} // namespace klp

// kpatch's positional form passes /dev/null for "no Module.symvers": an empty table, not an
// error (the non-regular-file check must not refuse it).
TEST(SymversDevNull, ReadsAsEmpty) {
  klp::Symvers lazy = klp::Symvers::open_lazily("/dev/null");
  EXPECT_EQ(lazy.find("printk"), nullptr);
  klp::Symvers eager("/dev/null");
  EXPECT_EQ(eager.find("printk"), nullptr);
}
