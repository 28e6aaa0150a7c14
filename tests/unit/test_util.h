// Helpers shared by the feature tests: a scratch directory per test, compiling C with the
// kernel's code-generation flags, and running the create-diff-object binary.
#pragma once

#include <string>
#include <vector>

namespace klp::test {

// The flags kbuild uses for x86_64 code generation that matter to the differ (no kernel headers).
extern const char *const kKernelCFlags;

// A fresh directory under the test temp dir, removed when the test passes.
class ScratchDir {
public:
  ScratchDir();
  ~ScratchDir();
  const std::string &path() const { return path_; }
  std::string file(const std::string &name) const { return path_ + "/" + name; }

private:
  std::string path_;
};

struct RunResult {
  int exit_code = -1;
  std::string out; // stdout and stderr, interleaved
};

// Runs `cmd` through /bin/sh, capturing its output.
RunResult run(const std::string &cmd);

// Writes `text` to `path`.
void write_text(const std::string &path, const std::string &text);
std::string read_text(const std::string &path);

// Compiles C source `src` (a path) into `out` with the kernel flags plus `extra`; fails the test
// (via an exception) if the compiler fails. `cc` is "gcc" or "clang-14".
void compile(const std::string &src, const std::string &out, const std::string &extra = "",
             const std::string &cc = "gcc");

// Path of a file under testdata/.
std::string testdata(const std::string &rel);

// Runs the create-diff-object binary with `args`.
RunResult create_diff_object(const std::string &args);

} // namespace klp::test
