#include "header_deps.h"

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <unordered_map>

#include "error.h"
#include "process.h"

namespace fs = std::filesystem;

namespace klp {

namespace {

// A dry run lists only what is out of date: in a reused tree (the tree cache) the units an
// earlier run compiled are up to date and missing from it. kbuild's records of those name their
// sources (`source_<obj> := <src>`); host programs' records lack -D__KERNEL__ and stay out.
void add_objects_built_before(const KbuildTree &tree, std::map<std::string, std::string> &built) {
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(tree.objtree, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.size() < 8 || name[0] != '.' || name.compare(name.size() - 6, 6, ".o.cmd") != 0)
      continue;
    std::string rel = fs::relative(it->path().parent_path(), tree.objtree).string();
    std::string obj = (rel == "." ? "" : rel + "/") + name.substr(1, name.size() - 5);
    if (built.count(obj) || obj.starts_with("scripts/") || obj.starts_with("tools/"))
      continue;
    std::ifstream in(it->path());
    std::string line, cmd, src;
    while (std::getline(in, line)) {
      if (line.starts_with("cmd_"))
        cmd = line;
      else if (line.starts_with("source_" + obj + " := "))
        src = line.substr(obj.size() + 11);
    }
    if (cmd.find(" -D__KERNEL__ ") == std::string::npos || src.size() < 3 ||
        (src.compare(src.size() - 2, 2, ".c") != 0 && src.compare(src.size() - 2, 2, ".S") != 0))
      continue;
    if (src.rfind(tree.srctree + "/", 0) == 0)
      src = src.substr(tree.srctree.size() + 1);
    else if (src[0] == '/')
      continue; // generated in the build directory, not a source a patch can touch
    built[obj] = src;
  }
}

} // namespace

std::map<std::string, std::string> built_objects(const KbuildTree &tree) {
  std::vector<std::string> argv = make_argv(tree, {"-n", "vmlinux", "modules"});
  // A dry run exits non-zero at the final link steps it cannot simulate; the compile lines
  // before them are what matters.
  CommandResult r = run_command({argv, "", {}});
  std::map<std::string, std::string> built;
  static const std::regex compile(" -c -o (\\S+\\.o) (\\S+\\.[cS])(\\s|$)");
  std::istringstream in(r.output);
  std::string line;
  std::smatch m;
  while (std::getline(in, line)) {
    if (!std::regex_search(line, m, compile))
      continue;
    std::string obj = m[1], src = m[2];
    if (obj.starts_with("scripts/") || obj.starts_with("tools/"))
      continue;
    if (src.rfind(tree.srctree + "/", 0) == 0)
      src = src.substr(tree.srctree.size() + 1);
    built[obj] = src;
  }
  if (built.empty())
    throw Error("kbuild's dry run listed no objects:\n" + tail_lines(r.output, 15));
  add_objects_built_before(tree, built);
  return built;
}

namespace {

class IncludeScanner {
public:
  IncludeScanner(const KbuildTree &tree, const std::set<std::string> &targets) : targets_(targets) {
    for (std::string d : {"include", "arch/x86/include", "include/uapi", "arch/x86/include/uapi"})
      dirs_.push_back(tree.srctree + "/" + d);
    for (std::string d : {"include", "arch/x86/include/generated", "include/generated/uapi",
                          "arch/x86/include/generated/uapi"})
      dirs_.push_back(tree.objtree + "/" + d);
  }

  // Whether `path` (absolute) reaches a target header.
  bool reaches(const std::string &path) {
    auto it = memo_.find(path);
    if (it != memo_.end())
      return it->second;
    memo_[path] = false; // include cycles end here
    bool found = false;
    std::ifstream in(path);
    std::string line;
    static const std::regex inc("^\\s*#\\s*include\\s*([<\"])([^>\"]+)[>\"]");
    std::smatch m;
    while (!found && std::getline(in, line)) {
      if (line.find("include") == std::string::npos || !std::regex_search(line, m, inc))
        continue;
      std::string resolved = resolve(path, m[1] == "\"", m[2]);
      if (resolved.empty())
        continue;
      if (targets_.count(resolved))
        found = true;
      else
        found = reaches(resolved);
    }
    memo_[path] = found;
    return found;
  }

private:
  std::string resolve(const std::string &from, bool quoted, const std::string &name) {
    if (quoted) {
      fs::path local = fs::path(from).parent_path() / name;
      if (fs::exists(local))
        return local.lexically_normal().string();
    }
    for (const std::string &d : dirs_) {
      fs::path p = fs::path(d) / name;
      if (fs::exists(p))
        return p.lexically_normal().string();
    }
    return "";
  }

  const std::set<std::string> &targets_;
  std::vector<std::string> dirs_;
  std::unordered_map<std::string, bool> memo_;
};

} // namespace

std::vector<std::string> objects_including(const KbuildTree &tree,
                                           const std::map<std::string, std::string> &built,
                                           const std::vector<std::string> &headers) {
  std::set<std::string> targets;
  for (const std::string &h : headers)
    targets.insert((fs::path(tree.srctree) / h).lexically_normal().string());
  IncludeScanner scanner(tree, targets);
  std::vector<std::string> objs;
  for (auto &[obj, src] : built) {
    if (interrupted())
      throw Error("interrupted while scanning includes");
    std::string abs = (fs::path(tree.srctree) / src).lexically_normal().string();
    if (scanner.reaches(abs))
      objs.push_back(obj);
  }
  return objs;
}

} // namespace klp
