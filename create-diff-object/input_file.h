// What every input file of the three tools must be before it is opened: a regular file. Opening a
// FIFO for reading blocks until a writer comes (forever, for a mistyped path), and a directory or
// a device reads as nothing or as garbage; both are refused with one line naming the path.
#pragma once

#include <charconv>
#include <string>
#include <string_view>

#include "unique_fd.h"

namespace klp {

// Throws Error "<path>: cannot open: <strerror>" when `path` cannot be examined, and
// "<path>: not a regular file (a FIFO)" (a directory, a character device, ...) when it is not a
// regular file. Symbolic links are followed.
void check_regular_file(const std::string &path);

// Opens `path` read-only without blocking on a FIFO and refuses anything but a regular file, as
// check_regular_file() does, on the open descriptor. Returns the descriptor (O_CLOEXEC).
UniqueFd open_regular_file(const std::string &path);

// The whole contents of the regular file `path` (open_regular_file() refuses anything else).
std::string read_input_file(const std::string &path);

// A whole-string hexadecimal number with an optional 0x/0X prefix, as kallsyms, readelf and
// Module.symvers print them ("ffffffff81000000", "0x1a2b3c4d"); false if `s` is anything else or
// does not fit T.
template <class T> bool parse_hex(std::string_view s, T &out) {
  if (s.starts_with("0x") || s.starts_with("0X"))
    s.remove_prefix(2);
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out, 16);
  return !s.empty() && ec == std::errc() && end == s.data() + s.size();
}

// "a FIFO", "a directory", ... for a st_mode that is not a regular file.
const char *file_kind(unsigned mode);

} // namespace klp
