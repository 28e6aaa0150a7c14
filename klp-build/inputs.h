// Resolve inputs, the first phase of klp-build's pipeline: what the patches touch, and the
// target kernel's config, compiler, symbols and build tree, each checked before anything is
// built, so that a wrong path or a foreign file fails in a second, not after the compiles.
#pragma once

#include <string>
#include <vector>

#include "kconfig.h"
#include "klp_build.h"
#include "options.h"
#include "patch_set.h"

namespace klp {

struct Inputs {
  BuildOptions opts; // with --kallsyms resolved
  std::vector<PatchFile> patches;
  std::vector<std::string> touched; // files the patches change
  std::vector<std::string> objects; // translation units to rebuild ("fs/proc/cmdline.o")
  std::vector<std::string> headers; // patched headers; prepare adds the units including them
  bool only_units = true;           // every touched file is a translation unit
  std::string module_name;
  std::string config_path;
  Toolchain toolchain; // the compiler the kernel was built with (kconfig.h)
  std::string kbuild_dir;
  std::string symvers;
};

// Reads the patches and resolves and checks every other input. Throws NoChange when the
// patches touch nothing that is compiled, Error for a missing or malformed input.
Inputs resolve_inputs(const BuildOptions &opts, const Reporter &report);

// --sourcedir and --headers exist and are directories; throws Error naming the option.
void check_input_dirs(const BuildOptions &o);
// Module.symvers parses, --kallsyms is a regular file that reads like /proc/kallsyms, --vmlinux
// an x86_64 ELF file with a symbol table, --kernel-image a regular file: checked before the first
// compile.
void check_input_files(const BuildOptions &o, const std::string &symvers);

// A copy of /proc/kallsyms is of the kernel being patched: every symbol its Module.symvers says
// vmlinux exports is in it. Checked only when the kernel lists data too (CONFIG_KALLSYMS_ALL;
// without it an exported variable is absent from any copy). Throws Error naming a missing
// export and how many are missing.
void check_kallsyms_matches_symvers(const std::string &kallsyms, const std::string &symvers,
                                    const KernelConfig &config);

// The --kallsyms to use: the one given; none with --vmlinux; else /proc/kallsyms, but only when
// building for the running kernel (`config_path` is /boot/config-`running_release`, the default
// --config on that machine). Throws Error, naming what to pass, when there is no target.
std::string resolve_target_symbols(const BuildOptions &o, const std::string &config_path,
                                   const std::string &running_release,
                                   const std::string &proc_kallsyms = "/proc/kallsyms");

} // namespace klp
