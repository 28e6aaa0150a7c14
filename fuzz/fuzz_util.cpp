#include "fuzz_util.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace klp::fuzz {

const std::string &as_file(const uint8_t *data, size_t size) {
  static int fd = memfd_create("fuzz-input", MFD_CLOEXEC);
  static std::string path = "/proc/self/fd/" + std::to_string(fd);
  if (fd < 0 || ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size) {
    perror("fuzz input memfd");
    abort();
  }
  return path;
}

std::string fixed_file(const std::string &name) {
  const char *dir = getenv("KLP_FUZZ_DATA");
  return std::string(dir && *dir ? dir : KLP_FUZZ_DATA_DIR) + "/" + name;
}

} // namespace klp::fuzz
