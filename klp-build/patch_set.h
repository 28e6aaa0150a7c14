// The user's patches: which files they touch, and applying them to the shadow tree with the
// rejected hunk in the error when one does not apply.
#pragma once

#include <string>
#include <vector>

namespace klp {

struct FilePatch {
  std::string path;               // relative to the tree root, after stripping one component (-p1)
  bool created = false;           // --- /dev/null
  bool deleted = false;           // +++ /dev/null
  std::vector<std::string> hunks; // "@@ ... @@" blocks, for error reports
};

struct PatchFile {
  std::string path;
  std::vector<FilePatch> files;
};

// Parses a unified diff (plain or git format). Throws Error naming the file and line if it holds
// no file changes or a header cannot be read.
PatchFile read_patch(const std::string &path);

// Paths touched by any of the patches, sorted, without duplicates.
std::vector<std::string> touched_files(const std::vector<PatchFile> &patches);

// Applies `patch` in `tree` (whose touched files must not be shared with the user's tree). On
// failure throws Error naming the patch, the file and the first rejected hunk.
void apply_patch(const PatchFile &patch, const std::string &tree);

// "livepatch-" + the first patch's file name without extension, sanitised to [A-Za-z0-9_-] and
// cut to 55 characters (MODULE_NAME_LEN - 1 minus nothing: the kernel's limit is 56 with NUL).
std::string module_name_for(const std::string &given_name, const std::vector<PatchFile> &patches);

} // namespace klp
