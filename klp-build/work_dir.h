// The temporary directory of one klp-build run: removed on every exit path unless --keep-tmp.
#pragma once

#include <string>

namespace klp {

class WorkDir {
public:
  explicit WorkDir(bool keep);
  ~WorkDir();
  WorkDir(const WorkDir &) = delete;
  WorkDir &operator=(const WorkDir &) = delete;
  const std::string &path() const { return path_; }
  std::string sub(const std::string &rel) const { return path_ + "/" + rel; }

private:
  std::string path_;
  bool keep_;
};

} // namespace klp
