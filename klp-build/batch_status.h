// What a batch's target tells the batch while it builds: klp-build --status-fd N writes one JSON
// object per line to descriptor N, and the batch (batch.h) reads them as they come. Data, not
// prose: the batch never reads the target's own output, which goes to the target's log.
//
//   {"event":"phase","phase":"prepare","seconds":12.3}
//   {"event":"result","exit":0,"module":"/out/t/livepatch-fix.ko",
//    "functions":["fs/proc/cmdline.o: cmdline_proc_show"]}
//   {"event":"result","exit":1,"reason":"..."}
#pragma once

#include <string>
#include <vector>

namespace klp {

struct StatusEvent {
  enum Kind { kPhase, kResult, kUnknown } kind = kUnknown;
  std::string phase; // kPhase: the phase that ended
  double seconds = 0;
  int exit_code = -1;                 // kResult: klp-build's exit status
  std::string reason;                 // kResult: the one-line error when it did not build
  std::string module;                 // kResult: the module written
  std::vector<std::string> functions; // kResult: "OBJECT: FUNCTION" patched or new
};

StatusEvent phase_event(const std::string &phase, double seconds);
StatusEvent result_event(int exit_code, const std::string &reason = "");

// One line (without the newline) for the status channel.
std::string status_line(const StatusEvent &e);

// The event a line holds; kUnknown for anything else (a target never stops the batch).
StatusEvent parse_status_line(const std::string &line);

// Writes events to a descriptor the parent passed (--status-fd); a closed channel is ignored,
// the build goes on.
class StatusWriter {
public:
  explicit StatusWriter(int fd = -1);
  void write(const StatusEvent &e) const;

private:
  int fd_;
};

} // namespace klp
