#include "module_gen.h"

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "elf_writer.h"
#include "error.h"
#include "input_file.h"
#include "kbuild.h"
#include "kconfig.h"
#include "klp_reloc.h"
#include "object.h"
#include "process.h"
#include "version.h"

#ifndef KLP_DATA_DIR
#define KLP_DATA_DIR "/usr/share/klp-build"
#endif

namespace fs = std::filesystem;

namespace klp {

std::string data_dir() {
  const char *env = getenv("KLP_DATA_DIR");
  return env && *env ? env : KLP_DATA_DIR;
}

namespace {

// A file of klp-build's data directory (runtime/, templates/).
std::string slurp(const std::string &path) {
  try {
    return read_input_file(path);
  } catch (const Error &e) {
    throw Error(std::string(e.what()) + " (is KLP_DATA_DIR right?)");
  }
}

} // namespace

std::string render_template(const std::string &path,
                            const std::vector<std::pair<std::string, std::string>> &values) {
  std::string text = slurp(path);
  for (auto &[key, value] : values) {
    std::string ph = "@" + key + "@";
    for (size_t pos = text.find(ph); pos != std::string::npos; pos = text.find(ph, pos)) {
      text.replace(pos, ph.size(), value);
      pos += value.size();
    }
  }
  std::smatch m;
  static const std::regex left("@[A-Z_]+@");
  if (std::regex_search(text, m, left))
    throw Error(path + ": placeholder " + m.str() + " has no value");
  return text;
}

namespace {

// Writes `text` unless the file already holds it: make compares mtimes, and an object compiled
// before the diff objects were known (compile_runtime_objects) must stay up to date.
void write_text(const std::string &path, const std::string &text) {
  std::error_code ec;
  if (fs::exists(path, ec) && slurp(path) == text)
    return;
  std::ofstream out(path);
  out << text;
  if (!out)
    throw Error(path + ": cannot write");
}

} // namespace

std::vector<std::string> module_objects(const ModuleSpec &spec) {
  std::vector<std::string> names = {"klp_runtime.o", "klp_patch_info.o"};
  for (size_t i = 0; i < spec.diff_objects.size(); i++) {
    char name[32];
    snprintf(name, sizeof(name), "diff-%03zu.o", i);
    names.push_back(name);
  }
  return names;
}

void write_module_dir(const ModuleSpec &spec, const std::string &dir) {
  std::string data = spec.data_dir.empty() ? data_dir() : spec.data_dir;
  fs::create_directories(dir);
  for (const char *f : {"klp_runtime.c", "klp_build.h"})
    write_text(dir + "/" + f, slurp(data + "/runtime/" + f));
  std::string objs;
  std::vector<std::string> names = module_objects(spec);
  for (size_t i = 0; i < spec.diff_objects.size(); i++) {
    const std::string &name = names[kRuntimeObjects + i];
    fs::copy_file(spec.diff_objects[i], dir + "/" + name, fs::copy_options::overwrite_existing);
    objs += " " + name;
  }
  // The .ko keeps the name as given; the kernel (KBUILD_MODNAME, the livepatch's sysfs
  // directory) knows it with '-' turned into '_'.
  std::string kernel_name = module_name_of(spec.name);
  std::string description = "livepatch " + kernel_name + " built by klp-build";
  write_text(dir + "/Kbuild", render_template(data + "/templates/Kbuild.in",
                                              {{"MODNAME", spec.name}, {"DIFF_OBJECTS", objs}}));
  write_text(dir + "/klp_patch_info.c",
             render_template(data + "/templates/klp_patch_info.c.in",
                             {{"MODNAME", kernel_name},
                              {"REPLACE", spec.replace ? "true" : "false"},
                              {"DESCRIPTION", description},
                              {"VERSION", kVersion}}));
  write_text(dir + "/klp_build.lds", slurp(data + "/templates/klp_build.lds"));
}

namespace {

// `make M=dir TARGETS` in the target's build tree, the same for every call on one module so
// that what one compiled the next finds up to date.
Command module_make(const ModuleSpec &spec, const std::string &dir,
                    const std::vector<std::string> &targets) {
  std::string abs_dir = fs::absolute(dir).lexically_normal().string();
  // The module is compiled in a fresh temporary directory, and with DEBUG_INFO (distribution
  // configs) its path went into the debug line tables and __FILE__ strings: map it away, and
  // klp-build's own runtime headers to a fixed name, so the module does not depend on either.
  std::string kcflags =
      std::string(kNoDwarfColumns) + " -ffile-prefix-map=" + abs_dir + "/= -ffile-prefix-map=" +
      fs::absolute(spec.data_dir.empty() ? data_dir() : spec.data_dir).lexically_normal().string() +
      "/=klp-build/";
  Command cmd{{"make", "-C", spec.kbuild_dir, "M=" + abs_dir, "-j" + std::to_string(spec.jobs),
               "KBUILD_MODPOST_WARN=1", "KCFLAGS=" + kcflags},
              "",
              {}};
  cmd.argv.insert(cmd.argv.end(), spec.cc_make_args.begin(), spec.cc_make_args.end());
  if (!spec.compiler.empty())
    cmd.argv.push_back("CC=" + spec.compiler);
  // No BTF for the module (CONFIG_DEBUG_INFO_BTF_MODULES, Makefile.modfinal's pahole step):
  // pahole would describe the diff objects' partial debug information as split BTF on the
  // build tree's vmlinux, which a kernel refuses (or, with MODULE_ALLOW_BTF_MISMATCH, drops
  // with a warning) unless both match it exactly; nothing needs a livepatch module's BTF, and a
  // module without .BTF loads on every kernel.
  std::error_code ec;
  if (fs::exists(spec.kbuild_dir + "/.config", ec) &&
      KernelConfig(spec.kbuild_dir + "/.config").enabled("DEBUG_INFO_BTF_MODULES"))
    cmd.argv.push_back("CONFIG_DEBUG_INFO_BTF_MODULES=");
  cmd.argv.insert(cmd.argv.end(), targets.begin(), targets.end());
  if (!spec.source_date_epoch.empty())
    cmd.env["SOURCE_DATE_EPOCH"] = spec.source_date_epoch;
  return cmd;
}

} // namespace

void prelink_module(const ModuleSpec &spec, const std::string &dir,
                    const std::atomic<bool> *cancel) {
  Command cmd = module_make(spec, dir, {"modules"});
  cmd.cancel = cancel;
  run_checked(cmd, "linking the livepatch runtime");
}

void check_modpost_output(const ModuleSpec &spec, const std::string &output) {
  // modpost reports every unresolved symbol; livepatch symbols are resolved by the kernel.
  std::istringstream out(output);
  std::string line;
  static const std::regex undef("\"([^\"]+)\" \\[.*\\] undefined!");
  std::smatch m;
  while (std::getline(out, line))
    if (std::regex_search(line, m, undef) && m[1].str().rfind(kKlpSymPrefix, 0) != 0)
      throw Error(spec.name + ".ko: symbol '" + m[1].str() +
                  "' is not exported by the target kernel (modpost: " + line + ")");
}

std::string link_module(const ModuleSpec &spec, const std::string &dir) {
  CommandResult r =
      run_checked(module_make(spec, dir, {"modules"}), "linking the livepatch module");
  check_modpost_output(spec, r.output);
  std::string ko = dir + "/" + spec.name + ".ko";
  if (!fs::exists(ko))
    throw Error(ko + ": kbuild did not produce the module:\n" + tail_lines(r.output, 20));
  return ko;
}

size_t finish_module(const std::string &linked_ko, const std::string &out) {
  auto mod = Object::load(linked_ko);
  size_t n = convert_klp_relocations(*mod);
  write_object(*mod, out);
  return n;
}

} // namespace klp
