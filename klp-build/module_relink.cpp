#include "module_relink.h"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>

#include "elf_writer.h"
#include "error.h"
#include "kbuild.h"
#include "kconfig.h"
#include "parallel.h"
#include "process.h"
#include "replay.h"
#include "tree_cache.h"

namespace fs = std::filesystem;

namespace klp {

bool is_mod_list(const std::string &text, const std::vector<std::string> &objects) {
  std::string want;
  for (const std::string &o : objects)
    want += o + "\n";
  return text == want;
}

std::optional<LinkTemplate> read_link_template(const ModuleSpec &spec, const std::string &dir) {
  LinkTemplate t;
  t.dir = fs::absolute(dir).lexically_normal().string();
  t.name = spec.name;
  std::string base = t.dir + "/" + spec.name;
  // The compiles that do not depend on the diff objects, then the link steps, in the order
  // make ran them. kbuild 6.12 links every module with .module-common.o, which it compiles
  // in the module's directory.
  std::error_code ec;
  t.compiles = kRuntimeObjects + fs::exists(t.dir + "/.module-common.o", ec);
  std::vector<std::string> targets;
  for (size_t i = 0; i < t.compiles; i++)
    targets.push_back(t.dir + "/" + template_compile_object(i));
  for (std::string link_step :
       {base + ".o", t.dir + "/Module.symvers", base + ".mod.o", base + ".ko"})
    targets.push_back(link_step);
  bool objtool = fs::exists(spec.kbuild_dir + "/.config", ec) &&
                 config_runs_objtool(KernelConfig(spec.kbuild_dir + "/.config"));
  for (size_t i = 0; i < targets.size(); i++) {
    std::string record = read_text_file(record_path("", targets[i]));
    // The compiles must be the whole of kbuild's rule (no CRCs: the runtime exports nothing,
    // and modpost reads its empty record).
    if (i < t.compiles && !is_replayable(record, targets[i], objtool))
      return std::nullopt;
    std::string command = recorded_command(record, targets[i]);
    if (command.empty())
      return std::nullopt;
    t.commands.push_back(command);
  }
  // The composite object must take its objects from the .mod list, which must be the plain
  // list of the module's objects that make wrote.
  std::vector<std::string> listed;
  for (const std::string &o : module_objects(spec))
    listed.push_back(t.dir + "/" + o);
  // modules.order names the module as make wrote it: <name>.ko, or <name>.o from 6.2 on.
  std::string order = read_text_file(t.dir + "/modules.order");
  if (order == base + ".o\n")
    t.order_suffix = ".o";
  else if (order != base + ".ko\n")
    return std::nullopt;
  if (t.commands[t.compiles].find("@" + base + ".mod") == std::string::npos ||
      !is_mod_list(read_text_file(base + ".mod"), listed))
    return std::nullopt;
  return t;
}

namespace {

// Copies `from` into the cache at `to`, atomically (concurrent runs share the cache), or not at
// all: a file the cache lacks costs a compile later, not the build.
void keep_in_cache(const std::string &from, const std::string &to) {
  std::error_code ec;
  if (!fs::is_regular_file(from, ec))
    return;
  fs::create_directories(fs::path(to).parent_path(), ec);
  try {
    write_file_atomically(to, read_text_file(from));
  } catch (const Error &) {
  }
}

// Puts `object` into the store as `kept`, the one file of its directory (<name>.mod/<key>.o):
// the .mod.o of a module name compiled last.
void keep_only(const std::string &kept, const std::string &object) {
  std::error_code ec;
  for (const fs::directory_entry &e : fs::directory_iterator(fs::path(kept).parent_path(), ec))
    if (e.path() != kept)
      fs::remove(e.path(), ec);
  keep_in_cache(object, kept);
}

} // namespace

void save_link_template(const LinkTemplate &t, const std::string &path) {
  std::string text = "klp-build-link-template 2\ndir " + t.dir + "\nname " + t.name +
                     "\ncompiles " + std::to_string(t.compiles) + "\norder " + t.order_suffix +
                     "\n";
  for (const std::string &c : t.commands)
    text += "cmd " + c + "\n";
  fs::create_directories(fs::path(path).parent_path());
  write_file_atomically(path, text);
}

std::optional<LinkTemplate> load_link_template(const std::string &path) {
  std::istringstream in(read_text_file(path));
  std::string line;
  if (!std::getline(in, line) || line != "klp-build-link-template 2")
    return std::nullopt;
  LinkTemplate t;
  t.compiles = 0;
  while (std::getline(in, line)) {
    if (line.starts_with("dir "))
      t.dir = line.substr(4);
    else if (line.starts_with("name "))
      t.name = line.substr(5);
    else if (line.starts_with("compiles "))
      std::from_chars(line.data() + 9, line.data() + line.size(), t.compiles);
    else if (line.starts_with("order "))
      t.order_suffix = line.substr(6);
    else if (line.starts_with("cmd "))
      t.commands.push_back(line.substr(4));
  }
  if (t.dir.empty() || t.name.empty() || t.compiles < kRuntimeObjects ||
      (t.order_suffix != ".o" && t.order_suffix != ".ko") || t.commands.size() != t.compiles + 4)
    return std::nullopt;
  return t;
}

namespace {

// Replaces every `from` in `s` with `to`; `then` (if given) must follow each match, else that
// match stays.
void replace_all(std::string &s, const std::string &from, const std::string &to,
                 std::string_view then_any = "") {
  for (size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos)) {
    size_t end = pos + from.size();
    if (!then_any.empty() && end < s.size() && then_any.find(s[end]) == std::string_view::npos) {
      pos = end;
      continue;
    }
    s.replace(pos, from.size(), to);
    pos += to.size();
  }
}

} // namespace

