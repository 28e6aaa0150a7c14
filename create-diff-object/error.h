// Errors raised by the library. The CLIs catch them and turn them into exit codes; nothing below a
// CLI calls exit(). Messages are one line, lower-case, no final period, and start with a location:
//   patched.o:(.text.foo)+0x1c: relocation type 42 is not supported
#pragma once

#include <cstdio>
#include <stdexcept>
#include <string>
#include <string_view>

#include "decision.h"

namespace klp {

// Exit codes shared by every tool (documented in the man pages).
enum ExitCode : int {
  kExitOk = 0,          // output written
  kExitError = 1,       // bad input, I/O or libelf failure
  kExitUnpatchable = 2, // the difference cannot be live-patched safely
  kExitNoChange = 3,    // the objects do not differ in any way that needs a patch
  // 4: klp-diff comparing two modules, they differ (klp-diff's own)
  kExitBatchIncomplete = 5, // klp-build --targets: one or more targets did not build
};

// A failure caused by bad input or the environment (exit 1).
class Error : public std::runtime_error {
public:
  explicit Error(const std::string &msg) : std::runtime_error(msg) {}
};

// A difference the livepatch runtime cannot apply safely (exit 2). It carries the refusal as a
// decision (decision.h); the message, rendered from it, names the object, section or symbol and
// says what the author can do instead.
class Unpatchable : public std::runtime_error {
public:
  explicit Unpatchable(Decision d) : std::runtime_error(describe(d)), decision_(std::move(d)) {}
  const Decision &decision() const { return decision_; }

private:
  Decision decision_;
};

// Input text echoed in a message, quoted: bytes that are not printable ASCII become \xNN, and
// text longer than `max` characters is cut with "..." (a malformed line may be binary or huge).
inline std::string quoted_input(std::string_view text, size_t max = 60) {
  std::string out = "'";
  for (size_t i = 0; i < text.size(); i++) {
    if (i == max) {
      out += "...";
      break;
    }
    unsigned char c = text[i];
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += (char)c;
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  return out + "'";
}

} // namespace klp
