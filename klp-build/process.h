// Running the kernel's build tools: a command with its arguments (never a shell string built from
// user input), optional working directory and environment, output captured for error reports.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace klp {

struct Command {
  std::vector<std::string> argv;
  std::string cwd;                         // empty: inherit
  std::map<std::string, std::string> env;  // added to the environment
  std::vector<std::string> unset_env = {}; // removed from it
  std::string env_from = {}; // what describe() names instead of listing `env` (a recorded file)
  const std::atomic<bool> *cancel = nullptr; // when it turns true, the command is stopped
  // When set, the child gets a second pipe as file descriptor 3 and each line it writes there is
  // passed here as it arrives (klp-build --status-fd 3: a batch's targets report their phases).
  std::function<void(const std::string &line)> on_status = {};
  std::string describe() const; // "cd DIR && VAR=x argv..." for -v and errors
};

struct CommandResult {
  int exit_code = -1;
  std::string output; // stdout and stderr interleaved
  double seconds = 0;
};

// Runs `cmd` to completion. Throws Error if it cannot be started. Never throws for a non-zero
// exit: callers decide what that means.
CommandResult run_command(const Command &cmd);

// Runs `cmd` and throws Error with the command and the tail of its output on a non-zero exit.
CommandResult run_checked(const Command &cmd, const std::string &what);

// The last `lines` lines of `text`.
std::string tail_lines(const std::string &text, size_t lines);

// Set by the CLI for -v: every command is printed before it runs.
extern bool g_verbose_commands;

// Installed by the CLI: true once SIGINT/SIGTERM arrived; run_command() stops its child then.
bool interrupted();
void install_interrupt_handlers();

} // namespace klp
