// The differ as one library call: what create-diff-object's main and klp-diff drive.
#pragma once

#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "context.h"
#include "klp_reloc.h"
#include "output.h"
#include "symvers.h"
#include "target_symtab.h"

namespace klp {

struct DiffOptions {
  std::string orig_path;
  std::string patched_path;
  std::string target = "vmlinux"; // the object being patched: vmlinux or a module name
  std::string symtab_path;        // the target's symbols (ELF, readelf dump, kallsyms)
  std::string symvers_path;       // Module.symvers
  std::string patch_name;
  LinkScope link_scope; // globals the patch module defines or leaves to the linker
  // Hold each .cold part inside its function (cold_parts.h), as livepatch's stack check needs.
  // kpatch's positional form keeps kpatch's layout, a function symbol for each part.
  bool cold_parts_inside = true;
  std::ostream *debug = nullptr;
};

// Everything the passes decided, kept for reporting (klp-diff) and for writing the output.
struct DiffSession {
  std::unique_ptr<Object> orig, patched;
  std::unique_ptr<DiffContext> ctx;
  std::unique_ptr<Symvers> symvers;
  std::unique_ptr<TargetSymtab> symtab;
  // The functions that changed, were added, ... as "changed function: foo" lines.
  std::vector<std::string> summary;
  bool has_changes = false;
  // Set when the change cannot be live-patched (exit 2). The passes stop there; what they
  // decided until then stays, for klp-diff to explain the refusal.
  std::optional<Decision> refusal;
};

// Loads both objects and runs correlation, comparison, the refusals and inclusion. Throws Error
// for bad input; a difference livepatch cannot apply sets DiffSession::refusal.
std::unique_ptr<DiffSession> analyze(const DiffOptions &opts);

// Builds the patch object and writes it to `path` (atomically).
Output write_patch(DiffSession &session, const DiffOptions &opts, const std::string &path);

} // namespace klp
