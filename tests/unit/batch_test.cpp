// klp-build --targets: the targets file, the status channel between a batch and its targets,
// the summary, and a batch run by the real klp-build whose targets cannot build (the kernel
// tests build real ones: tests/e2e/batch.sh).
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "batch.h"
#include "batch_report.h"
#include "batch_status.h"
#include "error.h"
#include "targets.h"
#include "test_util.h"

using namespace klp;
using klp::test::ScratchDir;

namespace {

std::string error_of(const std::string &text) {
  try {
    parse_targets(text, "t.toml", "/base");
  } catch (const Error &e) {
    return e.what();
  }
  return "(no error)";
}

} // namespace

TEST(BatchTargets, ReadsTargetsWithPathsFromTheFilesDirectory) {
  std::vector<Target> t = parse_targets(R"(
[target."debian-6.1"]
sourcedir = "src/linux-6.1"
config = "/boot/config-6.1.0-56-amd64"
kallsyms = "../k/kallsyms"
sign-key = "pkcs11:token=build;object=key"

[target.test_kernel]
sourcedir = "/srv/linux"
)",
                                        "t.toml", "/base/dir");
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0].name, "debian-6.1");
  using Opts = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(t[0].options, (Opts{{"--sourcedir", "/base/dir/src/linux-6.1"},
                                {"--config", "/boot/config-6.1.0-56-amd64"},
                                {"--kallsyms", "/base/k/kallsyms"},
                                {"--sign-key", "pkcs11:token=build;object=key"}}));
  EXPECT_EQ(t[1].name, "test_kernel");
  // TOML splits a bare key at its dots; quoted, a dot is part of the name.
  EXPECT_EQ(error_of("[target.\"a.b\"]\nsourcedir = \"/s\"\n"), "(no error)");
  EXPECT_EQ(error_of("[target.debian-6.1]\nsourcedir = \"/s\"\n"),
            "t.toml:1:18: target.debian-6.1: a dot in a bare name nests tables; quote the name: "
            "[target.\"debian-6.1\"]");
}

TEST(BatchTargets, RefusesWhatIsNotATarget) {
  EXPECT_EQ(error_of(""), "t.toml: no targets: add a [target.NAME] table for each kernel "
                          "(see klp-build(1), BATCH BUILDS)");
  EXPECT_EQ(error_of("[target.a]\nsourcedir = \"/s\"\nkonfig = \"c\"\n"),
            "t.toml:3:1: target.a: unknown key 'konfig' (klp-build(1), BATCH BUILDS, lists the "
            "keys)");
  EXPECT_EQ(error_of("[target.a]\nsourcedir = 3\n"),
            "t.toml:2:13: target.a.sourcedir: the value must be a string (a path)");
  EXPECT_EQ(error_of("[target.a]\nconfig = \"c\"\n"),
            "t.toml:1:1: target.a has no sourcedir: name the kernel source tree it is built from");
  EXPECT_EQ(error_of("[target.\"a/b\"]\nsourcedir = \"/s\"\n"),
            "t.toml:1:1: target name 'a/b' must be letters, digits, '.', '_' or '-' (it names a "
            "directory)");
  EXPECT_EQ(error_of("[targets.a]\nsourcedir = \"/s\"\n"),
            "t.toml:1:1: unknown table or key 'targets': each target is a [target.NAME] table");
  // TOML itself refuses a table given twice: two targets cannot share a name (or a directory).
  std::string twice = error_of("[target.a]\nsourcedir = \"/s\"\n[target.a]\nsourcedir = \"/t\"\n");
  EXPECT_TRUE(twice.starts_with("t.toml:3:")) << twice;
  std::string syntax = error_of("[target.a\n");
  EXPECT_TRUE(syntax.starts_with("t.toml:1:")) << syntax;
}

