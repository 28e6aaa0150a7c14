#include "tree_prepare.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "error.h"
#include "header_deps.h"
#include "input_file.h"
#include "kconfig.h"
#include "module_gen.h"
#include "shadow_tree.h"
#include "version.h"

namespace fs = std::filesystem;

namespace klp {

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string seconds_text(double s) {
  char text[32];
  snprintf(text, sizeof(text), "%.1f s", s);
  return text;
}

// The cache key: the source tree's fingerprint, the config, the compiler and its flags.
std::string tree_cache_key(const BuildOptions &opts, const std::string &config_path,
                           const KbuildTree &tree) {
  char fp[32];
  snprintf(fp, sizeof(fp), "%016llx", (unsigned long long)fingerprint_tree(opts.sourcedir));
  std::string argv;
  for (const std::string &a : make_argv(tree, {}))
    if (!a.starts_with("-C") && !a.starts_with("O=") && !a.starts_with("-j") && a != tree.srctree)
      argv += a + "\n";
  return cache_key(std::string(fp) + "\n" + fs::absolute(opts.sourcedir).string() + "\n" +
                   read_input_file(config_path) + "\n" + compiler_version_text(tree.cc) + "\n" +
                   argv + kVersion);
}

} // namespace

KbuildTree kbuild_tree_for(const Inputs &in) {
  KbuildTree tree;
  tree.cc = in.toolchain.cc;
  tree.hostcc = in.toolchain.hostcc;
  tree.cc_make_args = in.toolchain.make_args;
  tree.launcher = in.opts.compiler_launcher;
  tree.include_dir = data_dir() + "/runtime/include";
  tree.jobs =
      in.opts.jobs > 0 ? in.opts.jobs : (int)std::max(1u, std::thread::hardware_concurrency());
  return tree;
}

std::string cache_root(const BuildOptions &opts) {
  return opts.cache_dir.empty() ? default_cache_root() : opts.cache_dir;
}

std::unique_ptr<TreeCache> prepare_tree_for(Inputs &in, KbuildTree &tree, const WorkDir &work,
                                            const Reporter &report) {
  std::unique_ptr<TreeCache> cache;
  auto start = std::chrono::steady_clock::now();
  if (in.opts.use_cache) {
    cache = std::make_unique<TreeCache>(cache_root(in.opts),
                                        tree_cache_key(in.opts, in.config_path, tree));
    tree.srctree = cache->src();
    tree.objtree = cache->build();
  } else {
    tree.srctree = work.sub("src");
    tree.objtree = work.sub("build");
  }
  std::string fingerprint = cache ? "fingerprint " + seconds_text(seconds_since(start)) : "";
  if (!cache || !cache->ready()) {
    if (cache)
      cache->reset();
    start = std::chrono::steady_clock::now();
    ShadowStats shadow = make_shadow_tree(in.opts.sourcedir, tree.srctree);
    double shadow_seconds = seconds_since(start);
    // The patched units are known unless a header is patched (which units include it, kbuild
    // tells once the tree is prepared): their originals are compiled by prepare's make.
    std::vector<std::string> units = in.headers.empty() ? in.objects : std::vector<std::string>{};
    PreparedTree prepared = prepare_tree(tree, in.config_path, units);
    for (const std::string &t : prepared.tolerated)
      report.info(in.config_path +
                  ": kconfig changed a value it only probes from a "
                  "tool this config does not use (tolerated): " +
                  t);
    if (cache)
      cache->set_ready();
    report.info("prepared the tree" + (cache ? " in " + cache->dir() : "") + ": " +
                (cache ? fingerprint + ", " : "") + "shadow tree " + seconds_text(shadow_seconds) +
                " (" + std::to_string(shadow.files) + (shadow.symlinked ? " symlinks" : " links") +
                "), make " + seconds_text(prepared.seconds) +
                (prepared.units_built ? " with the original units" : ""));
  } else {
    report.info("reusing the prepared tree in " + cache->dir() + " (" + fingerprint + ")");
  }
  // A header reaches every unit that includes it; ask kbuild which units this config builds.
  if (!in.headers.empty()) {
    auto built = built_objects(tree);
    for (const std::string &o : in.objects)
      if (!built.count(o))
        throw Error(o + ": not built with this config; the running kernel does not contain it");
    for (const std::string &o : objects_including(tree, built, in.headers))
      if (std::find(in.objects.begin(), in.objects.end(), o) == in.objects.end())
        in.objects.push_back(o);
    report.info(std::to_string(in.objects.size()) + " translation units include the patched "
                                                    "headers or are patched themselves");
  }
  if (in.objects.empty())
    throw NoChange("no translation unit of this config includes the patched headers");
  return cache;
}

} // namespace klp
