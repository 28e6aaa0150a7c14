// Source positions of code in a relocatable object, from its own DWARF.
//
// libdwfl opens the object with dwfl_report_offline(), which lays its allocated sections out at
// addresses of its choosing and applies the relocations of the .debug_* sections, so section +
// offset becomes an address its line tables and DIE ranges understand. An object without debug
// info simply answers nothing.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "object.h"

namespace klp {

struct SourceLine {
  std::string file; // relative to the compilation directory when under it
  unsigned line = 0;
};

struct InlinedCallee {
  std::string name;
  std::string decl_file;
  unsigned decl_line = 0;
  bool is_static = false;
  bool declared_inline = false;
};

class SourceLines {
public:
  explicit SourceLines(const std::string &path); // never throws
  ~SourceLines();
  SourceLines(const SourceLines &) = delete;
  SourceLines &operator=(const SourceLines &) = delete;

  // Whether the object has DWARF line information at all.
  bool available() const;
  // The line-table row covering byte `offset` of `sec` (a section of the same file).
  std::optional<SourceLine> line_at(const Section &sec, uint64_t offset) const;
  // The innermost inlined subroutine whose code covers that byte, if the code was inlined.
  std::optional<InlinedCallee> inlined_at(const Section &sec, uint64_t offset) const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace klp
