#include "symvers.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>

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

// A line's fields, as views into it.
struct ParsedLine {
  uint32_t crc = 0;
  std::string_view name, module, ns;
  ExportType type = ExportType::Normal;
};

// Parses one non-blank line; `loc` gives "file:line" for an error.
template <typename Loc> ParsedLine parse_line(std::string_view line, Loc &&loc) {
  Fields f = split_tabs(line);
  if (f.size() < 4 || f.size() > 5)
    throw Error(loc() + ": malformed line " + quoted_input(line) +
                " (expected tab-separated 'crc symbol module export_type [namespace]')");
  ParsedLine p;
  if (!parse_hex(f[0], p.crc))
    throw Error(loc() + ": bad crc " + quoted_input(f[0]));
  p.name = f[1];
  std::optional<ExportType> type;
  if (f.size() == 4) {
    p.module = f[2];
    type = parse_export_type(f[3]);
    if (!type)
      throw Error(loc() + ": unknown export type " + quoted_input(f[3]));
  } else if ((type = parse_export_type(f[3]))) {
    p.module = f[2];
    p.ns = f[4];
  } else if ((type = parse_export_type(f[4]))) { // 5.4-5.9: crc symbol namespace module type
    p.ns = f[2];
    p.module = f[3];
  } else {
    throw Error(loc() + ": unknown export type " + quoted_input(f[3]));
  }
  p.type = *type;
  if (p.name.empty())
    throw Error(loc() + ": empty symbol name");
  if (p.module.empty())
    throw Error(loc() + ": empty module name");
  return p;
}

} // namespace

// Exports made by find() (by line), or by exports() (all of them, in file order).
struct Symvers::Made {
  std::mutex mutex;
  std::unordered_map<uint32_t, Export> some; // node-based: what find() returned stays put
  std::vector<Export> all;
  bool all_made = false;
};

Symvers::Symvers(Blank, std::string source)
    : source_(std::move(source)), made_(std::make_unique<Made>()) {}

Symvers::Symvers(const std::string &path) : Symvers(Blank{}, path) { read_file(); }

Symvers::Symvers(Symvers &&) noexcept = default;
Symvers &Symvers::operator=(Symvers &&) noexcept = default;
Symvers::~Symvers() = default;

Symvers Symvers::open_lazily(const std::string &path) {
  check_regular_file(path);
  Symvers s(Blank{}, path);
  if (!UniqueFd(open(path.c_str(), O_RDONLY | O_CLOEXEC)))
    throw Error(path + ": cannot open: " + std::strerror(errno));
  s.pending_ = std::make_unique<std::mutex>();
  return s;
}

void Symvers::read_file() const {
  // Not read_input_file(): /dev/null is a valid empty Module.symvers (kpatch's harness passes it).
  check_regular_file(source_);
  UniqueFd fd(open(source_.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd)
    throw Error(source_ + ": cannot open: " + std::strerror(errno));
  // One buffer the size of the file (plus one byte to see its end), grown only if it grows.
  struct stat st;
  std::string text;
  text.resize(fstat(fd.get(), &st) == 0 && S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 4096);
  size_t have = 0;
  while (true) {
    if (have == text.size())
      text.resize(text.size() * 2);
    ssize_t n = ::read(fd.get(), text.data() + have, text.size() - have);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      throw Error(source_ + ": read error: " + std::strerror(errno));
    }
    if (n == 0)
      break;
    have += (size_t)n;
  }
  text.resize(have);
  text_ = std::move(text);
  parse();
}

Symvers Symvers::from_text(std::string_view text, std::string source) {
  Symvers s(Blank{}, std::move(source));
  s.text_ = std::string(text);
  s.parse();
  return s;
}

size_t Symvers::slot_of(std::string_view name) const {
  size_t mask = slots_.size() - 1;
  size_t h = std::hash<std::string_view>{}(name)&mask;
  while (slots_[h] && at(lines_[slots_[h] - 1].name, lines_[slots_[h] - 1].name_len) != name)
    h = (h + 1) & mask;
  return h;
}

// Checks every line (the first malformed one is an error, whatever is looked up) and indexes the
// exports by name.
void Symvers::parse() const {
  if (text_.size() >= UINT32_MAX)
    throw Error(source_ + ": too large for a Module.symvers");
  std::string_view text = text_;
  lines_.clear();
  slots_.assign(1024, 0);
  size_t lineno = 0, pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    size_t begin = pos;
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? nl : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    lineno++;
    if (line.ends_with('\r'))
      line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos)
      continue;
    // Built only for an error: a Module.symvers has ~30k lines.
    auto loc = [&] { return source_ + ":" + std::to_string(lineno); };
    ParsedLine p = parse_line(line, loc);
    size_t slot = slot_of(p.name);
    if (slots_[slot]) {
      const Line &prev = lines_[slots_[slot] - 1];
      if (at(prev.module, prev.module_len) != p.module)
        throw Error(loc() + ": " + quoted_input(p.name) + " is exported by both " +
                    quoted_input(at(prev.module, prev.module_len)) + " (line " +
                    std::to_string(prev.lineno) + ") and " + quoted_input(p.module));
      continue; // the same export listed twice
    }
    Line l;
    l.begin = (uint32_t)begin;
    l.end = (uint32_t)(begin + line.size());
    l.name = (uint32_t)(p.name.data() - text.data());
    l.name_len = (uint32_t)p.name.size();
    l.module = (uint32_t)(p.module.data() - text.data());
    l.module_len = (uint32_t)p.module.size();
    l.lineno = (uint32_t)lineno;
    lines_.push_back(l);
    slots_[slot] = (uint32_t)lines_.size();
    if (2 * lines_.size() > slots_.size()) { // at most half full
      slots_.assign(slots_.size() * 2, 0);
      for (size_t i = 0; i < lines_.size(); i++)
        slots_[slot_of(at(lines_[i].name, lines_[i].name_len))] = (uint32_t)i + 1;
    }
  }
}

Export Symvers::make(const Line &line) const {
  // The line parsed before: it cannot fail now.
  ParsedLine p = parse_line(at(line.begin, line.end - line.begin), [] { return std::string(); });
  Export e;
  e.name = std::string(p.name);
  e.crc = p.crc;
  e.module = std::string(p.module);
  e.type = p.type;
  e.ns = std::string(p.ns);
  e.line = line.lineno;
  return e;
}

const std::vector<Export> &Symvers::exports() const {
  load();
  std::lock_guard<std::mutex> lock(made_->mutex);
  if (!made_->all_made) {
    made_->all.reserve(lines_.size());
    for (const Line &l : lines_)
      made_->all.push_back(make(l));
    made_->all_made = true;
  }
  return made_->all;
}

const Export *Symvers::find(std::string_view name) const {
  load();
  uint32_t s = slots_[slot_of(name)];
  if (!s)
    return nullptr;
  std::lock_guard<std::mutex> lock(made_->mutex);
  if (made_->all_made)
    return &made_->all[s - 1];
  auto it = made_->some.find(s - 1);
  if (it == made_->some.end())
    it = made_->some.emplace(s - 1, make(lines_[s - 1])).first;
  return &it->second;
}

bool Symvers::exported_by_vmlinux(std::string_view name) const {
  const Export *e = find(name);
  return e && e->in_vmlinux();
}

} // namespace klp
