// Module.symvers: which object exports which symbol, with what CRC and license.
//
// Format written by scripts/mod/modpost.c write_dump() since 5.10 (so in 6.1), one export a line:
//   0x<crc>\t<symbol>\t<module>\t<export type>\t<namespace>
// <module> is "vmlinux" or the module's path without ".ko" ("fs/ext4/ext4"); <namespace> may be
// empty. Also read: the pre-5.4 four-field lines (no namespace) and the 5.4-5.9 order that put the
// namespace third (crc, symbol, namespace, module, export type).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace klp {

enum class ExportType {
  Normal,    // EXPORT_SYMBOL
  Gpl,       // EXPORT_SYMBOL_GPL
  GplFuture, // EXPORT_SYMBOL_GPL_FUTURE (before 5.12)
  Unused,    // EXPORT_UNUSED_SYMBOL (before 5.13)
  UnusedGpl, // EXPORT_UNUSED_SYMBOL_GPL (before 5.13)
};

// "EXPORT_SYMBOL_GPL"
const char *export_type_name(ExportType type);

struct Export {
  std::string name;
  uint32_t crc = 0;
  std::string module; // "vmlinux" or the module path without ".ko", e.g. "fs/ext4/ext4"
  ExportType type = ExportType::Normal;
  std::string ns;  // symbol namespace; empty if none
  size_t line = 0; // 1-based line in the file

  bool in_vmlinux() const { return module == "vmlinux"; }
  bool gpl_only() const { return type == ExportType::Gpl || type == ExportType::UnusedGpl; }
  // The module's file name without directory: "ext4" for "fs/ext4/ext4", "vmlinux" for vmlinux.
  std::string_view module_basename() const;
  // The name the kernel knows the module by (and livepatch objnames use): the basename with '-'
  // replaced by '_'.
  std::string objname() const;
};

class Symvers {
public:
  explicit Symvers(const std::string &path);
  // Like the constructor, but parses `path` only on the first lookup (find(), exports(), size()):
  // a diff with nothing to export-check never reads it. Whether the file opens is checked now.
  static Symvers open_lazily(const std::string &path);
  // Parses text already in memory; `source` names it in diagnostics.
  static Symvers from_text(std::string_view text, std::string source);

  Symvers(Symvers &&) noexcept;
  Symvers &operator=(Symvers &&) noexcept;
  ~Symvers();

  const std::string &source() const { return source_; }
  // nullptr if `name` is not exported.
  const Export *find(std::string_view name) const;
  bool exported_by_vmlinux(std::string_view name) const;
  // In file order.
  const std::vector<Export> &exports() const;
  size_t size() const {
    load();
    return lines_.size();
  }

private:
  // One export's line in text_ (offsets, so that a move keeps them valid): the line and, within
  // the file, its name and module.
  struct Line {
    uint32_t begin = 0, end = 0;
    uint32_t name = 0, name_len = 0;
    uint32_t module = 0, module_len = 0;
    uint32_t lineno = 0; // 1-based
  };
  struct Made; // the Export objects made so far

  struct Blank {};
  explicit Symvers(Blank, std::string source);
  void parse() const;
  void read_file() const;
  // Parses the file if open_lazily() left it for later.
  void load() const {
    if (pending_) {
      std::lock_guard<std::mutex> lock(*pending_);
      if (!loaded_) {
        read_file();
        loaded_ = true;
      }
    }
  }
  std::string_view at(uint32_t offset, uint32_t size) const {
    return std::string_view(text_).substr(offset, size);
  }
  // The line of the export named `name`; lines_.size() if none.
  size_t slot_of(std::string_view name) const;
  Export make(const Line &line) const;

  std::string source_;
  // The file, read once and kept: a diff looks up a few names among thousands of exports, so an
  // Export is made only when it is asked for, from its line.
  mutable std::string text_;
  mutable std::vector<Line> lines_; // one per export, in file order
  // Open-addressed hash of names: 1 + the index in lines_, 0 free.
  mutable std::vector<uint32_t> slots_;
  std::unique_ptr<Made> made_;
  std::unique_ptr<std::mutex> pending_; // set by open_lazily()
  mutable bool loaded_ = false;
};

} // namespace klp
