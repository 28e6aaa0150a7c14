#include "kconfig.h"

#include <fstream>
#include <mutex>
#include <regex>
#include <set>
#include <sstream>
#include <unordered_map>

#include <unistd.h>

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
    if (!line.starts_with("CONFIG_"))
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
  // Asked for by the config check, the tree's cache key and the module's: run once per compiler.
  static std::mutex mutex;
  static std::unordered_map<std::string, std::string> known;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = known.find(cc);
  if (it != known.end())
    return it->second;
  CommandResult r = run_checked({{cc, "--version"}, "", {}}, cc + " --version");
  return known[cc] = r.output.substr(0, r.output.find('\n'));
}

namespace {

// `name` as make would run it: a path as it is, else the first executable of that name in one of
// the ':'-separated directories of `path`; "" if there is none.
std::string find_program(const std::string &name, const std::string &path) {
  if (name.find('/') != std::string::npos)
    return access(name.c_str(), X_OK) == 0 ? name : "";
  std::istringstream dirs(path);
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    std::string p = (dir.empty() ? "." : dir) + "/" + name;
    if (access(p.c_str(), X_OK) == 0)
      return p;
  }
  return "";
}

// gcc: CONFIG_CC_VERSION_TEXT names the program ("gcc-12 (Debian 12.2.0-14) 12.2.0"); use it when
// it exists, else plain gcc.
Toolchain gcc_toolchain(const KernelConfig &config) {
  Toolchain tc;
  std::string text = config.get("CC_VERSION_TEXT");
  std::string prog = text.substr(0, text.find(' '));
  if (prog.empty())
    return tc;
  for (std::string dir : {"/usr/bin", "/usr/local/bin", "/bin"})
    if (access((dir + "/" + prog).c_str(), X_OK) == 0) {
      tc.cc = prog;
      break;
    }
  return tc;
}

// The major version of the clang that built the kernel: CONFIG_CLANG_VERSION (140006), else the
// version in CONFIG_CC_VERSION_TEXT ("Debian clang version 14.0.6"); 0 if neither says.
int clang_major(const KernelConfig &config) {
  long v = std::strtol(config.get("CLANG_VERSION").c_str(), nullptr, 10);
  if (v >= 10000)
    return (int)(v / 10000);
  std::smatch m;
  std::string text = config.get("CC_VERSION_TEXT");
  static const std::regex version_re("clang version ([0-9]+)\\.");
  return std::regex_search(text, m, version_re) ? std::stoi(m[1].str()) : 0;
}

// The tools kbuild's LLVM= takes from the same installation besides clang (Makefile, 6.1).
constexpr const char *kLlvmTools[] = {"ld.lld",       "llvm-ar",      "llvm-nm",   "llvm-objcopy",
                                      "llvm-objdump", "llvm-readelf", "llvm-strip"};

Toolchain clang_toolchain(const KernelConfig &config, const std::string &path,
                          const std::string &lib) {
  Toolchain tc;
  tc.kind = Toolchain::Kind::Clang;
  std::string want = config.get("CC_VERSION_TEXT");
  int major = clang_major(config);
  bool lld = config.enabled("LD_IS_LLD");
  // kbuild's spellings of one LLVM installation: LLVM=1 (the tools on PATH), LLVM=-NN (Debian's
  // and Ubuntu's versioned names), LLVM=<dir>/ (the installation's own bin directory).
  struct Spelling {
    std::string llvm, prefix, suffix;
  };
  std::vector<Spelling> spellings = {{"1", "", ""}};
  if (major > 0) {
    std::string n = std::to_string(major);
    spellings.push_back({"-" + n, "", "-" + n});
    std::string dir = lib + "/llvm-" + n + "/bin/";
    spellings.push_back({dir, dir, ""});
  }
  std::vector<std::string> seen;
  for (const Spelling &sp : spellings) {
    std::string prog = sp.prefix + "clang" + sp.suffix;
    std::string found = find_program(prog, path);
    if (found.empty())
      continue;
    std::string have;
    try {
      have = compiler_version_text(found);
    } catch (const Error &) {
      continue;
    }
    if (have != want) {
      seen.push_back(prog + " is '" + have + "'");
      continue;
    }
    std::string lacking;
    for (const char *tool : kLlvmTools)
      if (lld && find_program(sp.prefix + tool + sp.suffix, path).empty())
        lacking += (lacking.empty() ? "" : ", ") + sp.prefix + tool + sp.suffix;
    if (!lacking.empty()) {
      seen.push_back(prog + " matches but " + lacking + " is not installed");
      continue;
    }
    tc.cc = tc.hostcc = prog;
    if (lld)
      tc.make_args.push_back("LLVM=" + sp.llvm);
    if (!config.enabled("AS_IS_LLVM"))
      tc.make_args.push_back("LLVM_IAS=0");
    return tc;
  }
  tc.cc = tc.hostcc = major > 0 ? "clang-" + std::to_string(major) : "clang";
  if (seen.empty()) {
    tc.missing = "no clang is installed (looked for";
    for (size_t i = 0; i < spellings.size(); i++)
      tc.missing += (i ? ", " : " ") + spellings[i].prefix + "clang" + spellings[i].suffix;
    tc.missing += ")";
  } else {
    for (size_t i = 0; i < seen.size(); i++)
      tc.missing += (i ? ", " : "") + seen[i];
  }
  return tc;
}

} // namespace

