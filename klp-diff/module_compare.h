// klp-diff A.ko B.ko: what differs between two builds of a module (or any two ELF files), to
// debug reproducibility. Compared, in this order:
//
//   header       e_type, e_machine, e_flags, e_entry
//   sections     by name (the k-th of a repeated name pairs with the k-th): presence, type,
//                flags, size, alignment, entry size, and contents (an FNV-1a 64-bit hash of
//                each side and the first differing offset). Symbol tables, string tables,
//                relocation and group sections are compared through what they hold instead of byte
//                by byte.
//   symbols      by name (sections' symbols by their section's name; the k-th of a repeated name
//                pairs with the k-th): presence, type, binding, visibility, section, value, size
//   relocations  per relocation section, as multisets of (offset, type, target name, addend)
//
// Nothing is interpreted: a difference is reported however harmless it may be.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace klp {

// The exit status of `klp-diff A B` when the files differ (0: identical, 1: error).
constexpr int kExitDifferent = 4;

struct ModuleDifference {
  std::string kind;               // "header", "section", "symbol", "relocation"
  std::string name;               // the section or symbol; for relocations the relocation section
  std::string what;               // "missing", "type", "flags", "size", "content", "value", ...
  std::string a, b;               // the two sides ("" where a side has none)
  std::optional<uint64_t> offset; // "content": the first byte that differs
};

struct ModuleComparison {
  std::string a_path, b_path;
  std::vector<ModuleDifference> differences;
  bool identical() const { return differences.empty(); }
};

// Throws Error when either file cannot be read as ELF.
ModuleComparison compare_modules(const std::string &a, const std::string &b);

void print_comparison_text(const ModuleComparison &c, std::ostream &out);
void print_comparison_json(const ModuleComparison &c, std::ostream &out);

} // namespace klp