std::optional<LinkTemplate> instantiate(const LinkTemplate &t, const ModuleSpec &spec,
                                        const std::string &dir) {
  LinkTemplate out;
  out.compiles = t.compiles;
  out.order_suffix = t.order_suffix;
  out.dir = fs::absolute(dir).lexically_normal().string();
  out.name = spec.name;
  std::string old_kname = module_name_of(t.name), new_kname = module_name_of(spec.name);
  // Where kbuild puts the module's directory and names: file paths in the directory (and its
  // dot-files), and the KBUILD_MODNAME, __KBUILD_MODNAME and KBUILD_BASENAME macros. Each is
  // marked first, then nothing of the old names may be left, then the marks become the new
  // ones.
  const std::vector<std::pair<std::string, std::string>> forms = {
      {t.dir + "/" + t.name + ".", out.dir + "/" + spec.name + "."},
      {t.dir + "/." + t.name + ".", out.dir + "/." + spec.name + "."}, // depfiles
      {"'\"" + old_kname + "\"'", "'\"" + new_kname + "\"'"},
      {"'\"" + old_kname + ".mod\"'", "'\"" + new_kname + ".mod\"'"},
      {"kmod_" + old_kname, "kmod_" + new_kname},
      {t.dir + "/", out.dir + "/"},
  };
  for (std::string c : t.commands) {
    for (size_t i = 0; i < forms.size(); i++)
      replace_all(c, forms[i].first, "\x01" + std::to_string(i) + "\x01",
                  forms[i].first.starts_with("kmod_") ? " \t;" : "");
    if (c.find(t.dir) != std::string::npos || c.find(t.name) != std::string::npos ||
        c.find(old_kname) != std::string::npos)
      return std::nullopt;
    for (size_t i = 0; i < forms.size(); i++)
      replace_all(c, "\x01" + std::to_string(i) + "\x01", forms[i].second);
    out.commands.push_back(c);
  }
  return out;
}

namespace {

std::map<std::string, std::string> step_env(const ModuleSpec &spec) {
  // make exports SRCARCH to every command kbuild runs; Debian's headers packages (6.12) run
  // objtool through a wrapper that picks the architecture's binary by it (objtool.real-x86).
  std::map<std::string, std::string> env = {{"SRCARCH", "x86"}};
  if (!spec.source_date_epoch.empty())
    env["SOURCE_DATE_EPOCH"] = spec.source_date_epoch;
  return env;
}

} // namespace

std::string template_compile_object(size_t i) {
  static const char *kObjects[] = {"klp_runtime.o", "klp_patch_info.o", ".module-common.o"};
  return i < std::size(kObjects) ? kObjects[i] : "";
}

