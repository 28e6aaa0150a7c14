#include "kbuild.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "descend.h"
#include "error.h"
#include "kconfig.h"
#include "process.h"

namespace fs = std::filesystem;

namespace klp {

namespace {

// One section per function and object, so that the differ can take one function without the
// rest; and kbuild.h's kNoDwarfColumns.
const std::string kDiffFlags =
    std::string("-ffunction-sections -fdata-sections ") + kNoDwarfColumns;

} // namespace

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
  // A clang kernel: LLVM= picks clang, lld and LLVM's binutils of the version it was built with.
  argv.insert(argv.end(), tree.cc_make_args.begin(), tree.cc_make_args.end());
  // kbuild's prepare builds resolve_btfids (and libbpf with it) when CONFIG_DEBUG_INFO_BTF is
  // set, as Debian's configs have it: it patches the BTF ID sets of vmlinux and of modules at
  // link time, and a prepared tree links neither (the livepatch module is linked against the
  // target's headers). A pattern rule more specific than the top Makefile's "tools/%" makes
  // it a no-op; a pattern rule, unlike an explicit one, never becomes a sub-make's default goal.
  argv.push_back("--eval=tools/bpf/resolve_btfid%: ; @:");
  // make prepare builds objtool, fixdep, genksyms and modpost with the host compiler: a caching
  // launcher (ccache) serves those compiles too. kbuild's host compiler is gcc, or with LLVM=
  // that clang.
  if (launcher_serves_host_tools(tree.launcher))
    argv.push_back("HOSTCC=" + tree.launcher + " " + tree.hostcc);
  argv.insert(argv.end(), targets.begin(), targets.end());
  return argv;
}

std::string launcher_program(const std::string &launcher) {
  return fs::path(launcher.substr(0, launcher.find(' '))).filename().string();
}

bool launcher_serves_host_tools(const std::string &launcher) {
  std::string tool = launcher_program(launcher);
  return !tool.empty() && tool != "distcc" && tool != "icecc";
}

std::string read_text_file(const std::string &path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

namespace {

// make for `objects` in `tree`; with `record_descent`, it also records how kbuild descends to
// them (descend.h).
Command compile_command(const KbuildTree &tree, const std::vector<std::string> &objects,
                        bool record_descent) {
  std::vector<std::string> argv = make_argv(tree, {});
  if (record_descent)
    for (const std::string &a : descend_capture_args())
      argv.push_back(a);
  argv.insert(argv.end(), objects.begin(), objects.end());
  return {argv, "", {}};
}

} // namespace

std::string compiling(const std::vector<std::string> &objects) {
  return "compiling " + objects.front() + (objects.size() > 1 ? " and others" : "");
}

std::string first_missing(const KbuildTree &tree, const std::vector<std::string> &objects) {
  for (const std::string &o : objects)
    if (!fs::exists(tree.objtree + "/" + o))
      return o;
  return "";
}

void check_produced(const KbuildTree &tree, const std::vector<std::string> &objects) {
  if (std::string o = first_missing(tree, objects); !o.empty())
    throw Error(o + ": kbuild did not produce it; is the file built with this config?");
}

PreparedTree prepare_tree(const KbuildTree &tree, const std::string &config,
                          const std::vector<std::string> &units) {
  PreparedTree prepared;
  fs::create_directories(tree.objtree);
  std::string dot_config = tree.objtree + "/.config";
  fs::copy_file(config, dot_config, fs::copy_options::overwrite_existing);
  // One make: its syncconfig completes the config as olddefconfig would (make's stdin is
  // /dev/null, so a setting the config lacks takes its default), prepare follows, then the
  // units. A separate olddefconfig would parse the Kconfig files, and run the compiler probes
  // they hold, twice; a separate make for the units would evaluate the top Makefile again.
  Command cmd = units.empty() ? Command{make_argv(tree, {"modules_prepare"}), "", {}}
                              : compile_command(tree, units, /*record_descent=*/true);
  CommandResult r = run_command(cmd);
  prepared.seconds = r.seconds;
  // A config kconfig had to change is the first thing to say, whatever else failed.
  ConfigChanges c = compare_olddefconfig(read_text_file(config), read_text_file(dot_config));
  if (c.changed())
    throw Error(config + ": kconfig changed the config (first difference: '" + c.first_before +
                "' became '" + c.first_after +
                "'); use the config of this exact source version and compiler");
  prepared.tolerated = c.tolerated;
  if (r.exit_code == 0 && !units.empty()) {
    record_descend_env(tree);
    prepared.units_built = first_missing(tree, units).empty();
  } else if (r.exit_code != 0) {
    // The units' compile may be what failed, not prepare: prepare alone tells. If it
    // succeeds, the units are compiled again as any others, and fail there with their error.
    run_checked({make_argv(tree, {"modules_prepare"}), "", {}}, "make modules_prepare");
  }
  return prepared;
}

double compile_objects(const KbuildTree &tree, const std::vector<std::string> &objects,
                       bool record_descent) {
  if (objects.empty())
    return 0;
  CommandResult r = run_checked(compile_command(tree, objects, record_descent), compiling(objects));
  check_produced(tree, objects);
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
    if (line.starts_with("#SYMVER ")) {
      std::istringstream f(line.substr(8));
      std::string name, crc;
      if (f >> name >> crc)
        rec.crcs[name] = (uint32_t)std::stoul(crc, nullptr, 0);
      continue;
    }
    if (line.starts_with("deps_")) {
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
    if (dep.starts_with("$(wildcard") || dep.empty())
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
