#include "test_util.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace klp::test {

const char *const kKernelCFlags =
    "-O2 -std=gnu11 -nostdinc -fno-strict-aliasing -fno-common -fshort-wchar -fno-PIE "
    "-mcmodel=kernel -mno-red-zone -mno-sse -mno-mmx -mno-sse2 -mno-3dnow -mno-avx "
    "-fno-asynchronous-unwind-tables -fno-jump-tables -fno-delete-null-pointer-checks "
    "-fno-stack-protector -fno-omit-frame-pointer -mskip-rax-setup "
    "-pg -mfentry -mrecord-mcount -ffunction-sections -fdata-sections -c";

ScratchDir::ScratchDir() {
  const auto *info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = info ? std::string(info->test_suite_name()) + "." + info->name() : "scratch";
  for (char &c : name)
    if (c == '/')
      c = '_';
  std::string tmpl = ::testing::TempDir() + "klp-" + name + "-XXXXXX";
  if (!mkdtemp(tmpl.data()))
    throw std::runtime_error("mkdtemp failed for " + tmpl);
  path_ = tmpl;
}

ScratchDir::~ScratchDir() {
  if (!::testing::Test::HasFailure()) {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
}

RunResult run(const std::string &cmd) {
  RunResult r;
  std::string full = cmd + " 2>&1";
  FILE *p = popen(full.c_str(), "r");
  if (!p)
    throw std::runtime_error("popen failed: " + cmd);
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0)
    r.out.append(buf.data(), n);
  int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

void write_text(const std::string &path, const std::string &text) {
  std::ofstream f(path);
  f << text;
  if (!f)
    throw std::runtime_error("cannot write " + path);
}

std::string read_text(const std::string &path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void compile(const std::string &src, const std::string &out, const std::string &extra,
             const std::string &cc) {
  std::string flags = kKernelCFlags;
  if (cc.find("clang") != std::string::npos) {
    // clang has no -mskip-rax-setup spelling differences that matter here, but rejects it.
    flags.replace(flags.find("-mskip-rax-setup"), sizeof("-mskip-rax-setup") - 1, "");
  }
  RunResult r = run(cc + " " + flags + " " + extra + " -o " + out + " " + src);
  if (r.exit_code != 0)
    throw std::runtime_error("compiling " + src + " failed:\n" + r.out);
}

std::string testdata(const std::string &rel) { return std::string(KLP_TESTDATA_DIR) + "/" + rel; }

RunResult create_diff_object(const std::string &args) {
  return run(std::string(KLP_CREATE_DIFF_OBJECT) + " " + args);
}

} // namespace klp::test
