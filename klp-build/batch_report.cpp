#include "batch_report.h"

#include <algorithm>
#include <iomanip>
#include <sstream>

namespace klp {

namespace {

std::string functions_label(size_t n) {
  return n == 0 ? "" : std::to_string(n) + (n == 1 ? " function" : " functions");
}

std::string seconds_label(double s) {
  std::ostringstream os;
  os << std::fixed << std::setprecision(1) << s << " s";
  return os.str();
}

} // namespace

void print_batch_summary(const std::vector<TargetResult> &results, std::ostream &os) {
  size_t width = 0, built = 0;
  for (const TargetResult &r : results) {
    width = std::max(width, r.name.size());
    built += r.outcome == TargetOutcome::kBuilt;
  }
  os << "klp-build: " << built << " of " << results.size() << " targets built\n";
  for (const TargetResult &r : results) {
    os << "  " << std::left << std::setw(static_cast<int>(width)) << r.name << "  " << std::setw(9)
       << outcome_name(r.outcome) << "  " << std::setw(11) << functions_label(r.functions.size())
       << "  " << std::right << std::setw(8) << seconds_label(r.seconds) << "  ";
    if (r.outcome == TargetOutcome::kBuilt)
      os << r.module << "  sha256 " << r.sha256;
    else // the first line: a compiler's or make's output follows it in the log
      os << r.reason.substr(0, r.reason.find('\n')) << " (log: " << r.log << ")";
    os << "\n";
  }
}

nlohmann::json batch_summary_json(const std::vector<TargetResult> &results) {
  nlohmann::json targets = nlohmann::json::array();
  for (const TargetResult &r : results) {
    nlohmann::json t = {{"name", r.name},       {"result", outcome_name(r.outcome)},
                        {"exit", r.exit_code},  {"functions", r.functions},
                        {"seconds", r.seconds}, {"log", r.log}};
    if (r.outcome == TargetOutcome::kBuilt) {
      t["module"] = r.module;
      t["sha256"] = r.sha256;
    } else {
      t["reason"] = r.reason;
    }
    targets.push_back(std::move(t));
  }
  return {{"exit", batch_exit_code(results)}, {"targets", std::move(targets)}};
}

BatchProgress::BatchProgress(std::vector<std::string> names, FILE *out, bool terminal)
    : names_(std::move(names)), rows_(names_.size()), out_(out), terminal_(terminal) {
  for (const std::string &n : names_)
    width_ = std::max(width_, n.size());
}

std::string BatchProgress::line_of(size_t i) const {
  const Row &row = rows_[i];
  std::ostringstream os;
  os << "  " << std::left << std::setw(static_cast<int>(width_)) << names_[i] << "  " << row.state;
  if (!row.last_phase.empty())
    os << " (" << row.last_phase << ")";
  return os.str();
}

void BatchProgress::redraw() {
  // Back to the block's first line, then every line anew (ESC[2K clears one).
  if (drawn_)
    std::fprintf(out_, "\033[%zuA", rows_.size() + 1);
  std::fprintf(out_, "\033[2Kklp-build: %zu of %zu targets finished\n", finished_, rows_.size());
  for (size_t i = 0; i < rows_.size(); i++)
    std::fprintf(out_, "\033[2K%s\n", line_of(i).c_str());
  std::fflush(out_);
  drawn_ = true;
}

void BatchProgress::started(size_t i) {
  rows_[i].state = "building";
  if (terminal_)
    return redraw();
  std::fprintf(out_, "klp-build: [%s] started\n", names_[i].c_str());
  std::fflush(out_);
}

void BatchProgress::phase(size_t i, const std::string &phase, double seconds) {
  rows_[i].last_phase = phase + " " + seconds_label(seconds);
  if (terminal_)
    return redraw();
  std::fprintf(out_, "klp-build: [%s] %-9s %6.1f s\n", names_[i].c_str(), phase.c_str(), seconds);
  std::fflush(out_);
}

void BatchProgress::finished(size_t i, const TargetResult &r) {
  finished_++;
  rows_[i].state = outcome_name(r.outcome);
  rows_[i].last_phase = seconds_label(r.seconds);
  if (terminal_)
    return redraw();
  std::fprintf(out_, "klp-build: [%s] %s in %.1f s (%zu of %zu finished)\n", names_[i].c_str(),
               outcome_name(r.outcome), r.seconds, finished_, rows_.size());
  std::fflush(out_);
}

} // namespace klp