TEST(BatchStatus, LinesRoundTripAndGarbageIsIgnored) {
  StatusEvent phase = phase_event("prepare", 12.5);
  EXPECT_EQ(status_line(phase), R"({"event":"phase","phase":"prepare","seconds":12.5})");
  StatusEvent back = parse_status_line(status_line(phase));
  EXPECT_EQ(back.kind, StatusEvent::kPhase);
  EXPECT_EQ(back.phase, "prepare");
  EXPECT_EQ(back.seconds, 12.5);

  StatusEvent result = result_event(0);
  result.module = "/o/t/livepatch-fix.ko";
  result.functions = {"fs/proc/cmdline.o: cmdline_proc_show"};
  back = parse_status_line(status_line(result));
  EXPECT_EQ(back.kind, StatusEvent::kResult);
  EXPECT_EQ(back.exit_code, 0);
  EXPECT_EQ(back.module, result.module);
  EXPECT_EQ(back.functions, result.functions);

  for (const char *junk : {"", "klp-build: prepare 1.0 s", "[1]", R"({"event":"phase"})",
                           R"({"event":"result","exit":"zero"})"})
    EXPECT_EQ(parse_status_line(junk).kind, StatusEvent::kUnknown) << junk;
}

TEST(BatchPlan, TargetsShareTheJobs) {
  auto c = batch_concurrency(2, 2);
  EXPECT_EQ(c.targets, 2u);
  EXPECT_EQ(c.jobs_each, 1);
  c = batch_concurrency(3, 8);
  EXPECT_EQ(c.targets, 3u);
  EXPECT_EQ(c.jobs_each, 2);
  c = batch_concurrency(5, 2);
  EXPECT_EQ(c.targets, 2u);
  EXPECT_EQ(c.jobs_each, 1);
  c = batch_concurrency(1, 4);
  EXPECT_EQ(c.targets, 1u);
  EXPECT_EQ(c.jobs_each, 4);
}

TEST(BatchReport, SummaryLineAndJsonPerTarget) {
  TargetResult built{"deb61",
                     TargetOutcome::kBuilt,
                     0,
                     "",
                     {"fs/proc/cmdline.o: f"},
                     31.25,
                     "/o/deb61/livepatch-fix.ko",
                     "ab12",
                     "/o/deb61/klp-build.log"};
  TargetResult failed{
      "no-lp", TargetOutcome::kFailed,  1, "c: CONFIG_LIVEPATCH is not set\nmore", {}, 0.1, "",
      "",      "/o/no-lp/klp-build.log"};
  std::ostringstream os;
  print_batch_summary({built, failed}, os);
  EXPECT_EQ(os.str(), "klp-build: 1 of 2 targets built\n"
                      "  deb61  built      1 function     31.2 s  /o/deb61/livepatch-fix.ko  "
                      "sha256 ab12\n"
                      "  no-lp  failed                     0.1 s  c: CONFIG_LIVEPATCH is not set "
                      "(log: /o/no-lp/klp-build.log)\n");
  nlohmann::json j = batch_summary_json({built, failed});
  EXPECT_EQ(j["exit"], kExitBatchIncomplete);
  EXPECT_EQ(j["targets"][0]["result"], "built");
  EXPECT_EQ(j["targets"][0]["sha256"], "ab12");
  EXPECT_EQ(j["targets"][1]["result"], "failed");
  EXPECT_EQ(j["targets"][1]["reason"], "c: CONFIG_LIVEPATCH is not set\nmore");
  EXPECT_FALSE(j["targets"][1].contains("module"));
  EXPECT_EQ(batch_exit_code({built}), kExitOk);
}

