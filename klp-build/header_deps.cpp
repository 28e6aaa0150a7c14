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
    if (obj.rfind("scripts/", 0) == 0 || obj.rfind("tools/", 0) == 0)
      continue;
    if (src.rfind(tree.srctree + "/", 0) == 0)
      src = src.substr(tree.srctree.size() + 1);
    built[obj] = src;
  }
  if (built.empty())
    throw Error("kbuild's dry run listed no objects:\n" + tail_lines(r.output, 15));
  return built;
}

namespace {

class IncludeScanner {
public:
  IncludeScanner(const KbuildTree &tree, const std::set<std::string> &targets)
      : targets_(targets) {
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
