// The manifest of a klp-build explain directory (layout and grammar: docs/klp-diff.md).
#include <filesystem>
#include <fstream>
#include <sstream>

#include "explain.h"
#include "input_file.h"
#include "names.h"

namespace fs = std::filesystem;

namespace klp {

namespace {

constexpr std::string_view kManifest = "manifest";
constexpr std::string_view kMagic = "klp-diff-explain";
constexpr int kManifestVersion = 1;
constexpr std::string_view kExplainSuffix = ".explain";

std::string join(const std::string &dir, const std::string &rel) {
  if (!rel.empty() && rel[0] == '/') return rel;
  return dir + "/" + rel;
}

bool has_manifest(const fs::path &dir) {
  std::error_code ec;
  return fs::is_regular_file(dir / kManifest, ec);
}

// The explain directory `path` names (see read_manifest in explain.h).
std::string find_dir(const std::string &path) {
  std::error_code ec;
  fs::path p(path);
  if (fs::is_directory(p, ec)) {
    if (has_manifest(p)) return path;
    std::vector<std::string> found;
    for (const fs::directory_entry &e : fs::directory_iterator(p, ec))
      if (e.is_directory() && ends_with(e.path().filename().string(), kExplainSuffix) &&
          has_manifest(e.path()))
        found.push_back(e.path().filename().string());
    if (found.size() == 1) return join(path, found[0]);
    if (found.empty())
      throw Error(path + ": not a klp-build explain directory (no manifest) and holds no "
                         "*.explain/ directory; run klp-build with --explain");
    throw Error(path + ": holds " + std::to_string(found.size()) +
                " *.explain/ directories; name one");
  }
  if (ends_with(path, ".ko")) {
    std::string dir = path.substr(0, path.size() - 3) + std::string(kExplainSuffix);
    if (has_manifest(dir)) return dir;
    throw Error(path + ": no explain directory next to it (expected " + dir +
                "/manifest); run klp-build with --explain");
  }
  throw Error(path + ": not an explain directory or a livepatch .ko");
}

std::vector<std::string> words(const std::string &line) {
  std::istringstream in(line);
  std::vector<std::string> w;
  for (std::string s; in >> s;) w.push_back(s);
  return w;
}

// An object path must stay inside orig/ and patched/.
bool safe_relative(const std::string &p) {
  if (p.empty() || p[0] == '/') return false;
  for (const fs::path &part : fs::path(p))
    if (part == "..") return false;
  return true;
}

} // namespace

std::string Manifest::symtab_for(const std::string &target) const {
  for (const auto &[t, path] : symtabs)
    if (t == target) return path;
  return "";
}

Manifest read_manifest(const std::string &path) {
  Manifest m;
  m.dir = find_dir(path);
  std::string file = join(m.dir, std::string(kManifest));
  check_regular_file(file);
  std::ifstream in(file);
  if (!in) throw Error(file + ": cannot read");
  std::string line;
  unsigned lineno = 0;
  auto fail = [&](const std::string &what) {
    throw Error(file + ":" + std::to_string(lineno) + ": " + what);
  };
  bool header = false;
  while (std::getline(in, line)) {
    lineno++;
    if (size_t hash = line.find('#'); hash != std::string::npos) line.erase(hash);
    std::vector<std::string> w = words(line);
    if (w.empty()) continue;
    if (!header) {
      if (w.size() != 2 || w[0] != kMagic) fail("expected 'klp-diff-explain 1' first");
      if (w[1] != std::to_string(kManifestVersion))
        fail("manifest version " + w[1] + " is not supported (this klp-diff reads " +
             std::to_string(kManifestVersion) + ")");
      header = true;
      continue;
    }
    const std::string &key = w[0];
    if (key == "patch" && w.size() == 2) {
      if (!m.patch_name.empty()) fail("second 'patch' line");
      m.patch_name = w[1];
    } else if (key == "symvers" && w.size() == 2) {
      if (!m.symvers.empty()) fail("second 'symvers' line");
      m.symvers = join(m.dir, w[1]);
    } else if (key == "symtab" && w.size() == 3) {
      if (!m.symtab_for(w[1]).empty()) fail("second 'symtab' line for " + w[1]);
      m.symtabs.push_back({w[1], join(m.dir, w[2])});
    } else if (key == "object" && w.size() == 3) {
      if (!safe_relative(w[1]))
        fail("object path '" + w[1] + "' must be relative and stay inside orig/ and patched/");
      ManifestObject o{w[1], w[2], m.dir + "/orig/" + w[1], m.dir + "/patched/" + w[1]};
      for (const std::string &f : {o.orig, o.patched})
        if (std::error_code ec; !fs::is_regular_file(f, ec)) fail(f + " is missing");
      m.objects.push_back(std::move(o));
    } else if (key == "patch" || key == "symvers" || key == "symtab" || key == "object") {
      fail("wrong number of fields for '" + key + "'");
    } else {
      fail("unknown keyword '" + key + "'");
    }
  }
  if (!header) fail("empty manifest");
  if (m.objects.empty()) fail("lists no object");
  return m;
}

} // namespace klp