// The real klp-build, run as each target: targets that cannot build show their own reasons, and
// the one that fails first does not stop the other.
TEST(BatchRun, EveryTargetRunsAndSaysWhyItFailed) {
  ScratchDir d;
  std::filesystem::create_directories(d.file("tree"));
  klp::test::write_text(d.file("config"), "CONFIG_MODULES=y\n# CONFIG_LIVEPATCH is not set\n");
  klp::test::write_text(d.file("targets.toml"), R"(
[target.missing]
sourcedir = "no-such-tree"
[target.no-livepatch]
sourcedir = "tree"
config = "config"
kallsyms = "kallsyms"
)");
  klp::test::write_text(d.file("kallsyms"), "ffffffff81000000 T _stext\n");
  BatchPlan plan;
  plan.targets = read_targets(d.file("targets.toml"));
  plan.patches = {klp::test::testdata("patches/cmdline.patch")};
  plan.output_dir = d.file("out");
  plan.jobs = 2;
  plan.klp_build = KLP_BUILD_BINARY;
  std::vector<std::string> events;
  BatchEvents ev;
  ev.started = [&](size_t i) { events.push_back("started " + plan.targets[i].name); };
  ev.finished = [&](size_t i, const TargetResult &) {
    events.push_back("finished " + plan.targets[i].name);
  };
  std::vector<TargetResult> r = run_batch(plan, ev);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(events.size(), 4u);
  EXPECT_EQ(r[0].outcome, TargetOutcome::kFailed);
  EXPECT_EQ(r[0].exit_code, 1);
  EXPECT_EQ(r[0].reason, d.file("no-such-tree") + ": --sourcedir DIR does not exist");
  EXPECT_EQ(r[1].outcome, TargetOutcome::kFailed);
  EXPECT_NE(r[1].reason.find("CONFIG_LIVEPATCH"), std::string::npos) << r[1].reason;
  EXPECT_TRUE(std::filesystem::is_regular_file(r[1].log));
  EXPECT_NE(klp::test::read_text(r[1].log).find("CONFIG_LIVEPATCH"), std::string::npos);
  EXPECT_EQ(batch_exit_code(r), kExitBatchIncomplete);

  // A module an earlier batch left in a target's directory does not survive a failed build.
  plan.name = "livepatch-stale";
  klp::test::write_text(d.file("out/missing/livepatch-stale.ko"), "old");
  r = run_batch(plan, ev);
  EXPECT_EQ(r[0].outcome, TargetOutcome::kFailed);
  EXPECT_FALSE(std::filesystem::exists(d.file("out/missing/livepatch-stale.ko")));

  // A patch that cannot be read stops the batch before any target starts.
  klp::test::write_text(d.file("bad.patch"), "not a patch\n");
  plan.patches = {d.file("bad.patch")};
  events.clear();
  EXPECT_THROW(run_batch(plan, ev), Error);
  EXPECT_TRUE(events.empty());
}

// Not on a terminal: one plain line per event, in order; on one: the block redrawn in place.
TEST(BatchReport, ProgressLinesAndTerminalBlock) {
  char *buf = nullptr;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  {
    BatchProgress p({"a", "bb"}, f, false);
    p.started(0);
    p.phase(0, "prepare", 1.25);
    TargetResult r;
    r.outcome = TargetOutcome::kRefused;
    r.seconds = 2;
    p.finished(0, r);
  }
  std::fflush(f);
  EXPECT_EQ(std::string(buf, len), "klp-build: [a] started\n"
                                   "klp-build: [a] prepare      1.2 s\n"
                                   "klp-build: [a] refused in 2.0 s (1 of 2 finished)\n");
  std::fclose(f);
  std::free(buf);

  f = open_memstream(&buf, &len);
  {
    BatchProgress p({"a", "bb"}, f, true);
    p.started(1);
    p.phase(1, "resolve", 0.5);
  }
  std::fflush(f);
  EXPECT_EQ(std::string(buf, len), "\033[2Kklp-build: 0 of 2 targets finished\n"
                                   "\033[2K  a   waiting\n"
                                   "\033[2K  bb  building\n"
                                   "\033[3A"
                                   "\033[2Kklp-build: 0 of 2 targets finished\n"
                                   "\033[2K  a   waiting\n"
                                   "\033[2K  bb  building (resolve 0.5 s)\n");
  std::fclose(f);
  std::free(buf);
}
