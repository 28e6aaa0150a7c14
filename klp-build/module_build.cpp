#include "module_build.h"

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>

#include "kconfig.h"
#include "module_sign.h"
#include "tree_cache.h"
#include "version.h"

namespace fs = std::filesystem;

namespace klp {

ModuleBuild::ModuleBuild(const ModuleSpec &spec, std::string dir, std::string template_path,
                         bool replay)
    : spec_(spec), dir_(std::move(dir)), template_path_(std::move(template_path)), replay_(replay) {
  write_module_dir(spec_, dir_);
  if (!template_path_.empty())
    store_ = runtime_store_path(template_path_, spec_, dir_);
  if (auto saved = load_link_template(template_path_))
    template_ = instantiate(*saved, spec_, dir_);
  // -j1: one command at a time, so the runtime waits for the link.
  if (spec_.jobs < 2)
    return;
  if (template_)
    runtime_.start([this](const std::atomic<bool> *cancel) {
      runtime_compiled_ = compile_runtime(*template_, spec_, dir_, store_, cancel);
    });
  else
    runtime_.start(
        [this](const std::atomic<bool> *cancel) { prelink_module(spec_, dir_, cancel); });
}

std::string ModuleBuild::link(const std::vector<std::string> &diff_objects) {
  runtime_.wait();
  if (template_ && spec_.jobs < 2)
    runtime_compiled_ = compile_runtime(*template_, spec_, dir_, store_, nullptr);
  spec_.diff_objects = diff_objects;
  write_module_dir(spec_, dir_);
  if (template_ && runtime_compiled_)
    return link_by_template(*template_, spec_, store_);
  if (replay_) {
    // make built the runtime here: its records are the template for the next module.
    ModuleSpec runtime_only = spec_;
    runtime_only.diff_objects.clear();
    if (std::optional<LinkTemplate> t = read_link_template(runtime_only, dir_)) {
      std::string ko = link_by_template(*t, spec_, store_);
      if (!template_path_.empty()) {
        save_link_template(*t, template_path_);
        store_runtime_objects(*t, dir_, store_);
      }
      return ko;
    }
  }
  std::string ko = link_module(spec_, dir_);
  // Its records, now with the diff objects in the list, serve the next module as well.
  if (replay_ && !template_path_.empty())
    if (std::optional<LinkTemplate> t = read_link_template(spec_, dir_)) {
      save_link_template(*t, template_path_);
      store_runtime_objects(*t, dir_, store_);
    }
  return ko;
}

std::string runtime_store_path(const std::string &template_path, const ModuleSpec &spec,
                               const std::string &dir) {
  std::string runtime = read_text_file(dir + "/klp_runtime.c");
  // A runtime of an older data directory (KLP_DATA_DIR) that takes KBUILD_MODNAME from kbuild
  // compiles differently for each module: nothing is kept.
  if (runtime.find("\n#undef KBUILD_MODNAME\n#define KBUILD_MODNAME \"klp_runtime\"\n") ==
      std::string::npos)
    return "";
  return template_path + ".objects/" +
         cache_key(spec.cc_version + "\n" + runtime + read_text_file(dir + "/klp_build.h"));
}

ModuleSpec module_spec_for(const Inputs &in, const KbuildTree &tree) {
  ModuleSpec spec;
  spec.name = in.module_name;
  spec.replace = in.opts.replace;
  spec.kbuild_dir = in.kbuild_dir;
  spec.jobs = tree.jobs;
  spec.cc_make_args = tree.cc_make_args;
  spec.cc_version = compiler_version_text(tree.cc);
  if (!tree.launcher.empty())
    spec.compiler = tree.launcher + " " + tree.cc;
  if (const char *sde = getenv("SOURCE_DATE_EPOCH"))
    spec.source_date_epoch = sde;
  return spec;
}

std::string link_template_path(const std::string &cache_root, const ModuleSpec &spec) {
  std::string inputs = fs::absolute(spec.kbuild_dir).lexically_normal().string() + "\n";
  for (const char *f : {"Makefile", ".config", "Module.symvers", "scripts/mod/modpost",
                        "include/config/auto.conf"}) {
    struct stat st {};
    stat((spec.kbuild_dir + "/" + f).c_str(), &st);
    inputs += std::string(f) + " " + std::to_string(st.st_size) + " " +
              std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + "\n";
  }
  inputs +=
      spec.compiler + "\n" + (spec.data_dir.empty() ? data_dir() : spec.data_dir) + "\n" + kVersion;
  return cache_root + "/links/" + cache_key(inputs);
}

void write_module(const std::string &linked, const std::string &out, const Inputs &in,
                  const Reporter &report) {
  fs::create_directories(fs::path(out).parent_path());
  finish_module(linked, out);
  if (in.opts.sign_key.empty())
    return;
  try {
    std::string hash = sign_module(out, in.kbuild_dir, in.opts.sign_key, in.opts.sign_cert);
    report.info("signed " + out + " (" + hash + ", " + in.opts.sign_cert + ")");
  } catch (...) {
    fs::remove(out); // no unsigned module where a signed one was asked for
    throw;
  }
}

} // namespace klp
