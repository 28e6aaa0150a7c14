#include "klp_build.h"

#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "descend.h"
#include "diff.h"
#include "elf_file.h"
#include "header_deps.h"
#include "image_match.h"
#include "input_file.h"
#include "verify.h"
#include "error.h"
#include "explain.h"
#include "kbuild.h"
#include "kconfig.h"
#include "module_gen.h"
#include "module_relink.h"
#include "module_sign.h"
#include "patch_set.h"
#include "process.h"
#include "replay.h"
#include "shadow_tree.h"
#include "target_modules.h"
#include "tree_cache.h"
#include "version.h"
#include "work_dir.h"


namespace fs = std::filesystem;

namespace klp {

namespace {

class Stopwatch {
public:
  double lap() {
    auto now = std::chrono::steady_clock::now();
    double s = std::chrono::duration<double>(now - last_).count();
    last_ = now;
    return s;
  }

private:
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

std::string parent_dir(const std::string &path) {
  return fs::path(path).parent_path().string();
}

bool exists(const std::string &p) { return !p.empty() && fs::exists(p); }

// `uname -r`: the running kernel's release, which names its /boot config and /lib/modules.
std::string running_release() {
  struct utsname u;
  uname(&u);
  return u.release;
}

// --config: DIR/.config, else the running kernel's /boot/config-$(uname -r).
std::string resolve_config(const BuildOptions &o) {
  if (!o.config.empty())
    return o.config;
  if (exists(o.sourcedir + "/.config"))
    return o.sourcedir + "/.config";
  std::string boot = "/boot/config-" + running_release();
  if (exists(boot))
    return boot;
  throw Error("no kernel config: " + o.sourcedir + "/.config and " + boot +
              " do not exist; pass --config");
}

// The tree the module is linked against: --headers, else the build tree of --vmlinux.
std::string resolve_kbuild_dir(const BuildOptions &o) {
  if (!o.headers.empty())
    return o.headers;
  if (!o.vmlinux.empty() && exists(parent_dir(o.vmlinux) + "/Module.symvers"))
    return parent_dir(fs::absolute(o.vmlinux).string());
  if (exists(o.sourcedir + "/Module.symvers"))
    return o.sourcedir;
  std::string build = "/lib/modules/" + running_release() + "/build";
  if (exists(build + "/Module.symvers"))
    return build;
  throw Error("no kernel build tree to link the module against; pass --headers (e.g. "
              "/usr/src/linux-headers-$(uname -r))");
}

std::string resolve_symvers(const BuildOptions &o, const std::string &kbuild_dir) {
  if (!o.symvers.empty())
    return o.symvers;
  if (exists(kbuild_dir + "/Module.symvers"))
    return kbuild_dir + "/Module.symvers";
  throw Error(kbuild_dir + "/Module.symvers: missing; pass --symvers");
}

// The kernel's symbols for `target`: a copy of /proc/kallsyms covers vmlinux and loaded
// modules, a module it lacks comes from its file under --modules (decompressed into
// `scratch_dir`); with --vmlinux, modules come from the .ko next to it in the same build tree.
std::string symtab_for(const BuildOptions &o, const ObjectRecord &rec,
                       const std::set<std::string> &kallsyms_mods,
                       const std::string &scratch_dir) {
  if (!o.kallsyms.empty()) {
    if (rec.target == "vmlinux" || o.modules_dir.empty() || kallsyms_mods.count(rec.target))
      return o.kallsyms;
    std::string ko = find_module_file(o.modules_dir, rec.target);
    if (ko.empty())
      throw Error(rec.object + " belongs to module " + rec.target + ", which neither " +
                  o.kallsyms + " nor " + o.modules_dir + " has");
    return uncompressed_module(ko, scratch_dir);
  }
  if (rec.target == "vmlinux")
    return o.vmlinux;
  std::string build = parent_dir(o.vmlinux);
  std::string modpath = module_path_in(build, rec);
  if (modpath.empty())
    throw Error(rec.object + " belongs to module " + rec.target + ", which " + build +
                "/modules.order does not list; pass --kallsyms with the module loaded");
  std::string ko = build + "/" + modpath + ".ko";
  if (!exists(ko))
    throw Error(rec.object + " belongs to module " + rec.target + ", but " + ko +
                " does not exist; pass --kallsyms with the module loaded");
  return ko;
}

// A symbol CRC as genksyms prints it: "0x1a2b3c4d".
std::string hex_crc(uint32_t crc) {
  char buf[16];
  snprintf(buf, sizeof(buf), "0x%08x", crc);
  return buf;
}

// An exported function whose genksyms CRC changes and which the patch replaces has changed its
// interface: modules built against the old one would call it wrongly. A CRC change alone (a new
// #include can make an opaque struct visible to genksyms) does not change code: the module
// keeps the target's CRCs from its Module.symvers, so it is only reported.
void check_export_crcs(const ObjectRecord &orig, const ObjectRecord &patched,
                       const PatchedObject &po, const Reporter &report) {
  for (auto &[name, crc] : patched.crcs) {
    auto it = orig.crcs.find(name);
    if (it == orig.crcs.end() || it->second == crc)
      continue;
    if (std::find(po.changed_functions.begin(), po.changed_functions.end(), name) !=
        po.changed_functions.end()) {
      Decision d;
      d.kind = DecisionKind::ExportCrcChanged;
      d.object = po.object;
      d.symbol = name;
      d.before = hex_crc(it->second);
      d.after = hex_crc(crc);
      throw Unpatchable(std::move(d));
    }
    report.info(po.object + ": CRC of exported '" + name + "' changes (" + hex_crc(it->second) +
                " -> " + hex_crc(crc) +
                ") without a code change; the module keeps the target's CRC");
  }
}

// The cache key: the source tree's fingerprint, the config, the compiler and its flags.
std::string tree_cache_key(const BuildOptions &opts, const std::string &config_path,
                           const KbuildTree &tree) {
  std::ifstream in(config_path);
  std::stringstream config;
  config << in.rdbuf();
  char fp[32];
  snprintf(fp, sizeof(fp), "%016llx", (unsigned long long)fingerprint_tree(opts.sourcedir));
  std::string argv;
  for (const std::string &a : make_argv(tree, {}))
    if (a.rfind("-C", 0) != 0 && a.rfind("O=", 0) != 0 && a.rfind("-j", 0) != 0 &&
        a != tree.srctree)
      argv += a + "\n";
  return cache_key(std::string(fp) + "\n" + fs::absolute(opts.sourcedir).string() + "\n" +
                   config.str() + "\n" + compiler_version_text(tree.cc) + "\n" + argv +
                   kVersion);
}

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

// The modification times of the files make generates in prepare (include/generated, the
// kconfig outputs in include/config, arch/*/include/generated) under `objtree`.
std::map<std::string, fs::file_time_type> generated_stamps(const std::string &objtree) {
  std::map<std::string, fs::file_time_type> stamps;
  std::vector<fs::path> roots = {fs::path(objtree) / "include"};
  std::error_code ec;
  for (auto it = fs::directory_iterator(fs::path(objtree) / "arch", ec);
       !ec && it != fs::directory_iterator(); it.increment(ec))
    roots.push_back(it->path() / "include");
  for (const fs::path &root : roots)
    for (auto it = fs::recursive_directory_iterator(root, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
      if (it->is_regular_file(ec))
        stamps[it->path().string()] = it->last_write_time(ec);
  return stamps;
}

// The livepatch module, built beside the pipeline: its runtime starts compiling at once (by the
// commands of an earlier module for this target, else by make with the runtime alone), and
// link() adds the diff objects and links it by kbuild's recorded commands, or by make.
class ModuleBuild {
public:
  // `template_path`: where this target's link template is kept ("" for none); `replay`: use
  // kbuild's recorded commands at all.
  ModuleBuild(const ModuleSpec &spec, std::string dir, std::string template_path, bool replay)
      : spec_(spec), dir_(std::move(dir)), template_path_(std::move(template_path)),
        replay_(replay) {
    write_module_dir(spec_, dir_);
    if (auto saved = load_link_template(template_path_))
      template_ = instantiate(*saved, spec_, dir_);
    // -j1: one command at a time, so the runtime waits for the link.
    if (spec_.jobs < 2)
      return;
    if (template_)
      runtime_.start([this](const std::atomic<bool> *cancel) {
        runtime_compiled_ = compile_runtime(*template_, spec_, dir_, cancel);
      });
    else
      runtime_.start(
          [this](const std::atomic<bool> *cancel) { prelink_module(spec_, dir_, cancel); });
  }

  // Returns the linked .ko.
  std::string link(const std::vector<std::string> &diff_objects) {
    runtime_.wait();
    if (template_ && spec_.jobs < 2)
      runtime_compiled_ = compile_runtime(*template_, spec_, dir_, nullptr);
    spec_.diff_objects = diff_objects;
    write_module_dir(spec_, dir_);
    if (template_ && runtime_compiled_)
      return link_by_template(*template_, spec_);
    if (replay_) {
      // make built the runtime here: its records are the template for the next module.
      ModuleSpec runtime_only = spec_;
      runtime_only.diff_objects.clear();
      if (std::optional<LinkTemplate> t = read_link_template(runtime_only, dir_)) {
        std::string ko = link_by_template(*t, spec_);
        if (!template_path_.empty())
          save_link_template(*t, template_path_);
        return ko;
      }
    }
    std::string ko = link_module(spec_, dir_);
    // Its records, now with the diff objects in the list, serve the next module as well.
    if (replay_ && !template_path_.empty())
      if (std::optional<LinkTemplate> t = read_link_template(spec_, dir_))
        save_link_template(*t, template_path_);
    return ko;
  }

private:
  ModuleSpec spec_;
  std::string dir_, template_path_;
  bool replay_;
  std::optional<LinkTemplate> template_;
  std::atomic<bool> runtime_compiled_{false};
  Background runtime_; // last: cancelled and joined before the members it uses go
};

// Where the link template (module_relink.h) for the target of `spec` is kept: keyed by the
// target's build tree (its path and the files that decide how modules are built), the
// compiler, klp-build's data directory and version.
std::string link_template_path(const std::string &cache_root, const ModuleSpec &spec) {
  std::string inputs = fs::absolute(spec.kbuild_dir).lexically_normal().string() + "\n";
  for (const char *f : {"Makefile", ".config", "Module.symvers", "scripts/mod/modpost",
                        "include/config/auto.conf"}) {
    struct stat st {};
    stat((spec.kbuild_dir + "/" + f).c_str(), &st);
    inputs += std::string(f) + " " + std::to_string(st.st_size) + " " +
              std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + "\n";
  }
  inputs += spec.compiler + "\n" + (spec.data_dir.empty() ? data_dir() : spec.data_dir) + "\n" +
            kVersion;
  return cache_root + "/links/" + cache_key(inputs);
}

// While the patched objects are built in a cached tree, the tree holds patched files and
// objects. This puts the user's files (as links) and the original objects back on every exit
// path; the cache's dirty marker covers the paths this cannot (SIGKILL).
class PatchedScope {
public:
  PatchedScope(TreeCache *cache, const std::string &source, const KbuildTree &tree,
               const std::vector<std::string> &touched, const std::vector<std::string> &objects,
               const WorkDir &work)
      : cache_(cache), source_(source), tree_(tree), touched_(touched), objects_(objects),
        saved_(work.sub("saved")) {
    if (!cache_)
      return;
    for (const std::string &o : objects_)
      for (const std::string &f : {o, record_of(o)}) {
        fs::create_directories(parent_dir(saved_ + "/" + f));
        fs::copy_file(tree_.objtree + "/" + f, saved_ + "/" + f);
      }
    generated_ = generated_stamps(tree_.objtree);
    cache_->set_dirty(true);
  }
  ~PatchedScope() {
    if (!cache_)
      return;
    try {
      restore_files(source_, tree_.srctree, touched_);
      for (const std::string &o : objects_)
        for (const std::string &f : {o, record_of(o)})
          fs::copy_file(saved_ + "/" + f, tree_.objtree + "/" + f,
                        fs::copy_options::overwrite_existing);
      // A patched header or Makefile can make prepare regenerate a header (asm-offsets.h,
      // utsrelease.h) from the patched sources; the restored sources keep their old mtimes,
      // so make would never regenerate it again, and every later unit would see it. Such an
      // entry keeps the dirty marker and the next run rebuilds it.
      if (generated_stamps(tree_.objtree) == generated_)
        cache_->set_dirty(false);
    } catch (const std::exception &) {
      // The dirty marker stays: the next run rebuilds the entry.
    }
  }

private:
  static std::string record_of(const std::string &obj) { return record_path("", obj); }
  TreeCache *cache_;
  std::string source_;
  const KbuildTree &tree_;
  std::vector<std::string> touched_, objects_;
  std::string saved_;
  std::map<std::string, fs::file_time_type> generated_;
};

// Every function the patch replaces in vmlinux is compared with the target's image; functions
// of modules are compared with the module's .ko when that is their symbol table.
struct DiffedObject {
  std::unique_ptr<DiffSession> session;
  std::vector<PatchedFunction> functions; // with the sympos the descriptors carry
};

void verify_against_image(const std::string &image, const std::string &modules_dir,
                          const std::vector<DiffedObject> &diffed, const Reporter &report) {
  std::vector<ImageFunction> vmlinux_funcs;
  const TargetSymtab *vmlinux_symtab = nullptr;
  size_t modules = 0, unchecked = 0;
  for (const DiffedObject &d : diffed) {
    const DiffSession *s = d.session.get();
    std::vector<ImageFunction> funcs;
    for (const Symbol &sym : s->patched->symbols)
      if (needs_klp_func(sym))
        for (const PatchedFunction &f : d.functions)
          if (f.name == sym.twin->name)
            funcs.push_back({f.name, f.sympos, s->orig.get(), sym.twin});
    if (funcs.empty() || !s->symtab)
      continue;
    if (s->symtab->is_vmlinux()) {
      vmlinux_symtab = s->symtab.get();
      vmlinux_funcs.insert(vmlinux_funcs.end(), funcs.begin(), funcs.end());
    } else if (s->symtab->format() == TargetFormat::Elf) {
      verify_functions_match(s->symtab->source(), *s->symtab, funcs);
      modules += funcs.size();
    } else if (!modules_dir.empty()) {
      // A copy of kallsyms names the module's functions; its .ko holds their code.
      std::string ko = find_module_file(modules_dir, s->symtab->objname());
      if (ko.empty())
        throw Error(modules_dir + ": no " + s->symtab->objname() + ".ko for the match proof of " +
                    funcs.front().name + "; pass the target's /lib/modules/RELEASE");
      verify_functions_match(ko, *s->symtab, funcs);
      modules += funcs.size();
    } else {
      unchecked += funcs.size();
    }
  }
  if (vmlinux_symtab)
    verify_functions_match(image, *vmlinux_symtab, vmlinux_funcs);
  report.info("the original build matches the target: " + std::to_string(vmlinux_funcs.size()) +
              " function(s) in " + image +
              (modules ? ", " + std::to_string(modules) + " in module files" : ""));
  if (unchecked)
    report.info("not checked: " + std::to_string(unchecked) +
                " function(s) of modules (pass --modules with the target's /lib/modules/RELEASE)");
}

struct ExplainObject {
  std::string object, target, symtab;
};

// docs/klp-diff.md: <name>.explain/ holds the compared objects and a manifest; written beside
// the module through a temporary directory and a rename.
void write_explain_dir(const std::string &module_path, const std::string &name,
                       const WorkDir &work, const std::string &symvers,
                       const std::vector<ExplainObject> &objects) {
  fs::path final_dir = fs::path(module_path).parent_path() / (name + ".explain");
  fs::path tmp = final_dir;
  tmp += ".tmp";
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  Manifest manifest;
  manifest.patch_name = name;
  fs::copy_file(symvers, tmp / "Module.symvers");
  manifest.symvers = "Module.symvers";
  std::map<std::string, std::string> symtabs;
  for (const ExplainObject &o : objects)
    symtabs[o.target] = fs::absolute(o.symtab).string();
  manifest.symtabs.assign(symtabs.begin(), symtabs.end());
  for (const ExplainObject &o : objects) {
    for (const char *side : {"orig", "patched"}) {
      fs::path dst = tmp / side / o.object;
      fs::create_directories(dst.parent_path());
      fs::copy_file(work.sub(std::string(side) + "/" + o.object), dst);
    }
    manifest.objects.push_back({o.object, o.target, "", ""});
  }
  write_manifest(tmp.string(), manifest);
  fs::remove_all(final_dir);
  fs::rename(tmp, final_dir);
}

} // namespace

void check_input_dirs(const BuildOptions &o) {
  for (auto [option, dir] : {std::pair{"--sourcedir", &o.sourcedir}, {"--headers", &o.headers}}) {
    if (dir->empty()) continue;
    std::error_code ec;
    fs::file_status st = fs::status(*dir, ec);
    if (!fs::exists(st))
      throw Error(*dir + ": " + option + " DIR does not exist");
    if (!fs::is_directory(st))
      throw Error(*dir + ": " + option + " is not a directory");
  }
}

// A copy of /proc/kallsyms: "<hex address> <type letter> <name>[ <[module]>]" on its first line.
static bool looks_like_kallsyms(std::string_view line) {
  size_t sp = line.find(' ');
  if (sp == 0 || sp == std::string_view::npos || sp > 16) return false;
  for (char c : line.substr(0, sp))
    if (!isxdigit((unsigned char)c)) return false;
  return line.size() > sp + 3 && isalpha((unsigned char)line[sp + 1]) && line[sp + 2] == ' ' &&
         line[sp + 3] != ' ';
}

void check_input_files(const BuildOptions &o, const std::string &symvers) {
  check_regular_file(symvers);
  Symvers{symvers}; // a malformed line is reported now, not after the compiles
  if (!o.kallsyms.empty()) {
    check_regular_file(o.kallsyms);
    std::ifstream in(o.kallsyms, std::ios::binary);
    std::string line;
    std::getline(in, line);
    if (!in && !in.eof())
      throw Error(o.kallsyms + ": cannot read: " + strerror(errno));
    if (!looks_like_kallsyms(line))
      throw Error(o.kallsyms + ":1: not a copy of /proc/kallsyms (expected 'ADDRESS TYPE NAME', "
                  "read " + quoted_input(line) + ")");
  }
  if (!o.kernel_image.empty()) check_regular_file(o.kernel_image);
  if (!o.vmlinux.empty()) {
    ElfFile elf(o.vmlinux);
    if (!elf.symtab_index())
      throw Error(o.vmlinux + ": no symbol table (is it stripped?)");
  }
}

std::string resolve_target_symbols(const BuildOptions &o, const std::string &config_path,
                                   const std::string &running_release,
                                   const std::string &proc_kallsyms) {
  if (!o.kallsyms.empty())
    return o.kallsyms;
  if (!o.vmlinux.empty())
    return "";
  if (config_path == "/boot/config-" + running_release) {
    if (access(proc_kallsyms.c_str(), R_OK) == 0)
      return proc_kallsyms;
    throw Error(proc_kallsyms + ": cannot read the running kernel's symbols (" +
                strerror(errno) + "); run as root or pass --kallsyms");
  }
  throw Error("no target symbols for the kernel of " + config_path +
              ": pass --vmlinux or --kallsyms (/proc/kallsyms is the default only when "
              "building for the running kernel, with /boot/config-" + running_release + ")");
}

BuildResult build_livepatch(const BuildOptions &in, const Reporter &report) {
  Stopwatch clock;
  BuildOptions opts = in; // the defaults resolved below are filled in
  BuildResult result;

  // Read the patches and decide which translation units they touch.
  std::vector<PatchFile> patches;
  for (const std::string &p : opts.patches)
    patches.push_back(read_patch(p));
  std::vector<std::string> touched = touched_files(patches);
  std::vector<std::string> objects, headers;
  bool only_units = true; // every touched file is a translation unit
  for (const std::string &f : touched) {
    std::string o = object_for_source(f);
    only_units = only_units && !o.empty();
    if (!o.empty())
      objects.push_back(o);
    else if (f.size() > 2 && f.compare(f.size() - 2, 2, ".h") == 0)
      headers.push_back(f);
    else
      report.info(f + ": not C, assembly or a header; it does not change the running code");
  }
  if (objects.empty() && headers.empty())
    throw NoChange("the patches touch no C, assembly or header file");
  result.module_name = module_name_for(opts.name, patches);

  // Check every input, the config and the compiler before any build.
  check_input_dirs(opts);
  std::string config_path = resolve_config(opts);
  opts.kallsyms = resolve_target_symbols(opts, config_path, running_release());
  KernelConfig config(config_path);
  Toolchain toolchain = kernel_toolchain(config);
  check_config(config, toolchain);
  std::string kbuild_dir = resolve_kbuild_dir(opts);
  std::string symvers = resolve_symvers(opts, kbuild_dir);
  check_input_files(opts, symvers);

  WorkDir work(opts.keep_tmp);
  KbuildTree tree;
  tree.cc = toolchain.cc;
  tree.hostcc = toolchain.hostcc;
  tree.cc_make_args = toolchain.make_args;
  tree.launcher = opts.compiler_launcher;
  tree.include_dir = data_dir() + "/runtime/include";
  tree.jobs = opts.jobs > 0 ? opts.jobs : (int)std::max(1u, std::thread::hardware_concurrency());

  // Start building the module's runtime and descriptors, which do not depend on the diff, on
  // the core that the make of one object leaves idle.
  ModuleSpec spec;
  spec.name = result.module_name;
  spec.replace = opts.replace;
  spec.kbuild_dir = kbuild_dir;
  spec.jobs = tree.jobs;
  spec.cc_make_args = toolchain.make_args;
  if (!tree.launcher.empty())
    spec.compiler = tree.launcher + " " + tree.cc;
  if (const char *sde = getenv("SOURCE_DATE_EPOCH"))
    spec.source_date_epoch = sde;
  std::string root = opts.cache_dir.empty() ? default_cache_root() : opts.cache_dir;
  ModuleBuild module(spec, work.sub("module"),
                     opts.use_cache && opts.replay ? link_template_path(root, spec) : "",
                     opts.replay);

  // Shadow the user's tree and prepare an out-of-tree build directory, or reuse the cached ones.
  std::unique_ptr<TreeCache> cache;
  if (opts.use_cache) {
    cache = std::make_unique<TreeCache>(root, tree_cache_key(opts, config_path, tree));
    tree.srctree = cache->src();
    tree.objtree = cache->build();
  } else {
    tree.srctree = work.sub("src");
    tree.objtree = work.sub("build");
  }
  if (!cache || !cache->ready()) {
    if (cache)
      cache->reset();
    make_shadow_tree(opts.sourcedir, tree.srctree);
    for (const std::string &t : prepare_tree(tree, config_path))
      report.info(config_path + ": olddefconfig changed a value kconfig only probes from a tool "
                  "this config does not use (tolerated): " + t);
    if (cache)
      cache->set_ready();
  } else {
    report.info("reusing the prepared tree in " + cache->dir());
  }
  // A header reaches every unit that includes it; ask kbuild which units this config builds.
  if (!headers.empty()) {
    auto built = built_objects(tree);
    for (const std::string &o : objects)
      if (!built.count(o))
        throw Error(o + ": not built with this config; the running kernel does not contain it");
    for (const std::string &o : objects_including(tree, built, headers))
      if (std::find(objects.begin(), objects.end(), o) == objects.end())
        objects.push_back(o);
    report.info(std::to_string(objects.size()) + " translation units include the patched "
                "headers or are patched themselves");
  }
  if (objects.empty())
    throw NoChange("no translation unit of this config includes the patched headers");
  report.phase("prepare", clock.lap());

  // Compile the original objects. In a cached tree, one an earlier run compiled is there, with
  // its record, as it was (PatchedScope puts originals back), and needs no make at all.
  std::vector<std::string> to_compile;
  for (const std::string &o : objects)
    if (!cache || !exists(tree.objtree + "/" + o) || !exists(record_path(tree.objtree, o)))
      to_compile.push_back(o);
  // The tree is prepared and unchanged since: kbuild's descent alone builds them.
  if (!to_compile.empty() && !(opts.replay && descend_objects(tree, to_compile)))
    compile_objects(tree, to_compile, /*record_descent=*/true);
  if (to_compile.size() < objects.size())
    report.info(std::to_string(objects.size() - to_compile.size()) +
                " original object(s) already compiled in the cached tree");
  std::map<std::string, ObjectRecord> orig_records;
  for (const std::string &o : objects) {
    fs::create_directories(parent_dir(work.sub("orig/" + o)));
    fs::copy_file(tree.objtree + "/" + o, work.sub("orig/" + o));
    orig_records[o] = read_object_record(tree, o);
  }
  report.phase("original", clock.lap());

  // Apply the patches to private copies of the touched files and compile again; a cached tree
  // gets its original files and objects back afterwards, whatever happens.
  std::vector<ObjectRecord> records;
  {
    PatchedScope scope(cache.get(), opts.sourcedir, tree, touched, objects, work);
    unshare_files(tree.srctree, touched);
    for (const PatchFile &p : patches)
      apply_patch(p, tree.srctree);
    // Patches to units alone change nothing make would redo but their compiles; a header (or
    // Makefile, Kconfig) patch may change generated files and flags, so make decides.
    if (opts.replay && only_units) {
      std::vector<std::string> rest = replay_objects(tree, objects);
      if (!rest.empty() && !descend_objects(tree, rest))
        compile_objects(tree, rest);
    } else {
      compile_objects(tree, objects);
    }
    for (const std::string &o : objects) {
      fs::create_directories(parent_dir(work.sub("patched/" + o)));
      fs::copy_file(tree.objtree + "/" + o, work.sub("patched/" + o));
      records.push_back(read_object_record(tree, o));
    }
  }
  report.phase("patched", clock.lap());

  // Diff each pair; objects without changes drop out.
  std::vector<std::string> diff_objects;
  std::vector<ExplainObject> explain_objects;
  std::vector<DiffedObject> sessions; // kept for the image match
  std::vector<std::pair<DiffOptions, const ObjectRecord *>> changed;
  LinkScope scope; // the new globals each object of the module defines
  std::set<std::string> kallsyms_mods;
  if (!opts.kallsyms.empty() && !opts.modules_dir.empty())
    kallsyms_mods = kallsyms_modules(opts.kallsyms);
  for (const ObjectRecord &rec : records) {
    DiffOptions d;
    d.orig_path = work.sub("orig/" + rec.object);
    d.patched_path = work.sub("patched/" + rec.object);
    d.target = rec.target;
    d.symtab_path = symtab_for(opts, rec, kallsyms_mods, work.sub("target-modules"));
    d.symvers_path = symvers;
    d.patch_name = result.module_name;
    explain_objects.push_back({rec.object, rec.target, d.symtab_path});
    auto session = analyze(d);
    if (session->refusal)
      throw Unpatchable(*session->refusal);
    if (!session->has_changes)
      continue;
    for (const std::string &w : session->ctx->warnings)
      report.info("warning: " + w);
    for (const Symbol &sym : session->patched->symbols)
      if (sym.included && sym.status == Status::New && !sym.is_local() && sym.sec)
        scope.module_globals.insert(sym.name);
    changed.emplace_back(std::move(d), &rec);
    sessions.push_back({std::move(session), {}});
  }
  // Write each object's part; a new global defined in one object is the module's own symbol
  // in the others.
  for (size_t i = 0; i < changed.size(); i++) {
    auto &[d, rec] = changed[i];
    d.link_scope = scope;
    std::string out = work.sub("diff/" + rec->object);
    fs::create_directories(parent_dir(out));
    Output o = write_patch(*sessions[i].session, d, out);
    PatchedObject po{rec->object, rec->target, {}, o.new_functions};
    for (const PatchedFunction &f : o.functions)
      po.changed_functions.push_back(f.name);
    check_export_crcs(orig_records.at(rec->object), *rec, po, report);
    result.objects.push_back(po);
    diff_objects.push_back(out);
    sessions[i].functions = o.functions;
  }
  if (diff_objects.empty())
    throw NoChange("the patches change nothing that needs a livepatch");
  report.phase("diff", clock.lap());

  // Prove that the original objects are what the target runs.
  if (!opts.kernel_image.empty()) {
    verify_against_image(opts.kernel_image, opts.modules_dir, sessions, report);
    report.phase("verify", clock.lap());
  }

  // Link the module against the target's build tree and convert livepatch relocations.
  std::string linked = module.link(diff_objects);
  fs::create_directories(opts.output_dir);
  result.module_path = (fs::path(opts.output_dir) / (spec.name + ".ko")).string();
  finish_module(linked, result.module_path);
  if (!opts.sign_key.empty()) {
    try {
      std::string hash = sign_module(result.module_path, kbuild_dir, opts.sign_key,
                                     opts.sign_cert);
      report.info("signed " + result.module_path + " (" + hash + ", " + opts.sign_cert + ")");
    } catch (...) {
      fs::remove(result.module_path); // no unsigned module where a signed one was asked for
      throw;
    }
  }
  // Keep what klp-diff --explain needs next to the module.
  if (opts.explain)
    write_explain_dir(result.module_path, result.module_name, work, symvers, explain_objects);
  report.phase("link", clock.lap());
  return result;
}

} // namespace klp
