#include "kbuild.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "descend.h"
#include "error.h"
#include "process.h"

namespace fs = std::filesystem;

namespace klp {

static constexpr const char *kDiffFlags = "-ffunction-sections -fdata-sections";

std::vector<std::string> make_argv(const KbuildTree &tree,
                                   const std::vector<std::string> &targets) {
  std::vector<std::string> argv = {"make",
                                   "-C",
                                   tree.srctree,
                                   "O=" + tree.objtree,
                                   "-j" + std::to_string(tree.jobs),
                                   std::string("KCFLAGS=") + kDiffFlags +
                                       (tree.include_dir.empty() ? "" : " -I" + tree.include_dir),
                                   "CC=" + (tree.launcher.empty() ? "" : tree.launcher + " ") +
                                       tree.cc};
  // make prepare builds objtool, fixdep, genksyms and modpost with the host compiler: the
  // launcher (ccache) serves those compiles too. kbuild's default host compiler is gcc.
  if (!tree.launcher.empty())
    argv.push_back("HOSTCC=" + tree.launcher + " gcc");
  argv.insert(argv.end(), targets.begin(), targets.end());
  return argv;
}

std::string read_text_file(const std::string &path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// "CONFIG_X=y" and "# CONFIG_X is not set" -> "CONFIG_X".
static std::string option_name(const std::string &line) {
  std::string name = line.substr(line.rfind("# ", 0) == 0 ? 2 : 0);
  return name.substr(0, name.find_first_of("= "));
}

// Options kconfig derives from the build host's tools that do not change generated code:
// pahole's version (and the BTF options that depend on it) only decide whether BTF debug
// information is produced at link time. A host without pahole (or with another version) would
// otherwise make every distro config "change" under olddefconfig.
static bool is_host_tool_option(const std::string &line) {
  static constexpr std::string_view kOptions[] = {
      "CONFIG_PAHOLE_VERSION", "CONFIG_DEBUG_INFO_BTF", "CONFIG_DEBUG_INFO_BTF_MODULES",
      "CONFIG_PAHOLE_HAS_SPLIT_BTF", "CONFIG_PAHOLE_HAS_BTF_TAG",
      "CONFIG_PAHOLE_HAS_LANG_EXCLUDE", "CONFIG_MODULE_ALLOW_BTF_MISMATCH",
  };
  std::string name = option_name(line);
  for (std::string_view o : kOptions)
    if (name == o)
      return true;
  return false;
}

// Options Debian leaves out of the config it installs as /boot/config-* (they name its build
// host's signing key, trusted keys and build-id salt; the linux-headers .config keeps them).
// None changes the code of a translation unit: the salt goes into init/version.o's and each
// module's .mod.o ELF note, the keys into module signing. olddefconfig adds them back with
// their defaults, which is no sign of a config from another source version.
static bool is_distro_stripped_option(const std::string &name) {
  static constexpr std::string_view kOptions[] = {
      "CONFIG_BUILD_SALT", "CONFIG_MODULE_SIG_ALL", "CONFIG_MODULE_SIG_KEY",
      "CONFIG_SYSTEM_TRUSTED_KEYS", "CONFIG_SYSTEM_REVOCATION_KEYS",
  };
  for (std::string_view o : kOptions)
    if (name == o)
      return true;
  return false;
}

// The settings of a config, one a line; `absent_from`, when given, is the config this one was
// derived from: distro-stripped options it does not set are left out here too.
static std::string config_lines(const std::string &path, const std::string *absent_from = nullptr) {
  // Comments carry the generator's version; only settings matter.
  std::istringstream in(read_text_file(path));
  std::string line, out;
  while (std::getline(in, line)) {
    if ((line.rfind("CONFIG_", 0) != 0 && line.rfind("# CONFIG_", 0) != 0) ||
        is_host_tool_option(line))
      continue;
    std::string name = option_name(line);
    if (absent_from && is_distro_stripped_option(name) &&
        ("\n" + *absent_from).find("\n" + name + "=") == std::string::npos &&
        absent_from->find("# " + name + " is not set\n") == std::string::npos)
      continue;
    out += line + "\n";
  }
  return out;
}

void prepare_tree(const KbuildTree &tree, const std::string &config) {
  fs::create_directories(tree.objtree);
  std::string dot_config = tree.objtree + "/.config";
  fs::copy_file(config, dot_config, fs::copy_options::overwrite_existing);
  run_checked({make_argv(tree, {"olddefconfig"}), "", {}}, "make olddefconfig");
  std::string before = config_lines(config), after = config_lines(dot_config, &before);
  if (before != after) {
    std::istringstream a(before), b(after);
    std::string la, lb;
    while (std::getline(a, la) && std::getline(b, lb) && la == lb) {
    }
    throw Error(config + ": make olddefconfig changed the config (first difference: '" + la +
                "' became '" + lb + "'); use the config of this exact source version and "
                "compiler");
  }
  run_checked({make_argv(tree, {"modules_prepare"}), "", {}}, "make modules_prepare");
}

double compile_objects(const KbuildTree &tree, const std::vector<std::string> &objects,
                       bool record_descent) {
  if (objects.empty())
    return 0;
  std::vector<std::string> argv = make_argv(tree, {});
  if (record_descent)
    for (const std::string &a : descend_capture_args())
      argv.push_back(a);
  argv.insert(argv.end(), objects.begin(), objects.end());
  CommandResult r = run_checked({argv, "", {}}, "compiling " + objects.front() +
                                                    (objects.size() > 1 ? " and others" : ""));
  for (const std::string &o : objects)
    if (!fs::exists(tree.objtree + "/" + o))
      throw Error(o + ": kbuild did not produce it; is the file built with this config?");
  if (record_descent)
    record_descend_env(tree);
  return r.seconds;
}

std::string record_path(const std::string &objtree, const std::string &object) {
  fs::path p(object);
  fs::path rec = p.parent_path() / ("." + p.filename().string() + ".cmd");
  return objtree.empty() ? rec.string() : (fs::path(objtree) / rec).string();
}

ObjectRecord read_object_record(const KbuildTree &tree, const std::string &object) {
  std::string cmdfile = record_path(tree.objtree, object);
  std::string text = read_text_file(cmdfile);
  if (text.empty())
    throw Error(cmdfile + ": kbuild's record of " + object + " is missing");
  ObjectRecord rec;
  rec.object = object;
  std::string cmd_line = text.substr(0, text.find('\n'));
  // kbuild compiles module code with -DMODULE and names its module in KBUILD_MODNAME, already
  // in the kernel's spelling ('-' made '_'). KBUILD_MODFILE, the module's path, is given to
  // built-in code only (for modules.builtin), so a module's .ko is found through modules.order.
  bool is_module = cmd_line.find(" -DMODULE ") != std::string::npos;
  std::smatch m;
  static const std::regex modname_re("-DKBUILD_MODNAME='\"([^\"]+)\"'");
  static const std::regex modfile_re("-DKBUILD_MODFILE='\"([^\"]+)\"'");
  if (is_module) {
    if (!std::regex_search(cmd_line, m, modname_re))
      throw Error(cmdfile + ": module object without KBUILD_MODNAME; is this kbuild's record?");
    rec.target = m[1].str();
    if (std::regex_search(cmd_line, m, modfile_re))
      rec.modfile = m[1].str();
  } else {
    rec.target = "vmlinux";
  }
  // deps_<obj> := \ followed by one path per line.
  std::istringstream in(text);
  std::string line;
  bool in_deps = false;
  while (std::getline(in, line)) {
    if (line.rfind("#SYMVER ", 0) == 0) {
      std::istringstream f(line.substr(8));
      std::string name, crc;
      if (f >> name >> crc)
        rec.crcs[name] = (uint32_t)std::stoul(crc, nullptr, 0);
      continue;
    }
    if (line.rfind("deps_", 0) == 0) {
      in_deps = true;
      continue;
    }
    if (!in_deps)
      continue;
    if (line.empty() || line[0] != ' ') {
      in_deps = false;
      continue;
    }
    std::string dep = line;
    dep.erase(0, dep.find_first_not_of(" \t"));
    if (dep.size() >= 2 && dep.substr(dep.size() - 2) == " \\")
      dep.resize(dep.size() - 2);
    if (dep.rfind("$(wildcard", 0) == 0 || dep.empty())
      continue;
    rec.deps.push_back(dep);
  }
  return rec;
}

std::string module_name_of(std::string file_stem) {
  std::replace(file_stem.begin(), file_stem.end(), '-', '_');
  return file_stem;
}

std::string module_path_in(const std::string &objtree, const ObjectRecord &rec) {
  if (!rec.modfile.empty())
    return rec.modfile;
  // modules.order: one module a line, "drivers/misc/foo/foo-bar.ko" (".o" from 6.2 on).
  std::istringstream in(read_text_file(objtree + "/modules.order"));
  std::string line, found;
  std::string dir = fs::path(rec.object).parent_path().string();
  while (std::getline(in, line)) {
    fs::path p(line);
    if (p.extension() != ".ko" && p.extension() != ".o")
      continue;
    if (module_name_of(p.stem().string()) != rec.target)
      continue;
    std::string path = (p.parent_path() / p.stem()).string();
    // Two modules of one name in different directories: the one beside the object.
    if (found.empty() || p.parent_path().string() == dir)
      found = path;
  }
  return found;
}

std::string object_for_source(const std::string &path) {
  if (path.size() > 2 && path.compare(path.size() - 2, 2, ".c") == 0)
    return path.substr(0, path.size() - 2) + ".o";
  if (path.size() > 2 && path.compare(path.size() - 2, 2, ".S") == 0)
    return path.substr(0, path.size() - 2) + ".o";
  return "";
}

} // namespace klp
