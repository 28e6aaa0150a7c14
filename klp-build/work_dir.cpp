#include "work_dir.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "error.h"

namespace klp {

WorkDir::WorkDir(bool keep) : keep_(keep) {
  const char *tmp = getenv("TMPDIR");
  std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/klp-build.XXXXXX";
  if (!mkdtemp(tmpl.data()))
    throw Error(tmpl + ": cannot create the work directory: " + strerror(errno));
  path_ = tmpl;
}

WorkDir::~WorkDir() {
  if (keep_) {
    std::cerr << "klp-build: kept work directory " << path_ << "\n";
    return;
  }
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

} // namespace klp
