#include "batch.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <mutex>

#include "batch_status.h"
#include "elf_writer.h"
#include "error.h"
#include "input_file.h"
#include "parallel.h"
#include "patch_set.h"
#include "process.h"
#include "sha256.h"

namespace klp {

namespace fs = std::filesystem;

const char *outcome_name(TargetOutcome o) {
  switch (o) {
  case TargetOutcome::kBuilt:
    return "built";
  case TargetOutcome::kRefused:
    return "refused";
  case TargetOutcome::kNoChange:
    return "no-change";
  case TargetOutcome::kFailed:
    break;
  }
  return "failed";
}

BatchConcurrency batch_concurrency(size_t targets, int jobs) {
  size_t at_once = std::clamp<size_t>(jobs < 1 ? 1 : jobs, 1, std::max<size_t>(targets, 1));
  return {at_once, std::max(1, static_cast<int>(jobs / static_cast<int>(at_once)))};
}

int batch_exit_code(const std::vector<TargetResult> &results) {
  for (const TargetResult &r : results)
    if (r.outcome != TargetOutcome::kBuilt)
      return kExitBatchIncomplete;
  return kExitOk;
}

namespace {

TargetOutcome outcome_of(int exit_code) {
  switch (exit_code) {
  case kExitOk:
    return TargetOutcome::kBuilt;
  case kExitUnpatchable:
    return TargetOutcome::kRefused;
  case kExitNoChange:
    return TargetOutcome::kNoChange;
  default:
    return TargetOutcome::kFailed;
  }
}

// The klp-build command line of one target: its own options, the shared ones, its output
// directory and -j, the status channel, then the patches.
std::vector<std::string> target_argv(const BatchPlan &plan, const Target &t,
                                     const std::string &out_dir, int jobs) {
  std::vector<std::string> argv = {plan.klp_build, "--status-fd", "3"};
  for (const auto &[opt, value] : t.options) {
    argv.push_back(opt);
    argv.push_back(value);
  }
  argv.insert(argv.end(), plan.shared_args.begin(), plan.shared_args.end());
  if (!plan.name.empty())
    argv.insert(argv.end(), {"--name", plan.name});
  argv.insert(argv.end(), {"-o", out_dir, "-j", std::to_string(jobs), "--"});
  argv.insert(argv.end(), plan.patches.begin(), plan.patches.end());
  return argv;
}

TargetResult build_target(const BatchPlan &plan, size_t index, const std::string &module_file,
                          int jobs, const BatchEvents &events, std::mutex &events_mu) {
  const Target &t = plan.targets[index];
  TargetResult r;
  r.name = t.name;
  std::string out_dir = (fs::path(plan.output_dir) / t.name).string();
  r.log = (fs::path(out_dir) / "klp-build.log").string();
  auto start = std::chrono::steady_clock::now();
  bool have_result = false;
  try {
    fs::create_directories(out_dir);
    // A module left by an earlier batch must not pass for this one's.
    fs::remove(fs::path(out_dir) / module_file);
    Command cmd;
    cmd.argv = target_argv(plan, t, out_dir, jobs);
    cmd.on_status = [&](const std::string &line) {
      StatusEvent e = parse_status_line(line);
      if (e.kind == StatusEvent::kPhase) {
        std::lock_guard<std::mutex> lock(events_mu);
        events.phase(index, e.phase, e.seconds);
      } else if (e.kind == StatusEvent::kResult) {
        have_result = true;
        r.exit_code = e.exit_code;
        r.reason = e.reason;
        r.module = e.module;
        r.functions = e.functions;
      }
    };
    CommandResult res = run_command(cmd);
    write_file_atomically(r.log, res.output);
    if (!have_result || r.exit_code != res.exit_code) {
      // It died before it could say why (a signal, a crash): its output's last line says more.
      r.exit_code = res.exit_code;
      r.reason = "klp-build exited " + std::to_string(res.exit_code) + " without a result; see " +
                 r.log + ": " + tail_lines(res.output, 1);
    }
    r.outcome = outcome_of(r.exit_code);
    if (r.outcome == TargetOutcome::kBuilt) {
      if (r.module.empty() || !fs::is_regular_file(r.module)) {
        r.outcome = TargetOutcome::kFailed;
        r.reason = "klp-build reported a module it did not write: " + r.module;
      } else {
        r.sha256 = sha256_hex(read_input_file(r.module));
      }
    }
  } catch (const std::exception &e) {
    r.outcome = TargetOutcome::kFailed;
    r.reason = e.what();
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

} // namespace

std::vector<TargetResult> run_batch(const BatchPlan &plan, const BatchEvents &events) {
  // The patches, read and checked once: a patch that cannot be read fails the batch, not each
  // target. Every target's module has the same file name (from the patches or -n).
  std::vector<PatchFile> patches;
  for (const std::string &p : plan.patches)
    patches.push_back(read_patch(p));
  if (touched_files(patches).empty())
    throw Error("the patches touch no file");
  std::string module_file = module_name_for(plan.name, patches) + ".ko";

  BatchConcurrency c = batch_concurrency(plan.targets.size(), plan.jobs);
  std::vector<TargetResult> results(plan.targets.size());
  std::mutex events_mu;
  parallel_for(plan.targets.size(), c.targets, [&](size_t i) {
    // After an interrupt the running targets stop (run_command stops their process groups) and
    // no other starts.
    if (interrupted()) {
      results[i].name = plan.targets[i].name;
      results[i].reason = "interrupted before it started";
      std::lock_guard<std::mutex> lock(events_mu);
      events.finished(i, results[i]);
      return;
    }
    {
      std::lock_guard<std::mutex> lock(events_mu);
      events.started(i);
    }
    results[i] = build_target(plan, i, module_file, c.jobs_each, events, events_mu);
    std::lock_guard<std::mutex> lock(events_mu);
    events.finished(i, results[i]);
  });
  return results;
}

} // namespace klp
