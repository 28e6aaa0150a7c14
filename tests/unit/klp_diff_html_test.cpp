// The reviewer's page (klp-diff/html.h) at unit level: a hand-built report whose names and
// source lines hold '<' and '&' renders them escaped and nowhere raw; the instruction diff pairs
// '-' with '+' lines and folds the unchanged instructions between and around hunks; patch hunks
// are matched to a function's lines; SHA-256 gives the standard digests. The page of a real build
// in a browser is tests/kernel/explain-html.sh.
#include <gtest/gtest.h>

#include <sstream>

#include "html.h"
#include "sha256.h"

using namespace klp;

namespace {

size_t count(const std::string &s, const std::string &what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1))
    n++;
  return n;
}

Report hostile_report() {
  FunctionReport f;
  f.name = "operator<<&x";
  f.verdict = Verdict::Changed;
  f.included = f.klp_func = true;
  f.section = ".text.operator<<&x";
  f.orig_size = 0x40;
  f.patched_size = 0x48;
  Decision d;
  d.kind = DecisionKind::Changed;
  d.object = "patched.o";
  d.symbol = f.name;
  d.detail = "bytes differ at +0x8";
  f.reasons.push_back(d);
  f.patched_source = {{"inc/a<b>&c.h", 3, 4}};
  Hunk h1; // a change at 0x8, then the function's middle is unchanged
  h1.lines = {{' ', 0x5, 0x5, "pushq %rbp"},
              {'-', 0x8, std::nullopt, "movl $1,%eax # <old> & more"},
              {'+', std::nullopt, 0x8, "movl $2,%eax # <new> & more"},
              {'+', std::nullopt, 0xd, "call helper<int>"},
              {' ', 0xd, 0x12, "popq %rbp"}};
  h1.skipped_before = 2;
  Hunk h2;
  h2.skipped_before = 9;
  h2.skipped_after = 1;
  h2.lines = {{'-', 0x30, std::nullopt, "ret"}, {' ', 0x31, 0x39, "int3"}};
  f.code = {h1, h2};
  f.changed_instructions = 4;
  f.references = {{"printk<&>", ".klp.sym.vmlinux.printk<&>,2"}};
  f.exported = {{"__fentry__", "vmlinux"}};
  f.special = {{"__bug_table", 0x10, 0x8, "ud2 <bug&>"}};

  FunctionReport u;
  u.name = "same&<fn>";
  u.section = ".text.same";
  u.verdict = Verdict::Unchanged;

  ObjectReport o;
  o.object = "lib/a&b.o";
  o.orig_path = "orig/lib/a&b.o";
  o.patched_path = "patched/lib/a&b.o";
  o.target = "vmlinux";
  o.has_changes = true;
  o.orig_debug_info = o.patched_debug_info = true;
  o.summary = {"changed function: operator<<&x"};
  o.functions = {f, u};
  Report r;
  r.patch_name = "livepatch-<x>&y";
  r.objects = {o};
  return r;
}

std::string render(const Report &r, const PageInfo &info) {
  std::ostringstream s;
  print_html(r, info, s);
  return s.str();
}

} // namespace

