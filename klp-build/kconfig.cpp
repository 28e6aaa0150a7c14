#include "kconfig.h"

#include <fstream>

#include "error.h"
#include "input_file.h"
#include "process.h"

namespace klp {

KernelConfig::KernelConfig(const std::string &path) : path_(path) {
  check_regular_file(path);
  std::ifstream in(path);
  if (!in)
    throw Error(path + ": cannot read the kernel config (pass --config)");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("CONFIG_", 0) != 0)
      continue;
    size_t eq = line.find('=');
    if (eq == std::string::npos)
      continue;
    std::string value = line.substr(eq + 1);
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
      value = value.substr(1, value.size() - 2);
    values_[line.substr(7, eq - 7)] = value;
  }
  if (values_.empty())
    throw Error(path + ": no CONFIG_ lines; is this a kernel .config?");
}

std::string KernelConfig::get(const std::string &name) const {
  auto it = values_.find(name);
  return it == values_.end() ? "" : it->second;
}

std::string compiler_version_text(const std::string &cc) {
  CommandResult r = run_checked({{cc, "--version"}, "", {}}, cc + " --version");
  return r.output.substr(0, r.output.find('\n'));
}

void check_config(const KernelConfig &config, const std::string &cc) {
  if (!config.enabled("LIVEPATCH"))
    throw Error(config.path() + ": CONFIG_LIVEPATCH is not set; the target kernel cannot load "
                                "livepatch modules");
  std::string want = config.get("CC_VERSION_TEXT");
  if (want.empty())
    return; // kernels before 5.8 do not record it
  std::string have = compiler_version_text(cc);
  if (have != want)
    throw Error(config.path() + ": the kernel was built with '" + want + "' but " + cc +
                " is '" + have + "'; install that compiler (or pass --compiler-launcher) so the "
                "original objects match the running code");
}

} // namespace klp
