// A minimal JSON writer for klp-diff's reports: the caller writes keys in the order the schema
// documents (docs/klp-diff-json.md), nothing is reordered, and the layout is one value per line
// with two-space indentation so that reports diff well.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace klp {

constexpr int kJsonSchemaVersion = 1;

// A JSON string literal for `s` (UTF-8 passes through; control characters are escaped).
std::string json_quote(std::string_view s);

class JsonWriter {
public:
  explicit JsonWriter(std::ostream &out) : out_(out) {}

  void begin_object() { open('{'); }
  void end_object() { close('}'); }
  void begin_array() { open('['); }
  void end_array() { close(']'); }
  // Inside an object: the key of the next value.
  void key(std::string_view k);
  void value(std::string_view s);
  void value(const std::string &s) { value(std::string_view(s)); }
  void value(const char *s) = delete; // would silently become bool
  void value(uint64_t v);
  void value(bool b);
  void null();
  void strings(const std::vector<std::string> &v);
  template <typename T> void field(std::string_view k, const T &v) {
    key(k);
    value(v);
  }

private:
  void open(char bracket);
  void close(char bracket);
  void item();
  void raw(const std::string &text);

  std::ostream &out_;
  std::vector<bool> first_; // per open container: nothing written in it yet
  bool after_key_ = false;
};

} // namespace klp
