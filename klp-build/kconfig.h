// The kernel configuration: reading a .config and the checks that must pass before any build.
#pragma once

#include <map>
#include <string>
#include <vector>

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

// What to do when the compiler is not the kernel's (`want`: its CONFIG_CC_VERSION_TEXT): install
// it, or, for a Debian 13 kernel's gcc-14, run in the root scripts/trixie-root.sh makes.
std::string compiler_remedy(const std::string &want);

// What `make olddefconfig` did to a config (`before`: the text given, `after`: the .config it
// wrote). Values kconfig merely probes from tools the build of this config does not use are
// tolerated, each named in `tolerated` as "CONFIG_X: 'old' became 'new' (why)":
//   - rustc and bindgen (RUSTC_VERSION, RUSTC_LLVM_VERSION, RUST_IS_AVAILABLE, ...) unless the
//     config has CONFIG_RUST=y: a build machine's rustc is no sign of another kernel;
//   - pahole and the BTF options that follow from its version: BTF is made at link time from
//     the objects' DWARF, the code of no translation unit depends on it.
// Options distro builders leave out of the /boot config (BUILD_SALT, the signing keys) may
// appear with their defaults. Any other difference - another compiler (CC_VERSION_TEXT,
// GCC_VERSION) or assembler (AS_VERSION), another source version - is the first one in file
// order, in first_before / first_after ("" for a setting one side lacks).
struct ConfigChanges {
  std::vector<std::string> tolerated;
  std::string first_before, first_after;
  bool changed() const { return !first_before.empty() || !first_after.empty(); }
};
ConfigChanges compare_olddefconfig(const std::string &before, const std::string &after);

// The first line of `cc --version`.
std::string compiler_version_text(const std::string &cc);

} // namespace klp
