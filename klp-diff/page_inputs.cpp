// The reviewer's page's inputs (html.h): patch files with their digests and hunks, the kernel
// config's digest and release, and which hunks touch a function's source lines.
#include <cstdio>
#include <fstream>
#include <sstream>

#include "error.h"
#include "html.h"
#include "input_file.h"
#include "sha256.h"

namespace klp {

namespace {

// "b/fs/proc/cmdline.c\t2024-..." -> "fs/proc/cmdline.c"; "/dev/null" stays.
std::string strip_component(std::string p) {
  if (size_t tab = p.find('\t'); tab != std::string::npos)
    p.resize(tab);
  while (!p.empty() && (p.back() == ' ' || p.back() == '\r'))
    p.pop_back();
  if (p == "/dev/null")
    return p;
  size_t slash = p.find('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

// "-12,5" -> 12, 5; "-12" -> 12, 1.
void parse_range(const std::string &s, unsigned &first, unsigned &count) {
  unsigned long a = 0, b = 1;
  if (sscanf(s.c_str() + 1, "%lu,%lu", &a, &b) < 1)
    return;
  first = (unsigned)a;
  count = (unsigned)b;
}

// `a` ends with `b` at a '/' boundary, or the other way round.
bool same_file(const std::string &a, const std::string &b) {
  auto tail = [](const std::string &l, const std::string &s) {
    return l.size() >= s.size() && l.compare(l.size() - s.size(), s.size(), s) == 0 &&
           (l.size() == s.size() || l[l.size() - s.size() - 1] == '/');
  };
  if (a.empty() || b.empty())
    return false;
  std::string x = a.rfind("./", 0) == 0 ? a.substr(2) : a;
  std::string y = b.rfind("./", 0) == 0 ? b.substr(2) : b;
  return tail(x, y) || tail(y, x);
}

bool overlaps(const SourceRange &r, const std::string &file, unsigned first, unsigned count) {
  unsigned last = first + (count ? count - 1 : 0);
  return same_file(r.file, file) && r.first <= last && first <= r.last;
}

} // namespace

std::vector<PatchHunk> parse_patch_hunks(const std::string &text) {
  std::vector<PatchHunk> hunks;
  std::istringstream in(text);
  std::string line, old_path, file;
  while (std::getline(in, line)) {
    if (line.rfind("--- ", 0) == 0) {
      old_path = strip_component(line.substr(4));
      continue;
    }
    if (line.rfind("+++ ", 0) == 0) {
      std::string new_path = strip_component(line.substr(4));
      file = new_path == "/dev/null" ? old_path : new_path;
      continue;
    }
    if (line.rfind("@@ ", 0) == 0 && !file.empty()) {
      PatchHunk h;
      h.file = file;
      std::istringstream f(line.substr(3));
      std::string o, n;
      f >> o >> n;
      if (o.size() > 1 && o[0] == '-')
        parse_range(o, h.old_first, h.old_count);
      if (n.size() > 1 && n[0] == '+')
        parse_range(n, h.new_first, h.new_count);
      h.text = line + "\n";
      hunks.push_back(std::move(h));
      continue;
    }
    if (!hunks.empty() && !line.empty() &&
        (line[0] == ' ' || line[0] == '+' || line[0] == '-' || line[0] == '\\'))
      hunks.back().text += line + "\n";
    else if (!hunks.empty() && line.empty())
      hunks.back().text += "\n";
  }
  return hunks;
}

PageInput read_page_input(const std::string &path) {
  std::string text = read_input_file(path);
  return {path, sha256_hex(text), parse_patch_hunks(text)};
}

void describe_kernel(PageInfo &info, const std::string &config, const std::string &release_file) {
  std::string text = read_input_file(config);
  info.config = config;
  info.config_sha256 = sha256_hex(text);
  if (!release_file.empty()) {
    std::ifstream in(release_file);
    std::string line;
    if (in && std::getline(in, line) && !line.empty()) {
      info.kernel_release = line;
      return;
    }
  }
  // "# Linux/x86 6.1.119 Kernel Configuration" and CONFIG_LOCALVERSION="-foo".
  std::istringstream in(text);
  std::string line, version, local;
  while (std::getline(in, line)) {
    char v[64];
    if (version.empty() && sscanf(line.c_str(), "# Linux/%*s %63s Kernel Configuration", v) == 1)
      version = v;
    if (line.rfind("CONFIG_LOCALVERSION=\"", 0) == 0 && line.size() >= 22 && line.back() == '"')
      local = line.substr(21, line.size() - 22);
  }
  if (!version.empty())
    info.kernel_release = version + local;
}

std::vector<const PatchHunk *> hunks_touching(const std::vector<PageInput> &inputs,
                                              const std::vector<SourceRange> &orig,
                                              const std::vector<SourceRange> &patched) {
  std::vector<const PatchHunk *> v;
  for (const PageInput &in : inputs)
    for (const PatchHunk &h : in.hunks) {
      bool hit = false;
      for (const SourceRange &r : patched)
        hit |= overlaps(r, h.file, h.new_first, h.new_count);
      for (const SourceRange &r : orig)
        hit |= overlaps(r, h.file, h.old_first, h.old_count);
      if (hit)
        v.push_back(&h);
    }
  return v;
}

} // namespace klp
