#include "inputs.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <unordered_set>

#include "elf_file.h"
#include "error.h"
#include "input_file.h"
#include "kbuild.h"
#include "kconfig.h"
#include "symvers.h"

namespace fs = std::filesystem;

namespace klp {

namespace {

bool exists(const std::string &p) { return !p.empty() && fs::exists(p); }

std::string parent_dir(const std::string &path) { return fs::path(path).parent_path().string(); }

// `uname -r`: the running kernel's release, which names its /boot config and /lib/modules.
std::string running_release() {
  struct utsname u;
  uname(&u);
  return u.release;
}

// --config: DIR/.config, else the running kernel's /boot/config-$(uname -r).
std::string resolve_config(const BuildOptions &o) {
  if (!o.config.empty())
    return o.config;
  if (exists(o.sourcedir + "/.config"))
    return o.sourcedir + "/.config";
  std::string boot = "/boot/config-" + running_release();
  if (exists(boot))
    return boot;
  throw Error("no kernel config: " + o.sourcedir + "/.config and " + boot +
              " do not exist; pass --config");
}

// The tree the module is linked against: --headers, else the build tree of --vmlinux.
std::string resolve_kbuild_dir(const BuildOptions &o) {
  if (!o.headers.empty())
    return o.headers;
  if (!o.vmlinux.empty() && exists(parent_dir(o.vmlinux) + "/Module.symvers"))
    return parent_dir(fs::absolute(o.vmlinux).string());
  if (exists(o.sourcedir + "/Module.symvers"))
    return o.sourcedir;
  std::string build = "/lib/modules/" + running_release() + "/build";
  if (exists(build + "/Module.symvers"))
    return build;
  throw Error("no kernel build tree to link the module against; pass --headers (e.g. "
              "/usr/src/linux-headers-$(uname -r))");
}

std::string resolve_symvers(const BuildOptions &o, const std::string &kbuild_dir) {
  if (!o.symvers.empty())
    return o.symvers;
  if (exists(kbuild_dir + "/Module.symvers"))
    return kbuild_dir + "/Module.symvers";
  throw Error(kbuild_dir + "/Module.symvers: missing; pass --symvers");
}

// A copy of /proc/kallsyms: "<hex address> <type letter> <name>[ <[module]>]" on its first line.
bool looks_like_kallsyms(std::string_view line) {
  size_t sp = line.find(' ');
  if (sp == 0 || sp == std::string_view::npos || sp > 16)
    return false;
  for (char c : line.substr(0, sp))
    if (!isxdigit((unsigned char)c))
      return false;
  return line.size() > sp + 3 && isalpha((unsigned char)line[sp + 1]) && line[sp + 2] == ' ' &&
         line[sp + 3] != ' ';
}

} // namespace

Inputs resolve_inputs(const BuildOptions &opts, const Reporter &report) {
  Inputs in;
  in.opts = opts;
  // The patches, and the translation units and headers they touch.
  for (const std::string &p : opts.patches)
    in.patches.push_back(read_patch(p));
  in.touched = touched_files(in.patches);
  for (const std::string &f : in.touched) {
    std::string o = object_for_source(f);
    in.only_units = in.only_units && !o.empty();
    if (!o.empty())
      in.objects.push_back(o);
    else if (f.ends_with(".h"))
      in.headers.push_back(f);
    else
      report.info(f + ": not C, assembly or a header; it does not change the running code");
  }
  if (in.objects.empty() && in.headers.empty())
    throw NoChange("the patches touch no C, assembly or header file");
  in.module_name = module_name_for(opts.name, in.patches);

  // Every input, the config and the compiler, before any build.
  check_input_dirs(opts);
  in.config_path = resolve_config(opts);
  in.opts.kallsyms = resolve_target_symbols(opts, in.config_path, running_release());
  KernelConfig config(in.config_path);
  in.toolchain = kernel_toolchain(config);
  check_config(config, in.toolchain);
  in.kbuild_dir = resolve_kbuild_dir(opts);
  in.symvers = resolve_symvers(opts, in.kbuild_dir);
  check_input_files(in.opts, in.symvers);
  if (!in.opts.kallsyms.empty())
    check_kallsyms_matches_symvers(in.opts.kallsyms, in.symvers, config);
  return in;
}

void check_input_dirs(const BuildOptions &o) {
  for (auto [option, dir] : {std::pair{"--sourcedir", &o.sourcedir}, {"--headers", &o.headers}}) {
    if (dir->empty())
      continue;
    std::error_code ec;
    fs::file_status st = fs::status(*dir, ec);
    if (!fs::exists(st))
      throw Error(*dir + ": " + option + " DIR does not exist");
    if (!fs::is_directory(st))
      throw Error(*dir + ": " + option + " is not a directory");
  }
}

void check_input_files(const BuildOptions &o, const std::string &symvers) {
  check_regular_file(symvers);
  Symvers{symvers}; // a malformed line is reported now, not after the compiles
  if (!o.kallsyms.empty()) {
    check_regular_file(o.kallsyms);
    std::ifstream in(o.kallsyms, std::ios::binary);
    std::string line;
    std::getline(in, line);
    if (!in && !in.eof())
      throw Error(o.kallsyms + ": cannot read: " + strerror(errno));
    if (!looks_like_kallsyms(line))
      throw Error(o.kallsyms +
                  ":1: not a copy of /proc/kallsyms (expected 'ADDRESS TYPE NAME', "
                  "read " +
                  quoted_input(line) + ")");
  }
  if (!o.kernel_image.empty())
    check_regular_file(o.kernel_image);
  if (!o.vmlinux.empty()) {
    ElfFile elf(o.vmlinux);
    if (!elf.symtab_index())
      throw Error(o.vmlinux + ": no symbol table (is it stripped?)");
  }
}

// Why exports: a kallsyms copy names no release, and its addresses are randomised (KASLR) or
// zero (read by a user), but the names of a kernel's symbols are its fingerprint, and
// Module.symvers of the same build lists the exported ones. Measured on Debian's kernels: its
// own copy lacks none of 10503 (6.1.0-56) and 11216 (6.12.95) vmlinux exports; a copy of the
// other lacks 467 and 1221, one of the test kernel (same 6.1.192 source, another config) 50.
// Such a copy would give wrong sympos for same-named locals, or fail late on a missing symbol.
void check_kallsyms_matches_symvers(const std::string &kallsyms, const std::string &symvers,
                                    const KernelConfig &config) {
  if (!config.enabled("KALLSYMS_ALL"))
    return;
  // The ~13 k names vmlinux exports, each struck off as the ~200 k lines of the copy are read:
  // a lookup per line, rather than a set of every name in the copy.
  Symvers table(symvers);
  std::unordered_set<std::string_view> unseen;
  for (const Export &e : table.exports())
    if (e.in_vmlinux())
      unseen.insert(e.name);
  size_t exported = unseen.size();
  std::string text = read_input_file(kallsyms);
  for (size_t pos = 0; pos < text.size() && !unseen.empty();) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos)
      end = text.size();
    std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    // "ADDRESS TYPE NAME[\t[module]]"
    size_t a = line.find(' ');
    size_t b = a == std::string_view::npos ? a : line.find(' ', a + 1);
    if (b == std::string_view::npos)
      continue;
    std::string_view name = line.substr(b + 1);
    unseen.erase(name.substr(0, name.find_first_of("\t ")));
  }
  const Export *first_missing = nullptr;
  size_t missing = unseen.size();
  for (const Export &e : table.exports())
    if (!first_missing && e.in_vmlinux() && unseen.count(e.name))
      first_missing = &e;
  if (missing)
    throw Error(kallsyms + ": not the symbols of the kernel being patched: '" +
                first_missing->name + "', exported by vmlinux (" + symvers + ":" +
                std::to_string(first_missing->line) + "), is not in it, nor are " +
                std::to_string(missing - 1) + " of the other " + std::to_string(exported - 1) +
                " vmlinux exports; copy /proc/kallsyms on a machine running this kernel");
}

std::string resolve_target_symbols(const BuildOptions &o, const std::string &config_path,
                                   const std::string &running_release,
                                   const std::string &proc_kallsyms) {
  if (!o.kallsyms.empty())
    return o.kallsyms;
  if (!o.vmlinux.empty())
    return "";
  if (config_path == "/boot/config-" + running_release) {
    if (access(proc_kallsyms.c_str(), R_OK) == 0)
      return proc_kallsyms;
    throw Error(proc_kallsyms + ": cannot read the running kernel's symbols (" + strerror(errno) +
                "); run as root or pass --kallsyms");
  }
  throw Error("no target symbols for the kernel of " + config_path +
              ": pass --vmlinux or --kallsyms (/proc/kallsyms is the default only when "
              "building for the running kernel, with /boot/config-" +
              running_release + ")");
}

} // namespace klp
