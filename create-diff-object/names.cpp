#include "names.h"

#include <cctype>

namespace klp {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

} // namespace

// Numbering is removed per dot-separated component: a component of digits only is GCC's
// (foo.isra.3, count.12, foo.cold.7, foo.llvm.123), and the digits __COUNTER__ appends to an
// __UNIQUE_ID_ name are dropped wherever it stands (GCC: __UNIQUE_ID_x12.3, clang:
// func.__UNIQUE_ID_x12).
std::string correlation_key(std::string_view name) {
  std::string key;
  key.reserve(name.size());
  size_t start = 0;
  while (start <= name.size()) {
    size_t dot = name.find('.', start);
    std::string_view comp = name.substr(start, dot == std::string_view::npos ? dot : dot - start);
    bool digits = !comp.empty() && start > 0;
    for (char c : comp)
      digits &= is_digit(c);
    if (!digits) {
      if (comp.starts_with("__UNIQUE_ID_")) {
        size_t end = comp.size();
        while (end > 12 && is_digit(comp[end - 1]))
          end--;
        comp = comp.substr(0, end);
      }
      key.append(comp);
    }
    if (dot == std::string_view::npos)
      break;
    key.push_back('.');
    start = dot + 1;
  }
  // GCC >= 10 names the cold part "foo.cold", older GCC "foo.cold.N": both key as "foo.cold.".
  if (key.ends_with(".cold"))
    key.push_back('.');
  return key;
}

std::string_view prefixed_function_name(std::string_view name) {
  for (std::string_view p : {"__pfx_", "__cfi_"})
    if (name.starts_with(p) && name.size() > p.size())
      return name.substr(p.size());
  return {};
}

bool is_cold_part(std::string_view name) {
  size_t pos = name.find(".cold");
  if (pos == std::string_view::npos || pos == 0)
    return false;
  std::string_view rest = name.substr(pos + 5);
  if (rest.empty())
    return true;
  if (rest[0] != '.')
    return false;
  for (char c : rest.substr(1))
    if (!is_digit(c))
      return false;
  return rest.size() > 1;
}

bool is_partial_inline_part(std::string_view name) {
  size_t pos = name.find(".part.");
  return pos != std::string_view::npos && pos > 0 && pos + 6 < name.size() &&
         is_digit(name[pos + 6]) && !is_cold_part(name);
}

std::string_view child_parent_name(std::string_view name) {
  if (is_cold_part(name))
    return name.substr(0, name.rfind(".cold"));
  if (is_partial_inline_part(name))
    return name.substr(0, name.find(".part."));
  return {};
}

std::string_view static_local_base(std::string_view name) {
  size_t dot = name.rfind('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == name.size())
    return {};
  for (char c : name.substr(dot + 1))
    if (!is_digit(c))
      return {};
  return name.substr(0, dot);
}

// GCC names a function-local static `__warned.12`, clang `set_rate.__warned`: any component.
bool is_special_static_name(std::string_view name) {
  static constexpr std::string_view kNames[] = {
      "__key", "__warned", "__already_done", "__print_once", "__func__", "_rs", "CSWTCH",
  };
  size_t start = 0;
  while (start < name.size()) {
    size_t dot = name.find('.', start);
    std::string_view comp = name.substr(start, dot == std::string_view::npos ? dot : dot - start);
    for (std::string_view n : kNames)
      if (comp == n)
        return true;
    if (dot == std::string_view::npos)
      break;
    start = dot + 1;
  }
  return false;
}

bool is_ubsan_data_section(std::string_view section_name) {
  return section_name.starts_with(".data..Lubsan_data") ||
         section_name.starts_with(".data..Lubsan_type");
}

std::string_view ubsan_data_kind(std::string_view section_name) {
  size_t end = section_name.size();
  while (end > 0 && is_digit(section_name[end - 1]))
    end--;
  return section_name.substr(0, end);
}

bool is_special_static_section(std::string_view section_name) {
  return section_name == ".data.once" || section_name == ".data..once" ||
         section_name == "__dyndbg" || section_name == "__verbose";
}

} // namespace klp