TEST(KlpDiffHtml, EscapesNamesSourceAndInstructions) {
  PageInfo info;
  info.module = "livepatch-<x>&y.ko";
  info.inputs.push_back({"fix<1>&.patch", sha256_hex("x"),
                         parse_patch_hunks("--- a/inc/a<b>&c.h\n+++ b/inc/a<b>&c.h\n"
                                           "@@ -3,2 +3,2 @@ int <f>(void)\n-\treturn a < b && c;\n"
                                           "+\treturn a <= b && c;\n context\n")});
  std::string page = render(hostile_report(), info);
  for (const char *escaped :
       {"operator&lt;&lt;&amp;x", "same&amp;&lt;fn&gt;", "lib/a&amp;b.o",
        "livepatch-&lt;x&gt;&amp;y", "inc/a&lt;b&gt;&amp;c.h:3-4", "# &lt;old&gt; &amp; more",
        "call helper&lt;int&gt;", "printk&lt;&amp;&gt;", "ud2 &lt;bug&amp;&gt;",
        "fix&lt;1&gt;&amp;.patch", "+\treturn a &lt;= b &amp;&amp; c;",
        "@@ -3,2 +3,2 @@ int &lt;f&gt;(void)"})
    EXPECT_NE(page.find(escaped), std::string::npos) << escaped;
  // No raw form of any of those strings survives, in text or in attributes.
  for (const char *raw : {"<<&", "<fn>", "a&b", "<x>", "<b>&", "<old>", "<int>", "<&>", "<bug",
                          "<1>", "a <= b", "<f>"})
    EXPECT_EQ(page.find(raw), std::string::npos) << raw;
  // Every '&' outside the page's own script starts an entity.
  std::string body = page.substr(0, page.find("<script>"));
  for (size_t p = body.find('&'); p != std::string::npos; p = body.find('&', p + 1)) {
    size_t semi = body.find(';', p);
    ASSERT_NE(semi, std::string::npos);
    std::string entity = body.substr(p, semi - p + 1);
    EXPECT_TRUE(entity.size() <= 10 && entity.find(' ') == std::string::npos) << entity;
  }
  EXPECT_EQ(page.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_EQ(page.find("http"), std::string::npos) << "the page must not load anything";
}

TEST(KlpDiffHtml, SideBySideDiffPairsAndFolds) {
  std::string page = render(hostile_report(), PageInfo{});
  // One '-' and two '+' in the first hunk: a changed row and an added row.
  EXPECT_EQ(count(page, "<tr class=\"chg\">"), 1u);
  EXPECT_EQ(count(page, "<tr class=\"add\">"), 1u);
  EXPECT_EQ(count(page, "<tr class=\"del\">"), 1u); // the second hunk's ret
  EXPECT_EQ(count(page, "<tr class=\"ctx\">"), 3u);
  // Folded: before the first hunk, between the hunks, after the last, in that order.
  EXPECT_EQ(count(page, "<tr class=\"fold\">"), 3u);
  size_t before = page.find("&#8943; 2 unchanged instructions folded");
  size_t between = page.find("&#8943; 9 unchanged instructions folded");
  size_t after = page.find("&#8943; 1 unchanged instruction folded");
  EXPECT_LT(before, page.find("pushq %rbp"));
  EXPECT_LT(page.find("popq %rbp"), between);
  EXPECT_LT(between, page.find(">ret<"));
  EXPECT_LT(page.find(">int3<"), after);
  EXPECT_NE(after, std::string::npos);
  // The unchanged function is folded into a list, not given a block.
  EXPECT_NE(page.find("<details class=\"unchanged\"><summary>1 unchanged function(s)"),
            std::string::npos);
  EXPECT_EQ(count(page, "<article class=\"function\""), 1u);
  // References out of the module: the klp symbol with its object and sympos, the export.
  EXPECT_NE(page.find("<td><code>vmlinux</code></td><td>2</td><td>klp relocation</td>"),
            std::string::npos);
  EXPECT_NE(page.find("<td><code>vmlinux</code></td><td></td><td>exported</td>"),
            std::string::npos);
}

TEST(KlpDiffHtml, RefusalShowsTheRemedy) {
  Report r;
  ObjectReport o;
  o.orig_path = "a.o";
  o.patched_path = "b.o";
  o.target = "vmlinux";
  Refusal ref;
  ref.decision.kind = DecisionKind::NoFtraceEntry;
  ref.symbol = "f<&>";
  ref.message = "b.o:(.text.f)+0x0 'f<&>': changed function has no ftrace entry; patch its "
                "callers instead";
  o.refusal = ref;
  r.objects = {o};
  std::string page = render(r, PageInfo{});
  EXPECT_NE(page.find("<span class=\"remedy\">patch its callers instead</span>"),
            std::string::npos);
  EXPECT_NE(page.find("<code>no-ftrace-entry</code>"), std::string::npos);
  EXPECT_NE(page.find("data-count=\"refused\">1 refused object(s)"), std::string::npos);
  EXPECT_EQ(page.find("f<&>"), std::string::npos);
}

TEST(KlpDiffHtml, PatchHunksMatchTheFunctionsLines) {
  std::vector<PageInput> in(1);
  in[0].hunks = parse_patch_hunks("diff --git a/fs/x.c b/fs/x.c\n--- a/fs/x.c\n+++ b/fs/x.c\n"
                                  "@@ -10,3 +10,4 @@\n a\n+b\n c\n d\n"
                                  "@@ -50 +51 @@ g\n-x\n+y\n");
  ASSERT_EQ(in[0].hunks.size(), 2u);
  EXPECT_EQ(in[0].hunks[0].file, "fs/x.c");
  EXPECT_EQ(in[0].hunks[1].old_first, 50u);
  EXPECT_EQ(in[0].hunks[1].old_count, 1u);
  EXPECT_EQ(in[0].hunks[1].new_first, 51u);
  // DWARF names files relative to the compilation directory, or absolute.
  EXPECT_EQ(hunks_touching(in, {}, {{"fs/x.c", 13, 20}}).size(), 1u);
  EXPECT_EQ(hunks_touching(in, {}, {{"/src/linux/fs/x.c", 51, 51}}).size(), 1u);
  EXPECT_EQ(hunks_touching(in, {{"./fs/x.c", 50, 50}}, {}).size(), 1u);
  EXPECT_EQ(hunks_touching(in, {}, {{"fs/x.c", 14, 50}}).size(), 0u);
  EXPECT_EQ(hunks_touching(in, {}, {{"ofs/x.c", 10, 60}}).size(), 0u);
}

TEST(KlpDiffHtml, Sha256) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}
