#include "patch_set.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "error.h"
#include "input_file.h"
#include "process.h"

namespace klp {

namespace {

// "a/fs/proc/cmdline.c\t2024-01-01 ..." -> "fs/proc/cmdline.c"
std::string strip_path(std::string p) {
  size_t tab = p.find('\t');
  if (tab != std::string::npos)
    p = p.substr(0, tab);
  while (!p.empty() && (p.back() == ' ' || p.back() == '\r'))
    p.pop_back();
  if (p == "/dev/null")
    return p;
  size_t slash = p.find('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

// Whether `p` (after strip_path) names a file outside the tree: absolute, or with a ".."
// component. "a..b" is a file name like any other.
bool leaves_tree(const std::string &p) {
  if (p.empty() || p[0] == '/')
    return true;
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = p.find('/', start);
    if (end == std::string::npos)
      end = p.size();
    if (p.compare(start, end - start, "..") == 0)
      return true;
    start = end + 1;
  }
  return false;
}

} // namespace

PatchFile read_patch(const std::string &path) {
  check_regular_file(path);
  std::ifstream in(path);
  if (!in)
    throw Error(path + ": cannot read the patch");
  PatchFile pf;
  pf.path = std::filesystem::absolute(path).string();
  std::string line, old_path;
  size_t lineno = 0;
  FilePatch *cur = nullptr;
  auto where = [&] { return path + ":" + std::to_string(lineno) + ": "; };
  std::string git_file; // the b/ path of the last "diff --git" line
  while (std::getline(in, line)) {
    lineno++;
    if (line.starts_with("diff --git ")) {
      size_t b = line.rfind(" b/");
      git_file = b == std::string::npos ? "" : line.substr(b + 3);
      continue;
    }
    // `patch` cannot apply a binary change and would skip it or fail far from here; a binary
    // file is no source of a livepatch anyway.
    bool git_binary = line == "GIT binary patch";
    if (git_binary || (line.starts_with("Binary files ") && line.ends_with(" differ"))) {
      std::string file = git_file;
      size_t and_b = line.rfind(" and ");
      if (!git_binary && and_b != std::string::npos)
        file = strip_path(line.substr(and_b + 5, line.size() - 7 - and_b - 5));
      throw Error(where() + "binary change" + (file.empty() ? "" : " to '" + file + "'") +
                  "; a livepatch comes from source changes only: drop it from the patch");
    }
    if (line.starts_with("--- ")) {
      old_path = strip_path(line.substr(4));
      continue;
    }
    if (line.starts_with("+++ ")) {
      if (old_path.empty())
        throw Error(path + ":" + std::to_string(lineno) + ": '+++' without a preceding '---'");
      std::string new_path = strip_path(line.substr(4));
      FilePatch fp;
      fp.created = old_path == "/dev/null";
      fp.deleted = new_path == "/dev/null";
      fp.path = fp.deleted ? old_path : new_path;
      if (leaves_tree(fp.path))
        throw Error(where() + "file path '" + fp.path +
                    "' is outside the kernel tree; name files from the tree's top "
                    "(--- a/fs/x.c, +++ b/fs/x.c)");
      pf.files.push_back(fp);
      cur = &pf.files.back();
      old_path.clear();
      continue;
    }
    if (cur && line.starts_with("@@"))
      cur->hunks.push_back(line + "\n");
    else if (cur && !cur->hunks.empty() &&
             (line.empty() || line[0] == ' ' || line[0] == '+' || line[0] == '-' ||
              line[0] == '\\'))
      cur->hunks.back() += line + "\n";
  }
  if (pf.files.empty())
    throw Error(path + ": no file changes found; is it a unified diff (diff -u, git diff)?");
  return pf;
}

std::vector<std::string> touched_files(const std::vector<PatchFile> &patches) {
  std::set<std::string> s;
  for (const PatchFile &p : patches)
    for (const FilePatch &f : p.files)
      s.insert(f.path);
  return {s.begin(), s.end()};
}

void apply_patch(const PatchFile &patch, const std::string &tree) {
  Command cmd{{"patch", "-p1", "--batch", "--forward", "--no-backup-if-mismatch", "-r", "-", "-i",
               patch.path},
              tree,
              {}};
  CommandResult r = run_command(cmd);
  if (r.exit_code == 0)
    return;
  // "Hunk #2 FAILED at 40." after "patching file fs/proc/cmdline.c"
  std::string file, detail;
  int hunk = 0;
  std::istringstream out(r.output);
  std::string l;
  std::smatch m;
  static const std::regex file_re("^patching file '?([^']+)'?$");
  static const std::regex hunk_re("^Hunk #([0-9]+) FAILED at ([0-9]+)");
  while (std::getline(out, l)) {
    if (std::regex_search(l, m, file_re))
      file = m[1];
    else if (!hunk && std::regex_search(l, m, hunk_re)) {
      hunk = std::stoi(m[1]);
      detail = l;
      break;
    }
  }
  std::string msg = patch.path + ": does not apply";
  if (hunk) {
    msg += " to " + file + ": " + detail;
    for (const FilePatch &f : patch.files)
      if (f.path == file && hunk <= (int)f.hunks.size())
        msg += "\nrejected hunk:\n" + f.hunks[hunk - 1];
  } else {
    msg += ":\n" + tail_lines(r.output, 10);
  }
  throw Error(msg);
}

std::string module_name_for(const std::string &given_name, const std::vector<PatchFile> &patches) {
  std::string base = given_name;
  if (base.empty()) {
    std::string p = patches.empty() ? "patch" : patches.front().path;
    p = p.substr(p.find_last_of('/') + 1);
    base = p.substr(0, p.find('.'));
  }
  std::string name = base.starts_with("livepatch-") ? base : "livepatch-" + base;
  for (char &c : name)
    if (!isalnum((unsigned char)c) && c != '_' && c != '-')
      c = '_';
  if (name.size() > 55)
    name.resize(55);
  return name;
}

} // namespace klp
