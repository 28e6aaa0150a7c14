// The tree cache: a shadow source tree and its prepared build directory, kept between runs.
//
// `make prepare` dominates a one-file patch (objtool, the kconfig headers, asm-offsets), and
// every original object compiled once stays valid while the tree, the config and the compiler
// stay the same. So both live in an entry keyed by the tree's fingerprint (every source path,
// size and mtime), the config's bytes, the compiler's version text, the launcher and the code
// generation flags. A run locks its entry (flock), so concurrent runs on the same tree
// serialise. The patched build happens in the entry too: the touched files are unshared and
// patched, and afterwards put back together with the original objects (see PatchedScope);
// while that is under way a marker says so, and an entry found with the marker (a run that
// was killed, or one whose patched Makefile or header made prepare regenerate a header) is
// rebuilt from scratch.
#pragma once

#include <string>

#include "unique_fd.h"

namespace klp {

class TreeCache {
public:
  // Opens (creating) the entry for `key` under `root` and locks it.
  TreeCache(const std::string &root, const std::string &key);
  TreeCache(const TreeCache &) = delete;
  TreeCache &operator=(const TreeCache &) = delete;

  const std::string &dir() const { return dir_; }
  std::string src() const { return dir_ + "/src"; }
  std::string build() const { return dir_ + "/build"; }
  // Whether src/ and build/ are complete and clean.
  bool ready() const;
  void set_ready();
  // Throws away src/ and build/.
  void reset();
  // Marks the entry as holding patched files (true) or clean again (false).
  void set_dirty(bool dirty);

private:
  std::string dir_;
  UniqueFd lock_fd_; // flock()ed while this object lives
};

// $XDG_CACHE_HOME/klp-build, else ~/.cache/klp-build.
std::string default_cache_root();

// A short hex key for the given inputs.
std::string cache_key(const std::string &inputs);

} // namespace klp
