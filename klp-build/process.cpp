#include "process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <iostream>

#include "error.h"

extern char **environ;

namespace klp {

bool g_verbose_commands = false;
namespace {

std::atomic<bool> g_interrupted{false};

} // namespace

bool interrupted() { return g_interrupted.load(); }

namespace {

void on_signal(int) { g_interrupted = true; }

} // namespace

void install_interrupt_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

namespace {

std::string quote(const std::string &s) {
  if (!s.empty() && s.find_first_of(" \t\n'\"\\$`*?;&|<>()") == std::string::npos)
    return s;
  std::string q = "'";
  for (char c : s)
    q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

} // namespace

std::string Command::describe() const {
  std::string s;
  if (!cwd.empty())
    s += "cd " + quote(cwd) + " && ";
  if (!env_from.empty())
    s += "env <" + quote(env_from) + "> ";
  else
    for (auto &[k, v] : env)
      s += k + "=" + quote(v) + " ";
  for (size_t i = 0; i < argv.size(); i++)
    s += (i ? " " : "") + quote(argv[i]);
  return s;
}

std::string tail_lines(const std::string &text, size_t lines) {
  size_t pos = text.size();
  if (pos && text[pos - 1] == '\n')
    pos--;
  for (size_t n = 0; n < lines && pos != std::string::npos && pos > 0; n++)
    pos = text.rfind('\n', pos - 1);
  return pos == std::string::npos || pos == 0 ? text : text.substr(pos + 1);
}

CommandResult run_command(const Command &cmd) {
  if (cmd.argv.empty())
    throw Error("internal: empty command");
  if (g_verbose_commands)
    std::cerr << "+ " << cmd.describe() << "\n";
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0)
    throw Error(std::string("pipe: ") + strerror(errno));
  int statusfd[2] = {-1, -1};
  if (cmd.on_status && pipe2(statusfd, O_CLOEXEC) != 0) {
    close(pipefd[0]);
    close(pipefd[1]);
    throw Error(std::string("pipe: ") + strerror(errno));
  }

  std::vector<std::string> envs;
  for (char **e = environ; *e; e++) {
    std::string kv = *e;
    std::string key = kv.substr(0, kv.find('='));
    if (!cmd.env.count(key) &&
        std::find(cmd.unset_env.begin(), cmd.unset_env.end(), key) == cmd.unset_env.end())
      envs.push_back(kv);
  }
  for (auto &[k, v] : cmd.env)
    envs.push_back(k + "=" + v);
  std::vector<char *> argv, envp;
  for (const std::string &a : cmd.argv)
    argv.push_back(const_cast<char *>(a.c_str()));
  argv.push_back(nullptr);
  for (std::string &e : envs)
    envp.push_back(e.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
  posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
  if (statusfd[1] >= 0)
    posix_spawn_file_actions_adddup2(&fa, statusfd[1], 3);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  if (!cmd.cwd.empty())
    posix_spawn_file_actions_addchdir_np(&fa, cmd.cwd.c_str());
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Its own process group, so an interrupt can stop make and everything make started.
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);

  auto start = std::chrono::steady_clock::now();
  pid_t pid;
  int rc = posix_spawnp(&pid, argv[0], &fa, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  close(pipefd[1]);
  if (statusfd[1] >= 0)
    close(statusfd[1]);
  if (rc != 0) {
    close(pipefd[0]);
    if (statusfd[0] >= 0)
      close(statusfd[0]);
    throw Error(cmd.argv[0] + ": cannot run: " + strerror(rc) + " (is it installed?)");
  }
  CommandResult res;
  std::string status_line; // the status channel's unfinished line
  auto deliver_status = [&] {
    for (size_t nl; (nl = status_line.find('\n')) != std::string::npos;) {
      cmd.on_status(status_line.substr(0, nl));
      status_line.erase(0, nl + 1);
    }
  };
  char buf[65536];
  bool killed = false;
  // Reads both channels until the output pipe closes; the status pipe is drained as it comes.
  int fds[2] = {pipefd[0], statusfd[0]};
  for (;;) {
    struct pollfd p[2] = {{fds[0], POLLIN, 0}, {fds[1], POLLIN, 0}};
    int pr = poll(p, fds[1] >= 0 ? 2 : 1, 200);
    if ((interrupted() || (cmd.cancel && *cmd.cancel)) && !killed) {
      kill(-pid, SIGTERM);
      killed = true;
    }
    if (pr <= 0)
      continue;
    if (fds[1] >= 0 && (p[1].revents & (POLLIN | POLLHUP))) {
      ssize_t n = read(fds[1], buf, sizeof(buf));
      if (n > 0) {
        status_line.append(buf, n);
        deliver_status();
      } else if (n == 0 || errno != EINTR) {
        close(fds[1]);
        fds[1] = -1;
      }
    }
    if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR)))
      continue;
    ssize_t n = read(fds[0], buf, sizeof(buf));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    res.output.append(buf, n);
  }
  close(pipefd[0]);
  // The status channel's last lines, written just before the child closed its output.
  if (fds[1] >= 0) {
    for (ssize_t n; (n = read(fds[1], buf, sizeof(buf))) > 0;)
      status_line.append(buf, n);
    close(fds[1]);
    deliver_status();
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  res.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (interrupted())
    throw Error("interrupted while running " + cmd.argv[0]);
  if (killed)
    throw Error("cancelled while running " + cmd.argv[0]);
  return res;
}

CommandResult run_checked(const Command &cmd, const std::string &what) {
  CommandResult r = run_command(cmd);
  if (r.exit_code != 0)
    throw Error(what + " failed (exit " + std::to_string(r.exit_code) + "): " + cmd.describe() +
                "\n" + tail_lines(r.output, 25));
  return r;
}

} // namespace klp
