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

// The toolchain a kernel was built with and the installed programs that build like it: kbuild
// is run with `CC=<cc> <make_args...>` for the original and patched units and the module link.
//   - gcc: CONFIG_CC_IS_GCC; cc is the program CONFIG_CC_VERSION_TEXT names ("gcc-12 (Debian
//     12.2.0-14) 12.2.0" -> gcc-12) when it is installed, else gcc; no make_args.
//   - clang: CONFIG_CC_IS_CLANG; CC_VERSION_TEXT ("Debian clang version 14.0.6") names no
//     program, so the first installed clang whose `--version` prints it is taken, in the order
//     kbuild's LLVM= spells them: `clang` on PATH (LLVM=1), `clang-<major>` (LLVM=-<major>),
//     /usr/lib/llvm-<major>/bin/clang (LLVM=/usr/lib/llvm-<major>/bin/), major from
//     CONFIG_CLANG_VERSION. CONFIG_LD_IS_LLD selects LLVM= (clang, ld.lld and LLVM's binutils);
//     without it only CC= is clang (GNU ld and binutils). CONFIG_AS_IS_LLVM unset adds
//     LLVM_IAS=0 (GNU as). When none matches, cc is the one to install and `missing` says what
//     is wrong; check_config() refuses it with the remedy.
struct Toolchain {
  enum class Kind { Gcc, Clang };
  Kind kind = Kind::Gcc;
  std::string cc = "gcc";             // CC: a program on PATH or an absolute path
  std::string hostcc = "gcc";         // HOSTCC kbuild uses with it (host tools)
  std::vector<std::string> make_args; // e.g. {"LLVM=-14"}
  std::string missing;                // clang: why no installed one serves ("" if one does)
};
// `path`: the directories searched for programs (PATH's value); `lib`: where llvm-<major>/bin/
// is looked for.
Toolchain kernel_toolchain(const KernelConfig &config, const std::string &path,
                           const std::string &lib = "/usr/lib");
Toolchain kernel_toolchain(const KernelConfig &config); // with $PATH

// The same checks as check_config(config, cc) below for the toolchain's kind; a clang kernel
// without a matching installed clang is refused with what to install.
void check_config(const KernelConfig &config, const Toolchain &toolchain);

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