Toolchain kernel_toolchain(const KernelConfig &config, const std::string &path,
                           const std::string &lib) {
  if (config.enabled("CC_IS_CLANG"))
    return clang_toolchain(config, path, lib);
  return gcc_toolchain(config);
}

Toolchain kernel_toolchain(const KernelConfig &config) {
  const char *path = getenv("PATH");
  return kernel_toolchain(config, path ? path : "/usr/local/bin:/usr/bin:/bin");
}

namespace {

// What to install for a clang kernel: the version CC_VERSION_TEXT names, with lld and LLVM's
// binutils when the kernel was linked by lld; Debian and Ubuntu ship them as clang-NN, lld-NN
// and llvm-NN.
std::string clang_remedy(const KernelConfig &config) {
  std::string text = config.get("CC_VERSION_TEXT");
  std::smatch m;
  static const std::regex version_re("clang version ([0-9][0-9.]*)");
  std::string version = std::regex_search(text, m, version_re) ? m[1].str() : "";
  int major = clang_major(config);
  bool lld = config.enabled("LD_IS_LLD");
  std::string r = "install clang " + version + (lld ? " with lld and LLVM's binutils" : "");
  if (major > 0 && (text.starts_with("Debian ") || text.starts_with("Ubuntu "))) {
    std::string n = std::to_string(major);
    r += " (apt-get install clang-" + n + (lld ? " lld-" + n + " llvm-" + n : "") + ")";
  } else {
    r += " and put its bin directory first in PATH";
  }
  return r;
}

} // namespace

void check_config(const KernelConfig &config, const Toolchain &toolchain) {
  if (toolchain.kind == Toolchain::Kind::Gcc)
    return check_config(config, toolchain.cc);
  if (!config.enabled("LIVEPATCH"))
    return check_config(config, toolchain.cc); // refuses the config as for gcc
  if (!toolchain.missing.empty())
    throw Error(config.path() + ": the kernel was built with '" + config.get("CC_VERSION_TEXT") +
                "' but " + toolchain.missing + "; " + clang_remedy(config) +
                " so the original objects match the running code");
}

std::string compiler_remedy(const std::string &want) {
  // Debian 13's kernels are built by its gcc-14 ("gcc-14 (Debian 14.2.0-19) 14.2.0"), which
  // Debian 12 does not package: the remedy is a trixie root, not an install.
  if (want.find("(Debian 14.") != std::string::npos)
    return "run klp-build in a Debian 13 (trixie) root, which has that compiler: "
           "scripts/trixie-root.sh run klp-build ARGS...";
  return "install that compiler (or pass --compiler-launcher) so the original objects match the "
         "running code";
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
    throw Error(config.path() + ": the kernel was built with '" + want + "' but " + cc + " is '" +
                have + "'; " + compiler_remedy(want));
}

// One setting of a config file: "CONFIG_X=v" or "# CONFIG_X is not set".
struct Setting {
  std::string name; // "CONFIG_X"
  std::string line;
};

namespace {

std::vector<Setting> settings_of(const std::string &text) {
  // Comments carry the generator's version; only settings matter.
  std::istringstream in(text);
  std::vector<Setting> out;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.starts_with("CONFIG_") && !line.starts_with("# CONFIG_"))
      continue;
    std::string name = line.substr(line.starts_with("# ") ? 2 : 0);
    out.push_back({name.substr(0, name.find_first_of("= ")), line});
  }
  return out;
}

