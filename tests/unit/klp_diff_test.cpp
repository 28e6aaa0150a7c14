// Golden-output tests of klp-diff: each case of testdata/klp-diff/ is compiled at test time (GCC
// 12, kernel flags, -g), klp-diff runs on it from inside the scratch directory so that every path
// it prints is relative, and its stdout, stderr and exit status are compared exactly with
// testdata/klp-diff/golden/<name>.
//
// After an intended change of the output, regenerate the goldens and review their diff:
//
//   KLP_UPDATE_GOLDEN=1 build/tests/unit-tests --gtest_filter='KlpDiff*'
//   git diff testdata/klp-diff/golden
//
// Cases: inline/ (a static inline in a header changes: every caller changes, DWARF names the
// inlined callee), mixed/ (one function of each verdict, a renumbered static, references through
// .klp.sym), refuse/ (changed writable data: refused). See the comments in their sources.
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "explain.h"
#include "test_util.h"

using namespace klp::test;
namespace fs = std::filesystem;

namespace {

const char *const kSymvers = "0x00000000\tprintk\tvmlinux\tEXPORT_SYMBOL\t\n"
                             "0x00000000\t__might_sleep\tvmlinux\tEXPORT_SYMBOL\t\n"
                             "0x00000000\t__fentry__\tvmlinux\tEXPORT_SYMBOL\t\n";

bool updating() {
  const char *v = std::getenv("KLP_UPDATE_GOLDEN");
  return v && std::string(v) == "1";
}

// Compiles testdata/klp-diff/<name>/ (or testdata/<name>/ when the name has a '/', to share the
// differ's cases) into <dir>/orig.o and <dir>/patched.o. A case is either orig.c and patched.c,
// or orig/ and patched/ trees holding <source> and an include/ directory.
// Both builds compile the same path (<dir>/src/<source>), as a kernel tree built twice does.
void build_case(const ScratchDir &dir, const std::string &name, const std::string &source) {
  std::string src = dir.file("src");
  std::string cwd = fs::current_path().string();
  std::string base = name.find('/') == std::string::npos ? "klp-diff/" + name : name;
  for (const char *side : {"orig", "patched"}) {
    fs::remove_all(src);
    fs::create_directories(src + "/include");
    fs::path tree = testdata(base + "/" + side);
    if (fs::is_directory(tree))
      fs::copy(tree, src, fs::copy_options::recursive);
    else
      fs::copy_file(testdata(base + "/" + side + ".c"), src + "/" + source);
    // The last prefix map that matches wins: the sources' one comes last.
    compile(src + "/" + source, dir.file(std::string(side) + ".o"),
            "-g -I" + src + "/include -fdebug-prefix-map=" + cwd + "=. -ffile-prefix-map=" + src +
                "=.");
  }
  fs::remove_all(src);
}

// Runs klp-diff in `dir`; stdout, then stderr and the exit status as comment lines.
std::string klp_diff(const ScratchDir &dir, const std::string &args, int *status = nullptr) {
  RunResult r = run("cd " + dir.path() + " && (" + KLP_DIFF_BINARY + " " + args + " 2>stderr.txt)");
  std::string err = read_text(dir.file("stderr.txt"));
  fs::remove(dir.file("stderr.txt"));
  if (status)
    *status = r.exit_code;
  std::string out = r.out;
  if (!err.empty())
    out += "# stderr:\n" + err;
  return out + "# exit status: " + std::to_string(r.exit_code) + "\n";
}

// The goldens are GCC 12's output (Debian 12). Where another GCC lays a case out differently
// (instruction offsets), its own golden lives in golden/gcc-<major>/ and is compared instead;
// every other case must give GCC 12's bytes.
const std::string &gcc_major() {
  static const std::string major = [] {
    RunResult r = run("gcc -dumpversion");
    std::string v = r.out.substr(0, r.out.find_first_of(".\n"));
    return r.exit_code == 0 ? v : std::string("unknown");
  }();
  return major;
}

// Compares `actual` with the golden file (or rewrites it under KLP_UPDATE_GOLDEN=1 when
// `may_update`); on a difference the failure shows `diff -u golden actual`.
void expect_golden(const ScratchDir &dir, const std::string &name, const std::string &actual,
                   bool may_update = true) {
  std::string golden = testdata("klp-diff/golden/" + name);
  std::string own = testdata("klp-diff/golden/gcc-" + gcc_major() + "/" + name);
  if (may_update && updating()) {
    if (gcc_major() != "12" && (!fs::exists(golden) || read_text(golden) != actual)) {
      fs::create_directories(fs::path(own).parent_path());
      golden = own;
    } else if (gcc_major() != "12") {
      fs::remove(own);
      return;
    }
    write_text(golden, actual);
    std::cout << "updated " << golden << "\n";
    return;
  }
  if (gcc_major() != "12" && fs::exists(own))
    golden = own;
  if (!fs::exists(golden)) {
    ADD_FAILURE() << golden << " is missing; run with KLP_UPDATE_GOLDEN=1 to create it";
    return;
  }
  std::string expected = read_text(golden);
  if (expected == actual)
    return;
  std::string got = dir.file(name + ".actual");
  write_text(got, actual);
  RunResult diff = run("diff -u " + golden + " " + got);
  ADD_FAILURE() << "klp-diff output differs from " << golden << " (KLP_UPDATE_GOLDEN=1 rewrites "
                << "it):\n"
                << diff.out;
}

void write_symbols(const ScratchDir &dir) {
  RunResult r = run("readelf -sW " + dir.file("orig.o") + " > " + dir.file("symtab"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  write_text(dir.file("Module.symvers"), kSymvers);
}

} // namespace

TEST(KlpDiff, HeaderInlineChangeNamesTheInlinedCallee) {
  ScratchDir dir;
  build_case(dir, "inline", "ring.c");
  expect_golden(dir, "inline.explain.txt", klp_diff(dir, "--explain orig.o patched.o"));
  expect_golden(dir, "inline.json", klp_diff(dir, "--json orig.o patched.o"));
}

TEST(KlpDiff, EveryVerdictWithTargetSymbols) {
  ScratchDir dir;
  build_case(dir, "mixed", "mixed.c");
  write_symbols(dir);
  const std::string target = " --target vmlinux --symtab symtab --symvers Module.symvers";
  expect_golden(dir, "mixed.summary.txt", klp_diff(dir, "orig.o patched.o"));
  expect_golden(dir, "mixed.explain.txt", klp_diff(dir, "--explain orig.o patched.o" + target));
  expect_golden(dir, "mixed.json", klp_diff(dir, "--json orig.o patched.o" + target));
  expect_golden(dir, "mixed.function.txt",
                klp_diff(dir, "--explain --function counter_event orig.o patched.o"));
  // A name no object has is an error, not an empty report.
  int status = 0;
  std::string out = klp_diff(dir, "--function no_such_fn orig.o patched.o", &status);
  EXPECT_EQ(status, 1) << out;
  EXPECT_NE(out.find("klp-diff: orig.o, patched.o: no function 'no_such_fn'"), std::string::npos)
      << out;
  // The same object twice: nothing to patch (exit 3, as create-diff-object).
  out = klp_diff(dir, "orig.o orig.o", &status);
  EXPECT_EQ(status, 3) << out;
}

// GCC's clones and split parts: the .cold part is explained as part of its parent (no klp_func
// of its own), IPA clones by their clone names.
TEST(KlpDiff, ColdPartsAndIpaClones) {
  ScratchDir dir;
  build_case(dir, "diff/cold_part", "cold_part.c");
  expect_golden(dir, "cold_part.explain.txt", klp_diff(dir, "--explain orig.o patched.o"));
  ScratchDir clones;
  build_case(clones, "diff/ipa_clone", "ipa_clone.c");
  expect_golden(clones, "ipa_clone.explain.txt", klp_diff(clones, "--explain orig.o patched.o"));
}

TEST(KlpDiff, RefusedDataChangeIsAVerdictBlock) {
  ScratchDir dir;
  build_case(dir, "refuse", "session.c");
  expect_golden(dir, "refuse.explain.txt", klp_diff(dir, "--explain orig.o patched.o"));
  expect_golden(dir, "refuse.json", klp_diff(dir, "--json orig.o patched.o"));
}

TEST(KlpDiff, ComparesTwoModules) {
  ScratchDir dir;
  build_case(dir, "refuse", "session.c");
  fs::copy_file(dir.file("orig.o"), dir.file("a.ko"));
  fs::copy_file(dir.file("patched.o"), dir.file("b.ko"));
  fs::copy_file(dir.file("orig.o"), dir.file("a2.ko"));
  expect_golden(dir, "compare.txt", klp_diff(dir, "a.ko b.ko"));
  expect_golden(dir, "compare.json", klp_diff(dir, "--json a.ko b.ko"));
  expect_golden(dir, "compare.identical.txt", klp_diff(dir, "a.ko a2.ko"));
  // --compare takes any two ELF files.
  int status = 0;
  std::string out = klp_diff(dir, "--compare orig.o patched.o", &status);
  EXPECT_EQ(status, 4) << out;
}

TEST(KlpDiff, ExplainsAKlpBuildResult) {
  ScratchDir dir;
  // The layout klp-build --explain writes next to the module (docs/klp-diff.md).
  ScratchDir inl, mixed;
  build_case(inl, "inline", "ring.c");
  build_case(mixed, "mixed", "mixed.c");
  write_symbols(mixed);
  std::string ex = dir.file("livepatch-fix.explain");
  for (const char *side : {"orig", "patched"}) {
    fs::create_directories(ex + "/" + side + "/lib");
    fs::create_directories(ex + "/" + side + "/drivers/misc");
    fs::copy_file(inl.file(std::string(side) + ".o"), ex + "/" + side + "/lib/ring.o");
    fs::copy_file(mixed.file(std::string(side) + ".o"), ex + "/" + side + "/drivers/misc/mixed.o");
  }
  // The running kernel's symbols: both original objects linked together.
  RunResult ld = run("ld -r -o " + ex + "/vmlinux.o " + ex + "/orig/lib/ring.o " + ex +
                     "/orig/drivers/misc/mixed.o");
  ASSERT_EQ(ld.exit_code, 0) << ld.out;
  fs::copy_file(mixed.file("Module.symvers"), ex + "/Module.symvers");
  // As klp-build writes it (one writer, manifest.cpp).
  klp::Manifest m;
  m.patch_name = "livepatch-fix";
  m.symvers = "Module.symvers";
  m.symtabs = {{"vmlinux", "vmlinux.o"}};
  m.objects = {{"lib/ring.o", "vmlinux", "", ""}, {"drivers/misc/mixed.o", "vmlinux", "", ""}};
  klp::write_manifest(ex, m);
  write_text(dir.file("livepatch-fix.ko"), "not read\n");
  expect_golden(dir, "explain-dir.txt", klp_diff(dir, "--explain livepatch-fix.ko"));
  expect_golden(dir, "explain-dir.summary.txt", klp_diff(dir, "livepatch-fix.explain"));
  // The directory holding the module finds its only *.explain/ too.
  int status = 0;
  std::string out = klp_diff(dir, "--function ring_report .", &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find("changed                 ring_report"), std::string::npos) << out;
}

// A new global one object of the patch defines and another calls (testdata/patches/
// multifile-global.patch on Debian's 6.1): the explain directory is explained as klp-build built
// it, the call being to the module's own symbol, not a refusal for a symbol the kernel lacks.
TEST(KlpDiff, NewGlobalOfAnotherObjectOfTheModule) {
  ScratchDir dir;
  std::string ex = dir.file("livepatch-multi.explain");
  const std::pair<const char *, const char *> sources[] = {
      {"orig/tag.c", "int tag_fn(int x) { return x; }\n"},
      {"patched/tag.c", "int klp_tag(int x) { return x + 1; }\n"
                        "int tag_fn(int x) { return klp_tag(x) * 3; }\n"},
      {"orig/use.c", "int use_fn(int x) { return x * 2; }\n"},
      {"patched/use.c", "int klp_tag(int x);\nint use_fn(int x) { return klp_tag(x) * 2; }\n"}};
  for (auto [name, text] : sources) {
    std::string side = fs::path(name).parent_path().string();
    std::string stem = fs::path(name).stem().string();
    write_text(dir.file(stem + ".c"), text);
    fs::create_directories(ex + "/" + side + "/lib");
    compile(dir.file(stem + ".c"), ex + "/" + side + "/lib/" + stem + ".o");
  }
  RunResult ld =
      run("ld -r -o " + ex + "/vmlinux.o " + ex + "/orig/lib/tag.o " + ex + "/orig/lib/use.o");
  ASSERT_EQ(ld.exit_code, 0) << ld.out;
  write_text(ex + "/Module.symvers", kSymvers);
  klp::Manifest m;
  m.patch_name = "livepatch-multi";
  m.symvers = "Module.symvers";
  m.symtabs = {{"vmlinux", "vmlinux.o"}};
  m.objects = {{"lib/tag.o", "vmlinux", "", ""}, {"lib/use.o", "vmlinux", "", ""}};
  klp::write_manifest(ex, m);
  int status = 0;
  std::string out = klp_diff(dir, "--json livepatch-multi.explain", &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_EQ(out.find("neither exported"), std::string::npos) << out;
  EXPECT_NE(out.find("\"use_fn\""), std::string::npos) << out;
}

TEST(KlpDiff, ManifestErrorsNameTheKey) {
  ScratchDir dir;
  fs::create_directories(dir.file("bad.explain"));
  std::string head = R"({"format": "klp-diff-explain", "version": 2, )";
  write_text(dir.file("bad.explain/manifest"), head + R"("patch": "x", "frob": "y"})");
  int status = 0;
  std::string out = klp_diff(dir, "--explain bad.explain", &status);
  EXPECT_EQ(status, 1) << out;
  EXPECT_NE(out.find("klp-diff: bad.explain/manifest: unknown key 'frob'"), std::string::npos)
      << out;
  write_text(dir.file("bad.explain/manifest"), R"({"format": "klp-diff-explain", "version": 3})");
  out = klp_diff(dir, "--explain bad.explain", &status);
  EXPECT_NE(out.find("bad.explain/manifest: manifest version 3 is not supported"),
            std::string::npos)
      << out;
  // The plain-text format of version 1 is named as such.
  write_text(dir.file("bad.explain/manifest"), "klp-diff-explain 1\nobject fs/x.o vmlinux\n");
  out = klp_diff(dir, "--explain bad.explain", &status);
  EXPECT_NE(out.find("bad.explain/manifest: manifest version 1 (plain text) is not supported"),
            std::string::npos)
      << out;
  write_text(dir.file("bad.explain/manifest"),
             head + R"("objects": [{"object": "fs/x.o", "target": "vmlinux"}]})");
  out = klp_diff(dir, "--explain bad.explain", &status);
  EXPECT_NE(out.find("bad.explain/manifest: objects[0].object: bad.explain/orig/fs/x.o is missing"),
            std::string::npos)
      << out;
  write_text(dir.file("bad.explain/manifest"),
             head + R"("objects": [{"object": "../x.o", "target": "vmlinux"}]})");
  out = klp_diff(dir, "--explain bad.explain", &status);
  EXPECT_NE(out.find("bad.explain/manifest: objects[0].object: path '../x.o' must be relative"),
            std::string::npos)
      << out;
  write_text(dir.file("bad.explain/manifest"), head + R"("objects": [{"object": 7}]})");
  out = klp_diff(dir, "--explain bad.explain", &status);
  EXPECT_NE(out.find("bad.explain/manifest: objects[0].object: expected a non-empty string"),
            std::string::npos)
      << out;
  write_text(dir.file("bad.explain/manifest"), head + "\n\"objects\": [\n");
  out = klp_diff(dir, "--explain bad.explain", &status);
  EXPECT_NE(out.find("bad.explain/manifest: not JSON: "), std::string::npos) << out;
  out = klp_diff(dir, "--explain none.ko", &status);
  EXPECT_EQ(status, 1) << out;
  EXPECT_NE(out.find("klp-diff: none.ko: no explain directory next to it (expected "
                     "none.explain/manifest)"),
            std::string::npos)
      << out;
}

// The golden comparison itself fails on any difference (and never rewrites here).
TEST(KlpDiff, GoldenMismatchFails) {
  ScratchDir dir;
  std::string golden = read_text(testdata("klp-diff/golden/compare.identical.txt"));
  ASSERT_FALSE(golden.empty());
  EXPECT_NONFATAL_FAILURE(expect_golden(dir, "compare.identical.txt", golden + " ", false),
                          "differs from");
  EXPECT_NONFATAL_FAILURE(expect_golden(dir, "no-such-golden.txt", "", false), "is missing");
}
