// Everything klp-build is asked to do, as parsed by the CLI.
#pragma once

#include <string>
#include <vector>

namespace klp {

struct BuildOptions {
  std::vector<std::string> patches;
  std::string sourcedir = ".";
  std::string config;           // default: sourcedir/.config, else /boot/config-$(uname -r)
  std::string vmlinux;          // target symbols from an ELF vmlinux (a kernel built from the tree)
  std::string kallsyms;         // target symbols from a copy of /proc/kallsyms
  std::string symvers;          // default: next to --vmlinux, or the --headers tree's
  std::string headers;          // kbuild tree to link the module against (distro headers)
  std::string name;             // module name; default from the first patch
  std::string output_dir = "."; // where livepatch-<name>.ko goes
  int jobs = 0;                 // 0: number of CPUs
  bool replace = true;          // atomic replace (--no-replace turns it off)
  std::string compiler_launcher;
  std::string kernel_image; // vmlinux or vmlinuz of the target, for the match proof
  std::string modules_dir;  // the target's /lib/modules/RELEASE: module .ko files for it
  std::string cache_dir;    // tree cache root (default: ~/.cache/klp-build), see tree_cache.h
  bool use_cache = true;    // --no-cache: prepare a throwaway tree in the work directory
  std::string sign_key;     // --sign-key: sign the module with the build tree's sign-file
  std::string sign_cert;    // --sign-cert: the X.509 certificate of that key
  bool keep_tmp = false;
  bool explain = false;
  bool check_reproducible = false;
  // Recompile patched units by kbuild's recorded commands when the patches touch only units
  // (replay.h), and relink the module by them (module_relink.h); off: through make, as
  // --check-reproducible's second build does.
  bool replay = true;
  bool verbose = false;
};

} // namespace klp