// A setting's value as kconfig writes it; "" for "is not set" and for an absent line.
std::string value_of(const std::string &line) {
  size_t eq = line.find('=');
  return line.starts_with("# ") || eq == std::string::npos ? "" : line.substr(eq + 1);
}

// The tool kconfig probes for `name` when the build of `config` does not use it; "" otherwise.
std::string unused_probed_tool(const std::string &name, bool rust) {
  static constexpr std::string_view kRust[] = {
      "CONFIG_RUSTC_VERSION",        "CONFIG_RUSTC_LLVM_VERSION", "CONFIG_RUST_IS_AVAILABLE",
      "CONFIG_BINDGEN_VERSION_TEXT", "CONFIG_RUSTC_VERSION_TEXT", "CONFIG_RUST",
  };
  static constexpr std::string_view kPahole[] = {
      "CONFIG_PAHOLE_VERSION",
      "CONFIG_DEBUG_INFO_BTF",
      "CONFIG_DEBUG_INFO_BTF_MODULES",
      "CONFIG_MODULE_ALLOW_BTF_MISMATCH",
  };
  if (!rust) {
    for (std::string_view o : kRust)
      if (name == o)
        return "rustc, which this config does not use";
    if (name.starts_with("CONFIG_RUSTC_HAS_") || name.starts_with("CONFIG_RUSTC_SUPPORTS_"))
      return "rustc, which this config does not use";
  }
  for (std::string_view o : kPahole)
    if (name == o)
      return "pahole, which only makes BTF at link time";
  if (name.starts_with("CONFIG_PAHOLE_HAS_"))
    return "pahole, which only makes BTF at link time";
  return "";
}

// Options Debian leaves out of the config it installs as /boot/config-* (they name its build
// host's signing key, trusted keys and build-id salt; the linux-headers .config keeps them).
// None changes the code of a translation unit: the salt goes into init/version.o's and each
// module's .mod.o ELF note, the keys into module signing. olddefconfig adds them back with
// their defaults, which is no sign of a config from another source version.
bool is_distro_stripped_option(const std::string &name) {
  static constexpr std::string_view kOptions[] = {
      "CONFIG_BUILD_SALT",          "CONFIG_MODULE_SIG_ALL",         "CONFIG_MODULE_SIG_KEY",
      "CONFIG_SYSTEM_TRUSTED_KEYS", "CONFIG_SYSTEM_REVOCATION_KEYS",
  };
  for (std::string_view o : kOptions)
    if (name == o)
      return true;
  return false;
}

} // namespace

ConfigChanges compare_olddefconfig(const std::string &before, const std::string &after) {
  std::vector<Setting> b = settings_of(before), a = settings_of(after);
  std::map<std::string, std::string> blines, alines;
  for (const Setting &s : b)
    blines[s.name] = s.line;
  for (const Setting &s : a)
    alines[s.name] = s.line;
  auto it = blines.find("CONFIG_RUST");
  bool rust = it != blines.end() && value_of(it->second) == "y";

  ConfigChanges c;
  std::set<std::string> skip;
  std::set<std::string> names;
  for (const auto &[n, l] : blines)
    names.insert(n);
  for (const auto &[n, l] : alines)
    names.insert(n);
  for (const std::string &n : names) {
    auto bi = blines.find(n), ai = alines.find(n);
    std::string bv = bi == blines.end() ? "" : value_of(bi->second);
    std::string av = ai == alines.end() ? "" : value_of(ai->second);
    std::string tool = unused_probed_tool(n, rust);
    if (!tool.empty()) {
      skip.insert(n);
      if (bv != av)
        c.tolerated.push_back(n + ": '" + bv + "' became '" + av + "' (" + tool + ")");
    } else if (is_distro_stripped_option(n) && bi == blines.end()) {
      skip.insert(n);
    }
  }
  // The first difference in the written config's order (kconfig's): a setting whose line
  // changed or that kconfig added; then one it dropped. Matched by name: a setting added in the
  // middle must not pair the next ones off by one.
  for (const Setting &s : a) {
    if (skip.count(s.name))
      continue;
    auto bi = blines.find(s.name);
    std::string was = bi == blines.end() ? "" : bi->second;
    if (was != s.line) {
      c.first_before = was;
      c.first_after = s.line;
      return c;
    }
  }
  for (const Setting &s : b)
    if (!skip.count(s.name) && !alines.count(s.name)) {
      c.first_before = s.line;
      c.first_after = "";
      return c;
    }
  return c;
}

} // namespace klp
