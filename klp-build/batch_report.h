// What a batch build shows: the progress while it runs and the summary at its end, rendered here
// from the batch's data (batch.h) and nowhere else.
#pragma once

#include <cstdio>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "batch.h"

namespace klp {

// The summary, one line per target:
//   debian-6.1   built      1 function   31.2 s  out/debian-6.1/livepatch-fix.ko  sha256 3f2a...
//   no-lp        failed                   0.1 s  config: CONFIG_LIVEPATCH is not set ...
void print_batch_summary(const std::vector<TargetResult> &results, std::ostream &os);

// The same as JSON, for CI: {"exit": N, "targets": [{"name", "result", "exit", "reason",
// "functions", "seconds", "module", "sha256", "log"}...]}.
nlohmann::json batch_summary_json(const std::vector<TargetResult> &results);

// The progress display. On a terminal, one line per target (its state and the last phase that
// ended) and a count of finished targets, redrawn in place; elsewhere one plain line per event,
// so that a CI log reads as a sequence.
class BatchProgress {
public:
  BatchProgress(std::vector<std::string> names, FILE *out, bool terminal);
  void started(size_t target);
  void phase(size_t target, const std::string &phase, double seconds);
  void finished(size_t target, const TargetResult &r);

private:
  void redraw();
  std::string line_of(size_t target) const;

  struct Row {
    std::string state = "waiting";
    std::string last_phase;
  };
  std::vector<std::string> names_;
  std::vector<Row> rows_;
  FILE *out_;
  bool terminal_;
  bool drawn_ = false;
  size_t finished_ = 0;
  size_t width_ = 0;
};

} // namespace klp
