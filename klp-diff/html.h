// The reviewer's page: klp-diff's report as one self-contained HTML file (klp-diff --html,
// klp-build --explain's <module>.explain.html).
//
// It renders the same Report the text and JSON printers render (explain.h), nothing else
// decides: the verdicts, reasons (describe() of the differ's records), instruction diffs,
// references and special-section entries are the report's. What the page adds is context the
// report does not hold: the build's inputs (patch files with their sha256, the kernel config),
// the phase timings when klp-build knows them, and the patch hunks that touch each function's
// source lines. No network, no external resources; readable without JavaScript (a small script
// only filters functions and opens folded parts for printing).
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "explain.h"

namespace klp {

// One hunk of a unified diff: "@@ -old_first,old_count +new_first,new_count @@" and its lines.
struct PatchHunk {
  std::string file; // the new file's path without its first component (-p1), else the old one's
  unsigned old_first = 0, old_count = 0, new_first = 0, new_count = 0;
  std::string text; // from the "@@" line on, newline-terminated lines
};

// A patch file the build read.
struct PageInput {
  std::string path;
  std::string sha256;
  std::vector<PatchHunk> hunks;
};

struct PagePhase {
  std::string name;
  double seconds = 0;
};

// What the page says about the build beyond the report. Every field may be empty: unknown.
struct PageInfo {
  std::string module;         // "livepatch-cmdline.ko"
  std::string kernel_release; // "6.1.0-13-amd64"
  std::string config;         // the kernel config's path
  std::string config_sha256;
  std::vector<PageInput> inputs;
  std::vector<PagePhase> phases; // in order, as klp-build reported them
};

// The hunks of a unified diff (plain or git format).
std::vector<PatchHunk> parse_patch_hunks(const std::string &text);

// Reads a patch file: its digest and hunks. Throws Error naming the file.
PageInput read_page_input(const std::string &path);

// Fills PageInfo::config, ::config_sha256 and ::kernel_release from a kernel config: the release
// is `release_file`'s first line when given and readable (include/config/kernel.release of a
// kbuild tree), else the version the config's header names plus its CONFIG_LOCALVERSION. Throws
// Error when `config` cannot be read.
void describe_kernel(PageInfo &info, const std::string &config,
                     const std::string &release_file = "");

// The hunks of `inputs` that touch `ranges` (the new side for patched lines, the old side for
// original lines); files match when one path ends with the other at a '/' boundary.
std::vector<const PatchHunk *> hunks_touching(const std::vector<PageInput> &inputs,
                                              const std::vector<SourceRange> &orig,
                                              const std::vector<SourceRange> &patched);

// "&lt;" for '<' and so on: text and attribute values.
std::string html_escape(const std::string &s);

void print_html(const Report &report, const PageInfo &info, std::ostream &out);

} // namespace klp
