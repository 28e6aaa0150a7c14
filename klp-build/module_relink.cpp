#include "module_relink.h"

#include <filesystem>
#include <fstream>

#include "error.h"
#include "kconfig.h"
#include "process.h"
#include "replay.h"

namespace fs = std::filesystem;

namespace klp {

bool is_mod_list(const std::string &text, const std::vector<std::string> &objects) {
  std::string want;
  for (const std::string &o : objects)
    want += o + "\n";
  return text == want;
}

// CONFIG_DEBUG_INFO_BTF_MODULES with a vmlinux in the build tree: Makefile.modfinal runs pahole
// on the .ko after the recorded ld, a step no record holds.
static bool generates_btf(const std::string &kbuild_dir) {
  std::error_code ec;
  return fs::exists(kbuild_dir + "/vmlinux", ec) && fs::exists(kbuild_dir + "/.config", ec) &&
         KernelConfig(kbuild_dir + "/.config").enabled("DEBUG_INFO_BTF_MODULES");
}

std::string relink_module(const ModuleSpec &spec, const std::string &dir) {
  if (generates_btf(spec.kbuild_dir))
    return "";
  std::string abs_dir = fs::absolute(dir).lexically_normal().string();
  std::string base = abs_dir + "/" + spec.name;
  auto in_dir = [&](const std::vector<std::string> &names) {
    std::vector<std::string> paths;
    for (const std::string &n : names)
      paths.push_back(abs_dir + "/" + n);
    return paths;
  };

  // The prelinked module's records, in the order make ran them.
  std::vector<std::string> steps = {base + ".o", abs_dir + "/Module.symvers", base + ".mod.o",
                                    base + ".ko"};
  std::vector<std::string> commands;
  for (const std::string &target : steps) {
    fs::path t(target);
    std::string record =
        read_text_file((t.parent_path() / ("." + t.filename().string() + ".cmd")).string());
    std::string command = recorded_command(record, target);
    if (command.empty())
      return "";
    commands.push_back(command);
  }
  // The composite object must take its objects from the .mod list, which must be the plain
  // list of the runtime's objects that make wrote.
  std::string mod_list = base + ".mod";
  ModuleSpec runtime_only = spec;
  runtime_only.diff_objects.clear();
  if (commands[0].find("@" + mod_list) == std::string::npos ||
      !is_mod_list(read_text_file(mod_list), in_dir(module_objects(runtime_only))))
    return "";

  // The list with the diff objects, and the empty records modpost reads their CRCs from (what
  // the Kbuild's $(shell touch) does when make reads it).
  std::vector<std::string> objects = module_objects(spec);
  std::string list;
  for (const std::string &o : in_dir(objects))
    list += o + "\n";
  std::ofstream(mod_list) << list;
  for (size_t i = kRuntimeObjects; i < objects.size(); i++)
    std::ofstream(abs_dir + "/." + objects[i] + ".cmd", std::ios::app);

  std::map<std::string, std::string> env;
  if (!spec.source_date_epoch.empty())
    env["SOURCE_DATE_EPOCH"] = spec.source_date_epoch;
  for (size_t i = 0; i < steps.size(); i++) {
    // The command is kbuild's own record of what make ran for this step.
    CommandResult r = run_checked({{"/bin/sh", "-c", commands[i]}, spec.kbuild_dir, env},
                                  "linking the livepatch module (" +
                                      fs::path(steps[i]).filename().string() + ")");
    if (i == 1)
      check_modpost_output(spec, r.output);
  }
  return base + ".ko";
}

} // namespace klp
