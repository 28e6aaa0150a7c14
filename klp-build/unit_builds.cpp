#include "unit_builds.h"

#include <filesystem>

#include "descend.h"
#include "patch_set.h"
#include "replay.h"
#include "shadow_tree.h"

namespace fs = std::filesystem;

namespace klp {

namespace {

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
        fs::create_directories(fs::path(saved_ + "/" + f).parent_path());
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

// Copies the unit `o` of the build tree to work/<side>/<o>.
void keep_object(const KbuildTree &tree, const std::string &o, const WorkDir &work,
                 const std::string &side) {
  std::string dst = work.sub(side + "/" + o);
  fs::create_directories(fs::path(dst).parent_path());
  fs::copy_file(tree.objtree + "/" + o, dst);
}

} // namespace

std::map<std::string, ObjectRecord> build_originals(const Inputs &in, const KbuildTree &tree,
                                                    const WorkDir &work, const Reporter &report) {
  // A unit prepare's make compiled is there with its record, and so, in a cached tree, is a
  // unit an earlier run compiled, as it was (PatchedScope puts originals back): neither needs
  // make again.
  std::vector<std::string> to_compile;
  for (const std::string &o : in.objects)
    if (!fs::exists(tree.objtree + "/" + o) || !fs::exists(record_path(tree.objtree, o)))
      to_compile.push_back(o);
  // The tree is prepared and unchanged since: kbuild's descent alone builds them.
  if (!to_compile.empty() && !(in.opts.replay && descend_objects(tree, to_compile)))
    compile_objects(tree, to_compile, /*record_descent=*/true);
  if (to_compile.size() < in.objects.size())
    report.info(std::to_string(in.objects.size() - to_compile.size()) +
                " original object(s) already compiled in the tree");
  std::map<std::string, ObjectRecord> records;
  for (const std::string &o : in.objects) {
    keep_object(tree, o, work, "orig");
    records[o] = read_object_record(tree, o);
  }
  return records;
}

std::vector<ObjectRecord> build_patched(const Inputs &in, const KbuildTree &tree, TreeCache *cache,
                                        const WorkDir &work) {
  PatchedScope scope(cache, in.opts.sourcedir, tree, in.touched, in.objects, work);
  unshare_files(tree.srctree, in.touched);
  for (const PatchFile &p : in.patches)
    apply_patch(p, tree.srctree);
  // Patches to units alone change nothing make would redo but their compiles; a header (or
  // Makefile, Kconfig) patch may change generated files and flags, so make decides.
  if (in.opts.replay && in.only_units) {
    std::vector<std::string> rest = replay_objects(tree, in.objects);
    if (!rest.empty() && !descend_objects(tree, rest))
      compile_objects(tree, rest);
  } else {
    compile_objects(tree, in.objects);
  }
  std::vector<ObjectRecord> records;
  for (const std::string &o : in.objects) {
    keep_object(tree, o, work, "patched");
    records.push_back(read_object_record(tree, o));
  }
  return records;
}

} // namespace klp
