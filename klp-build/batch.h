// Batch builds: one fix, every kernel a distribution supports, in one command
// (`klp-build --targets FILE fix.patch...`).
//
// Each target is built by klp-build itself, run as a child with the target's options (targets.h)
// and the options every target shares, its output in OUTDIR/<target>/ with its log beside the
// module. A child is the unit of failure: one target's error, refusal or crash never stops the
// others. What the targets share is done once or shared through the tree cache: the patches are
// read and checked once, before any target starts; every target uses the same cache, where
// targets of the same source tree and config find one prepared tree (the entry's lock makes a
// second such target wait until the first is done, then reuse the tree rather than prepare it
// again).
//
// Up to -j targets run at once, each with -j divided among them (at least 1): a batch of two
// targets with -j 2 runs both, each with -j 1.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "targets.h"

namespace klp {

struct BatchPlan {
  std::vector<Target> targets;
  std::vector<std::string> patches;     // as given; checked before any target starts
  std::string name;                     // -n: the module's name; "" for the patches' default
  std::vector<std::string> shared_args; // every target's further options (--cache, ...)
  std::string output_dir;               // one directory per target under it
  int jobs = 1;
  std::string klp_build; // the executable each target runs (this one)
};

enum class TargetOutcome { kBuilt, kRefused, kNoChange, kFailed };

struct TargetResult {
  std::string name;
  TargetOutcome outcome = TargetOutcome::kFailed;
  int exit_code = -1;                 // the target's klp-build exit status
  std::string reason;                 // why it did not build: its one-line error
  std::vector<std::string> functions; // "OBJECT: FUNCTION", patched or new
  double seconds = 0;
  std::string module; // the module written (built only)
  std::string sha256; // of the module
  std::string log;    // the target's klp-build output
};

// What the progress display hears while the batch runs; called from the batch's threads, one
// call at a time.
struct BatchEvents {
  std::function<void(size_t target)> started = [](size_t) {};
  std::function<void(size_t target, const std::string &phase, double seconds)> phase =
      [](size_t, const std::string &, double) {};
  std::function<void(size_t target, const TargetResult &)> finished = [](size_t,
                                                                         const TargetResult &) {};
};

// Reads and checks the patches (throws Error before anything runs), then builds every target.
// Results in the targets' order.
std::vector<TargetResult> run_batch(const BatchPlan &plan, const BatchEvents &events);

// How many targets run at once, and the -j each gets.
struct BatchConcurrency {
  size_t targets;
  int jobs_each;
};
BatchConcurrency batch_concurrency(size_t targets, int jobs);

// 0 when every target built, else kExitBatchIncomplete.
int batch_exit_code(const std::vector<TargetResult> &results);

const char *outcome_name(TargetOutcome o); // "built", "refused", "no-change", "failed"

} // namespace klp
