#include "batch_status.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <nlohmann/json.hpp>

namespace klp {

StatusEvent phase_event(const std::string &phase, double seconds) {
  StatusEvent e;
  e.kind = StatusEvent::kPhase;
  e.phase = phase;
  e.seconds = seconds;
  return e;
}

StatusEvent result_event(int exit_code, const std::string &reason) {
  StatusEvent e;
  e.kind = StatusEvent::kResult;
  e.exit_code = exit_code;
  e.reason = reason;
  return e;
}

std::string status_line(const StatusEvent &e) {
  nlohmann::json j;
  if (e.kind == StatusEvent::kPhase) {
    j = {{"event", "phase"}, {"phase", e.phase}, {"seconds", e.seconds}};
  } else {
    j = {{"event", "result"}, {"exit", e.exit_code}};
    if (!e.reason.empty())
      j["reason"] = e.reason;
    if (!e.module.empty())
      j["module"] = e.module;
    if (!e.functions.empty())
      j["functions"] = e.functions;
  }
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

StatusEvent parse_status_line(const std::string &line) {
  StatusEvent e;
  nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
  if (!j.is_object() || !j.contains("event") || !j["event"].is_string())
    return e;
  try {
    if (j["event"] == "phase") {
      e.phase = j.at("phase").get<std::string>();
      e.seconds = j.at("seconds").get<double>();
      e.kind = StatusEvent::kPhase;
    } else if (j["event"] == "result") {
      e.exit_code = j.at("exit").get<int>();
      e.reason = j.value("reason", "");
      e.module = j.value("module", "");
      e.functions = j.value("functions", std::vector<std::string>{});
      e.kind = StatusEvent::kResult;
    }
  } catch (const nlohmann::json::exception &) {
    e = StatusEvent{};
  }
  return e;
}

StatusWriter::StatusWriter(int fd) : fd_(fd) {
  // Only klp-build itself writes there: make and the compilers must not inherit it.
  if (fd_ >= 0 && fcntl(fd_, F_SETFD, FD_CLOEXEC) != 0)
    fd_ = -1;
}

void StatusWriter::write(const StatusEvent &e) const {
  if (fd_ < 0)
    return;
  std::string line = status_line(e) + "\n";
  // One write() per line: the reader sees whole lines. A batch that went away is not an error.
  for (size_t done = 0; done < line.size();) {
    ssize_t n = ::write(fd_, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return;
    done += n;
  }
}

} // namespace klp
