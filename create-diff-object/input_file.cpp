#include "input_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "error.h"

namespace klp {

const char *file_kind(unsigned mode) {
  if (S_ISDIR(mode))
    return "a directory";
  if (S_ISFIFO(mode))
    return "a FIFO";
  if (S_ISCHR(mode))
    return "a character device";
  if (S_ISBLK(mode))
    return "a block device";
  if (S_ISSOCK(mode))
    return "a socket";
  return "not a regular file";
}

namespace {

void require_regular(const std::string &path, const struct stat &st) {
  if (!S_ISREG(st.st_mode))
    throw Error(path + ": not a regular file (" + file_kind(st.st_mode) + ")");
}

} // namespace

void check_regular_file(const std::string &path) {
  // kpatch's positional form passes /dev/null for "no Module.symvers": it reads as empty and
  // never blocks.
  if (path == "/dev/null")
    return;
  struct stat st;
  if (stat(path.c_str(), &st) != 0)
    throw Error(path + ": cannot open: " + strerror(errno));
  require_regular(path, st);
}

UniqueFd open_regular_file(const std::string &path) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (!fd)
    throw Error(path + ": cannot open: " + strerror(errno));
  struct stat st;
  if (fstat(fd.get(), &st) != 0)
    throw Error(path + ": cannot stat: " + strerror(errno));
  require_regular(path, st);
  // Back to blocking reads: O_NONBLOCK only kept open() from waiting for a FIFO's writer.
  fcntl(fd.get(), F_SETFL, fcntl(fd.get(), F_GETFL) & ~O_NONBLOCK);
  return fd;
}

std::string read_input_file(const std::string &path) {
  UniqueFd fd = open_regular_file(path);
  std::string out;
  char buf[1 << 16];
  for (;;) {
    ssize_t n = read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      throw Error(path + ": read error: " + strerror(errno));
    if (n == 0)
      break;
    out.append(buf, (size_t)n);
  }
  return out;
}

} // namespace klp
