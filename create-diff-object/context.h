// State shared by the passes of one diff: the two objects, the options that steer the passes,
// and the record of every decision (for --debug and for klp-diff --explain).
#pragma once

#include <functional>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "object.h"

namespace klp {

// Why a symbol ended up with its verdict; one entry per reason, in the order found.
struct Decision {
  std::vector<std::string> reasons;
};

struct DiffContext {
  Object &orig;
  Object &patched;
  std::ostream *debug = nullptr; // --debug: one line per decision
  std::map<const Symbol *, Decision> decisions; // keyed by the patched symbol
  std::vector<std::string> warnings;            // shown by the CLIs, one line each

  void note(const Symbol &sym, const std::string &reason) {
    decisions[&sym].reasons.push_back(reason);
    if (debug)
      *debug << patched.path << ": " << sym.name << ": " << reason << "\n";
  }
  void warn(const std::string &line) {
    warnings.push_back(line);
    log("warning: " + line);
  }
  void log(const std::string &line) {
    if (debug)
      *debug << line << "\n";
  }
};

} // namespace klp
