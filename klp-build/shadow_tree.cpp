#include "shadow_tree.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <thread>
#include <vector>

#include "error.h"
#include "parallel.h"
#include "process.h"
#include "unique_fd.h"

namespace fs = std::filesystem;

namespace klp {

bool is_build_output(const std::string &rel) {
  std::string name = rel.substr(rel.find_last_of('/') + 1);
  // Top-level and generated configuration: kbuild refuses O= builds of a tree that has them.
  if (rel == ".config" || rel.starts_with(".config.") || rel == "include/config" ||
      rel == "include/generated" || rel == "Module.symvers" || rel == "System.map" ||
      rel.starts_with("vmlinux") || rel == ".version" || rel == "modules.order" ||
      rel == "modules.builtin" || rel == "modules.builtin.modinfo" || rel == ".git")
    return true;
  if (rel.starts_with("arch/") && rel.ends_with("/include/generated"))
    return true;
  static constexpr std::string_view kOutputSuffixes[] = {
      ".o",       ".ko", ".a",   ".cmd", ".mod", ".mod.c", ".order",
      ".symvers", ".d",  ".lst", ".tmp", ".dwo", ".gcno",  ".su",
  };
  for (std::string_view s : kOutputSuffixes)
    if (name.ends_with(s))
      return true;
  return name.starts_with(".tmp_");
}

// Calls fn(entry, rel) for every entry of the source tree that is not a build output.
template <typename Fn> static void walk_sources(const std::string &source, Fn fn) {
  std::error_code ec;
  fs::path root = fs::absolute(source);
  for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::none, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec)
      throw Error(source + ": cannot walk the tree: " + ec.message());
    if (interrupted())
      throw Error("interrupted while walking the source tree");
    // lexically: fs::relative() would resolve symlinks (Documentation/Changes).
    std::string rel = it->path().lexically_relative(root).string();
    if (is_build_output(rel)) {
      if (it->is_directory())
        it.disable_recursion_pending();
      continue;
    }
    fn(*it, rel);
  }
}

namespace {

void check_kernel_tree(const std::string &source) {
  std::error_code ec;
  if (!fs::is_directory(source, ec))
    throw Error(source + ": not a directory (pass the kernel source tree with --sourcedir)");
  if (!fs::exists(fs::path(source) / "Makefile") || !fs::exists(fs::path(source) / "Kconfig"))
    throw Error(source + ": not a kernel source tree (no Makefile/Kconfig)");
}

bool on_other_device(const std::string &a, const std::string &b) {
  struct stat sa, sb;
  return stat(a.c_str(), &sa) == 0 && stat(b.c_str(), &sb) == 0 && sa.st_dev != sb.st_dev;
}

// Whether the shadow tree must symlink rather than hard-link: another device, or the same
// file system seen through two mounts (a bind mount: the source in a chroot's bind-mounted
// cache), where link() fails with EXDEV though st_dev is the same. Probed with the top Makefile.
bool needs_symlinks(const std::string &source, const std::string &shadow) {
  if (on_other_device(source, shadow))
    return true;
  std::string from = source + "/Makefile", probe = shadow + "/.klp-link-probe";
  unlink(probe.c_str());
  if (link(from.c_str(), probe.c_str()) != 0)
    return errno == EXDEV;
  unlink(probe.c_str());
  return false;
}

} // namespace

