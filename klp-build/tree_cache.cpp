#include "tree_cache.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "error.h"

namespace fs = std::filesystem;

namespace klp {

std::string default_cache_root() {
  const char *xdg = getenv("XDG_CACHE_HOME");
  if (xdg && *xdg)
    return std::string(xdg) + "/klp-build";
  const char *home = getenv("HOME");
  return std::string(home && *home ? home : "/tmp") + "/.cache/klp-build";
}

std::string cache_key(const std::string &inputs) {
  uint64_t h = 1469598103934665603ull; // FNV-1a
  for (unsigned char c : inputs)
    h = (h ^ c) * 1099511628211ull;
  char buf[17];
  snprintf(buf, sizeof(buf), "%016llx", (unsigned long long)h);
  return buf;
}

TreeCache::TreeCache(const std::string &root, const std::string &key) {
  dir_ = root + "/trees/" + key;
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec)
    throw Error(dir_ + ": cannot create the cache entry: " + ec.message() + " (pass --cache)");
  std::string lock = dir_ + "/lock";
  lock_fd_.reset(open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!lock_fd_)
    throw Error(lock + ": cannot open: " + strerror(errno));
  while (flock(lock_fd_.get(), LOCK_EX) != 0)
    if (errno != EINTR)
      throw Error(lock + ": cannot lock: " + strerror(errno));
  if (fs::exists(dir_ + "/dirty"))
    reset();
}

bool TreeCache::ready() const { return fs::exists(dir_ + "/ready"); }

void TreeCache::set_ready() { std::ofstream(dir_ + "/ready") << "ok\n"; }

void TreeCache::reset() {
  std::error_code ec;
  for (const char *p : {"/ready", "/dirty", "/src", "/build"})
    fs::remove_all(dir_ + p, ec);
}

void TreeCache::set_dirty(bool dirty) {
  if (dirty) {
    std::ofstream(dir_ + "/dirty") << "patched files in src/\n";
  } else {
    std::error_code ec;
    fs::remove(dir_ + "/dirty", ec);
  }
}

} // namespace klp
