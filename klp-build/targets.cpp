#include "targets.h"

#define TOML_EXCEPTIONS 1
#include <toml++/toml.h>

#include <algorithm>
#include <filesystem>

#include "error.h"
#include "input_file.h"

namespace klp {

const std::vector<std::string> kTargetKeys = {
    "sourcedir", "config",       "vmlinux", "kallsyms", "symvers",
    "headers",   "kernel-image", "modules", "sign-key", "sign-cert",
};

namespace {

std::string where(const std::string &source, const toml::source_region &r) {
  return source + ":" + std::to_string(r.begin.line) + ":" + std::to_string(r.begin.column);
}

// A target's name becomes a directory name and a word in the summary.
bool valid_target_name(std::string_view name) {
  return !name.empty() && name != "." && name != ".." &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
         });
}

// sign-key may name a PKCS#11 token instead of a file (sign-file takes both).
bool is_path_value(const std::string &key, const std::string &value) {
  return !(key == "sign-key" && value.rfind("pkcs11:", 0) == 0);
}

} // namespace

std::vector<Target> parse_targets(const std::string &text, const std::string &source,
                                  const std::string &base_dir) {
  toml::table doc;
  try {
    doc = toml::parse(text, source);
  } catch (const toml::parse_error &e) {
    throw Error(where(source, e.source()) + ": " + std::string(e.description()));
  }
  for (auto &&[key, node] : doc)
    if (key.str() != "target")
      throw Error(where(source, node.source()) + ": unknown table or key '" +
                  std::string(key.str()) + "': each target is a [target.NAME] table");
  const toml::table *targets = doc["target"].as_table();
  if (!targets || targets->empty())
    throw Error(source + ": no targets: add a [target.NAME] table for each kernel (see "
                         "klp-build(1), BATCH BUILDS)");
  std::vector<Target> out;
  for (auto &&[name, node] : *targets) {
    std::string n(name.str());
    const toml::table *t = node.as_table();
    if (!t)
      throw Error(where(source, node.source()) + ": target." + n + " is not a table");
    if (!valid_target_name(n))
      throw Error(where(source, node.source()) + ": target name '" + n +
                  "' must be letters, digits, '.', '_' or '-' (it names a directory)");
    for (auto &&[key, value] : *t) {
      std::string k(key.str());
      // TOML splits a bare key at its dots: [target.debian-6.1] is table "1" in "debian-6".
      if (value.is_table())
        throw Error(where(source, key.source()) + ": target." + n + "." + k +
                    ": a dot in a bare name nests tables; quote the name: [target.\"" + n + "." +
                    k + "\"]");
      if (std::find(kTargetKeys.begin(), kTargetKeys.end(), k) == kTargetKeys.end())
        throw Error(where(source, key.source()) + ": target." + n + ": unknown key '" + k +
                    "' (klp-build(1), BATCH BUILDS, lists the keys)");
      if (!value.is_string())
        throw Error(where(source, value.source()) + ": target." + n + "." + k +
                    ": the value must be a string (a path)");
    }
    if (!t->contains("sourcedir"))
      throw Error(where(source, node.source()) + ": target." + n +
                  " has no sourcedir: name the kernel source tree it is built from");
    Target target{n, {}};
    for (const std::string &k : kTargetKeys) {
      std::optional<std::string> v = (*t)[k].value<std::string>();
      if (!v)
        continue;
      std::filesystem::path p(*v);
      if (is_path_value(k, *v) && p.is_relative())
        p = std::filesystem::path(base_dir) / p;
      target.options.emplace_back("--" + k, p.lexically_normal().string());
    }
    out.push_back(std::move(target));
  }
  return out;
}

std::vector<Target> read_targets(const std::string &path) {
  std::string dir = std::filesystem::absolute(path).parent_path().string();
  return parse_targets(read_input_file(path), path, dir);
}

} // namespace klp
