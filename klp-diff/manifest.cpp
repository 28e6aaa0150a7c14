// The manifest of a klp-build explain directory (layout and schema: docs/klp-diff.md): its one
// writer (klp-build) and its one reader (klp-diff).
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "explain.h"
#include "input_file.h"
#include "names.h"

namespace fs = std::filesystem;

namespace klp {

namespace {

constexpr std::string_view kManifest = "manifest";
constexpr std::string_view kMagic = "klp-diff-explain";
constexpr int kManifestVersion = 2; // 1 was a plain-text format

using Json = nlohmann::ordered_json;
constexpr std::string_view kExplainSuffix = ".explain";

std::string join(const std::string &dir, const std::string &rel) {
  if (!rel.empty() && rel[0] == '/')
    return rel;
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
    if (has_manifest(p))
      return path;
    std::vector<std::string> found;
    for (const fs::directory_entry &e : fs::directory_iterator(p, ec))
      if (e.is_directory() &&
          std::string_view(e.path().filename().string()).ends_with(kExplainSuffix) &&
          has_manifest(e.path()))
        found.push_back(e.path().filename().string());
    if (found.size() == 1)
      return join(path, found[0]);
    if (found.empty())
      throw Error(path + ": not a klp-build explain directory (no manifest) and holds no "
                         "*.explain/ directory; run klp-build with --explain");
    throw Error(path + ": holds " + std::to_string(found.size()) +
                " *.explain/ directories; name one");
  }
  if (path.ends_with(".ko")) {
    std::string dir = path.substr(0, path.size() - 3) + std::string(kExplainSuffix);
    if (has_manifest(dir))
      return dir;
    throw Error(path + ": no explain directory next to it (expected " + dir +
                "/manifest); run klp-build with --explain");
  }
  throw Error(path + ": not an explain directory or a livepatch .ko");
}

// An object path must stay inside orig/ and patched/.
bool safe_relative(const std::string &p) {
  if (p.empty() || p[0] == '/')
    return false;
  for (const fs::path &part : fs::path(p))
    if (part == "..")
      return false;
  return true;
}

} // namespace

std::string Manifest::symtab_for(const std::string &target) const {
  for (const auto &[t, path] : symtabs)
    if (t == target)
      return path;
  return "";
}

Manifest read_manifest(const std::string &path) {
  Manifest m;
  m.dir = find_dir(path);
  std::string file = join(m.dir, std::string(kManifest));
  std::string text = read_input_file(file);
  auto fail = [&](const std::string &what) { throw Error(file + ": " + what); };
  if (text.starts_with(kMagic))
    fail("manifest version 1 (plain text) is not supported (this klp-diff reads " +
         std::to_string(kManifestVersion) + "); rerun klp-build with --explain");
  Json j;
  try {
    j = Json::parse(text);
  } catch (const Json::parse_error &e) {
    fail(std::string("not JSON: ") + e.what());
  }
  if (!j.is_object())
    fail("not a JSON object");
  // Every value is checked for its type before use; the messages name the key.
  auto string_at = [&](const Json &obj, const char *key, const std::string &where,
                       bool optional) -> std::string {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) {
      if (!optional)
        fail(where + key + ": missing");
      return "";
    }
    if (!it->is_string() || it->get_ref<const std::string &>().empty())
      fail(where + key + ": expected a non-empty string");
    return it->get<std::string>();
  };
  for (auto &[key, value] : j.items())
    if (key != "format" && key != "version" && key != "patch" && key != "symvers" &&
        key != "symtabs" && key != "objects")
      fail("unknown key '" + key + "'");
  if (string_at(j, "format", "", false) != kMagic)
    fail("format: expected '" + std::string(kMagic) + "'");
  auto version = j.find("version");
  if (version == j.end() || !version->is_number_unsigned())
    fail("version: expected a number");
  if (*version != kManifestVersion)
    fail("manifest version " + version->dump() + " is not supported (this klp-diff reads " +
         std::to_string(kManifestVersion) + ")");
  m.patch_name = string_at(j, "patch", "", true);
  if (std::string symvers = string_at(j, "symvers", "", true); !symvers.empty())
    m.symvers = join(m.dir, symvers);
  auto list = [&](const char *key) -> const Json & {
    static const Json empty = Json::array();
    auto it = j.find(key);
    if (it == j.end())
      return empty;
    if (!it->is_array())
      fail(std::string(key) + ": expected an array");
    return *it;
  };
  const Json &symtabs = list("symtabs");
  for (size_t i = 0; i < symtabs.size(); i++) {
    std::string where = "symtabs[" + std::to_string(i) + "].";
    if (!symtabs[i].is_object())
      fail(where + ": expected an object");
    std::string target = string_at(symtabs[i], "target", where, false);
    if (!m.symtab_for(target).empty())
      fail(where + "target: second symtab for " + target);
    m.symtabs.push_back({target, join(m.dir, string_at(symtabs[i], "path", where, false))});
  }
  const Json &objects = list("objects");
  for (size_t i = 0; i < objects.size(); i++) {
    std::string where = "objects[" + std::to_string(i) + "].";
    if (!objects[i].is_object())
      fail(where + ": expected an object");
    std::string object = string_at(objects[i], "object", where, false);
    if (!safe_relative(object))
      fail(where + "object: path '" + object +
           "' must be relative and stay inside orig/ and patched/");
    ManifestObject o{object, string_at(objects[i], "target", where, false),
                     m.dir + "/orig/" + object, m.dir + "/patched/" + object};
    for (const std::string &f : {o.orig, o.patched})
      if (std::error_code ec; !fs::is_regular_file(f, ec))
        fail(where + "object: " + f + " is missing");
    m.objects.push_back(std::move(o));
  }
  if (m.objects.empty())
    fail("objects: lists no object");
  return m;
}

void write_manifest(const std::string &dir, const Manifest &m) {
  Json j;
  j["format"] = kMagic;
  j["version"] = kManifestVersion;
  j["patch"] = m.patch_name.empty() ? Json(nullptr) : Json(m.patch_name);
  j["symvers"] = m.symvers.empty() ? Json(nullptr) : Json(m.symvers);
  j["symtabs"] = Json::array();
  for (const auto &[target, path] : m.symtabs)
    j["symtabs"].push_back({{"target", target}, {"path", path}});
  j["objects"] = Json::array();
  for (const ManifestObject &o : m.objects)
    j["objects"].push_back({{"object", o.object}, {"target", o.target}});
  std::ofstream out(join(dir, std::string(kManifest)));
  out << j.dump(2) << "\n";
  if (!out.flush())
    throw Error(join(dir, std::string(kManifest)) + ": cannot write");
}

} // namespace klp
