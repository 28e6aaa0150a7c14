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

  const std::string &source() const { return source_; }
  // nullptr if `name` is not exported.
  const Export *find(std::string_view name) const;
  bool exported_by_vmlinux(std::string_view name) const;
  // In file order.
  const std::vector<Export> &exports() const {
    load();
    return exports_;
  }
  size_t size() const { return exports().size(); }

private:
  struct Blank {};
  Symvers(Blank, std::string source) : source_(std::move(source)) {}
  void parse(std::string_view text) const;
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

  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  std::string source_;
  mutable std::vector<Export> exports_;
  mutable std::unordered_map<std::string, size_t, Hash, std::equal_to<>> by_name_;
  std::unique_ptr<std::mutex> pending_; // set by open_lazily()
  mutable bool loaded_ = false;
};

} // namespace klp
