#include "descend.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "error.h"
#include "process.h"

extern char **environ;

namespace fs = std::filesystem;

namespace klp {

namespace {

// In the build directory: what the capture rule writes (env -0), and the recorded difference
// ("+NAME=value" and "-NAME" entries, NUL-separated).
constexpr const char *kRawEnv = ".klp-build-descend.raw";
constexpr const char *kDescendEnv = ".klp-build-descend";

// The top Makefile's recipe for single objects (5.19 to 6.x): its build-dir is "." and it
// passes the goals as "./<object>".
constexpr const char *kDescendRecipe =
    "$(Q)$(MAKE) $(build)=$@ need-builtin=1 need-modorder=1 $(single-goals)";

// The entries of `env -0` output and of the recorded difference.
std::vector<std::string> split_nul(const std::string &text) {
  std::vector<std::string> entries;
  for (size_t pos = 0; pos < text.size();) {
    size_t end = std::min(text.find('\0', pos), text.size());
    if (end > pos)
      entries.push_back(text.substr(pos, end - pos));
    pos = end + 1;
  }
  return entries;
}

std::map<std::string, std::string> parse_env(const std::string &nul_separated) {
  std::map<std::string, std::string> env;
  for (const std::string &entry : split_nul(nul_separated)) {
    size_t eq = entry.find('=');
    if (eq != std::string::npos && eq > 0)
      env[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  return env;
}

std::map<std::string, std::string> own_env() {
  std::string all;
  for (char **e = environ; *e; e++)
    all += std::string(*e) + '\0';
  return parse_env(all);
}

// MAKEFLAGS words are separated by unescaped spaces ("--eval=a:\ b" is one word).
std::vector<std::string> split_words(const std::string &s) {
  std::vector<std::string> words;
  std::string w;
  for (size_t i = 0; i < s.size(); i++) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      w += s.substr(i, 2);
      i++;
    } else if (s[i] == ' ') {
      if (!w.empty())
        words.push_back(w);
      w.clear();
    } else {
      w += s[i];
    }
  }
  if (!w.empty())
    words.push_back(w);
  return words;
}

} // namespace

std::vector<std::string> descend_capture_args() {
  // "." is the top Makefile's build-dir target, whose recipe is the descent; targets whose
  // names start with '.' never become a makefile's default goal.
  return {"--eval=.: .klp-build-record-descend",
          std::string("--eval=.klp-build-record-descend: prepare ; @env -0 > $(objtree)/") +
              kRawEnv};
}

std::string descend_makeflags(const std::string &makeflags) {
  size_t sep = makeflags.find(" -- ");
  std::string options = sep == std::string::npos ? makeflags : makeflags.substr(0, sep);
  std::string out;
  for (const std::string &w : split_words(options)) {
    if (w.starts_with("-j") || w.starts_with("--jobserver") || w.starts_with("--eval"))
      continue;
    out += (out.empty() ? "" : " ") + w;
  }
  if (sep != std::string::npos)
    out += makeflags.substr(sep);
  return out;
}

void record_descend_env(const KbuildTree &tree) {
  std::string raw_path = tree.objtree + "/" + kRawEnv;
  std::string raw = read_text_file(raw_path);
  if (raw.empty())
    return; // this make did not descend from "." (another kbuild): nothing recorded
  std::map<std::string, std::string> made = parse_env(raw), own = own_env();
  std::string out;
  for (auto &[name, value] : made) {
    if (name == "MFLAGS")
      continue; // make derives it from MAKEFLAGS
    std::string v = name == "MAKEFLAGS" ? descend_makeflags(value) : value;
    auto it = own.find(name);
    if (it == own.end() || it->second != v)
      out += "+" + name + "=" + v + '\0';
  }
  for (auto &[name, value] : own)
    if (!made.count(name) && name != "MFLAGS")
      out += "-" + name + '\0';
  std::string path = tree.objtree + "/" + kDescendEnv;
  {
    std::ofstream f(path + ".tmp", std::ios::binary);
    f << out;
    if (!f)
      throw Error(path + ".tmp: cannot write");
  }
  fs::rename(path + ".tmp", path);
  fs::remove(raw_path);
}

bool descend_objects(const KbuildTree &tree, const std::vector<std::string> &objects) {
  std::string recorded = tree.objtree + "/" + kDescendEnv;
  std::string delta = read_text_file(recorded);
  if (delta.empty() ||
      read_text_file(tree.srctree + "/Makefile").find(kDescendRecipe) == std::string::npos)
    return false;
  Command cmd{{"make", "-j" + std::to_string(tree.jobs), "-f",
               tree.srctree + "/scripts/Makefile.build", "obj=.", "need-builtin=1",
               "need-modorder=1"},
              tree.objtree,
              {}};
  for (const std::string &o : objects)
    cmd.argv.push_back("./" + o);
  for (const std::string &entry : split_nul(delta)) {
    size_t eq = entry.find('=');
    if (entry[0] == '+' && eq != std::string::npos)
      cmd.env[entry.substr(1, eq - 1)] = entry.substr(eq + 1);
    else if (entry[0] == '-')
      cmd.unset_env.push_back(entry.substr(1));
  }
  cmd.env_from = recorded;
  run_checked(cmd, compiling(objects));
  check_produced(tree, objects);
  return true;
}

} // namespace klp
