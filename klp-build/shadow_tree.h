// The shadow source tree: the user's kernel tree as hard links (symlinks across file systems),
// without build outputs, so kbuild can build out of tree (O=) and patches can be applied without
// touching the user's files. A file is unshared (copied) before anything writes to it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace klp {

struct ShadowStats {
  size_t files = 0;
  bool symlinked = false; // the work directory is on another file system
};

// Populates `shadow` (created, must not exist) from `source`. Build outputs (objects, .cmd files,
// .config, generated headers, vmlinux...) are left out so the copy is a clean kbuild source tree.
ShadowStats make_shadow_tree(const std::string &source, const std::string &shadow);

// Replaces the links for `paths` (relative) with private copies; paths that do not exist yet
// (files a patch creates) are skipped.
void unshare_files(const std::string &shadow, const std::vector<std::string> &paths);

// Whether a path (relative to the tree root) is a build output, not source.
bool is_build_output(const std::string &rel_path);

// A 64-bit fingerprint of the tree's source files: every path, and each file's size and mtime
// (not the contents: reading a kernel tree takes longer than building one unit).
uint64_t fingerprint_tree(const std::string &source);

// Puts the shadow's copies of `paths` back to links of the user's files (removing files the
// patches created), undoing unshare_files() and the patches.
void restore_files(const std::string &source, const std::string &shadow,
                   const std::vector<std::string> &paths);

} // namespace klp
