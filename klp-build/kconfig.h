// The kernel configuration: reading a .config and the checks that must pass before any build.
#pragma once

#include <map>
#include <string>

namespace klp {

class KernelConfig {
public:
  explicit KernelConfig(const std::string &path);
  const std::string &path() const { return path_; }
  // Value of CONFIG_<name> ("y", "m", a quoted string unquoted, a number); "" if unset.
  std::string get(const std::string &name) const;
  bool enabled(const std::string &name) const { return get(name) == "y"; }
  const std::map<std::string, std::string> &values() const { return values_; }

private:
  std::string path_;
  std::map<std::string, std::string> values_;
};

// Refuses a config without CONFIG_LIVEPATCH, and a compiler whose `--version` line differs from
// the one the kernel was configured with (CONFIG_CC_VERSION_TEXT): objects from another compiler
// do not match the running code.
void check_config(const KernelConfig &config, const std::string &cc);

// The first line of `cc --version`.
std::string compiler_version_text(const std::string &cc);

} // namespace klp
