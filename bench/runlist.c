// Runs the commands listed in a file, one after the other, and prints one line per command:
// "<wall microseconds> <peak RSS KiB> <exit status>". A command is one line of the file, its
// arguments separated by single spaces (no quoting); leading NAME=VALUE words set environment
// variables for that command only. Output of the commands goes to /dev/null.
// Small on purpose: a child's peak RSS counts its parent's pages until exec, so the parent
// must be smaller than any command measured (a Python or bash parent is not).
//   runlist LIST
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: runlist LIST\n");
    return 1;
  }
  FILE *list = fopen(argv[1], "r");
  if (!list) {
    perror(argv[1]);
    return 1;
  }
  static char line[65536];
  while (fgets(line, sizeof(line), list)) {
    line[strcspn(line, "\n")] = 0;
    char *args[64];
    int n = 0;
    for (char *tok = strtok(line, " "); tok && n < 63; tok = strtok(NULL, " ")) args[n++] = tok;
    args[n] = NULL;
    if (!n) continue;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = fork();
    if (pid == 0) {
      char **cmd = args;
      while (*cmd && strchr(*cmd, '=')) putenv(*cmd++);
      if (!*cmd) _exit(127);
      int fd = open("/dev/null", O_WRONLY);
      dup2(fd, 1);
      dup2(fd, 2);
      execvp(cmd[0], cmd);
      _exit(127);
    }
    int status;
    struct rusage ru;
    if (pid < 0 || wait4(pid, &status, 0, &ru) < 0) {
      perror("runlist");
      return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long us = (t1.tv_sec - t0.tv_sec) * 1000000L + (t1.tv_nsec - t0.tv_nsec) / 1000;
    printf("%ld %ld %d\n", us, ru.ru_maxrss, WIFEXITED(status) ? WEXITSTATUS(status) : 128);
  }
  return 0;
}
