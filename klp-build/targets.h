// The targets of a batch build (`klp-build --targets FILE fix.patch`): every kernel one fix is
// shipped to, each described by the inputs a single build of klp-build takes. The file is TOML
// (read by toml++), one table per target under `target`:
//
//   [target."debian-6.1"]
//   sourcedir = "/srv/src/linux-source-6.1"
//   config = "/srv/kernels/6.1.0-56-amd64/config"
//   kallsyms = "/srv/kernels/6.1.0-56-amd64/kallsyms"
//   headers = "/usr/src/linux-headers-6.1.0-56-amd64"
//
// The keys are klp-build's long options of the same name (sourcedir, config, vmlinux, kallsyms,
// symvers, headers, kernel-image, modules, sign-key, sign-cert). A relative path is taken from
// the file's directory. The table's name is the target's name: it names the target's output
// directory, so two targets' modules cannot collide (TOML itself refuses a table given twice).
// A name with a dot is quoted: TOML reads [target.debian-6.1] as table "1" inside "debian-6".
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace klp {

struct Target {
  std::string name;
  // The target's options as klp-build takes them: ("--config", "/srv/.../config"), in the
  // order of kTargetKeys.
  std::vector<std::pair<std::string, std::string>> options;
};

// The keys a target may have, each the long option it stands for.
extern const std::vector<std::string> kTargetKeys;

// Reads the targets of `path`. Throws Error "FILE:LINE:COL: ..." naming the table or key for a
// syntax error, an unknown key, a value that is not a string, a target without `sourcedir`, a
// name that is not [A-Za-z0-9._-]+, or a file without targets.
std::vector<Target> read_targets(const std::string &path);

// Same, from text already in memory; `source` names it in errors and `base_dir` anchors
// relative paths.
std::vector<Target> parse_targets(const std::string &text, const std::string &source,
                                  const std::string &base_dir);

} // namespace klp