bool compiles_alike_for_every_module(const std::string &object) {
  return object == "klp_runtime.o" || object == ".module-common.o";
}

void store_runtime_objects(const LinkTemplate &t, const std::string &dir,
                           const std::string &store) {
  if (store.empty())
    return;
  std::error_code ec;
  for (size_t i = 0; i < t.compiles; i++) {
    std::string object = template_compile_object(i);
    if (compiles_alike_for_every_module(object) && !fs::exists(store + "/" + object, ec))
      keep_in_cache(dir + "/" + object, store + "/" + object);
  }
}

bool compile_runtime(const LinkTemplate &t, const ModuleSpec &spec, const std::string &dir,
                     const std::string &store, const std::atomic<bool> *cancel) {
  std::vector<size_t> compiles;
  for (size_t i = 0; i < t.compiles; i++) {
    std::string object = template_compile_object(i);
    std::error_code ec;
    if (store.empty() || !compiles_alike_for_every_module(object) ||
        !fs::copy_file(store + "/" + object, dir + "/" + object,
                       fs::copy_options::overwrite_existing, ec))
      compiles.push_back(i);
  }
  try {
    parallel_for(compiles.size(), (unsigned)std::max(spec.jobs, 1), [&](size_t k) {
      // The command is kbuild's own record of how it compiled this file for the target.
      Command cmd{{"/bin/sh", "-c", t.commands[compiles[k]]}, spec.kbuild_dir, step_env(spec)};
      cmd.cancel = cancel;
      run_checked(cmd, "compiling the livepatch runtime");
    });
  } catch (const Error &) {
    return false;
  }
  store_runtime_objects(t, dir, store);
  // modpost reads each object's record for the CRCs of what it exports: nothing.
  for (const char *o : {"klp_runtime.o", "klp_patch_info.o"})
    std::ofstream(dir + "/." + o + ".cmd", std::ios::trunc);
  return true;
}

std::string link_by_template(const LinkTemplate &t, const ModuleSpec &spec,
                             const std::string &store) {
  std::string base = t.dir + "/" + spec.name;
  // The list with the diff objects, the empty records modpost reads their CRCs from (what the
  // Kbuild's $(shell touch) does when make reads it), and the module list modpost reads.
  std::vector<std::string> objects = module_objects(spec);
  std::string list;
  for (const std::string &o : objects)
    list += t.dir + "/" + o + "\n";
  std::ofstream(base + ".mod") << list;
  for (size_t i = kRuntimeObjects; i < objects.size(); i++)
    std::ofstream(t.dir + "/." + objects[i] + ".cmd", std::ios::app);
  std::ofstream(t.dir + "/modules.order") << base + t.order_suffix + "\n";

  static const char *kSteps[] = {"composite object", "modpost", ".mod.o", ".ko"};
  for (size_t i = t.compiles; i < t.commands.size(); i++) {
    // The .mod.o is named in the store by its inputs: the command (with the module's
    // directory, mapped away from the object, left out) and the .mod.c modpost just wrote.
    std::string kept;
    if (i == t.compiles + 2 && !store.empty()) {
      std::string command = t.commands[i];
      replace_all(command, t.dir, "@DIR@");
      kept = store + "/" + spec.name + ".mod/" +
             cache_key(command + "\n" + read_text_file(base + ".mod.c")) + ".o";
      std::error_code ec;
      if (fs::copy_file(kept, base + ".mod.o", fs::copy_options::overwrite_existing, ec))
        continue;
    }
    // The command is kbuild's own record of what make ran for this step.
    CommandResult r =
        run_checked({{"/bin/sh", "-c", t.commands[i]}, spec.kbuild_dir, step_env(spec)},
                    std::string("linking the livepatch module (") + kSteps[i - t.compiles] + ")");
    if (i == t.compiles + 1)
      check_modpost_output(spec, r.output);
    if (!kept.empty())
      keep_only(kept, base + ".mod.o");
  }
  return base + ".ko";
}

std::string relink_module(const ModuleSpec &spec, const std::string &dir) {
  std::optional<LinkTemplate> t = read_link_template(spec, dir);
  return t ? link_by_template(*t, spec, "") : "";
}

} // namespace klp
