#include "symvers.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>

#include "error.h"
#include "input_file.h"

namespace klp {

const char *export_type_name(ExportType type) {
  switch (type) {
  case ExportType::Normal:
    return "EXPORT_SYMBOL";
  case ExportType::Gpl:
    return "EXPORT_SYMBOL_GPL";
  case ExportType::GplFuture:
    return "EXPORT_SYMBOL_GPL_FUTURE";
  case ExportType::Unused:
    return "EXPORT_UNUSED_SYMBOL";
  case ExportType::UnusedGpl:
    return "EXPORT_UNUSED_SYMBOL_GPL";
  }
  return "?";
}

std::string_view Export::module_basename() const {
  std::string_view m = module;
  size_t slash = m.rfind('/');
  return slash == std::string_view::npos ? m : m.substr(slash + 1);
}

std::string Export::objname() const {
  std::string out(module_basename());
  std::replace(out.begin(), out.end(), '-', '_');
  return out;
}

namespace {

std::optional<ExportType> parse_export_type(std::string_view s) {
  static const ExportType all[] = {ExportType::Normal, ExportType::Gpl, ExportType::GplFuture,
                                   ExportType::Unused, ExportType::UnusedGpl};
  for (ExportType t : all)
    if (s == export_type_name(t))
      return t;
  return std::nullopt;
}

// The tab-separated fields of a line; more than five count as six (a malformed line either way).
struct Fields {
  std::string_view f[6];
  size_t n = 0;
  size_t size() const { return n; }
  std::string_view operator[](size_t i) const { return f[i]; }
};

Fields split_tabs(std::string_view line) {
  Fields out;
  size_t pos = 0;
  while (out.n < 6) {
    size_t tab = line.find('\t', pos);
    out.f[out.n++] = line.substr(pos, tab == std::string_view::npos ? tab : tab - pos);
    if (tab == std::string_view::npos)
      break;
    pos = tab + 1;
  }
  return out;
}

} // namespace

Symvers::Symvers(const std::string &path) : source_(path) { read_file(); }

Symvers Symvers::open_lazily(const std::string &path) {
  check_regular_file(path);
  Symvers s(Blank{}, path);
  if (!std::ifstream(path, std::ios::binary))
    throw Error(path + ": cannot open: " + std::strerror(errno));
  s.pending_ = std::make_unique<std::mutex>();
  return s;
}

void Symvers::read_file() const {
  // Not read_input_file(): /dev/null is a valid empty Module.symvers (kpatch's harness passes it).
  check_regular_file(source_);
  std::ifstream in(source_, std::ios::binary);
  if (!in)
    throw Error(source_ + ": cannot open: " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad())
    throw Error(source_ + ": read error: " + std::strerror(errno));
  parse(ss.str());
}

Symvers Symvers::from_text(std::string_view text, std::string source) {
  Symvers s(Blank{}, std::move(source));
  s.parse(text);
  return s;
}

void Symvers::parse(std::string_view text) const {
  size_t lineno = 0, pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? nl : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    lineno++;
    if (line.ends_with('\r'))
      line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos)
      continue;
    // Built only for an error: a Module.symvers has ~30k lines.
    auto loc = [&] { return source_ + ":" + std::to_string(lineno); };
    Fields f = split_tabs(line);
    if (f.size() < 4 || f.size() > 5)
      throw Error(loc() + ": malformed line " + quoted_input(line) +
                  " (expected tab-separated 'crc symbol module export_type [namespace]')");
    Export e;
    e.line = lineno;
    if (!parse_hex(f[0], e.crc))
      throw Error(loc() + ": bad crc " + quoted_input(f[0]));
    e.name = std::string(f[1]);
    std::optional<ExportType> type;
    if (f.size() == 4) {
      e.module = std::string(f[2]);
      type = parse_export_type(f[3]);
      if (!type)
        throw Error(loc() + ": unknown export type " + quoted_input(f[3]));
    } else if ((type = parse_export_type(f[3]))) {
      e.module = std::string(f[2]);
      e.ns = std::string(f[4]);
    } else if ((type = parse_export_type(f[4]))) { // 5.4-5.9: crc symbol namespace module type
      e.ns = std::string(f[2]);
      e.module = std::string(f[3]);
    } else {
      throw Error(loc() + ": unknown export type " + quoted_input(f[3]));
    }
    e.type = *type;
    if (e.name.empty())
      throw Error(loc() + ": empty symbol name");
    if (e.module.empty())
      throw Error(loc() + ": empty module name");
    auto [it, inserted] = by_name_.try_emplace(e.name, exports_.size());
    if (!inserted) {
      const Export &prev = exports_[it->second];
      if (prev.module != e.module)
        throw Error(loc() + ": " + quoted_input(e.name) + " is exported by both " +
                    quoted_input(prev.module) + " (line " + std::to_string(prev.line) + ") and " +
                    quoted_input(e.module));
      continue; // the same export listed twice
    }
    exports_.push_back(std::move(e));
  }
}

const Export *Symvers::find(std::string_view name) const {
  load();
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &exports_[it->second];
}

bool Symvers::exported_by_vmlinux(std::string_view name) const {
  const Export *e = find(name);
  return e && e->in_vmlinux();
}

} // namespace klp