namespace {

// FNV-1a, 64 bits.
struct Fnv {
  uint64_t h = 1469598103934665603ull;
  void mix(const void *p, size_t n) {
    for (size_t i = 0; i < n; i++)
      h = (h ^ ((const uint8_t *)p)[i]) * 1099511628211ull;
  }
};

// A source entry: its path, and for anything but a directory its size and mtime. A directory's
// mtime changes whenever a build writes an object into it (an in-tree build), which changes no
// source; its entries' paths already say what it holds.
void mix_entry(Fnv &f, const std::string &path, const struct stat &st) {
  f.mix(path.data(), path.size() + 1);
  if (S_ISDIR(st.st_mode))
    return;
  f.mix(&st.st_size, sizeof(st.st_size));
  f.mix(&st.st_mtim, sizeof(st.st_mtim));
}

// The entries of the directory `fd` refers to, sorted by name (readdir's order depends on the
// file system and the directory's history).
std::vector<std::string> sorted_entries(int fd) {
  std::vector<std::string> names;
  DIR *d = fdopendir(dup(fd));
  if (!d)
    return names;
  while (struct dirent *e = readdir(d))
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
      names.push_back(e->d_name);
  closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

void fingerprint_dir(int fd, const std::string &rel, Fnv &f);

// Mixes the entry `name` of the directory `fd` (at `path` in the tree) into `f`, and if it is a
// directory, everything under it: the same entries as walk_sources() visits.
void fingerprint_entry(int fd, const std::string &name, const std::string &path, Fnv &f) {
  if (is_build_output(path))
    return;
  struct stat st;
  if (fstatat(fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
    return;
  mix_entry(f, path, st);
  if (!S_ISDIR(st.st_mode))
    return;
  UniqueFd sub(openat(fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!sub)
    throw Error(path + ": cannot open: " + strerror(errno));
  fingerprint_dir(sub.get(), path, f);
}

void fingerprint_dir(int fd, const std::string &rel, Fnv &f) {
  for (const std::string &name : sorted_entries(fd)) {
    if (interrupted())
      throw Error("interrupted while walking the source tree");
    fingerprint_entry(fd, name, rel + "/" + name, f);
  }
}

} // namespace

uint64_t fingerprint_tree(const std::string &source) {
  check_kernel_tree(source);
  UniqueFd root(open(source.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root)
    throw Error(source + ": cannot open: " + strerror(errno));
  // A kernel tree has ~80k entries under ~25 top-level ones, a third of them under drivers/:
  // the tasks are the top-level entries, each top-level directory's own entry, and the
  // entries of each top-level directory, hashed on several threads (however unevenly sized)
  // and combined in name order.
  struct Task {
    int dir_fd;
    std::string name, path;
    std::optional<struct stat> own; // a directory's own entry: its entries are tasks of their own
  };
  std::vector<UniqueFd> top_dirs;
  std::vector<Task> tasks;
  for (const std::string &name : sorted_entries(root.get())) {
    struct stat st;
    if (is_build_output(name) || fstatat(root.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
      continue;
    if (!S_ISDIR(st.st_mode)) {
      tasks.push_back({root.get(), name, name, std::nullopt});
      continue;
    }
    tasks.push_back({root.get(), name, name, st});
    top_dirs.emplace_back(
        openat(root.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!top_dirs.back())
      throw Error(name + ": cannot open: " + strerror(errno));
    for (const std::string &child : sorted_entries(top_dirs.back().get()))
      if (!is_build_output(name + "/" + child)) // a task of its own would still be mixed in
        tasks.push_back({top_dirs.back().get(), child, name + "/" + child, std::nullopt});
  }
  std::vector<uint64_t> hashes(tasks.size());
  parallel_for(tasks.size(), std::clamp(std::thread::hardware_concurrency(), 1u, 4u),
               [&](size_t i) {
                 const Task &t = tasks[i];
                 Fnv f;
                 if (t.own)
                   mix_entry(f, t.path, *t.own);
                 else
                   fingerprint_entry(t.dir_fd, t.name, t.path, f);
                 hashes[i] = f.h;
               });
  Fnv all;
  for (uint64_t h : hashes)
    all.mix(&h, sizeof(h));
  return all.h;
}

ShadowStats make_shadow_tree(const std::string &source, const std::string &shadow) {
  ShadowStats stats;
  std::error_code ec;
  check_kernel_tree(source);
  fs::create_directories(shadow);
  stats.symlinked = needs_symlinks(source, shadow);
  walk_sources(source, [&](const fs::directory_entry &e, const std::string &rel) {
    fs::path dst = fs::path(shadow) / rel;
    if (e.is_symlink()) {
      fs::copy_symlink(e.path(), dst, ec);
    } else if (e.is_directory()) {
      fs::create_directory(dst, ec);
    } else if (e.is_regular_file()) {
      int rc = stats.symlinked ? symlink(e.path().c_str(), dst.c_str())
                               : link(e.path().c_str(), dst.c_str());
      if (rc != 0)
        throw Error(dst.string() + ": cannot link to " + e.path().string() + ": " +
                    strerror(errno));
      stats.files++;
    }
    if (ec)
      throw Error(dst.string() + ": " + ec.message());
  });
  return stats;
}

void restore_files(const std::string &source, const std::string &shadow,
                   const std::vector<std::string> &paths) {
  bool symlinked = needs_symlinks(source, shadow);
  for (const std::string &rel : paths) {
    fs::path from = fs::absolute(fs::path(source) / rel), to = fs::path(shadow) / rel;
    std::error_code ec;
    fs::remove(to, ec);
    if (!fs::exists(fs::symlink_status(from, ec)))
      continue;
    int rc = symlinked ? symlink(from.c_str(), to.c_str()) : link(from.c_str(), to.c_str());
    if (rc != 0)
      throw Error(to.string() + ": cannot restore the link to " + from.string() + ": " +
                  strerror(errno));
  }
}

void unshare_files(const std::string &shadow, const std::vector<std::string> &paths) {
  for (const std::string &rel : paths) {
    fs::path p = fs::path(shadow) / rel;
    std::error_code ec;
    if (!fs::exists(fs::symlink_status(p, ec)))
      continue;
    fs::path tmp = p;
    tmp += ".klp-unshare";
    // Copy the content (following a symlink), then replace the link atomically.
    fs::copy_file(p, tmp, fs::copy_options::overwrite_existing, ec);
    if (!ec)
      fs::rename(tmp, p, ec);
    if (ec)
      throw Error(p.string() + ": cannot make a private copy: " + ec.message());
  }
}

} // namespace klp
