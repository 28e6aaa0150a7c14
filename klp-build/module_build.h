// Generate, link and write: the livepatch module. Its runtime and descriptors do not depend on
// the diff, so they are generated first and compiled beside the pipeline, on the core that the
// make of one unit leaves idle (the runtime only for a target's first module: later ones copy
// it, module_relink.h); once the diff is done, link() adds the diff objects, and
// write_module() converts the livepatch relocations and signs the result.
#pragma once

#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "inputs.h"
#include "kbuild.h"
#include "klp_build.h"
#include "module_gen.h"
#include "module_relink.h"

namespace klp {

// Work that runs beside the pipeline on another thread, waited for before its result is used.
// A failure is dropped: the step that needs the result does the work again and reports it in
// its context (the early module build is only a head start). A pipeline that fails before it
// waits cancels the work (through the flag its commands watch), not to wait for it.
class Background {
public:
  Background() = default;
  Background(const Background &) = delete;
  Background &operator=(const Background &) = delete;
  ~Background() {
    cancel_ = true;
    wait();
  }
  // Runs fn(cancel flag).
  void start(std::function<void(const std::atomic<bool> *)> fn) {
    thread_ = std::thread([this, fn = std::move(fn)] {
      try {
        fn(&cancel_);
      } catch (const std::exception &) {
      }
    });
  }
  void wait() {
    if (thread_.joinable())
      thread_.join();
  }

private:
  std::atomic<bool> cancel_{false};
  std::thread thread_;
};

// The livepatch module, built beside the pipeline: its runtime starts compiling at once (by the
// commands of an earlier module for this target, else by make with the runtime alone), and
// link() adds the diff objects and links it by kbuild's recorded commands, or by make.
class ModuleBuild {
public:
  // `template_path`: where this target's link template is kept ("" for none); `replay`: use
  // kbuild's recorded commands at all.
  ModuleBuild(const ModuleSpec &spec, std::string dir, std::string template_path, bool replay);
  ModuleBuild(const ModuleBuild &) = delete;
  ModuleBuild &operator=(const ModuleBuild &) = delete;

  // Returns the linked .ko.
  std::string link(const std::vector<std::string> &diff_objects);

private:
  ModuleSpec spec_;
  std::string dir_, template_path_, store_;
  bool replay_;
  std::optional<LinkTemplate> template_;
  std::atomic<bool> runtime_compiled_{false};
  Background runtime_; // last: cancelled and joined before the members it uses go
};

// The module this build generates for `in`, compiled as `tree` compiles units.
ModuleSpec module_spec_for(const Inputs &in, const KbuildTree &tree);

// Where the link template (module_relink.h) for the target of `spec` is kept under the cache
// root: keyed by the target's build tree (its path and the files that decide how modules are
// built), the compiler, klp-build's data directory and version.
std::string link_template_path(const std::string &cache_root, const ModuleSpec &spec);

// Where the runtime objects that compile alike for every module (module_relink.h) are kept beside
// the link template at `template_path`: keyed by the compiler's version and the runtime's sources
// (as written into `dir`); the template's key holds the rest (link_template_path()). "" (keep
// nothing) when the runtime does not pin KBUILD_MODNAME (runtime/klp_runtime.c).
std::string runtime_store_path(const std::string &template_path, const ModuleSpec &spec,
                               const std::string &dir);

// Writes the linked module to `out` with its livepatch relocations converted (finish_module()),
// signed with --sign-key when given; no unsigned module is left where a signed one was asked.
void write_module(const std::string &linked, const std::string &out, const Inputs &in,
                  const Reporter &report);

} // namespace klp
