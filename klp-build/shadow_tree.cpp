#include "shadow_tree.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "error.h"
#include "process.h"

namespace fs = std::filesystem;

namespace klp {

static bool ends_with(const std::string &s, std::string_view suf) {
  return s.size() >= suf.size() && s.compare(s.size() - suf.size(), suf.size(), suf) == 0;
}

bool is_build_output(const std::string &rel) {
  std::string name = rel.substr(rel.find_last_of('/') + 1);
  // Top-level and generated configuration: kbuild refuses O= builds of a tree that has them.
  if (rel == ".config" || rel.rfind(".config.", 0) == 0 || rel == "include/config" ||
      rel == "include/generated" || rel == "Module.symvers" || rel == "System.map" ||
      rel.rfind("vmlinux", 0) == 0 || rel == ".version" || rel == "modules.order" ||
      rel == "modules.builtin" || rel == "modules.builtin.modinfo" || rel == ".git")
    return true;
  if (rel.rfind("arch/", 0) == 0 && ends_with(rel, "/include/generated"))
    return true;
  static constexpr std::string_view kOutputSuffixes[] = {
      ".o", ".ko", ".a", ".cmd", ".mod", ".mod.c", ".order", ".symvers", ".d", ".lst", ".tmp",
      ".dwo", ".gcno", ".su",
  };
  for (std::string_view s : kOutputSuffixes)
    if (ends_with(name, s))
      return true;
  return name.rfind(".tmp_", 0) == 0;
}

ShadowStats make_shadow_tree(const std::string &source, const std::string &shadow) {
  ShadowStats stats;
  std::error_code ec;
  if (!fs::is_directory(source, ec))
    throw Error(source + ": not a directory (pass the kernel source tree with --sourcedir)");
  if (!fs::exists(fs::path(source) / "Makefile") || !fs::exists(fs::path(source) / "Kconfig"))
    throw Error(source + ": not a kernel source tree (no Makefile/Kconfig)");
  fs::create_directories(shadow);
  struct stat src_st, dst_st;
  stat(source.c_str(), &src_st);
  stat(shadow.c_str(), &dst_st);
  stats.symlinked = src_st.st_dev != dst_st.st_dev;

  fs::path root = fs::absolute(source);
  for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::none, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec)
      throw Error(source + ": cannot walk the tree: " + ec.message());
    if (interrupted())
      throw Error("interrupted while making the shadow tree");
    // lexically: fs::relative() would resolve symlinks (Documentation/Changes).
    std::string rel = it->path().lexically_relative(root).string();
    if (is_build_output(rel)) {
      if (it->is_directory())
        it.disable_recursion_pending();
      continue;
    }
    fs::path dst = fs::path(shadow) / rel;
    if (it->is_symlink()) {
      fs::copy_symlink(it->path(), dst, ec);
    } else if (it->is_directory()) {
      fs::create_directory(dst, ec);
    } else if (it->is_regular_file()) {
      int rc = stats.symlinked ? symlink(it->path().c_str(), dst.c_str())
                               : link(it->path().c_str(), dst.c_str());
      if (rc != 0)
        throw Error(dst.string() + ": cannot link to " + it->path().string() + ": " +
                    strerror(errno));
      stats.files++;
    }
    if (ec)
      throw Error(dst.string() + ": " + ec.message());
  }
  return stats;
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
